import { describe, expect, it } from '@jest/globals';

import { checkTensorShape } from './checkTensorShape.js';
import { TensorShapeError } from './errors.js';
import { interleavedToRotateHalf, rotateHalfToInterleaved } from './rotaryPermutation.js';

/** Rows numbered by their index, `cols` copies each: row r holds r * 10 + c. */
function rows(count: number, cols: number): Float32Array {
  return Float32Array.from({ length: count * cols }, (_, i) => Math.floor(i / cols) * 10 + (i % cols));
}

function rowIds(data: Float32Array, cols: number): number[] {
  return Array.from({ length: data.length / cols }, (_, r) => Math.floor((data[r * cols] as number) / 10));
}

describe(interleavedToRotateHalf, () => {
  it('moves Meta row 2j + c of each head to HF row c * headDim / 2 + j', () => {
    // 2 heads of head_dim 4: Meta rows per head [x0, y0, x1, y1] -> HF [x0, x1, y0, y1].
    const out = interleavedToRotateHalf(rows(8, 3), 2, 4);
    expect(rowIds(out, 3)).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    expect(Array.from(out.subarray(3, 6))).toEqual([20, 21, 22]);
  });

  it('is undone by rotateHalfToInterleaved, for weights and biases', () => {
    for (const [heads, headDim, cols] of [[4, 16, 64], [2, 16, 64], [3, 8, 1], [1, 2, 5]] as const) {
      const data = rows(heads * headDim, cols);
      const there = interleavedToRotateHalf(data, heads, headDim);
      if (headDim > 2) {
        expect(there).not.toEqual(data);
      }
      expect(rotateHalfToInterleaved(there, heads, headDim)).toEqual(data);
      expect(interleavedToRotateHalf(rotateHalfToInterleaved(data, heads, headDim), heads, headDim)).toEqual(data);
    }
  });

  it('fills a destination, which must not overlap the data', () => {
    const data = rows(4, 2);
    const into = new Float32Array(8);
    expect(rotateHalfToInterleaved(data, 1, 4, into)).toBe(into);
    expect(rowIds(into, 2)).toEqual([0, 2, 1, 3]);
    expect(() => rotateHalfToInterleaved(data, 1, 4, data)).toThrow('The destination overlaps the data; the permutation cannot run in place.');
  });

  it('checks the sizes', () => {
    expect(() => interleavedToRotateHalf(rows(6, 2), 1, 3)).toThrow('The head dim must be a positive even integer, not 3.');
    expect(() => interleavedToRotateHalf(rows(6, 2), 0, 4)).toThrow('The number of heads must be a positive integer, not 0.');
    expect(() => interleavedToRotateHalf(new Float32Array(10), 1, 4)).toThrow('10 elements are not 4 rows (1 heads of 4) of equal length.');
  });
});

describe(checkTensorShape, () => {
  it('names the tensor, the file and both shapes', () => {
    expect(() => checkTensorShape('/m/model.safetensors', 'model.norm.weight', [64], [64])).not.toThrow();
    const error = (() => {
      try {
        checkTensorShape('/m/model.safetensors', 'model.embed_tokens.weight', [512, 64], [512, 32]);
      } catch (e) {
        return e;
      }
      return undefined;
    })() as TensorShapeError;
    expect(error).toBeInstanceOf(TensorShapeError);
    expect(error.message).toBe('model.embed_tokens.weight has a shape of [512, 32] in /m/model.safetensors, but a shape of [512, 64] is expected.');
    expect(error).toMatchObject({ tensor: 'model.embed_tokens.weight', expected: [512, 64], actual: [512, 32] });
    expect(() => checkTensorShape('/m', 'x', [4], [4, 1])).toThrow('x has a shape of [4, 1] in /m, but a shape of [4] is expected.');
  });
});
