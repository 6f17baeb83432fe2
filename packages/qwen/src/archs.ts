import type { QwenConfig } from './config.js';

// Sources of the numbers below:
// - [Q25]: Qwen Team 2024, "Qwen2.5 Technical Report", arXiv:2412.15115, Table 1 (layers,
//   query/kv heads, tied embeddings, context length);
// - [Q3]: Qwen Team 2025, "Qwen3 Technical Report", arXiv:2505.09388, Table 1 (layers, query/kv
//   heads, tied embeddings);
// - [HF]: the model's Hugging Face `config.json` (`hidden_size`, `intermediate_size`,
//   `vocab_size`, `max_position_embeddings`, `head_dim`, `rms_norm_eps`, `rope_theta`), which
//   fairseq2's presets (`models/qwen/config.py`) reproduce.

/** Qwen2.5-7B: fairseq2's `QwenConfig()` defaults, the base every preset starts from. */
export function qwenDefaultConfig(): QwenConfig {
  return {
    model_dim: 3584, // [HF]
    max_seq_len: 32_768, // [HF] max_position_embeddings
    vocab_size: 152_064, // [HF]
    tied_embeddings: false, // [Q25]
    num_layers: 28, // [Q25]
    num_attn_heads: 28, // [Q25]
    num_key_value_heads: 4, // [Q25]
    head_dim: null,
    qkv_proj_bias: true, // [Q25] §2: "QKV bias"
    q_norm: false,
    k_norm: false,
    ffn_inner_dim: 18_944, // [HF] intermediate_size
    rope_theta: 1_000_000.0, // [HF]
    norm_eps: 1e-6, // [HF] rms_norm_eps
    dropout_p: 0.0,
  };
}

/** Qwen2.5-7B. 7,615,616,512 parameters. */
export function qwen25_7b(): QwenConfig {
  return qwenDefaultConfig();
}

/** Qwen2.5-0.5B. 494,032,768 parameters. */
export function qwen25_0_5b(): QwenConfig {
  return {
    ...qwen25_7b(),
    model_dim: 896, // [HF]
    vocab_size: 151_936, // [HF]
    tied_embeddings: true, // [Q25]
    num_layers: 24, // [Q25]
    num_attn_heads: 14,
    num_key_value_heads: 2,
    ffn_inner_dim: 4864, // [HF]
  };
}

/** Qwen2.5-1.5B. */
export function qwen25_1_5b(): QwenConfig {
  return {
    ...qwen25_0_5b(),
    model_dim: 1536, // [HF]
    num_layers: 28, // [Q25]
    num_attn_heads: 12,
    num_key_value_heads: 2,
    ffn_inner_dim: 8960, // [HF]
  };
}

/** Qwen2.5-3B. */
export function qwen25_3b(): QwenConfig {
  return {
    ...qwen25_0_5b(),
    model_dim: 2048, // [HF]
    num_layers: 36, // [Q25]
    num_attn_heads: 16,
    num_key_value_heads: 2,
    ffn_inner_dim: 11_008, // [HF]
  };
}

/** Qwen2.5-14B. */
export function qwen25_14b(): QwenConfig {
  return {
    ...qwen25_7b(),
    model_dim: 5120, // [HF]
    num_layers: 48, // [Q25]
    num_attn_heads: 40,
    num_key_value_heads: 8,
    ffn_inner_dim: 13_824, // [HF]
  };
}

/** Qwen2.5-32B. */
export function qwen25_32b(): QwenConfig {
  return {
    ...qwen25_14b(),
    num_layers: 64, // [Q25]
    ffn_inner_dim: 27_648, // [HF]
  };
}

/** Qwen2.5-72B. */
export function qwen25_72b(): QwenConfig {
  return {
    ...qwen25_7b(),
    model_dim: 8192, // [HF]
    num_layers: 80, // [Q25]
    num_attn_heads: 64,
    num_key_value_heads: 8,
    ffn_inner_dim: 29_568, // [HF]
  };
}

/** Qwen3-8B: q/k norms, no q/k/v biases, an explicit head width of 128. 8,190,735,360 parameters. */
export function qwen3_8b(): QwenConfig {
  return {
    ...qwen25_7b(),
    model_dim: 4096, // [HF]
    max_seq_len: 40_960, // [HF] max_position_embeddings
    vocab_size: 151_936, // [HF]
    num_layers: 36, // [Q3]
    num_attn_heads: 32,
    num_key_value_heads: 8,
    head_dim: 128, // [HF]
    qkv_proj_bias: false, // [Q3] §2: "remove QKV-bias ... introduce QK-Norm"
    q_norm: true,
    k_norm: true,
    ffn_inner_dim: 12_288, // [HF]
  };
}

/** Qwen3-0.6B: tied embeddings. 596,049,920 parameters. */
export function qwen3_0_6b(): QwenConfig {
  return {
    ...qwen3_8b(),
    model_dim: 1024, // [HF]
    tied_embeddings: true, // [Q3]
    num_layers: 28, // [Q3]
    num_attn_heads: 16,
    num_key_value_heads: 8,
    ffn_inner_dim: 3072, // [HF]
  };
}

/** Qwen3-1.7B. */
export function qwen3_1_7b(): QwenConfig {
  return { ...qwen3_0_6b(), model_dim: 2048, ffn_inner_dim: 6144 }; // [HF]; 28 layers, 16/8 heads [Q3]
}

/** Qwen3-4B. */
export function qwen3_4b(): QwenConfig {
  return {
    ...qwen3_0_6b(),
    model_dim: 2560, // [HF]
    num_layers: 36, // [Q3]
    num_attn_heads: 32,
    num_key_value_heads: 8,
    ffn_inner_dim: 9728, // [HF]
  };
}

/** Qwen3-14B. */
export function qwen3_14b(): QwenConfig {
  return {
    ...qwen3_8b(),
    model_dim: 5120, // [HF]
    num_layers: 40, // [Q3]
    num_attn_heads: 40,
    num_key_value_heads: 8,
    ffn_inner_dim: 17_408, // [HF]
  };
}

/** Qwen3-32B. */
export function qwen3_32b(): QwenConfig {
  return {
    ...qwen3_14b(),
    num_layers: 64, // [Q3]
    num_attn_heads: 64,
    ffn_inner_dim: 25_600, // [HF]
  };
}

/**
 * The qwen architecture presets, by name (the cards' `model_arch`; Qwen 2.5 and Qwen 3). Each
 * call returns a fresh config.
 */
export const QWEN_ARCHS: Readonly<Record<string, () => QwenConfig>> = {
  'qwen25_0.5b': qwen25_0_5b,
  'qwen25_1.5b': qwen25_1_5b,
  qwen25_3b,
  qwen25_7b,
  qwen25_14b,
  qwen25_32b,
  qwen25_72b,
  'qwen3_0.6b': qwen3_0_6b,
  'qwen3_1.7b': qwen3_1_7b,
  qwen3_4b,
  qwen3_8b,
  qwen3_14b,
  qwen3_32b,
};
