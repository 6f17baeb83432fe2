import * as tf from '@tensorflow/tfjs';

import { Linear } from './Linear.js';
import { Module, type ParameterSlot } from './Module.js';
import { linearProjection, type Projection, type ProjectionFactory } from './Projection.js';

/** Options of {@link SwiGLUFeedForward}. */
export interface SwiGLUFeedForwardOptions {
  /**
   * Builds the output projection: a row-sharded one under tensor parallelism, where `innerDim` is
   * one rank's. Default: a bias-free `Linear`.
   */
  readonly outputProjection?: ProjectionFactory;
}

/**
 * The SwiGLU feed-forward network (Shazeer 2020, arXiv:2002.05202): `output(silu(gate(x)) * inner(x))`,
 * without biases, with `silu(x) = x * sigmoid(x)` (TF.js has no silu op, js-ecosystem.md §2.6).
 *
 * Parameters under `<name>` (`decoder.layers.N.ffn`): `gate_proj.weight` and `inner_proj.weight`
 * `[modelDim, innerDim]` (HF `gate_proj`, `up_proj`), `output_proj.weight` `[innerDim, modelDim]`
 * (HF `down_proj`). Gate and inner are fused into one matMul at load.
 */
export class SwiGLUFeedForward extends Module {
  private readonly gateInner: Linear;
  private readonly output: Projection;

  constructor(
    name: string,
    readonly modelDim: number,
    readonly innerDim: number,
    options: SwiGLUFeedForwardOptions = {},
  ) {
    super(name);
    this.gateInner = new Linear(`${name}.gate_inner_proj`, modelDim, 2 * innerDim, {
      outputs: [
        { name: `${name}.gate_proj`, dim: innerDim },
        { name: `${name}.inner_proj`, dim: innerDim },
      ],
    });
    this.output = (options.outputProjection ?? linearProjection)(`${name}.output_proj`, innerDim, modelDim);
  }

  protected override ownSlots(): ParameterSlot[] {
    return this.gateInner.parameterSlots();
  }

  protected override children(): readonly Module[] {
    return [this.output];
  }

  protected override unloadOwn(): void {
    this.gateInner.unload();
  }

  /** The fused gate/inner projection, `[modelDim, 2 innerDim]` (gate columns first). */
  get gateInnerProjection(): Linear {
    return this.gateInner;
  }

  /** The output projection, `[innerDim, modelDim]`. */
  get outputProjection(): Projection {
    return this.output;
  }

  /** `x` `[n, modelDim]` → `[n, modelDim]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [gate, inner] = this.gateInner.applySplit(x) as [tf.Tensor2D, tf.Tensor2D];
      return this.output.apply(tf.mul(tf.mul(gate, tf.sigmoid(gate)), inner));
    });
  }
}
