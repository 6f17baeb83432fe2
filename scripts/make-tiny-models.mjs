#!/usr/bin/env node
// Writes the tiny offline models of cards/tiny/ (tiny_llama, tiny_qwen, tiny_mistral): random
// weights in Hugging Face's layout (config.json, generation_config.json, model.safetensors), a
// byte-level tokenizer.json with the family's special tokens, and the card of each model.
//
//   node scripts/make-tiny-models.mjs [--out DIR]     (default: cards/tiny)
//
// Deterministic: the same script writes the same bytes (a seeded generator, fixed key order, no
// timestamps), which test/tiny-models.int.spec.ts checks against the committed files. Plain Node,
// no dependencies: the safetensors format is 8 bytes of header length, a JSON header, raw data.
//
// TINY_MODELS below is the one place the shapes live: config.json and the card's model_config
// are both written from it. To ship trained weights for a model, keep its entry and replace
// model.safetensors with a file of the same tensors and shapes.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Llama 3's special tokens in their order (ids 128000...), here after the 256 bytes. */
const LLAMA3_SPECIALS = [
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|reserved_special_token_0|>',
  '<|reserved_special_token_1|>',
  '<|finetune_right_pad_id|>',
  '<|reserved_special_token_2|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eom_id|>',
  '<|eot_id|>',
  '<|python_tag|>',
];

/** Qwen's special tokens in their order (ids 151643...), here after the 256 bytes. */
const QWEN_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<think>', '</think>'];

/** Mistral's SentencePiece specials at ids 0, 1, 2, before the 256 bytes. */
const MISTRAL_SPECIALS = ['<unk>', '<s>', '</s>'];

/**
 * The tiny models. `hf` is the config.json (transformers' names); `card` the card's fields, whose
 * `model_config` describes the same shapes in the family's fairseq2 names; `specials` and
 * `specialsFirst` place the special tokens around the 256 byte tokens.
 */
export const TINY_MODELS = {
  tiny_llama: {
    seed: 11,
    specials: LLAMA3_SPECIALS,
    specialsFirst: false,
    hf: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: 320,
      hidden_size: 96,
      intermediate_size: 256,
      num_hidden_layers: 4,
      num_attention_heads: 6,
      num_key_value_heads: 2,
      head_dim: 16,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 500000.0,
      rope_scaling: { rope_type: 'llama3', factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 256 },
      tie_word_embeddings: false,
      attention_bias: false,
      mlp_bias: false,
      hidden_act: 'silu',
      bos_token_id: 256,
      eos_token_id: 257,
      pad_token_id: 260,
      torch_dtype: 'float32',
    },
    card: {
      description: 'A tiny random-weight LLaMA (Llama 3 layout, 4 layers, GQA, llama3 rotary scaling) with a byte-level tokenizer.',
      model_family: 'llama',
      model_arch: 'llama3_1_8b',
      model_config: {
        model_dim: 96,
        max_seq_len: 2048,
        vocab_size: 320,
        pad_idx: 260,
        num_layers: 4,
        num_attn_heads: 6,
        num_key_value_heads: 2,
        ffn_inner_dim: 256,
        ffn_inner_dim_scale: 1.0,
        ffn_inner_dim_multiplier: 1.0,
        ffn_inner_dim_multiple_of: 1,
        rope_scale: { factor: 8.0, frequency_factors: [1.0, 4.0], original_context_length: 256 },
      },
      tokenizer_family: 'llama',
    },
  },
  tiny_qwen: {
    seed: 12,
    specials: QWEN_SPECIALS,
    specialsFirst: false,
    hf: {
      architectures: ['Qwen3ForCausalLM'],
      model_type: 'qwen3',
      vocab_size: 272,
      hidden_size: 64,
      intermediate_size: 192,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      rope_scaling: null,
      tie_word_embeddings: true,
      attention_bias: false,
      use_sliding_window: false,
      sliding_window: null,
      hidden_act: 'silu',
      bos_token_id: 256,
      eos_token_id: 256,
      torch_dtype: 'float32',
    },
    card: {
      description: 'A tiny random-weight Qwen 3 (q/k norms, head_dim 32, tied embeddings) with a byte-level tokenizer.',
      model_family: 'qwen',
      model_arch: 'qwen3_0.6b',
      model_config: {
        model_dim: 64,
        max_seq_len: 2048,
        vocab_size: 272,
        num_layers: 2,
        num_attn_heads: 4,
        num_key_value_heads: 2,
        head_dim: 32,
        ffn_inner_dim: 192,
      },
      tokenizer_family: 'qwen',
    },
  },
  tiny_mistral: {
    seed: 13,
    specials: MISTRAL_SPECIALS,
    specialsFirst: true,
    hf: {
      architectures: ['MistralForCausalLM'],
      model_type: 'mistral',
      vocab_size: 272,
      hidden_size: 64,
      intermediate_size: 160,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 10000.0,
      sliding_window: 64,
      tie_word_embeddings: false,
      hidden_act: 'silu',
      bos_token_id: 1,
      eos_token_id: 2,
      torch_dtype: 'float32',
    },
    card: {
      description: 'A tiny random-weight Mistral (sliding-window attention over 64 positions) with a byte-level tokenizer.',
      model_family: 'mistral',
      model_arch: 'mistral_7b',
      model_config: {
        model_dim: 64,
        max_seq_len: 2048,
        vocab_size: 272,
        attn_window_len: 64,
        num_layers: 2,
        num_attn_heads: 4,
        num_key_value_heads: 2,
        ffn_inner_dim: 160,
      },
      tokenizer_family: 'mistral',
    },
  },
};

