// Hugging Face llama/mistral/qwen folder (config.json + safetensors) -> GGUF v3, f32, so that
// llama.cpp runs the same weights as fs2. A port of the reference harness's make_gguf.py
// (the project workspace's harness, not part of this repository), whose conventions it follows:
//   "GGUF" | u32 version=3 | u64 n_tensors | u64 n_kv | kv pairs | tensor infos | pad to 32 | data
//   ne[] lists dimensions innermost-first (reversed shape); arch `llama` uses interleaved rotary,
//   so HF q/k rows are permuted per head back to Meta order; qwen2/qwen3 are not permuted; llama3
//   rope scaling is the f32 tensor `rope_freqs.weight` of per-frequency divisors.
import { closeSync, openSync, writeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ALIGNMENT = 32;
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 };
const ARCH = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };
const TOKEN = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 };

class Writer {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(buf) {
    this.parts.push(buf);
    this.length += buf.length;
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s) {
    const raw = Buffer.from(s, 'utf8');
    this.u64(raw.length);
    this.push(raw);
  }
  value(type, v, elemType) {
    if (type === T.STRING) return this.str(v);
    if (type === T.ARRAY) {
      this.u32(elemType);
      this.u64(v.length);
      for (const x of v) this.value(elemType, x);
      return;
    }
    const b = Buffer.alloc(type === T.BOOL ? 1 : 4);
    if (type === T.UINT32) b.writeUInt32LE(v);
    else if (type === T.INT32) b.writeInt32LE(v);
    else if (type === T.FLOAT32) b.writeFloatLE(v);
    else if (type === T.BOOL) b.writeUInt8(v ? 1 : 0);
    this.push(b);
  }
}

/** llama.cpp's `rope_freqs` divisors for llama3 scaling (theta_i = pos * base^(-2i/d) / f_i). */
function llama3RopeFreqFactors(config, headDim) {
  const rs = config.rope_scaling;
  const base = config.rope_theta ?? 10000;
  const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: old } = rs;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim; i += 2) {
    const wavelen = (2 * Math.PI) / (1 / base ** (i / headDim));
    if (wavelen < old / hi) out[i / 2] = 1;
    else if (wavelen > old / lo) out[i / 2] = factor;
    else {
      const s = (old / wavelen - lo) / (hi - lo);
      out[i / 2] = 1 / ((1 - s) / factor + s);
    }
  }
  return out;
}

