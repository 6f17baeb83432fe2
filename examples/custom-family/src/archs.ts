import type { Gpt2Config } from './config.js';

/**
 * GPT-2 small, 124M parameters (124,439,808 with the LM head tied, as `num_parameters()` of
 * Hugging Face's `GPT2LMHeadModel` reports for `openai-community/gpt2`). The values are that
 * checkpoint's `config.json`.
 */
function gpt2_small(): Gpt2Config {
  return {
    model_dim: 768,
    num_layers: 12,
    num_heads: 12,
    max_seq_len: 1024,
    vocab_size: 50_257, // Radford et al. 2019 (GPT-2), §2.3
    ffn_inner_dim: 768 * 4, // 3072, as GPT-1 (Radford et al. 2018, §4.1), which GPT-2 follows (§2.3)
    layer_norm_eps: 1e-5,
    dropout_p: 0.1,
  };
}

// Begin-example: archs
/** GPT-2 medium, 355M parameters (`openai-community/gpt2-medium`). */
function gpt2_medium(): Gpt2Config {
  const config = gpt2_small();
  config.model_dim = 1024;
  config.num_layers = 24;
  config.num_heads = 16;
  config.ffn_inner_dim = 1024 * 4;
  return config;
}
// End-example: archs

/** GPT-2 large, 774M parameters (`openai-community/gpt2-large`). */
function gpt2_large(): Gpt2Config {
  const config = gpt2_medium();
  config.model_dim = 1280;
  config.num_layers = 36;
  config.num_heads = 20;
  config.ffn_inner_dim = 1280 * 4;
  return config;
}

/** GPT-2 XL, 1.5B parameters (`openai-community/gpt2-xl`). */
function gpt2_xl(): Gpt2Config {
  const config = gpt2_large();
  config.model_dim = 1600;
  config.num_layers = 48;
  config.num_heads = 25;
  config.ffn_inner_dim = 1600 * 4;
  return config;
}

/**
 * A GPT-2 shaped model small enough for tests and examples (30,592 parameters): the architecture
 * of the `gpt2_tiny_random` card, whose random weights are committed next to it.
 */
function gpt2_tiny(): Gpt2Config {
  const config = gpt2_small();
  config.model_dim = 32;
  config.num_layers = 2;
  config.num_heads = 4;
  config.max_seq_len = 64;
  config.vocab_size = 96;
  config.ffn_inner_dim = 32 * 4;
  config.dropout_p = 0;
  return config;
}

// Begin-example: arch-table
/**
 * The GPT-2 architecture presets, by the name cards use in `model_arch`. Each call returns a fresh
 * object, so a caller may change it.
 */
export const gpt2Archs = {
  gpt2_tiny,
  gpt2_small,
  gpt2_medium,
  gpt2_large,
  gpt2_xl,
} satisfies Readonly<Record<string, () => Gpt2Config>>;

/** The name of a GPT-2 architecture preset. */
export type Gpt2ArchName = keyof typeof gpt2Archs;
// End-example: arch-table
