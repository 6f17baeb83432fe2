import { Type, type Static } from '@sinclair/typebox';

/** The name under which the qwen model family is registered (cards' `model_family`). */
export const QWEN_FAMILY = 'qwen';

/**
 * The configuration of a Qwen 2.5 or Qwen 3 model (fairseq2's `QwenConfig`, field for field, so
 * that a card's `model_config` overrides mean the same in fairseq2 and fs2; plus `norm_eps`,
 * which fairseq2 hard-codes). The defaults are Qwen2.5-7B's.
 *
 * Constraints: `num_key_value_heads` divides `num_attn_heads`; without `head_dim`, `model_dim` is
 * a multiple of `num_attn_heads`; `q_norm` and `k_norm` are equal (fs2 normalises both or neither).
 */
export interface QwenConfig {
  /** Width of the residual stream. Default: `3584`. */
  model_dim: number;
  /** Longest sequence the model supports. Default: `32_768`. */
  max_seq_len: number;
  /** Size of the vocabulary. Default: `152_064`. */
  vocab_size: number;
  /** Whether the output projection reuses the embedding matrix. Default: `false`. */
  tied_embeddings: boolean;
  /** Number of decoder layers. Default: `28`. */
  num_layers: number;
  /** Number of query heads. Default: `28`. */
  num_attn_heads: number;
  /** Number of key/value heads (grouped-query attention). Default: `4`. */
  num_key_value_heads: number;
  /** The width of one attention head; `null` means `model_dim / num_attn_heads` (Qwen 3 sets 128). Default: `null`. */
  head_dim: number | null;
  /** Whether the q, k and v projections have biases (Qwen 2.5). Default: `true`. */
  qkv_proj_bias: boolean;
  /** Whether queries go through an RMSNorm over the head width before rotary encoding (Qwen 3). Default: `false`. */
  q_norm: boolean;
  /** Whether keys go through an RMSNorm over the head width before rotary encoding (Qwen 3). Default: `false`. */
  k_norm: boolean;
  /** The feed-forward (SwiGLU) width, used as is. Default: `18_944`. */
  ffn_inner_dim: number;
  /** Base θ of the rotary frequencies. Default: `1_000_000.0`. */
  rope_theta: number;
  /** fs2: epsilon of every RMSNorm, q/k norms included (HF `rms_norm_eps`). Default: `1e-6`. */
  norm_eps: number;
  /** Dropout probability during training; fs2 runs inference, where it has no effect. Default: `0.0`. */
  dropout_p: number;
}

const positiveInteger = (description: string) => Type.Integer({ minimum: 1, description });
const positiveNumber = (description: string) => Type.Number({ exclusiveMinimum: 0, description });

/**
 * The JSON schema of {@link QwenConfig} (TypeBox): card overrides and custom configs are checked
 * against it, unknown keys refused.
 */
export const QwenConfigSchema = Type.Object(
  {
    model_dim: positiveInteger('Width of the residual stream. Default: 3584.'),
    max_seq_len: positiveInteger('Longest sequence the model supports. Default: 32768.'),
    vocab_size: positiveInteger('Size of the vocabulary. Default: 152064.'),
    tied_embeddings: Type.Boolean({ description: 'Whether the output projection reuses the embedding. Default: false.' }),
    num_layers: positiveInteger('Number of decoder layers. Default: 28.'),
    num_attn_heads: positiveInteger('Number of query heads. Default: 28.'),
    num_key_value_heads: positiveInteger('Number of key/value heads. Default: 4.'),
    head_dim: Type.Union([positiveInteger('Width of one head.'), Type.Null()], { description: 'Width of one head; null: model_dim / num_attn_heads. Default: null.' }),
    qkv_proj_bias: Type.Boolean({ description: 'Biases on the q, k and v projections. Default: true.' }),
    q_norm: Type.Boolean({ description: 'RMSNorm of the queries over the head width. Default: false.' }),
    k_norm: Type.Boolean({ description: 'RMSNorm of the keys over the head width. Default: false.' }),
    ffn_inner_dim: positiveInteger('Feed-forward width. Default: 18944.'),
    rope_theta: positiveNumber('Base of the rotary frequencies. Default: 1000000.0.'),
    norm_eps: positiveNumber('Epsilon of the RMSNorms. Default: 1e-6.'),
    dropout_p: Type.Number({ minimum: 0, maximum: 1, description: 'Training dropout. Default: 0.0.' }),
  },
  { $id: 'fs2.qwen.QwenConfig' },
);

// The schema and the documented interface describe the same object (checked at compile time).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _schemaMatchesInterface: Same<Static<typeof QwenConfigSchema>, QwenConfig> = true;
void _schemaMatchesInterface;