/** mulberry32: a small, well-mixed 32-bit generator (Tommy Ettinger, public domain). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) from `uniform`. */
function normals(uniform, count, std, mean = 0) {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = mean + std * r * Math.cos(angle);
    if (i + 1 < count) {
      out[i + 1] = mean + std * r * Math.sin(angle);
    }
  }
  return out;
}

/** GPT-2's byte-to-unicode table: printable bytes stand for themselves, the others for code points 256 and up. */
function byteToUnicode() {
  const printable = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + next++);
  }
  return table;
}

/** The id of byte `b` and of special token `i` for a model. */
function layout(spec) {
  const offset = spec.specialsFirst ? spec.specials.length : 0;
  return {
    byteId: (b) => offset + b,
    specialId: (i) => (spec.specialsFirst ? i : 256 + i),
  };
}

/** A byte-level BPE tokenizer.json (no merges: one token per byte) with the model's special tokens. */
function tokenizerJson(spec) {
  const { byteId, specialId } = layout(spec);
  const chars = byteToUnicode();
  const vocab = {};
  const entries = [];
  spec.specials.forEach((token, i) => entries.push([token, specialId(i)]));
  chars.forEach((char, b) => entries.push([char, byteId(b)]));
  entries.sort((x, y) => x[1] - y[1]);
  for (const [token, id] of entries) vocab[token] = id;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.specials.map((content, i) => ({
      id: specialId(i),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

function tokenizerConfigJson(spec) {
  const { specialId } = layout(spec);
  const hf = spec.hf;
  const tokenAt = (id) => spec.specials[spec.specialsFirst ? id : id - 256];
  return {
    bos_token: hf.bos_token_id === undefined ? null : tokenAt(hf.bos_token_id),
    eos_token: tokenAt(hf.eos_token_id),
    ...(hf.pad_token_id === undefined ? {} : { pad_token: tokenAt(hf.pad_token_id) }),
    model_max_length: hf.max_position_embeddings,
    tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: Object.fromEntries(
      spec.specials.map((content, i) => [String(specialId(i)), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
  };
}

/** The HF tensors of a model, in a fixed order, with the harness's initialisation scales. */
function tensors(spec) {
  const hf = spec.hf;
  const uniform = mulberry32(spec.seed);
  const d = hf.hidden_size;
  const headDim = hf.head_dim ?? d / hf.num_attention_heads;
  const q = hf.num_attention_heads * headDim;
  const kv = hf.num_key_value_heads * headDim;
  const out = [];
  const linear = (key, rows, cols) => out.push({ key, shape: [rows, cols], data: normals(uniform, rows * cols, 1 / Math.sqrt(cols)) });
  const gain = (key, size) => out.push({ key, shape: [size], data: normals(uniform, size, 0.1, 1) });

  const tied = hf.tie_word_embeddings;
  // Logits of std ~2.5 (as the reference harness's fixtures), through the lm_head or the tied embedding.
  const embedding = normals(uniform, hf.vocab_size * d, tied ? 2.5 / Math.sqrt(d) : 1);
  out.push({ key: 'model.embed_tokens.weight', shape: [hf.vocab_size, d], data: embedding });
  for (let l = 0; l < hf.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    gain(`${p}.input_layernorm.weight`, d);
    linear(`${p}.self_attn.q_proj.weight`, q, d);
    linear(`${p}.self_attn.k_proj.weight`, kv, d);
    linear(`${p}.self_attn.v_proj.weight`, kv, d);
    if (hf.model_type === 'qwen3') {
      gain(`${p}.self_attn.q_norm.weight`, headDim);
      gain(`${p}.self_attn.k_norm.weight`, headDim);
    }
    linear(`${p}.self_attn.o_proj.weight`, d, q);
    gain(`${p}.post_attention_layernorm.weight`, d);
    linear(`${p}.mlp.gate_proj.weight`, hf.intermediate_size, d);
    linear(`${p}.mlp.up_proj.weight`, hf.intermediate_size, d);
    linear(`${p}.mlp.down_proj.weight`, d, hf.intermediate_size);
  }
  gain('model.norm.weight', d);
  const head = tied ? embedding : normals(uniform, hf.vocab_size * d, 2.5 / Math.sqrt(d));
  if (!tied) {
    out.push({ key: 'lm_head.weight', shape: [hf.vocab_size, d], data: head });
  }
  // Random weights produce random tokens; shrinking the output rows of everything but printable
  // ASCII (and newline) makes those win almost always, so that the text they decode to is readable.
  const { byteId } = layout(spec);
  const readable = new Set([10, ...Array.from({ length: 95 }, (_, i) => 32 + i)].map(byteId));
  for (let id = 0; id < hf.vocab_size; id++) {
    if (!readable.has(id)) {
      for (let j = 0; j < d; j++) head[id * d + j] *= 0.2;
    }
  }
  return out;
}

/** A safetensors file: 8-byte little-endian header length, JSON header padded to 8 with spaces, raw data. */
function safetensors(list) {
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of list) {
    header[t.key] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let position = 8 + headerBytes.length;
  for (const t of list) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, position);
    position += t.data.byteLength;
  }
  return out;
}

/** A YAML scalar or flow collection (the card values are plain JSON). */
function yamlValue(value) {
  if (typeof value === 'string') {
    return /^[A-Za-z_][A-Za-z0-9_.\-]*$/.test(value) && !['true', 'false', 'null', 'yes', 'no'].includes(value) ? value : JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(yamlValue).join(', ')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value).map(([k, v]) => `${k}: ${yamlValue(v)}`).join(', ')}}`;
  }
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value) ? String(value) : JSON.stringify(value);
}

function cardYaml(name, spec) {
  const { description, model_config: modelConfig, ...fields } = spec.card;
  const lines = [
    `# ${description}`,
    '# Written by scripts/make-tiny-models.mjs (do not edit by hand: change TINY_MODELS there and rerun it).',
    `name: ${name}`,
    ...Object.entries(fields).map(([k, v]) => `${k}: ${yamlValue(v)}`),
    '# Relative to this file.',
    `checkpoint: ${name}`,
    `tokenizer: ${name}`,
    'model_config:',
    ...Object.entries(modelConfig).map(([k, v]) => `  ${k}: ${yamlValue(v)}`),
  ];
  return `${lines.join('\n')}\n`;
}

function json(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes every tiny model and its card under `outDir`. */
export function writeTinyModels(outDir) {
  for (const [name, spec] of Object.entries(TINY_MODELS)) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const hf = spec.hf;
    writeFileSync(join(dir, 'config.json'), json(hf));
    writeFileSync(join(dir, 'generation_config.json'), json({ bos_token_id: hf.bos_token_id, eos_token_id: hf.eos_token_id, do_sample: false }));
    writeFileSync(join(dir, 'model.safetensors'), safetensors(tensors(spec)));
    writeFileSync(join(dir, 'tokenizer.json'), json(tokenizerJson(spec)));
    writeFileSync(join(dir, 'tokenizer_config.json'), json(tokenizerConfigJson(spec)));
    writeFileSync(join(outDir, `${name}.yaml`), cardYaml(name, spec));
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf('--out');
  const outDir = index === -1 ? join(REPO, 'cards', 'tiny') : resolve(process.argv[index + 1] ?? '.');
  writeTinyModels(outDir);
  process.stdout.write(`Wrote ${Object.keys(TINY_MODELS).join(', ')} to ${outDir}\n`);
}
