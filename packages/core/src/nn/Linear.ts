import * as tf from '@tensorflow/tfjs';

import { FusedParameter, Module, type ParameterSlot } from './Module.js';

/** One output block of a {@link Linear}: an fs2 projection name and its width. */
export interface LinearOutput {
  /** The fs2 name of the projection (`decoder.layers.0.self_attn.q_proj`); parameters are `<name>.weight`, `<name>.bias`. */
  readonly name: string;
  /** Its number of output features. */
  readonly dim: number;
  /** A factor folded into its weight and bias at load (default 1). */
  readonly scale?: number;
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Whether the projection has a bias. Default: `false`. */
  readonly bias?: boolean;
  /**
   * Several fs2 projections of the same input fused into this one (q/k/v, gate/inner): their
   * weights are concatenated along the output dimension at load, so one matMul computes them all.
   * Default: one output named after the module.
   */
  readonly outputs?: readonly LinearOutput[];
}

/**
 * `y = x W (+ b)`, with `W` stored `[in, out]` (fairseq2's and HF's `[out, in]` transposed once at
 * load), because every transposed matMul on the wasm backend runs ~10x slower (js-ecosystem.md
 * §2.3). The bias, when present, is added by the same fused kernel.
 *
 * Parameters: `<name>.weight` `[in, out]` and `<name>.bias` `[out]`, per output block.
 */
export class Linear extends Module {
  readonly outputs: readonly LinearOutput[];
  readonly outDim: number;
  readonly hasBias: boolean;
  private readonly weight: FusedParameter;
  private readonly bias: FusedParameter | undefined;

  constructor(
    name: string,
    readonly inDim: number,
    outDim: number,
    options: LinearOptions = {},
  ) {
    super(name);
    this.outputs = options.outputs ?? [{ name, dim: outDim }];
    this.outDim = this.outputs.reduce((total, o) => total + o.dim, 0);
    if (this.outDim !== outDim) {
      throw new RangeError(`The outputs of ${name} add up to ${this.outDim} features, not ${outDim}.`);
    }
    this.hasBias = options.bias ?? false;
    this.weight = new FusedParameter(
      inDim,
      this.outputs.map((o) => ({ name: `${o.name}.weight`, columns: o.dim, ...(o.scale === undefined ? {} : { scale: o.scale }) })),
    );
    this.bias = this.hasBias
      ? new FusedParameter(
          undefined,
          this.outputs.map((o) => ({ name: `${o.name}.bias`, columns: o.dim, ...(o.scale === undefined ? {} : { scale: o.scale }) })),
        )
      : undefined;
  }

  protected override ownSlots(): ParameterSlot[] {
    return [...this.weight.slots(), ...(this.bias?.slots() ?? [])];
  }

  protected override unloadOwn(): void {
    this.weight.unload();
    this.bias?.unload();
  }

  /** `x` `[n, in]` → `[n, out]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const weight = this.weight.tensor() as tf.Tensor2D;
    if (this.bias === undefined) {
      return tf.matMul(x, weight);
    }
    return tf.fused.matMul({ a: x, b: weight, bias: this.bias.tensor() }) as tf.Tensor2D;
  }

  /**
   * `x` `[n, in]` → one tensor per output block, `[n, dim]` each (one matMul, one split).
   */
  applySplit(x: tf.Tensor2D): tf.Tensor2D[] {
    if (this.outputs.length === 1) {
      return [this.apply(x)];
    }
    return tf.tidy(() => tf.split(this.apply(x), this.outputs.map((o) => o.dim), 1));
  }
}
