import * as tf from '@tensorflow/tfjs';

import { GroupedQueryAttention, type AttentionContext, type GroupedQueryAttentionOptions } from './GroupedQueryAttention.js';
import { Module } from './Module.js';
import { RMSNorm } from './RMSNorm.js';
import { SwiGLUFeedForward } from './SwiGLUFeedForward.js';

/** Options of {@link TransformerDecoderLayer}. */
export interface TransformerDecoderLayerOptions extends GroupedQueryAttentionOptions {
  /** Inner width of the feed-forward network. */
  readonly ffnInnerDim: number;
  /** Epsilon of the layer's RMSNorms (and of the q/k norms). */
  readonly normEps: number;
}

/**
 * A pre-norm decoder layer (fairseq2's `StandardTransformerLMDecoderLayer` with
 * `norm_order=PRE`): `h = x + attn(norm(x))`, `y = h + ffn(norm(h))`.
 *
 * Parameters under `<name>` (`decoder.layers.N`): `self_attn_layer_norm.weight`, `self_attn.*`,
 * `ffn_layer_norm.weight`, `ffn.*`.
 */
export class TransformerDecoderLayer extends Module {
  readonly selfAttnLayerNorm: RMSNorm;
  readonly selfAttn: GroupedQueryAttention;
  readonly ffnLayerNorm: RMSNorm;
  readonly ffn: SwiGLUFeedForward;

  constructor(name: string, options: TransformerDecoderLayerOptions) {
    super(name);
    this.selfAttnLayerNorm = new RMSNorm(`${name}.self_attn_layer_norm`, options.modelDim, options.normEps);
    this.selfAttn = new GroupedQueryAttention(`${name}.self_attn`, options);
    this.ffnLayerNorm = new RMSNorm(`${name}.ffn_layer_norm`, options.modelDim, options.normEps);
    this.ffn = new SwiGLUFeedForward(`${name}.ffn`, options.modelDim, options.ffnInnerDim, {
      ...(options.outputProjection === undefined ? {} : { outputProjection: options.outputProjection }),
    });
  }

  protected override children(): readonly Module[] {
    return [this.selfAttnLayerNorm, this.selfAttn, this.ffnLayerNorm, this.ffn];
  }

  /** `x` `[batch * length, modelDim]` → same shape. */
  apply(x: tf.Tensor2D, ctx: AttentionContext): tf.Tensor2D {
    return tf.tidy(() => {
      const h: tf.Tensor2D = tf.add(x, this.selfAttn.apply(this.selfAttnLayerNorm.apply(x), ctx));
      return tf.add(h, this.ffn.apply(this.ffnLayerNorm.apply(h)));
    });
  }
}
