import { Type, type Static } from '@sinclair/typebox';

/** The name under which the llama model family is registered (cards' `model_family`). */
export const LLAMA_FAMILY = 'llama';

/**
 * Llama 3.1 frequency scaling of rotary encodings (fairseq2's `LLaMARoPEScaleConfig`), used when
 * {@link LlamaConfig.use_scaled_rope} is set: with `wavelen = 2π / freq`, `low = original_context_length
 * / frequency_factors[0]` and `high = original_context_length / frequency_factors[1]`, wavelengths
 * below `high` keep their frequency, those above `low` are divided by `factor`, and the band between
 * is interpolated smoothly.
 */
export interface LlamaRopeScaleConfig {
  /** The divisor of low frequencies. Default: `8.0` (Llama 3.1; Llama 3.2 1B/3B use 32). */
  factor: number;
  /** `[low_freq_factor, high_freq_factor]`. Default: `[1.0, 4.0]`. */
  frequency_factors: [number, number];
  /** The context length the model was pretrained with, before scaling. Default: `8192` (Llama 3's). */
  original_context_length: number;
}

/**
 * The configuration of a LLaMA model (fairseq2's `LLaMAConfig`, field for field, so that a card's
 * `model_config` overrides mean the same in fairseq2 and fs2; plus `norm_eps` and `head_dim`,
 * which fs2 adds to describe Hugging Face checkpoints exactly). The defaults are LLaMA 1 7B's.
 *
 * Constraints: `num_key_value_heads` divides `num_attn_heads`; without `head_dim`, `model_dim` is
 * a multiple of `num_attn_heads`; the head width is even.
 */
export interface LlamaConfig {
  /** Width of the residual stream. Default: `4096`. */
  model_dim: number;
  /** Longest sequence the model supports. Default: `2048`. */
  max_seq_len: number;
  /** Size of the vocabulary. Default: `32_000`. */
  vocab_size: number;
  /** The padding token, if any (it does not change what the model computes). Default: `null`. */
  pad_idx: number | null;
  /** Whether the output projection reuses the embedding matrix. Default: `false`. */
  tied_embeddings: boolean;
  /** Number of decoder layers. Default: `32`. */
  num_layers: number;
  /** Number of query heads. Default: `32`. */
  num_attn_heads: number;
  /** Number of key/value heads (grouped-query attention when fewer than `num_attn_heads`). Default: `32`. */
  num_key_value_heads: number;
  /** fs2: the width of one attention head; `null` means `model_dim / num_attn_heads`. Default: `null`. */
  head_dim: number | null;
  /**
   * The feed-forward width before `ffn_inner_dim_multiplier`, `ffn_inner_dim_scale` and
   * `ffn_inner_dim_multiple_of` apply (see `llamaFfnInnerDim`). Default: `4096 * 4`.
   */
  ffn_inner_dim: number;
  /** Scales `ffn_inner_dim` (SwiGLU keeps the parameter count of a 4x FFN at 2/3 the width). Default: `2 / 3`. */
  ffn_inner_dim_scale: number;
  /** Multiplies `ffn_inner_dim` first (Meta's `ffn_dim_multiplier`). Default: `1.0`. */
  ffn_inner_dim_multiplier: number;
  /** The effective feed-forward width is rounded up to a multiple of this (Meta's `multiple_of`). Default: `256`. */
  ffn_inner_dim_multiple_of: number;
  /** Base θ of the rotary frequencies. Default: `10_000.0`. */
  rope_theta: number;
  /** Whether rotary frequencies are scaled as in Llama 3.1 (see `rope_scale`). Default: `false`. */
  use_scaled_rope: boolean;
  /** The Llama 3.1 frequency scaling, used with `use_scaled_rope`. Default: `{factor: 8.0, frequency_factors: [1.0, 4.0], original_context_length: 8192}`. */
  rope_scale: LlamaRopeScaleConfig;
  /** fs2: epsilon of every RMSNorm (HF `rms_norm_eps`, Meta `norm_eps`). Default: `1e-5`. */
  norm_eps: number;
  /** Dropout probability during training; fs2 runs inference, where it has no effect. Default: `0.0`. */
  dropout_p: number;
  /** Standard deviation of the initial weights; `null` means `model_dim ** -0.5`. Training only. Default: `null`. */
  init_std: number | null;
  /** How the initial std shrinks with depth (`none`, `layer`, `stack`). Training only. Default: `layer`. */
  init_std_scale: 'none' | 'layer' | 'stack';
  /**
   * With tensor parallelism, shard the embedding along its model dimension (LLaMA 1/2) rather than
   * the vocabulary (LLaMA 3). Default: `true`.
   */
  shard_embed_dim: boolean;
}

