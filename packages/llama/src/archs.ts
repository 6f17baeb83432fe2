import type { LlamaConfig } from './config.js';

// Sources of the numbers below:
// - [L1]: Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language Models",
//   arXiv:2302.13971, Table 2 (dims, heads, layers) and §2.2 (SwiGLU at 2/3 of 4d, RoPE);
// - [L2]: Touvron et al. 2023, "Llama 2: Open Foundation and Fine-Tuned Chat Models",
//   arXiv:2307.09288, Table 1 (context 4k, GQA for 70B) and §A.2.1 (GQA with 8 kv heads);
// - [L3]: Grattafiori et al. 2024, "The Llama 3 Herd of Models", arXiv:2407.21783, Table 3
//   (layers, model dim, FFN dim, heads, kv heads, vocabulary 128K, θ 500,000) and §3.3.1 (context);
// - [P]: Meta's `params.json` of each release (`ffn_dim_multiplier`, `multiple_of`,
//   `use_scaled_rope`), which fairseq2's presets (`models/llama/config.py`) reproduce;
// - [HF]: the model's Hugging Face `config.json` (`rope_scaling`, `tie_word_embeddings`).

/** LLaMA 1 7B: fairseq2's `LLaMAConfig()` defaults, the base every preset starts from. */
export function llamaDefaultConfig(): LlamaConfig {
  return {
    model_dim: 4096, // [L1]
    max_seq_len: 2048, // [L1] §2.3
    vocab_size: 32_000, // [L1] §2.1 (SentencePiece, 32k tokens)
    pad_idx: null,
    tied_embeddings: false,
    num_layers: 32, // [L1]
    num_attn_heads: 32, // [L1]
    num_key_value_heads: 32,
    head_dim: null,
    ffn_inner_dim: 4096 * 4,
    ffn_inner_dim_scale: 2 / 3, // [L1] §2.2: "2/3 4d instead of 4d"
    ffn_inner_dim_multiplier: 1.0,
    ffn_inner_dim_multiple_of: 256, // [P] multiple_of
    rope_theta: 10_000.0, // RoFormer, arXiv:2104.09864, §3.2.2
    use_scaled_rope: false,
    rope_scale: { factor: 8.0, frequency_factors: [1.0, 4.0], original_context_length: 8192 }, // [P], Llama 3.1 reference code
    norm_eps: 1e-5, // [P] norm_eps
    dropout_p: 0.0,
    init_std: null,
    init_std_scale: 'layer',
    shard_embed_dim: true,
  };
}

/** Llama 2 7B: LLaMA 1 7B with a 4k context. 6,738,415,616 parameters. */
export function llama2_7b(): LlamaConfig {
  return { ...llamaDefaultConfig(), max_seq_len: 4096 }; // [L2] Table 1
}

/** Llama 2 13B. 13,015,864,320 parameters. */
export function llama2_13b(): LlamaConfig {
  return {
    ...llama2_7b(),
    model_dim: 5120, // [L1] Table 2
    num_layers: 40,
    num_attn_heads: 40,
    num_key_value_heads: 40,
    ffn_inner_dim: 5120 * 4,
  };
}

/** Llama 2 70B: grouped-query attention with 8 kv heads. 68,976,648,192 parameters. */
export function llama2_70b(): LlamaConfig {
  return {
    ...llama2_7b(),
    model_dim: 8192,
    num_layers: 80,
    num_attn_heads: 64,
    num_key_value_heads: 8, // [L2] §A.2.1
    ffn_inner_dim: 8192 * 4,
    ffn_inner_dim_multiplier: 1.3, // [P] ffn_dim_multiplier
    ffn_inner_dim_multiple_of: 4096, // [P] multiple_of; effective width 28,672
  };
}

