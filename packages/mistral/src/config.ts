import { Type, type Static } from '@sinclair/typebox';

/** The name under which the mistral model family is registered (cards' `model_family`). */
export const MISTRAL_FAMILY = 'mistral';

/**
 * The configuration of a Mistral 7B model (fairseq2's `MistralConfig`, field for field, so that a
 * card's `model_config` overrides mean the same in fairseq2 and fs2; plus `rope_theta`,
 * `head_dim` and `norm_eps`, which fs2 adds because v0.3 and Hugging Face checkpoints need them).
 * The defaults are Mistral-7B-v0.1's.
 *
 * Constraints: `num_key_value_heads` divides `num_attn_heads`; without `head_dim`, `model_dim` is
 * a multiple of `num_attn_heads`.
 */
export interface MistralConfig {
  /** Width of the residual stream. Default: `4096`. */
  model_dim: number;
  /** Longest sequence the model supports. Default: `8192`. */
  max_seq_len: number;
  /** Size of the vocabulary. Default: `32_000`. */
  vocab_size: number;
  /** The padding token, if any (it does not change what the model computes). Default: `null`. */
  pad_idx: number | null;
  /**
   * The sliding attention window W: position i attends to the W positions `i - W < j <= i`;
   * `null` for full causal attention (v0.2 and later). Default: `4096`.
   */
  attn_window_len: number | null;
  /** Number of decoder layers. Default: `32`. */
  num_layers: number;
  /** Number of query heads. Default: `32`. */
  num_attn_heads: number;
  /** Number of key/value heads (grouped-query attention). Default: `8`. */
  num_key_value_heads: number;
  /** fs2: the width of one attention head; `null` means `model_dim / num_attn_heads`. Default: `null`. */
  head_dim: number | null;
  /** The feed-forward (SwiGLU) width, used as is. Default: `14_336`. */
  ffn_inner_dim: number;
  /** fs2: base θ of the rotary frequencies (v0.3 uses 1e6). Default: `10_000.0`. */
  rope_theta: number;
  /** fs2: epsilon of every RMSNorm. Default: `1e-5`. */
  norm_eps: number;
  /** Dropout probability during training; fs2 runs inference, where it has no effect. Default: `0.0`. */
  dropout_p: number;
}

const positiveInteger = (description: string) => Type.Integer({ minimum: 1, description });
const positiveNumber = (description: string) => Type.Number({ exclusiveMinimum: 0, description });

/**
 * The JSON schema of {@link MistralConfig} (TypeBox): card overrides and custom configs are checked
 * against it, unknown keys refused.
 */
export const MistralConfigSchema = Type.Object(
  {
    model_dim: positiveInteger('Width of the residual stream. Default: 4096.'),
    max_seq_len: positiveInteger('Longest sequence the model supports. Default: 8192.'),
    vocab_size: positiveInteger('Size of the vocabulary. Default: 32000.'),
    pad_idx: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'The padding token. Default: null.' }),
    attn_window_len: Type.Union([positiveInteger('The sliding attention window.'), Type.Null()], {
      description: 'The sliding attention window; null: full attention. Default: 4096.',
    }),
    num_layers: positiveInteger('Number of decoder layers. Default: 32.'),
    num_attn_heads: positiveInteger('Number of query heads. Default: 32.'),
    num_key_value_heads: positiveInteger('Number of key/value heads. Default: 8.'),
    head_dim: Type.Union([positiveInteger('Width of one head.'), Type.Null()], { description: 'Width of one head; null: model_dim / num_attn_heads. Default: null.' }),
    ffn_inner_dim: positiveInteger('Feed-forward width. Default: 14336.'),
    rope_theta: positiveNumber('Base of the rotary frequencies. Default: 10000.0.'),
    norm_eps: positiveNumber('Epsilon of the RMSNorms. Default: 1e-5.'),
    dropout_p: Type.Number({ minimum: 0, maximum: 1, description: 'Training dropout. Default: 0.0.' }),
  },
  { $id: 'fs2.mistral.MistralConfig' },
);

// The schema and the documented interface describe the same object (checked at compile time).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _schemaMatchesInterface: Same<Static<typeof MistralConfigSchema>, MistralConfig> = true;
void _schemaMatchesInterface;
