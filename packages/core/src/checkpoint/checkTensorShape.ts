import { TensorShapeError } from './errors.js';

/**
 * Checks that `key` (read from `path`) has the shape the model expects.
 *
 * @throws TensorShapeError naming the tensor, the file, the expected and the actual shape.
 */
export function checkTensorShape(path: string, key: string, expected: readonly number[], actual: readonly number[]): void {
  if (expected.length !== actual.length || expected.some((d, i) => d !== actual[i])) {
    throw new TensorShapeError(path, key, expected, actual);
  }
}