const positiveInteger = (description: string) => Type.Integer({ minimum: 1, description });
const positiveNumber = (description: string) => Type.Number({ exclusiveMinimum: 0, description });

/** The JSON schema of {@link LlamaRopeScaleConfig}. */
export const LlamaRopeScaleConfigSchema = Type.Object({
  factor: positiveNumber('The divisor of low frequencies. Default: 8.0.'),
  frequency_factors: Type.Tuple([Type.Number({ exclusiveMinimum: 0 }), Type.Number({ exclusiveMinimum: 0 })], {
    description: '[low_freq_factor, high_freq_factor]. Default: [1.0, 4.0].',
  }),
  original_context_length: positiveInteger('The pretraining context length before scaling. Default: 8192.'),
});

/**
 * The JSON schema of {@link LlamaConfig} (TypeBox): card overrides and custom configs are checked
 * against it, unknown keys refused.
 */
export const LlamaConfigSchema = Type.Object(
  {
    model_dim: positiveInteger('Width of the residual stream. Default: 4096.'),
    max_seq_len: positiveInteger('Longest sequence the model supports. Default: 2048.'),
    vocab_size: positiveInteger('Size of the vocabulary. Default: 32000.'),
    pad_idx: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'The padding token. Default: null.' }),
    tied_embeddings: Type.Boolean({ description: 'Whether the output projection reuses the embedding. Default: false.' }),
    num_layers: positiveInteger('Number of decoder layers. Default: 32.'),
    num_attn_heads: positiveInteger('Number of query heads. Default: 32.'),
    num_key_value_heads: positiveInteger('Number of key/value heads. Default: 32.'),
    head_dim: Type.Union([positiveInteger('Width of one head.'), Type.Null()], { description: 'Width of one head; null: model_dim / num_attn_heads. Default: null.' }),
    ffn_inner_dim: positiveInteger('Feed-forward width before multiplier, scale and rounding. Default: 16384.'),
    ffn_inner_dim_scale: positiveNumber('Scale of ffn_inner_dim. Default: 2/3.'),
    ffn_inner_dim_multiplier: positiveNumber('Multiplier of ffn_inner_dim. Default: 1.0.'),
    ffn_inner_dim_multiple_of: positiveInteger('The feed-forward width is rounded up to a multiple of this. Default: 256.'),
    rope_theta: positiveNumber('Base of the rotary frequencies. Default: 10000.0.'),
    use_scaled_rope: Type.Boolean({ description: 'Llama 3.1 rotary frequency scaling. Default: false.' }),
    rope_scale: LlamaRopeScaleConfigSchema,
    norm_eps: positiveNumber('Epsilon of the RMSNorms. Default: 1e-5.'),
    dropout_p: Type.Number({ minimum: 0, maximum: 1, description: 'Training dropout. Default: 0.0.' }),
    init_std: Type.Union([positiveNumber('Initial weight std.'), Type.Null()], { description: 'Initial weight std. Default: null.' }),
    init_std_scale: Type.Union([Type.Literal('none'), Type.Literal('layer'), Type.Literal('stack')], {
      description: 'Depth scaling of the initial std. Default: layer.',
    }),
    shard_embed_dim: Type.Boolean({ description: 'Shard the embedding along its model dimension. Default: true.' }),
  },
  { $id: 'fs2.llama.LlamaConfig' },
);

// The schema and the documented interface describe the same object (checked at compile time).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _schemaMatchesInterface: Same<Static<typeof LlamaConfigSchema>, LlamaConfig> = true;
void _schemaMatchesInterface;

/**
 * The effective feed-forward width of a LLaMA model (fairseq2's factory plus its
 * `GLUFeedForwardNetwork`): `d = int(ffn_inner_dim * ffn_inner_dim_multiplier)`, then
 * `int(d * ffn_inner_dim_scale)`, rounded up to a multiple of `ffn_inner_dim_multiple_of`.
 * Llama 3 8B: `int(16384 * 1.3) = 21299`, `int(21299 * 2/3) = 14199`, rounded up to 1024: 14336.
 */
export function llamaFfnInnerDim(config: Pick<LlamaConfig, 'ffn_inner_dim' | 'ffn_inner_dim_multiplier' | 'ffn_inner_dim_scale' | 'ffn_inner_dim_multiple_of'>): number {
  const multiplied = Math.trunc(config.ffn_inner_dim * config.ffn_inner_dim_multiplier);
  const scaled = Math.trunc(multiplied * config.ffn_inner_dim_scale);
  const multiple = config.ffn_inner_dim_multiple_of;
  return multiple * Math.ceil(scaled / multiple);
}
