import * as tf from '@tensorflow/tfjs';

import { Module, Parameter, type ParameterSlot } from './Module.js';

/**
 * Root-mean-square layer normalisation (Zhang & Sennrich 2019, arXiv:1910.07467) over the last
 * dimension: `x / sqrt(mean(x²) + eps) * weight`, without bias, as LLaMA, Qwen and Mistral use it.
 *
 * Parameter: `<name>.weight` `[dim]`.
 */
export class RMSNorm extends Module {
  private readonly weight: Parameter;

  constructor(
    name: string,
    readonly dim: number,
    /** Added to the mean square before the square root. */
    readonly eps: number,
  ) {
    super(name);
    this.weight = new Parameter(`${name}.weight`, [dim]);
  }

  protected override ownSlots(): ParameterSlot[] {
    return [this.weight];
  }

  protected override unloadOwn(): void {
    this.weight.unload();
  }

  /** The gain tensor `[dim]` (loaded); for code that runs the norm outside TF.js (the CPU kernels). */
  weightTensor(): tf.Tensor1D {
    return this.weight.tensor() as tf.Tensor1D;
  }

  /** Normalises `x` (any rank, last dimension `dim`). */
  apply<T extends tf.Tensor>(x: T): T {
    return rmsNorm(x, this.weight.tensor(), this.eps);
  }
}

/** `x / sqrt(mean(x², last axis) + eps) * weight`; `weight` broadcasts against `x`. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, eps: number): T {
  return tf.tidy(() => {
    const inverseRms = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
    return tf.mul(tf.mul(x, inverseRms), weight) as T;
  });
}
