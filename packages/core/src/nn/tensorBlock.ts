import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';

/**
 * The 2-D block `x[index, rowStart : rowStart + rows, colStart : colStart + cols]` of a 3-D tensor,
 * as a new `[rows, cols]` tensor.
 *
 * Where the device exposes tensor storage (wasm, cpu) the block is copied straight from it: the
 * wasm `Slice` kernel first copies its *whole* input out of the heap (`readSync`), so slicing a
 * short prefix out of a long KV cache would cost the cache's full capacity on every call. Other
 * devices use `tf.slice`.
 */
export function tensorBlock(
  device: Device,
  x: tf.Tensor3D,
  index: number,
  rowStart: number,
  rows: number,
  colStart: number,
  cols: number,
): tf.Tensor2D {
  const [, height, width] = x.shape;
  const provider = device.provider;
  const out = tf.zeros([rows, cols]) as tf.Tensor2D;
  // Views are taken after the allocation: on wasm it may grow the heap and detach older views.
  const dst = provider.storageView(out);
  const src = dst === undefined ? undefined : provider.storageView(x);
  if (dst === undefined || src === undefined) {
    out.dispose();
    return tf.reshape(tf.slice(x, [index, rowStart, colStart], [1, rows, cols]), [rows, cols]);
  }
  const base = index * height * width;
  if (cols === width) {
    const from = base + rowStart * width;
    dst.set(src.subarray(from, from + rows * cols));
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const from = base + (rowStart + r) * width + colStart;
    dst.set(src.subarray(from, from + cols), r * cols);
  }
  return out;
}
