#!/usr/bin/env node
// Tensor-parallel benchmark: the ~125M benchmark model (bench/models.mjs, `perf_125m`, random f32
// weights in Hugging Face layout) whole in this thread (tp = 1) and split over tp worker threads
// (`loadCustomModel(dir, config, { tp })`, a TensorParallelModel), on the wasm device. Not a test.
//
//   npm run build && node bench/tp.mjs [--model perf_125m] [--tp 1,2] [--runs 5] [--prompt-tokens 128]
//                                      [--new-tokens 64] [--dir bench/out/models] [--worker-tp1]
//
// What is measured, per run (the same definitions as bench/llamacpp/bench.mjs):
//   prefill: the prompt evaluated in one pass, until the first generated token is available
//            (prompt tokens / seconds);
//   decode:  the next `--new-tokens` greedy single-token steps, each feeding the previous token.
// Each configuration is loaded once and warmed up by one untimed generation (the first inference
// repacks every weight: js-ecosystem.md §10); runs then alternate between the configurations, so
// that a change in the machine's load hits them alike. Prints a table of min / median / max and the
// load average, and writes every run to bench/out/tp-<time>.json.
//
// The development VM has 2 vCPUs shared with other jobs: a number from it is fragile (see the load
// average printed with it). Measure on an idle machine, several runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { GlobalModelLoader, createFairseq2, localCausalLM, useDevice } from '@fs2/core';

import { ensureBenchModel } from './models.mjs';
import { benchPrompt } from './prompt.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const modelName = opt('--model', 'perf_125m');
const tpSizes = opt('--tp', '1,2').split(',').map(Number);
const runs = Number(opt('--runs', 5));
const promptTokens = Number(opt('--prompt-tokens', 128));
const newTokens = Number(opt('--new-tokens', 64));
const modelsDir = resolve(opt('--dir', join(REPO, 'bench', 'out', 'models')));
const workerTp1 = args.includes('--worker-tp1');

const log = (line) => process.stderr.write(`${line}\n`);

/** One timed generation: prefill (to the first token) and `newTokens` decode steps. */
async function measure(model, prompt) {
  const t0 = performance.now();
  let t1 = t0;
  let count = 0;
  for await (const _ of model.generate(prompt, { maxNewTokens: newTokens + 1 })) {
    if (count === 0) {
      t1 = performance.now();
    }
    count += 1;
  }
  const t2 = performance.now();
  return { prefill_tok_s: prompt.length / ((t1 - t0) / 1000), decode_tok_s: newTokens / ((t2 - t1) / 1000), generated: count };
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

const dir = await ensureBenchModel(modelName, join(modelsDir, modelName), { log });
const resolver = await createFairseq2({ noProgress: true });
const detected = await resolver.resolve(GlobalModelLoader).describePath(dir);
const prompt = benchPrompt(promptTokens, detected.config.vocab_size);
const loadAverageBefore = loadavg();

const configs = [];
for (const tp of tpSizes) {
  const label = tp === 1 ? 'tp=1 (this thread)' : `tp=${tp} (${tp} workers)`;
  const t0 = performance.now();
  let model;
  if (tp === 1) {
    await useDevice('wasm');
    model = localCausalLM(await detected.family.loadCustomModel(dir, detected.config, { device: 'wasm', progress: false }));
  } else {
    model = await detected.family.loadCustomModel(dir, detected.config, { tp, progress: false });
  }
  const loadS = (performance.now() - t0) / 1000;
  configs.push({ label, tp, model, loadS, runs: [] });
  if (tp === 1 && workerTp1) {
    const w0 = performance.now();
    const worker = await detected.family.loadCustomModel(dir, detected.config, { tp: 1, progress: false });
    configs.push({ label: 'tp=1 (1 worker)', tp: 1, model: worker, loadS: (performance.now() - w0) / 1000, runs: [] });
  }
}
for (const config of configs) {
  log(`bench: ${config.label}: loaded in ${config.loadS.toFixed(2)} s; warming up`);
  await measure(config.model, prompt);
}
for (let run = 0; run < runs; run++) {
  for (const config of configs) {
    const result = { ...(await measure(config.model, prompt)), load_average: loadavg()[0] };
    config.runs.push(result);
    log(`bench: run ${run + 1}/${runs} ${config.label}: prefill ${result.prefill_tok_s.toFixed(1)} tok/s, decode ${result.decode_tok_s.toFixed(1)} tok/s (load ${result.load_average.toFixed(2)})`);
  }
}
const loadAverageAfter = loadavg();
for (const config of configs) {
  await config.model.dispose();
}

const summary = configs.map((c) => ({
  config: c.label,
  tp: c.tp,
  load_s: c.loadS,
  prefill_tok_s: stats(c.runs.map((r) => r.prefill_tok_s)),
  decode_tok_s: stats(c.runs.map((r) => r.decode_tok_s)),
  runs: c.runs,
}));
const report = {
  model: modelName,
  prompt_tokens: promptTokens,
  new_tokens: newTokens,
  runs,
  device: 'wasm',
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  load_average_before: loadAverageBefore,
  load_average_after: loadAverageAfter,
  results: summary,
};
const out = join(REPO, 'bench', 'out');
mkdirSync(out, { recursive: true });
const file = join(out, `tp-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

const fmt = (s) => `${s.min.toFixed(1)} / ${s.median.toFixed(1)} / ${s.max.toFixed(1)}`;
const lines = [
  `${modelName}, ${promptTokens}-token prompt, ${newTokens} decode steps, ${runs} runs; wasm; ${cpus().length} vCPUs; load average ${loadAverageBefore[0].toFixed(2)} before, ${loadAverageAfter[0].toFixed(2)} after`,
  '',
  '| configuration | load (s) | prefill tok/s (min / median / max) | decode tok/s (min / median / max) |',
  '|---|---|---|---|',
  ...summary.map((s) => `| ${s.config} | ${s.load_s.toFixed(2)} | ${fmt(s.prefill_tok_s)} | ${fmt(s.decode_tok_s)} |`),
  '',
  `runs: ${file}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
