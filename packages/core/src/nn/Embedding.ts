import * as tf from '@tensorflow/tfjs';

import { Module, Parameter, type ParameterSlot } from './Module.js';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /**
   * Whether the matrix also serves as the output projection (tied embeddings). It is then stored
   * transposed, `[dim, vocab]`, so that `project()` is a plain matMul (a transposed one is ~10x
   * slower on wasm, js-ecosystem.md §2.3) and the matrix is held once. Default: `false`.
   */
  readonly tiedProjection?: boolean;
}

/**
 * A token embedding table. Parameter: `<name>.weight` `[vocab, dim]` (fairseq2's
 * `decoder_frontend.embed.weight`).
 */
export class Embedding extends Module {
  readonly tiedProjection: boolean;
  private readonly weight: Parameter;

  constructor(
    name: string,
    readonly vocabSize: number,
    readonly dim: number,
    options: EmbeddingOptions = {},
  ) {
    super(name);
    this.tiedProjection = options.tiedProjection ?? false;
    this.weight = this.tiedProjection
      ? new Parameter(`${name}.weight`, [vocabSize, dim], {
          storedShape: [dim, vocabSize],
          apply: (data) => transpose2d(data, vocabSize, dim),
          invert: (stored) => transpose2d(stored, dim, vocabSize),
        })
      : new Parameter(`${name}.weight`, [vocabSize, dim]);
  }

  protected override ownSlots(): ParameterSlot[] {
    return [this.weight];
  }

  protected override unloadOwn(): void {
    this.weight.unload();
  }

  /**
   * The loaded table: `[vocab, dim]`, or `[dim, vocab]` with a tied projection; for code that reads
   * it outside TF.js (the CPU kernels).
   */
  weightTensor(): tf.Tensor2D {
    return this.weight.tensor() as tf.Tensor2D;
  }

  /** Token ids `[n]` (int32) → embeddings `[n, dim]`. */
  apply(ids: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const weight = this.weight.tensor() as tf.Tensor2D;
      if (!this.tiedProjection) {
        return tf.gather(weight, ids, 0);
      }
      return tf.transpose(tf.gather(weight, ids, 1));
    });
  }

  /** Hidden states `[n, dim]` → logits `[n, vocab]` with the tied matrix. */
  project(x: tf.Tensor2D): tf.Tensor2D {
    if (!this.tiedProjection) {
      throw new RangeError(`The embedding ${this.name} is not tied to the output projection.`);
    }
    return tf.matMul(x, this.weight.tensor() as tf.Tensor2D);
  }
}

/**
 * Transposes a row-major `[rows, cols]` matrix into a new array, in 64x64 tiles so that both sides
 * stay in cache. Done in JS rather than on the device so the device never holds two copies.
 */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const tile = 64;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        const rowOffset = r * cols;
        for (let c = c0; c < c1; c++) {
          out[c * rows + r] = data[rowOffset + c] as number;
        }
      }
    }
  }
  return out;
}
