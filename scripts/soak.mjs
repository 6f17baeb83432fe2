// `node scripts/soak.mjs`: the soak run of docs/reliability.md (GitHub issue 10). It loads the
// test fixture model test/fixtures/llama3 (a 3-layer llama, 783 KB of f32 safetensors) through
// the model loader, as a user does, and runs
//
//   1. a warm-up (a few loads and generations, so that kernels, caches and lazily grown pools
//      exist before anything is measured);
//   2. 1,000 greedy generation steps with the KV cache, as several `generate` calls of one loaded
//      model (the fixture's `max_position_embeddings` is 512);
//   3. 100 load / generate-a-few-tokens / dispose cycles.
//
// and prints the live TF.js tensors and the RSS at the start, after the warm-up, after each phase
// and at the end, the RSS slope per step and per cycle (least squares over the samples) and the
// wall time. RSS is sampled after a full garbage collection (V8's `gc`, exposed at run time), so
// that garbage not yet collected does not pass for growth.
//
// Usage: npm run build && node scripts/soak.mjs [--steps 1000] [--cycles 100] [--json]
// test/soak.int.spec.ts runs the same `runSoak` and checks the figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import * as tf from '@tensorflow/tfjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The fixture model of the soak run. */
export const SOAK_FIXTURE = join(ROOT, 'test', 'fixtures', 'llama3');

/** The prompt of every generation: the fixture's own token ids (test/fixtures/llama3/expected_logits.json). */
const PROMPT = [1, 17, 250, 311, 42, 5, 399, 128, 77, 300, 3, 260];

/**
 * Tokens per `generate` call of the generation phase: 250, so that prompt + tokens stay within
 * the fixture's 512 positions (`max_position_embeddings`) with room to spare.
 */
const TOKENS_PER_CALL = 250;

/** Tokens generated in each load/unload cycle: enough to run prefill and decode kernels once. */
const TOKENS_PER_CYCLE = 4;

/** How often the generation phase samples tensors and RSS, in steps. */
const SAMPLE_EVERY_STEPS = 50;

/** How often the load/unload phase samples RSS, in cycles (a full collection costs tens of ms). */
const SAMPLE_EVERY_CYCLES = 5;

/** Warm-up: load/unload cycles, and generation calls of this many tokens. */
const WARMUP_CYCLES = 3;
const WARMUP_TOKENS = 64;

let gc;
/** A full garbage collection (V8's `gc`, exposed at run time, as `node --expose-gc` would). */
export function collectGarbage() {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc');
  }
  gc();
  gc();
}

/** The RSS after a full collection, in bytes. */
function settledRss() {
  collectGarbage();
  return process.memoryUsage().rss;
}

/** The least-squares slope of `ys` against `xs`. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Runs the soak with `loader` (a `GlobalModelLoader`) and returns its figures: live tensors and
 * RSS (bytes) at each point, the samples of each phase, the slopes, and the wall times (ms).
 *
 * @param {{ loader: { loadFromPath(path: string, options: object): Promise<any> }, steps?: number, cycles?: number, fixture?: string }} params
 */