/** A SentencePiece-style vocab of exactly n entries (the model only needs one to load). */
function spmVocab(n) {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN.UNKNOWN, TOKEN.CONTROL, TOKEN.CONTROL];
  for (let i = 0; i < 256; i++) {
    tokens.push(`<0x${i.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN.BYTE);
  }
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; tokens.length < n; i++) {
    let w = '';
    for (let k = i; ; ) {
      w = letters[k % 26] + w;
      k = Math.floor(k / 26) - 1;
      if (k < 0) break;
    }
    tokens.push(`\u2581${w}`);
    types.push(TOKEN.NORMAL);
  }
  const scores = tokens.map((_, j) => (j < 259 ? 0 : -(j - 259)));
  return { tokens, scores, types };
}

/** HF rotate-half row order -> Meta interleaved, per head (llama.cpp's convert_hf_to_gguf permute). */
function hfToMeta(data, rows, cols, heads) {
  const out = new Float32Array(data.length);
  const headDim = rows / heads;
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let c = 0; c < 2; c++) {
        const src = h * headDim + c * half + j;
        const dst = h * headDim + 2 * j + c;
        out.set(data.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

/** Converts the HF folder `dir` into a GGUF file at `outPath` (f32). */
export async function convertHfToGguf(dir, outPath, name = 'fs2-bench') {
  const { SafetensorsFolderReader } = await import('@fs2/core');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const arch = ARCH[config.model_type];
  if (arch === undefined) throw new Error(`model_type ${config.model_type} is not supported`);
  const H = config.hidden_size;
  const nh = config.num_attention_heads;
  const nkv = config.num_key_value_heads ?? nh;
  const hd = config.head_dim ?? H / nh;
  const L = config.num_hidden_layers;
  const V = config.vocab_size;
  const kv = [
    ['general.architecture', T.STRING, arch],
    ['general.name', T.STRING, name],
    ['general.file_type', T.UINT32, 0],
    [`${arch}.vocab_size`, T.UINT32, V],
    [`${arch}.context_length`, T.UINT32, config.max_position_embeddings],
    [`${arch}.embedding_length`, T.UINT32, H],
    [`${arch}.block_count`, T.UINT32, L],
    [`${arch}.feed_forward_length`, T.UINT32, config.intermediate_size],
    [`${arch}.attention.head_count`, T.UINT32, nh],
    [`${arch}.attention.head_count_kv`, T.UINT32, nkv],
    [`${arch}.attention.layer_norm_rms_epsilon`, T.FLOAT32, config.rms_norm_eps],
    [`${arch}.rope.freq_base`, T.FLOAT32, config.rope_theta ?? 10000],
    [`${arch}.rope.dimension_count`, T.UINT32, hd],
  ];
  if (hd !== H / nh || config.model_type === 'qwen3') {
    kv.push([`${arch}.attention.key_length`, T.UINT32, hd], [`${arch}.attention.value_length`, T.UINT32, hd]);
  }
  const vocab = spmVocab(V);
  kv.push(
    ['tokenizer.ggml.model', T.STRING, 'llama'],
    ['tokenizer.ggml.tokens', T.ARRAY, vocab.tokens, T.STRING],
    ['tokenizer.ggml.scores', T.ARRAY, vocab.scores, T.FLOAT32],
    ['tokenizer.ggml.token_type', T.ARRAY, vocab.types, T.INT32],
    ['tokenizer.ggml.bos_token_id', T.UINT32, 1],
    ['tokenizer.ggml.eos_token_id', T.UINT32, 2],
    ['tokenizer.ggml.unknown_token_id', T.UINT32, 0],
    ['tokenizer.ggml.add_bos_token', T.BOOL, true],
    ['tokenizer.ggml.add_eos_token', T.BOOL, false],
  );

  const reader = await SafetensorsFolderReader.open(dir);
  const permute = arch === 'llama';
  // [gguf name, hf key or a producer, shape]
  const plan = [['token_embd.weight', 'model.embed_tokens.weight']];
  const rs = config.rope_scaling;
  if (rs && (rs.rope_type ?? rs.type) === 'llama3') plan.push(['rope_freqs.weight', () => llama3RopeFreqFactors(config, hd), [hd / 2]]);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const g = `blk.${l}.`;
    plan.push([`${g}attn_norm.weight`, `${p}input_layernorm.weight`]);
    plan.push([`${g}attn_q.weight`, `${p}self_attn.q_proj.weight`, undefined, permute ? nh : 0]);
    plan.push([`${g}attn_k.weight`, `${p}self_attn.k_proj.weight`, undefined, permute ? nkv : 0]);
    plan.push([`${g}attn_v.weight`, `${p}self_attn.v_proj.weight`]);
    for (const [hf, gg] of [['q_proj', 'attn_q'], ['k_proj', 'attn_k'], ['v_proj', 'attn_v']]) {
      if (reader.has(`${p}self_attn.${hf}.bias`)) plan.push([`${g}${gg}.bias`, `${p}self_attn.${hf}.bias`, undefined, permute && hf !== 'v_proj' ? (hf === 'q_proj' ? nh : nkv) : 0]);
    }
    if (reader.has(`${p}self_attn.q_norm.weight`)) {
      plan.push([`${g}attn_q_norm.weight`, `${p}self_attn.q_norm.weight`], [`${g}attn_k_norm.weight`, `${p}self_attn.k_norm.weight`]);
    }
    plan.push([`${g}attn_output.weight`, `${p}self_attn.o_proj.weight`]);
    plan.push([`${g}ffn_norm.weight`, `${p}post_attention_layernorm.weight`]);
    plan.push([`${g}ffn_gate.weight`, `${p}mlp.gate_proj.weight`]);
    plan.push([`${g}ffn_up.weight`, `${p}mlp.up_proj.weight`]);
    plan.push([`${g}ffn_down.weight`, `${p}mlp.down_proj.weight`]);
  }
  plan.push(['output_norm.weight', 'model.norm.weight']);
  if (!config.tie_word_embeddings) plan.push(['output.weight', 'lm_head.weight']);

  const head = new Writer();
  head.push(Buffer.from('GGUF'));
  head.u32(3);
  head.u64(plan.length);
  head.u64(kv.length);
  for (const [key, type, value, elemType] of kv) {
    head.str(key);
    head.u32(type);
    head.value(type, value, elemType);
  }
  let offset = 0;
  const entries = plan.map(([gguf, source, shape, heads]) => {
    const full = shape ?? reader.shape(source);
    const bytes = full.reduce((a, b) => a * b, 1) * 4;
    head.str(gguf);
    head.u32(full.length);
    for (const d of [...full].reverse()) head.u64(d);
    head.u32(0); // GGML_TYPE_F32
    head.u64(offset);
    const entry = { gguf, source, shape: full, heads, offset };
    offset += bytes + ((ALIGNMENT - (bytes % ALIGNMENT)) % ALIGNMENT);
    return entry;
  });
  const headerPad = (ALIGNMENT - (head.length % ALIGNMENT)) % ALIGNMENT;
  head.push(Buffer.alloc(headerPad));

  const fd = openSync(outPath, 'w');
  try {
    writeSync(fd, Buffer.concat(head.parts));
    for (const e of entries) {
      let data = typeof e.source === 'function' ? e.source() : await reader.read(e.source);
      if (e.heads) {
        const [rows, cols = 1] = e.shape;
        data = hfToMeta(data, rows, cols, e.heads);
      }
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      writeSync(fd, buf);
      const pad = (ALIGNMENT - (buf.length % ALIGNMENT)) % ALIGNMENT;
      if (pad) writeSync(fd, Buffer.alloc(pad));
    }
  } finally {
    closeSync(fd);
    await reader.close();
  }
  return outPath;
}
