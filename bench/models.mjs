// Random-weight llama-style checkpoints for benchmarks, in Hugging Face layout (config.json +
// model.safetensors, f32), generated deterministically. Shapes of the reference harness's perf
// model (the reference harness's PERF_VARIANT) and of two bigger ones.
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import seedrandom from 'seedrandom';

/** The benchmark models: HF config fields (LlamaForCausalLM). */
export const BENCH_MODELS = {
  // ~124.7M params: the harness's perf_llama (hidden 768, 12 layers, 12/4 heads, vocab 32000).
  perf_125m: { vocab_size: 32000, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 4, intermediate_size: 2048, rope_theta: 500000, tie_word_embeddings: false },
  // ~501M params: how cost grows with size on the same vocabulary.
  perf_500m: { vocab_size: 32000, hidden_size: 1536, num_hidden_layers: 16, num_attention_heads: 12, num_key_value_heads: 4, intermediate_size: 4096, rope_theta: 500000, tie_word_embeddings: false },
  // Llama-3.2-1B shapes (1,235,814,400 params, tied, llama3 rope scaling factor 32): for GPUs.
  llama32_1b: {
    vocab_size: 128256, hidden_size: 2048, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 8192,
    rope_theta: 500000, tie_word_embeddings: true,
    rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
  },
};

/** The HF `config.json` of a bench model. */
export function benchConfig(name) {
  const shape = BENCH_MODELS[name];
  if (shape === undefined) {
    throw new Error(`Unknown bench model ${name}; known: ${Object.keys(BENCH_MODELS).join(', ')}`);
  }
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
    ...shape,
  };
}

/** HF tensor names and shapes of a llama config. */
export function llamaTensorShapes(config) {
  const h = config.hidden_size;
  const hd = config.head_dim ?? h / config.num_attention_heads;
  const kv = config.num_key_value_heads * hd;
  const shapes = [['model.embed_tokens.weight', [config.vocab_size, h]]];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [h]],
      [`${p}self_attn.q_proj.weight`, [config.num_attention_heads * hd, h]],
      [`${p}self_attn.k_proj.weight`, [kv, h]],
      [`${p}self_attn.v_proj.weight`, [kv, h]],
      [`${p}self_attn.o_proj.weight`, [h, config.num_attention_heads * hd]],
      [`${p}post_attention_layernorm.weight`, [h]],
      [`${p}mlp.gate_proj.weight`, [config.intermediate_size, h]],
      [`${p}mlp.up_proj.weight`, [config.intermediate_size, h]],
      [`${p}mlp.down_proj.weight`, [h, config.intermediate_size]],
    );
  }
  shapes.push(['model.norm.weight', [h]]);
  if (!config.tie_word_embeddings) {
    shapes.push(['lm_head.weight', [config.vocab_size, h]]);
  }
  return shapes;
}

/**
 * Writes bench model `name` into `dir` (config.json + model.safetensors) unless present.
 * Weights: normal with std 1/sqrt(fan_in) for matrices (the harness's rule, so activations stay
 * in range through the layers), norm gains 1.
 */
export async function ensureBenchModel(name, dir, { log = () => {} } = {}) {
  const file = join(dir, 'model.safetensors');
  if (existsSync(file) && existsSync(join(dir, 'config.json'))) {
    return dir;
  }
  const { writeSafetensors } = await import('@fs2/core');
  mkdirSync(dir, { recursive: true });
  const config = benchConfig(name);
  const random = seedrandom(`fs2-bench-${name}`);
  const tensors = llamaTensorShapes(config).map(([key, shape]) => ({
    key,
    shape,
    dtype: 'F32',
    data: () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const out = new Float32Array(n);
      if (shape.length === 1) {
        out.fill(1);
        return out;
      }
      const std = 1 / Math.sqrt(shape[shape.length - 1]);
      for (let i = 0; i < n; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - random()));
        const a = 2 * Math.PI * random();
        out[i] = std * r * Math.cos(a);
        if (i + 1 < n) out[i + 1] = std * r * Math.sin(a);
      }
      return out;
    },
  }));
  log(`bench: writing ${name} to ${dir}`);
  await writeSafetensors(file, tensors);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}
