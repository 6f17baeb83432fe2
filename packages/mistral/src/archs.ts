import type { MistralConfig } from './config.js';

// Sources of the numbers below:
// - [M7]: Jiang et al. 2023, "Mistral 7B", arXiv:2310.06825, Table 1 (dim 4096, 32 layers,
//   head_dim 128, hidden_dim 14336, 32 heads, 8 kv heads, window 4096, context 8192, vocab 32000);
// - [HF3]: `config.json` of mistralai/Mistral-7B-v0.3 (vocab_size 32768, rope_theta 1e6,
//   sliding_window null, max_position_embeddings 32768).

/** Mistral-7B-v0.1: fairseq2's `MistralConfig()` defaults. 7,241,732,096 parameters. */
export function mistralDefaultConfig(): MistralConfig {
  return {
    model_dim: 4096, // [M7]
    max_seq_len: 8192, // [M7] context_len
    vocab_size: 32_000, // [M7]
    pad_idx: null,
    attn_window_len: 4096, // [M7] window_size
    num_layers: 32, // [M7]
    num_attn_heads: 32, // [M7]
    num_key_value_heads: 8, // [M7]
    head_dim: null, // 4096 / 32 = 128 [M7]
    ffn_inner_dim: 14_336, // [M7] hidden_dim
    rope_theta: 10_000.0, // RoFormer, arXiv:2104.09864, §3.2.2 (the v0.1 reference code's θ)
    norm_eps: 1e-5, // params.json norm_eps
    dropout_p: 0.0,
  };
}

/** Mistral 7B v0.1 (sliding-window attention over 4096 positions). */
export function mistral_7b(): MistralConfig {
  return mistralDefaultConfig();
}

/** Mistral 7B v0.3: a 32,768-token vocabulary, full attention, θ 1e6. 7,248,023,552 parameters. */
export function mistral_7b_v03(): MistralConfig {
  return {
    ...mistral_7b(),
    max_seq_len: 32_768, // [HF3]
    vocab_size: 32_768, // [HF3]
    attn_window_len: null, // [HF3]
    rope_theta: 1_000_000.0, // [HF3]
  };
}

/** The mistral architecture presets, by name (the cards' `model_arch`). Each call returns a fresh config. */
export const MISTRAL_ARCHS: Readonly<Record<string, () => MistralConfig>> = {
  mistral_7b,
  mistral_7b_v03,
};
