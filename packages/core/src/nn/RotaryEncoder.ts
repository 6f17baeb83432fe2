import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import { Module } from './Module.js';
import type { RopeScaling } from './TransformerDecoderConfig.js';

/**
 * The rotary frequencies `θ^(-2j/headDim)`, `j < headDim/2`, in float64, with `scaling` applied:
 *
 * - `llama3` (transformers' `_compute_llama3_parameters`): with `wavelen = 2π / f`, a frequency
 *   whose wavelength is below `original / highFreqFactor` is kept, one above
 *   `original / lowFreqFactor` is divided by `factor`, and one in between becomes
 *   `(1 - s) f / factor + s f` with `s = (original / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)`;
 * - `linear`: every frequency is divided by `factor`.
 */
export function computeRotaryFrequencies(headDim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const half = headDim / 2;
  const frequencies = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    frequencies[j] = 1 / theta ** ((2 * j) / headDim);
  }
  if (scaling === undefined) {
    return frequencies;
  }
  if (scaling.type === 'linear') {
    return frequencies.map((f) => f / scaling.factor);
  }
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: original } = scaling;
  const lowFreqWavelen = original / lowFreqFactor;
  const highFreqWavelen = original / highFreqFactor;
  return frequencies.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highFreqWavelen) {
      return f;
    }
    if (wavelen > lowFreqWavelen) {
      return f / factor;
    }
    const smooth = (original / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return ((1 - smooth) * f) / factor + smooth * f;
  });
}

/** The cosine and sine tables of a run of positions, `[length, 1, headDim]` each. */
export interface RotaryTables {
  readonly cos: tf.Tensor3D;
  readonly sin: tf.Tensor3D;
}

/**
 * Rotary position encoding (Su et al. 2021, arXiv:2104.09864) in the HF "rotate half" layout:
 * within a head, dimension `j` pairs with `j + headDim/2`, and
 * `x' = x * cos + rotate_half(x) * sin` with `rotate_half(x) = [-x[h:], x[:h]]` and
 * `cos = [cos(p f), cos(p f)]` (transformers' `apply_rotary_pos_emb`). Checkpoints in Meta's
 * interleaved layout need their q/k projection rows permuted first (the families' converters do).
 *
 * `rotate_half` is computed as one matMul with a constant signed permutation matrix, which takes
 * fewer kernels than slicing and concatenating halves (js-ecosystem.md §10). Tables are computed
 * in float64 on the host for exactly the positions asked for.
 */
export class RotaryEncoder extends Module {
  /** The (scaled) frequencies, `[headDim / 2]`. */
  readonly frequencies: Float64Array;
  private rotateHalfMatrix: tf.Tensor2D | undefined;

  constructor(
    readonly headDim: number,
    readonly theta: number,
    readonly scaling?: RopeScaling,
  ) {
    super('');
    this.frequencies = computeRotaryFrequencies(headDim, theta, scaling);
  }

  protected override prepareOwn(_device: Device): void {
    this.rotateHalfMatrix?.dispose();
    this.rotateHalfMatrix = tf.tensor2d(rotateHalfMatrix(this.headDim), [this.headDim, this.headDim]);
  }

  protected override unloadOwn(): void {
    this.rotateHalfMatrix?.dispose();
    this.rotateHalfMatrix = undefined;
  }

  /** Host-side tables for positions `start .. start + length - 1`, as row-major `[length, headDim]` arrays. */
  tableValues(start: number, length: number): { cos: Float32Array; sin: Float32Array } {
    const d = this.headDim;
    const half = d / 2;
    const cos = new Float32Array(length * d);
    const sin = new Float32Array(length * d);
    for (let t = 0; t < length; t++) {
      const position = start + t;
      for (let j = 0; j < half; j++) {
        const angle = position * (this.frequencies[j] as number);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        cos[t * d + j] = c;
        cos[t * d + j + half] = c;
        sin[t * d + j] = s;
        sin[t * d + j + half] = s;
      }
    }
    return { cos, sin };
  }

  /** Device tables for positions `start .. start + length - 1`; the caller disposes them. */
  tables(start: number, length: number): RotaryTables {
    const { cos, sin } = this.tableValues(start, length);
    return {
      cos: tf.tensor3d(cos, [length, 1, this.headDim]),
      sin: tf.tensor3d(sin, [length, 1, this.headDim]),
    };
  }

  /**
   * Encodes `x` `[batch, length, heads, headDim]` whose positions are those of `tables`.
   */
  apply(x: tf.Tensor4D, tables: RotaryTables): tf.Tensor4D {
    const matrix = this.rotateHalfMatrix;
    if (matrix === undefined) {
      throw new RangeError('The rotary encoder is used before prepare().');
    }
    return tf.tidy(() => {
      const rotated = tf.reshape(tf.matMul(tf.reshape(x, [-1, this.headDim]), matrix), x.shape);
      return tf.add(tf.mul(x, tables.cos), tf.mul(rotated, tables.sin));
    });
  }
}

/** The `[d, d]` matrix `R` with `x R = rotate_half(x) = [-x[h:], x[:h]]`, row-major. */
export function rotateHalfMatrix(d: number): Float32Array {
  const half = d / 2;
  const matrix = new Float32Array(d * d);
  for (let j = 0; j < half; j++) {
    matrix[(j + half) * d + j] = -1; // out[j] = -x[j + h]
    matrix[j * d + (j + half)] = 1; // out[j + h] = x[j]
  }
  return matrix;
}
