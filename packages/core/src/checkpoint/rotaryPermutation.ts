import { InvalidArgumentError } from '../errors/Fs2Error.js';

/**
 * The two layouts of the rows of a q or k projection (weight `[heads * headDim, modelDim]` or bias
 * `[heads * headDim]`), per head:
 *
 * - Meta's interleaved layout (Meta reference checkpoints, fairseq2's `RotaryEncoder`): the
 *   rotary pairs are rows `(2j, 2j + 1)`;
 * - Hugging Face's rotate-half layout (`rotate_half`): the pairs are rows `(j, j + headDim / 2)`.
 *
 * Meta row `2j + c` is HF row `c * headDim / 2 + j` (test/fixtures/README.md; fairseq2 does the
 * same with `view(H, 2, headDim / 2, M).transpose(1, 2)`). Both functions are pure: they return
 * a new array (or fill `into`, which must not overlap `data`).
 */
function permuteRows(
  data: Float32Array,
  numHeads: number,
  headDim: number,
  into: Float32Array | undefined,
  toRotateHalf: boolean,
): Float32Array {
  if (!Number.isSafeInteger(numHeads) || numHeads < 1) {
    throw new InvalidArgumentError('numHeads', `The number of heads must be a positive integer, not ${numHeads}.`);
  }
  if (!Number.isSafeInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new InvalidArgumentError('headDim', `The head dim must be a positive even integer, not ${headDim}.`);
  }
  const rows = numHeads * headDim;
  if (data.length % rows !== 0) {
    throw new InvalidArgumentError(
      'data',
      `${data.length} elements are not ${rows} rows (${numHeads} heads of ${headDim}) of equal length.`,
    );
  }
  const rowLength = data.length / rows;
  const out = into ?? new Float32Array(data.length);
  if (out.length !== data.length) {
    throw new InvalidArgumentError('into', `The destination holds ${out.length} elements, but the data has ${data.length}.`);
  }
  if (out.buffer === data.buffer && out.byteOffset < data.byteOffset + data.byteLength && data.byteOffset < out.byteOffset + out.byteLength) {
    throw new InvalidArgumentError('into', 'The destination overlaps the data; the permutation cannot run in place.');
  }
  const half = headDim / 2;
  for (let h = 0; h < numHeads; h++) {
    const base = h * headDim;
    for (let j = 0; j < half; j++) {
      for (let c = 0; c < 2; c++) {
        const interleaved = base + 2 * j + c;
        const rotateHalf = base + c * half + j;
        const from = (toRotateHalf ? interleaved : rotateHalf) * rowLength;
        const to = (toRotateHalf ? rotateHalf : interleaved) * rowLength;
        out.set(data.subarray(from, from + rowLength), to);
      }
    }
  }
  return out;
}

/** q/k rows from Meta's interleaved rotary layout to HF's rotate-half layout (Meta -> HF). */
export function interleavedToRotateHalf(data: Float32Array, numHeads: number, headDim: number, into?: Float32Array): Float32Array {
  return permuteRows(data, numHeads, headDim, into, true);
}

/** q/k rows from HF's rotate-half rotary layout to Meta's interleaved layout (HF -> Meta). */
export function rotateHalfToInterleaved(data: Float32Array, numHeads: number, headDim: number, into?: Float32Array): Float32Array {
  return permuteRows(data, numHeads, headDim, into, false);
}