/** Llama 3 8B. 8,030,261,248 parameters. */
export function llama3_8b(): LlamaConfig {
  return {
    ...llama2_7b(),
    max_seq_len: 8192, // [L3] §3.2
    vocab_size: 128_256, // [L3] Table 3 ("128K"); [HF] vocab_size
    pad_idx: 128_004, // <|finetune_right_pad_id|> (fairseq2's preset)
    num_key_value_heads: 8, // [L3] Table 3
    ffn_inner_dim_multiplier: 1.3, // [P]
    ffn_inner_dim_multiple_of: 1024, // [P]; effective width 14,336 ([L3] Table 3)
    rope_theta: 500_000.0, // [L3] Table 3
    shard_embed_dim: false,
  };
}

/** Llama 3 70B. 70,553,706,496 parameters. */
export function llama3_70b(): LlamaConfig {
  return {
    ...llama3_8b(),
    model_dim: 8192, // [L3] Table 3
    num_layers: 80,
    num_attn_heads: 64,
    num_key_value_heads: 8,
    ffn_inner_dim: 8192 * 4,
    ffn_inner_dim_multiplier: 1.3, // [P]
    ffn_inner_dim_multiple_of: 4096, // [P]; effective width 28,672 ([L3] Table 3)
  };
}

/** Llama 3.1 8B: Llama 3 8B with a 128K context through scaled rotary frequencies. */
export function llama3_1_8b(): LlamaConfig {
  return { ...llama3_8b(), max_seq_len: 131_072, use_scaled_rope: true }; // [L3] §3.4.2; [P] use_scaled_rope
}

/** Llama 3.1 70B (and Llama 3.3 70B). */
export function llama3_1_70b(): LlamaConfig {
  return { ...llama3_70b(), max_seq_len: 131_072, use_scaled_rope: true };
}

/** Llama 3.1 405B. 405,853,388,800 parameters. */
export function llama3_1_405b(): LlamaConfig {
  return {
    ...llama3_1_70b(),
    model_dim: 16_384, // [L3] Table 3
    num_layers: 126,
    num_attn_heads: 128,
    num_key_value_heads: 8,
    ffn_inner_dim: 16_384 * 4,
    ffn_inner_dim_multiplier: 1.2, // [P]
    ffn_inner_dim_multiple_of: 4096, // [P]; effective width 53,248 ([L3] Table 3)
  };
}

/** Llama 3.2 3B: tied embeddings, rotary scaling factor 32. 3,212,749,824 parameters. */
export function llama3_2_3b(): LlamaConfig {
  return {
    ...llama3_1_8b(),
    model_dim: 3072, // [HF] hidden_size
    num_layers: 28,
    num_attn_heads: 24,
    num_key_value_heads: 8,
    ffn_inner_dim: 3072 * 4,
    ffn_inner_dim_multiplier: 1.0, // [P]
    ffn_inner_dim_multiple_of: 256, // [P]; effective width 8192 ([HF] intermediate_size)
    tied_embeddings: true, // [HF] tie_word_embeddings
    rope_scale: { factor: 32.0, frequency_factors: [1.0, 4.0], original_context_length: 8192 }, // [HF] rope_scaling
  };
}

/** Llama 3.2 1B. 1,235,814,400 parameters. */
export function llama3_2_1b(): LlamaConfig {
  return {
    ...llama3_2_3b(),
    model_dim: 2048, // [HF] hidden_size
    num_layers: 16,
    num_attn_heads: 32,
    num_key_value_heads: 8,
    ffn_inner_dim: 2048 * 4,
    ffn_inner_dim_multiplier: 1.5, // [P]; effective width 8192 ([HF] intermediate_size)
  };
}

/**
 * The llama architecture presets, by name (the cards' `model_arch`). Each call returns a fresh
 * config. Llama 3.3 70B uses `llama3_1_70b`.
 */
export const LLAMA_ARCHS: Readonly<Record<string, () => LlamaConfig>> = {
  llama2_7b,
  llama2_13b,
  llama2_70b,
  llama3_8b,
  llama3_70b,
  llama3_1_8b,
  llama3_1_70b,
  llama3_1_405b,
  llama3_2_1b,
  llama3_2_3b,
};
