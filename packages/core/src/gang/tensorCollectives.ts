/**
 * Collectives on TF.js tensors. Kept apart from the gang core so that the worker bootstrap and the
 * gang itself never load TF.js.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { Gang, ReduceOperation } from './Gang.js';

/**
 * The values of `tensor` in a buffer the collective may overwrite. The cpu backend's `dataSync()`
 * returns the tensor's own storage (js-ecosystem.md §2.4), so it is copied there; other backends
 * (wasm, webgpu) already return a fresh copy.
 */
function readValues(tensor: tf.Tensor, operation: string): Float32Array {
  if (tensor.dtype !== 'float32') {
    throw new InvalidArgumentError(
      'tensor',
      `\`${operation}\` takes a float32 tensor, but the tensor is of dtype ${tensor.dtype}.`,
    );
  }
  const values = tensor.dataSync() as Float32Array;
  return tf.getBackend() === 'cpu' ? values.slice() : values;
}

/**
 * All-reduces `tensor` across `gang` and returns the result as a new tensor of the same shape
 * (fairseq2's `reduce(x, gang)`). `tensor` is left as it is; dispose of it as usual. Synchronous: it
 * reads the tensor with `dataSync()`, so it can run inside `tf.tidy()`.
 */
export function allReduceTensor(gang: Gang, tensor: tf.Tensor, op: ReduceOperation = 'sum'): tf.Tensor {
  const values = readValues(tensor, 'allReduceTensor');
  gang.allReduce(values, op);
  return tf.tensor(values, tensor.shape, 'float32');
}

/**
 * All-gathers `tensor` across `gang` and concatenates the ranks' tensors along `axis` (fairseq2's
 * `gather(x, gang, dim)`): the result's `axis` is `gang.size` times longer, rank 0's part first. Every
 * rank passes a tensor of the same shape. `axis` may be negative (from the end); default the last axis,
 * as a column-sharded projection gathers its output.
 */
export function allGatherTensor(gang: Gang, tensor: tf.Tensor, axis = -1): tf.Tensor {
  const shape = tensor.shape;
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new InvalidArgumentError(
      'axis',
      `\`axis\` must be an integer from ${-rank} to ${rank - 1} for a tensor of shape [${shape.join(', ')}], but is ${axis} instead.`,
    );
  }
  const dim = axis < 0 ? axis + rank : axis;
  const values = readValues(tensor, 'allGatherTensor');
  const gathered = gang.allGather(values);
  const size = gang.size;
  const outShape = shape.map((extent, d) => (d === dim ? extent * size : extent));
  // Each rank's part is `outer` blocks of `inner` values; the result interleaves the ranks' blocks.
  const outer = shape.slice(0, dim).reduce((a, b) => a * b, 1);
  if (outer === 1 || size === 1) {
    return tf.tensor(gathered, outShape, 'float32');
  }
  const inner = values.length / outer;
  const result = new Float32Array(gathered.length);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < size; r++) {
      const from = r * values.length + o * inner;
      result.set(gathered.subarray(from, from + inner), (o * size + r) * inner);
    }
  }
  return tf.tensor(result, outShape, 'float32');
}

/**
 * Broadcasts `tensor` of rank `sourceRank` (default 0) to every rank of `gang` and returns it as a new
 * tensor. Every rank passes a tensor of the same shape (the others' values are ignored).
 */
export function broadcastTensor(gang: Gang, tensor: tf.Tensor, sourceRank = 0): tf.Tensor {
  const values = readValues(tensor, 'broadcastTensor');
  gang.broadcast(values, sourceRank);
  return tf.tensor(values, tensor.shape, 'float32');
}
