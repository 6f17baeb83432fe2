// fs2 on the `webgpu` device: load, prefill and decode tokens/s of a Hugging Face llama checkpoint
// (config.json + model.safetensors, f32), measured as bench/llamacpp/bench.mjs measures llama.cpp:
//   load:    reading the checkpoint, renaming its tensors and uploading them, until the GPU has
//            taken them in (the first forward pass can run). Linear weights go as stored
//            (`[out, in]`, `transposed` state entries), or with `--layout fs2` transposed on the
//            host to fs2's `[in, out]` first (and back on the GPU);
//   prefill: the prompt evaluated (chunks of 512), until the first generated token is on the host;
//   decode:  N further greedy tokens, each fed back (the runtime computes one step ahead).
// Then where the time goes: dispatches per decode step, host encoding time per step, the same decode
// with the look-ahead off (every step waits for its read-back), and the weight bytes read per step.
// Prints one JSON object per run on stdout.
//
// Usage: node bench/webgpu/bench.mjs --model DIR [--prompt-tokens 128] [--new-tokens 64] [--runs 3]
//        [--kernels fs2|tfjs]   (tfjs: the TF.js modules on tfjs-backend-webgpu, for comparison)
//        [--layout stored|fs2]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DeviceRegistry, SafetensorsReader, TransformerDecoderModel, WebGpuDeviceProvider } from '@fs2/core';

import { benchPrompt } from '../prompt.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const modelDir = opt('--model');
const promptTokens = Number(opt('--prompt-tokens', 128));
const newTokens = Number(opt('--new-tokens', 64));
const runs = Number(opt('--runs', 3));
const kernels = opt('--kernels', 'fs2');
const layout = opt('--layout', 'stored');

const hf = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
const rs = hf.rope_scaling;
const config = {
  vocabSize: hf.vocab_size,
  modelDim: hf.hidden_size,
  numLayers: hf.num_hidden_layers,
  numHeads: hf.num_attention_heads,
  numKvHeads: hf.num_key_value_heads,
  ffnInnerDim: hf.intermediate_size,
  normEps: hf.rms_norm_eps,
  ropeTheta: hf.rope_theta,
  tiedEmbeddings: hf.tie_word_embeddings === true,
  maxSeqLen: hf.max_position_embeddings,
  ...(rs?.rope_type === 'llama3'
    ? {
        ropeScaling: {
          type: 'llama3',
          factor: rs.factor,
          lowFreqFactor: rs.low_freq_factor,
          highFreqFactor: rs.high_freq_factor,
          originalMaxPositionEmbeddings: rs.original_max_position_embeddings,
        },
      }
    : {}),
};

/** HF llama names to fs2's; linear weights (`[out, in]`) are transposed to fs2's `[in, out]`. */
const NAMES = [
  [/^model\.embed_tokens\.weight$/, 'decoder_frontend.embed.weight', false],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'decoder.layers.$1.self_attn_layer_norm.weight', false],
  [/^model\.layers\.(\d+)\.self_attn\.([qkv])_proj\.weight$/, 'decoder.layers.$1.self_attn.$2_proj.weight', true],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'decoder.layers.$1.self_attn.output_proj.weight', true],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'decoder.layers.$1.ffn_layer_norm.weight', false],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'decoder.layers.$1.ffn.gate_proj.weight', true],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'decoder.layers.$1.ffn.inner_proj.weight', true],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'decoder.layers.$1.ffn.output_proj.weight', true],
  [/^model\.norm\.weight$/, 'decoder.layer_norm.weight', false],
  [/^lm_head\.weight$/, 'final_proj.weight', true],
];

/** `[rows, cols]` -> `[cols, rows]` in 64x64 tiles. */
function transpose(data, rows, cols, out) {
  for (let r0 = 0; r0 < rows; r0 += 64) {
    const r1 = Math.min(rows, r0 + 64);
    for (let c0 = 0; c0 < cols; c0 += 64) {
      const c1 = Math.min(cols, c0 + 64);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = data[base + c];
      }
    }
  }
  return out;
}

/** Host milliseconds spent reading the checkpoint and (with `--layout fs2`) transposing. */
const loadTimes = { readMs: 0, transposeMs: 0 };