export async function runSoak({ loader, steps = 1000, cycles = 100, fixture = SOAK_FIXTURE }) {
  const load = () => loader.loadFromPath(fixture, { device: 'cpu', progress: false });
  const started = performance.now();
  const point = () => ({ tensors: tf.memory().numTensors, tensorBytes: tf.memory().numBytes, rss: settledRss() });
  const start = point();

  for (let i = 0; i < WARMUP_CYCLES; i += 1) {
    const model = await load();
    try {
      await model.generateAll(PROMPT, { maxNewTokens: i === 0 ? WARMUP_TOKENS : TOKENS_PER_CYCLE });
    } finally {
      model.dispose();
    }
  }
  const warmedUp = point();
  const warmupMs = performance.now() - started;

  // Generation: one model, `steps` tokens over several calls, sampled every SAMPLE_EVERY_STEPS.
  const generationStarted = performance.now();
  const model = await load();
  const loaded = point();
  const generation = [{ step: 0, ...loaded }];
  let done = 0;
  try {
    while (done < steps) {
      const wanted = Math.min(TOKENS_PER_CALL, steps - done);
      const result = await model.generateAll(PROMPT, {
        maxNewTokens: wanted,
        onToken: ({ index }) => {
          const step = done + index + 1;
          if (step % SAMPLE_EVERY_STEPS === 0) {
            // Mid-call: the KV cache and the step's tensors are live, so only RSS is compared.
            generation.push({ step, rss: settledRss() });
          }
        },
      });
      if (result.tokens.length !== wanted) {
        throw new Error(`A generate call produced ${result.tokens.length} tokens instead of ${wanted} (${result.stopReason}).`);
      }
      done += wanted;
      generation.push({ step: done, tensors: tf.memory().numTensors, tensorBytes: tf.memory().numBytes, rss: settledRss() });
    }
  } finally {
    model.dispose();
  }
  const afterGeneration = point();
  const generationMs = performance.now() - generationStarted;

  // Load/unload cycles.
  const cyclesStarted = performance.now();
  const cycleSamples = [];
  for (let cycle = 1; cycle <= cycles; cycle += 1) {
    const m = await load();
    try {
      await m.generateAll(PROMPT, { maxNewTokens: TOKENS_PER_CYCLE });
    } finally {
      m.dispose();
    }
    if (cycle % SAMPLE_EVERY_CYCLES === 0 || cycle === cycles) {
      cycleSamples.push({ cycle, tensors: tf.memory().numTensors, tensorBytes: tf.memory().numBytes, rss: settledRss() });
    } else {
      cycleSamples.push({ cycle, tensors: tf.memory().numTensors, tensorBytes: tf.memory().numBytes });
    }
  }
  const end = point();
  const cyclesMs = performance.now() - cyclesStarted;

  return {
    fixture,
    steps,
    cycles,
    start,
    warmedUp,
    loaded,
    afterGeneration,
    end,
    generation,
    cycleSamples,
    rssSlopePerStep: slope(
      generation.map((s) => s.step),
      generation.map((s) => s.rss),
    ),
    rssSlopePerCycle: slope(
      cycleSamples.filter((s) => s.rss !== undefined).map((s) => s.cycle),
      cycleSamples.filter((s) => s.rss !== undefined).map((s) => s.rss),
    ),
    wallMs: { warmup: warmupMs, generation: generationMs, cycles: cyclesMs, total: performance.now() - started },
  };
}

const mib = (bytes) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
const kib = (bytes) => `${(bytes / 1024).toFixed(2)} KiB`;

/** The figures of {@link runSoak} as lines of text. */
export function formatSoak(r) {
  const genRss = r.generation.map((s) => s.rss);
  const cycleRss = r.cycleSamples.filter((s) => s.rss !== undefined).map((s) => s.rss);
  return [
    `fixture: ${r.fixture}`,
    `live tensors (bytes): start ${r.start.tensors} (${r.start.tensorBytes}), after warm-up ${r.warmedUp.tensors} (${r.warmedUp.tensorBytes}), model loaded ${r.loaded.tensors} (${r.loaded.tensorBytes}), after ${r.steps} steps and dispose ${r.afterGeneration.tensors} (${r.afterGeneration.tensorBytes}), after ${r.cycles} cycles ${r.end.tensors} (${r.end.tensorBytes})`,
    `RSS: start ${mib(r.start.rss)}, after warm-up ${mib(r.warmedUp.rss)}, after generation ${mib(r.afterGeneration.rss)}, end ${mib(r.end.rss)} (end - after warm-up: ${mib(r.end.rss - r.warmedUp.rss)})`,
    `generation: ${r.steps} steps, RSS ${mib(Math.min(...genRss))} to ${mib(Math.max(...genRss))}, slope ${(r.rssSlopePerStep).toFixed(1)} bytes/step`,
    `load/unload: ${r.cycles} cycles, RSS ${mib(Math.min(...cycleRss))} to ${mib(Math.max(...cycleRss))}, slope ${kib(r.rssSlopePerCycle)}/cycle`,
    `wall time: warm-up ${(r.wallMs.warmup / 1000).toFixed(1)} s, generation ${(r.wallMs.generation / 1000).toFixed(1)} s (${((r.steps * 1000) / r.wallMs.generation).toFixed(0)} steps/s with sampling), cycles ${(r.wallMs.cycles / 1000).toFixed(1)} s, total ${(r.wallMs.total / 1000).toFixed(1)} s`,
  ];
}

async function main() {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i < 0 ? fallback : Number(args[i + 1]);
  };
  const { createFairseq2, GlobalModelLoader, useDevice } = await import('@fs2/core');
  const home = mkdtempSync(join(tmpdir(), 'fs2-soak-'));
  try {
    // An isolated environment: no user cards, no cache of the user's.
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
    const resolver = await createFairseq2({ env, cwd: home, log: () => undefined });
    await useDevice('cpu');
    const result = await runSoak({ loader: resolver.resolve(GlobalModelLoader), steps: opt('--steps', 1000), cycles: opt('--cycles', 100) });
    if (args.includes('--json')) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      process.stdout.write(`${formatSoak(result).join('\n')}\n`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
