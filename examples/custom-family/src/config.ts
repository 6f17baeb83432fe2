import { Fs2Error } from '@fs2/core';

// Begin-example: config
import { Type, type Static } from '@sinclair/typebox';

/** The name cards use in `model_family`, and the key the family is registered under. */
export const GPT2_FAMILY = 'gpt2';

/**
 * The configuration of a GPT-2 model, as a TypeBox schema: the JSON schema that card overrides
 * (`model_config: {dropout_p: 0.0}`) and custom configs are checked against, unknown keys refused.
 * Keys are snake_case, as in fairseq2's config dataclasses, so that cards read the same in both.
 *
 * The defaults are GPT-2 small's (124M), from the Hugging Face `openai-community/gpt2`
 * `config.json` (`n_embd` 768, `n_layer` 12, `n_head` 12, `n_positions` 1024, `vocab_size` 50257,
 * `layer_norm_epsilon` 1e-5, `resid_pdrop` 0.1).
 *
 * Constraints, checked by {@link checkGpt2Config} when a model is built: `model_dim` is divisible
 * by `num_heads`; every size is at least 1.
 */
export const Gpt2ConfigSchema = Type.Object(
  {
    /** The width of the residual stream (HF `n_embd`). Default: `768`. */
    model_dim: Type.Integer({ minimum: 1, default: 768, description: 'Width of the residual stream (HF n_embd).' }),
    /** The number of transformer blocks (HF `n_layer`). Default: `12`. */
    num_layers: Type.Integer({ minimum: 1, default: 12, description: 'Number of transformer blocks (HF n_layer).' }),
    /** The number of attention heads; `model_dim / num_heads` is the head width (HF `n_head`). Default: `12`. */
    num_heads: Type.Integer({ minimum: 1, default: 12, description: 'Number of attention heads (HF n_head).' }),
    /** The longest sequence: the rows of the learned position table (HF `n_positions`). Default: `1024`. */
    max_seq_len: Type.Integer({ minimum: 1, default: 1024, description: 'Rows of the position table (HF n_positions).' }),
    /** The vocabulary size: the rows of the token table, tied to the output projection. Default: `50257`. */
    vocab_size: Type.Integer({ minimum: 1, default: 50257, description: 'Rows of the token table (HF vocab_size).' }),
    /** The inner width of the feed-forward network (HF `n_inner`, `null` there meaning `4 * n_embd`). Default: `3072`. */
    ffn_inner_dim: Type.Integer({ minimum: 1, default: 3072, description: 'Inner width of the MLP (HF n_inner).' }),
    /** The epsilon of every LayerNorm (HF `layer_norm_epsilon`). Default: `1e-5`. */
    layer_norm_eps: Type.Number({ exclusiveMinimum: 0, default: 1e-5, description: 'LayerNorm epsilon.' }),
    /**
     * The dropout probability of embeddings, attention and residual branches (HF `embd_pdrop`,
     * `attn_pdrop`, `resid_pdrop`). fs2 runs inference, where dropout is the identity: the field
     * is kept so that configs and `config.json` round-trip. Default: `0.1`.
     */
    dropout_p: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: 'Dropout probability (training only).' }),
  },
  { $id: 'fs2-examples.custom-family.Gpt2Config', additionalProperties: false },
);

/** A GPT-2 configuration (the static type of {@link Gpt2ConfigSchema}). */
export type Gpt2Config = Static<typeof Gpt2ConfigSchema>;
// End-example: config

/** A GPT-2 config whose fields do not fit together (checked when a model is built). */
export class Gpt2ConfigError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    /** The field at fault. */
    readonly field: keyof Gpt2Config,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks what the schema cannot say: `model_dim` must split evenly into `num_heads` heads.
 *
 * @throws Gpt2ConfigError naming the field.
 */
export function checkGpt2Config(config: Gpt2Config): void {
  if (config.model_dim % config.num_heads !== 0) {
    throw new Gpt2ConfigError(
      'num_heads',
      `\`model_dim\` (${config.model_dim}) of a GPT-2 config must be a multiple of \`num_heads\` (${config.num_heads}).`,
    );
  }
}