async function* stateSource(reader) {
  let scratch = new Float32Array(0);
  for (const key of reader.keys()) {
    const rule = NAMES.find(([pattern]) => pattern.test(key));
    if (rule === undefined) throw new Error(`unexpected key ${key}`);
    const name = key.replace(rule[0], rule[1]);
    const shape = reader.info(key).shape;
    let t0 = performance.now();
    const data = await reader.readFloat32(key);
    loadTimes.readMs += performance.now() - t0;
    if (!rule[2]) {
      yield { name, data, shape };
      continue;
    }
    const [out, inp] = shape;
    if (layout === 'stored') {
      yield { name, data, shape: [inp, out], transposed: true };
      continue;
    }
    t0 = performance.now();
    if (scratch.length < data.length) scratch = new Float32Array(data.length);
    const transposed = transpose(data, out, inp, scratch.subarray(0, data.length));
    loadTimes.transposeMs += performance.now() - t0;
    yield { name, data: transposed, shape: [inp, out] };
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Unquantized GPU timestamps, for the per-kernel profile (Dawn rounds them otherwise).
const provider = new WebGpuDeviceProvider({ decoderKernels: kernels, dawnOptions: ['disable-dawn-features=timestamp_quantization'] });
const registry = new DeviceRegistry([provider]);
let t = performance.now();
const device = await registry.use('webgpu');
const initS = (performance.now() - t) / 1000;
const gpu = provider.context().device;

t = performance.now();
const model = new TransformerDecoderModel(config, { device, maxCacheLength: Math.max(256, promptTokens + newTokens + 16) });
const reader = await SafetensorsReader.open(join(modelDir, 'model.safetensors'));
await model.loadState(stateSource(reader));
await reader.close();
await gpu.queue.onSubmittedWorkDone();
const loadS = (performance.now() - t) / 1000;

const prompt = benchPrompt(promptTokens, config.vocabSize);
const runtime = model.runtime;
const weightBytes = runtime?.weights.bytes;

async function generateOnce(label) {
  const before = runtime === undefined ? undefined : { ...runtime.stats };
  const times = [];
  const tokens = [];
  const t0 = performance.now();
  for await (const { token } of model.generate(prompt, { maxNewTokens: newTokens + 1 })) {
    times.push(performance.now());
    tokens.push(token);
  }
  const prefillMs = times[0] - t0;
  const decodeMs = times[times.length - 1] - times[0];
  const result = {
    label,
    prefill_tok_s: promptTokens / (prefillMs / 1000),
    decode_tok_s: newTokens / (decodeMs / 1000),
    decode_ms_per_token: decodeMs / newTokens,
    first_tokens: tokens.slice(0, 8),
  };
  if (before !== undefined) {
    const s = runtime.stats;
    const steps = newTokens + 1;
    result.dispatches_per_decode_step = (s.dispatches - before.dispatches - (prefillDispatches ?? 0)) / (steps - 1);
    result.host_encode_ms_per_run = (s.encodeMs - before.encodeMs) / (s.runs - before.runs);
    result.readback_wait_ms_total = s.waitMs - before.waitMs;
    result.readback_bytes_total = s.readbackBytes - before.readbackBytes;
    result.submits = s.submits - before.submits;
  }
  return result;
}

/** Dispatches of the prefill runs: counted once from a separate prefill (measured, not assumed). */
let prefillDispatches;
if (runtime !== undefined) {
  const cache = model.createCache({ capacity: promptTokens + 1 });
  const before = runtime.stats.dispatches;
  // A prefill followed by the head and the greedy pick, as generate() runs it.
  const stream = runtime.openTokenStream(Int32Array.from(prompt), cache, { greedy: true, sample: () => 0 }, 1);
  await stream.next();
  stream.close();
  cache.dispose();
  prefillDispatches = runtime.stats.dispatches - before;
}

const out = {
  engine: `fs2-webgpu-${kernels}`,
  adapter: provider.details().adapter,
  layout,
  init_s: initS,
  load_s: loadS,
  load_read_s: loadTimes.readMs / 1000,
  load_transpose_s: loadTimes.transposeMs / 1000,
  weight_bytes: weightBytes,
  runs: [],
};
await generateOnce('warm-up');
for (let r = 0; r < runs; r++) {
  out.runs.push(await generateOnce(`run ${r + 1}`));
}
if (runtime !== undefined) {
  runtime.lookahead = false;
  out.no_lookahead = await generateOnce('no look-ahead');
  runtime.lookahead = true;
}
if (runtime !== undefined && gpu.features.has('timestamp-query')) {
  // GPU time per kernel role: a prefill of the prompt, then 8 decode steps (averaged).
  const cache = model.createCache({ capacity: promptTokens + 9 });
  out.profile_prefill = await runtime.profile(cache, { ids: Int32Array.from(prompt) }, 0);
  const steps = [];
  for (let i = 0; i < 8; i++) steps.push(await runtime.profile(cache, 'token', promptTokens + i));
  const roles = {};
  for (const step of steps) {
    for (const [role, { dispatches, ns }] of Object.entries(step.roles)) {
      const entry = (roles[role] ??= { dispatches: 0, us: 0 });
      entry.dispatches = dispatches;
      entry.us += ns / 1000 / steps.length;
    }
  }
  out.profile_decode_step = { roles, total_us: steps.reduce((t, s) => t + s.totalNs, 0) / 1000 / steps.length };
  cache.dispose();
}
out.prefill_tok_s = median(out.runs.map((r) => r.prefill_tok_s));
out.decode_tok_s = median(out.runs.map((r) => r.decode_tok_s));
if (weightBytes !== undefined) {
  // Bytes of weights a decode step streams: everything but the embedding rows (one row is read),
  // with the tied head counted once (it is the embedding matrix).
  const embedBytes = config.vocabSize * config.modelDim * 4;
  const stepBytes = weightBytes - (config.tiedEmbeddings ? 0 : embedBytes);
  out.weight_bytes_per_decode_step = stepBytes;
  out.effective_gb_s = (stepBytes * out.decode_tok_s) / 1e9;
}
console.log(JSON.stringify(out));
model.dispose();
process.exit(0);
