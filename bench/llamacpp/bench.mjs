// llama.cpp side of `npm run bench`: one process, one model (GGUF, f32), F32 KV cache, CPU threads.
// Measures exactly what `fs2 bench` measures (see packages/cli/src/commands/bench.ts):
//   load:    loadModel() until the model is ready;
//   prefill: the prompt evaluated in one batch, until the first generated token is available;
//   decode:  N further single-token greedy steps, each feeding the previous token.
// Adapted from the reference harness's bench.mjs. Prints one JSON object on stdout.
//
// Like `fs2 bench`, it does `--warmup` untimed runs, then `--runs` timed ones, and reports the
// medians (a run: clear the sequence, prefill, decode).
//
// Usage: node bench/llamacpp/bench.mjs --model file.gguf --prompt-tokens 128 --new-tokens 64
//        [--threads 2] [--warmup 1] [--runs 3] [--gpu vulkan] [--context 2048]
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

import { benchPrompt } from '../prompt.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const modelPath = opt('--model');
const promptTokens = Number(opt('--prompt-tokens', 128));
const newTokens = Number(opt('--new-tokens', 64));
const threads = Number(opt('--threads', 2));
const gpu = opt('--gpu', 'false');
const contextSize = Number(opt('--context', Math.max(256, promptTokens + newTokens + 16)));
const vocab = Number(opt('--vocab', 32000));
const warmup = Number(opt('--warmup', 1));
const runs = Number(opt('--runs', 3));

const prompt = benchPrompt(promptTokens, vocab);
const llama = await getLlama({ gpu: gpu === 'false' ? false : gpu, build: 'never', logLevel: LlamaLogLevel.error });
const t0 = performance.now();
const model = await llama.loadModel({ modelPath, gpuLayers: gpu === 'false' ? 0 : 'max' });
const loadS = (performance.now() - t0) / 1000;
const context = await model.createContext({
  contextSize,
  batchSize: promptTokens,
  threads,
  flashAttention: false,
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
});
const seq = context.getSequence();
const input = prompt.map((t, i) => (i === prompt.length - 1 ? [t, { generateNext: { token: true } }] : t));
const prefillRates = [];
const decodeRates = [];
let firstPrefillS = NaN;
let tokens = [];
for (let run = 0; run < warmup + runs; run++) {
  await seq.clearHistory();
  const t1 = performance.now();
  const res = await seq.controlledEvaluate(input);
  const t2 = performance.now();
  let token = res[prompt.length - 1].next.token;
  tokens = [token];
  const t3 = performance.now();
  for (let i = 0; i < newTokens; i++) {
    const r = await seq.controlledEvaluate([[token, { generateNext: { token: true } }]]);
    token = r[0].next.token;
    tokens.push(token);
  }
  const t4 = performance.now();
  if (run === 0) firstPrefillS = (t2 - t1) / 1000;
  if (run >= warmup) {
    prefillRates.push(promptTokens / ((t2 - t1) / 1000));
    decodeRates.push(newTokens / ((t4 - t3) / 1000));
  }
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const result = {
  engine: 'llama.cpp',
  llama_cpp: llama.llamaCppRelease,
  gpu: llama.gpu,
  threads,
  load_s: loadS,
  first_prefill_s: firstPrefillS,
  prefill_tok_s: median(prefillRates),
  decode_tok_s: median(decodeRates),
  prefill_tok_s_runs: prefillRates,
  decode_tok_s_runs: decodeRates,
  prompt_tokens: promptTokens,
  new_tokens: newTokens,
  warmup,
  runs,
  tokens,
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
};
await context.dispose();
await model.dispose();
await llama.dispose();
process.stdout.write(`${JSON.stringify(result)}\n`);
