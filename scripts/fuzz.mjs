#!/usr/bin/env node
// Fuzzes the parsers of hostile input (GitHub issue 10): `npm run fuzz` (after `npm run build`: it
// runs the compiled packages, imported by name). Every input must end in success or an fs2 error
// (`Fs2Error.is`, category other than `internal`), within a time and memory bound. See
// docs/reliability.md, "Fuzzing".
//
//   npm run fuzz                               every target, ~3 s each (the CI budget)
//   npm run fuzz -- --target safetensors,torch --budget-ms 10000
//   npm run fuzz -- --target uri --runs 1000000 --seed 42 --report docs/reliability/fuzz-long.jsonl
//
// Options: --target NAME (repeatable or a comma list), --runs N (a count instead of a time
// budget), --seed S (default: random, printed), --budget-ms MS (default 3000), --report FILE (one
// JSON line per target appended), --input-ms MS (per-input bound, default 2000), --rss-mb MB
// (default 1024), --hang-ms MS (watchdog, default 10000), --crash-dir DIR, --list.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { SHARED } from './fuzz/lib/shared.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The targets `npm run fuzz` runs, in order. */
const TARGETS = {
  cards: 'YAML card files (mutated fixture and built-in cards, generated YAML): parse, store, config overrides with _set_/_del_ and ${env:...}',
  safetensors: 'safetensors files (byte-mutated and header-edited seeds from the fixtures): open, read every tensor, rows and slices',
  index: 'sharded safetensors folders with a mutated model.safetensors.index.json (and shards): open, read every tensor',
  torch: 'torch zip checkpoints (byte-mutated, zip fields forged, pickle mutated): open, read every tensor',
  pickle: 'data.pkl payloads (mutated) and generated opcode streams through the restricted unpickler',
  config: 'config.json / params.json through each family converter and its schema',
  uri: 'URIs with credentials and tokens: parse, print, paths; no secret in any output',
};

/** Targets that test the harness itself; run only when named. */
const HIDDEN_TARGETS = ['selftest-crash', 'selftest-slow', 'selftest-hang', 'selftest-noop'];

/**
 * The per-input bound: 2 s. A typical input takes well under a millisecond and the slowest seen in
 * the long runs tens of milliseconds (docs/reliability.md), so 2 s is two orders of magnitude of
 * headroom for GC pauses and a busy shared machine, while an input that is quadratic or worse in
 * its size (a few KB to a few hundred KB here) lands far beyond it.
 */
const DEFAULT_INPUT_MS = 2000;
/**
 * The RSS bound: 1 GiB. A run holds about 250 MiB (Node, TF.js loaded by @fs2/core, the corpus);
 * an input of at most a few hundred KB needs at most a few MB more (an I8 tensor read as int32 is
 * 4x its bytes), so 1 GiB is only reached by an allocation sized by a forged field.
 */
const DEFAULT_RSS_MB = 1024;
/** Without progress for this long, the worker is stuck in a synchronous loop and is terminated. */
const DEFAULT_HANG_MS = 10_000;

function usage(message) {
  if (message !== undefined) {
    console.error(`fuzz: ${message}`);
  }
  console.error('usage: node scripts/fuzz.mjs [--target NAME[,NAME]]... [--runs N | --budget-ms MS] [--seed S] [--report FILE]');
  console.error('       [--input-ms MS] [--rss-mb MB] [--hang-ms MS] [--crash-dir DIR] [--list]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { targets: [], budgetMs: 3000, inputMs: DEFAULT_INPUT_MS, rssMb: DEFAULT_RSS_MB, hangMs: DEFAULT_HANG_MS };
  const integer = (name, text, min = 1) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      usage(`${name} expects an integer >= ${min}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    switch (flag) {
      case '--target':
        options.targets.push(...value().split(',').map((t) => t.trim()).filter((t) => t !== ''));
        break;
      case '--runs':
        options.runs = integer('--runs', value());
        break;
      case '--seed':
        options.seed = integer('--seed', value(), -(2 ** 31));
        break;
      case '--budget-ms':
        options.budgetMs = integer('--budget-ms', value());
        break;
      case '--report':
        options.report = resolve(value());
        break;
      case '--input-ms':
        options.inputMs = integer('--input-ms', value());
        break;
      case '--rss-mb':
        options.rssMb = integer('--rss-mb', value());
        break;
      case '--hang-ms':
        options.hangMs = integer('--hang-ms', value());
        break;
      case '--crash-dir':
        options.crashDir = resolve(value());
        break;
      case '--list':
        options.list = true;
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown option ${arg}`);
    }
  }
  for (const target of options.targets) {
    if (!(target in TARGETS) && !HIDDEN_TARGETS.includes(target)) {
      usage(`unknown target ${target} (targets: ${Object.keys(TARGETS).join(', ')})`);
    }
  }
  if (options.targets.length === 0) {
    options.targets = Object.keys(TARGETS);
  }
  // fast-check takes a 32-bit seed.
  options.seed ??= (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  return options;
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

/** Runs one target in a worker; resolves with what happened (never rejects). */
function runTarget(target, options, extra = {}) {
  return new Promise((resolveRun) => {
    const shared = new SharedArrayBuffer(8);
    const counters = new Int32Array(shared);
    const crashDir = options.crashDir ?? join(ROOT, 'fuzz-crashes', `${target}-${options.seed}`);
    const worker = new Worker(new URL('./fuzz/worker.mjs', import.meta.url), {
      workerData: {
        target,
        seed: options.seed,
        runs: options.runs,
        budgetMs: options.budgetMs,
        inputMs: options.inputMs,
        rssBytes: options.rssMb * 2 ** 20,
        shrinkMs: 60_000,
        shared,
        crashDir,
        ...extra,
      },
      // The worker's own heap: a runaway JS allocation fails there, as an out-of-memory error.
      resourceLimits: { maxOldGenerationSizeMb: options.rssMb },
      stdout: false,
      stderr: false,
    });
    let tmp;
    let settled = false;
    let peakRss = process.memoryUsage.rss();
    let lastCalls = 0;
    let lastChange = performance.now();
    const finish = (result) => {
      if (settled) {
        return;
      }
      settled = true;
      clearInterval(watch);
      void worker.terminate();
      if (tmp !== undefined) {
        rmSync(tmp, { recursive: true, force: true });
      }
      resolveRun({ ...result, peakRss: Math.max(peakRss, result.peakRss ?? 0) });
    };
    const watch = setInterval(() => {
      const rss = process.memoryUsage.rss();
      peakRss = Math.max(peakRss, rss);
      const calls = Atomics.load(counters, SHARED.calls);
      const now = performance.now();
      if (calls !== lastCalls) {
        lastCalls = calls;
        lastChange = now;
        return;
      }
      const running = Atomics.load(counters, SHARED.phase) === 1;
      if (running && now - lastChange > options.hangMs) {
        void worker.terminate();
        finish({ kind: 'hang', calls, error: { name: 'Hang', message: `input ${calls - 1} made no progress for ${options.hangMs} ms; the worker was terminated` } });
      } else if (rss > options.rssMb * 2 ** 20 * 1.5) {
        // Far past the bound (the worker checks the bound itself after each input): stop now.
        void worker.terminate();
        finish({ kind: 'memory', calls, error: { name: 'MemoryBoundError', message: `the process RSS reached ${(rss / 2 ** 20).toFixed(0)} MiB during input ${calls - 1}` } });
      }
    }, 250);
    worker.on('message', (message) => {
      if (message.type === 'tmp') {
        tmp = message.path;
      } else if (message.type === 'done') {
        finish({ kind: message.failure === undefined ? 'pass' : 'fail', ...message });
      } else if (message.type === 'replay') {
        finish({ kind: 'replay', ...message });
      } else if (message.type === 'error') {
        finish({ kind: 'error', error: message.error });
      }
    });
    worker.on('error', (error) => finish({ kind: 'error', error: { name: error.name, message: error.message, stack: error.stack } }));
    worker.on('exit', (code) => finish({ kind: 'error', error: { name: 'WorkerExit', message: `the worker exited with code ${code} before reporting` } }));
  });
}

/** A counterexample for the console: the input files hold it whole. */
function clip(text) {
  return text === null || text.length <= 800 ? text : `${text.slice(0, 800)}... (${text.length} characters)`;
}

function formatOutcomes(outcomes) {
  return Object.entries(outcomes ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const [name, description] of Object.entries(TARGETS)) {
      console.log(`${name.padEnd(12)} ${description}`);
    }
    return 0;
  }
  const { commit, dirty } = gitCommit();
  const budget = options.runs === undefined ? `${options.budgetMs} ms` : `${options.runs} inputs`;
  console.log(`fuzz: seed ${options.seed}, ${budget} per target, input bound ${options.inputMs} ms, RSS bound ${options.rssMb} MiB, node ${process.version}, commit ${commit.slice(0, 12)}${dirty ? ' (dirty)' : ''}`);
  let failures = 0;
  for (const target of options.targets) {
    const result = await runTarget(target, options);
    const ok = result.kind === 'pass';
    const error = result.failure?.error ?? result.error;
    const rate = result.duration > 0 ? result.runs / result.duration : 0;
    if (ok) {
      console.log(
        `${target}: ${result.runs} inputs in ${result.duration.toFixed(1)} s (${rate.toFixed(0)}/s), max ${result.maxMs.toFixed(1)} ms per input, peak RSS ${(result.peakRss / 2 ** 20).toFixed(0)} MiB: passed`,
      );
      console.log(`  outcomes: ${formatOutcomes(result.outcomes)}`);
    } else {
      failures++;
      console.error(`${target}: FAILED (seed ${options.seed}): ${error?.name}: ${error?.message}`);
      if (result.kind === 'fail') {
        console.error(`  after ${result.runs} inputs; shrunk ${result.failure.numShrinks} times`);
        console.error(`  counterexample: ${clip(result.failure.counterexample)}`);
        console.error(`  replay: node scripts/fuzz.mjs --target ${target} --seed ${options.seed} (fast-check path ${result.failure.counterexamplePath})`);
        for (const file of result.failure.files) {
          console.error(`  input file: ${file}`);
        }
        console.error(`  stack: ${result.failure.error.stack ?? '(none)'}`);
      } else if (result.kind === 'hang' && result.calls > 0) {
        const replay = await runTarget(target, options, { replayPath: String(result.calls - 1) });
        if (replay.kind === 'replay') {
          console.error(`  input ${result.calls - 1} of seed ${options.seed}: ${clip(replay.counterexample)}`);
          for (const file of replay.files) {
            console.error(`  input file: ${file}`);
          }
        }
      } else if (error?.stack !== undefined) {
        console.error(`  stack: ${error.stack}`);
      }
    }
    if (options.report !== undefined) {
      mkdirSync(dirname(options.report), { recursive: true });
      const line = {
        target,
        seed: options.seed,
        runs: result.runs ?? result.calls ?? 0,
        duration_s: result.duration === undefined ? null : Number(result.duration.toFixed(1)),
        inputs_per_s: Math.round(rate),
        outcomes: result.outcomes ?? {},
        max_input_ms: result.maxMs === undefined ? null : Number(result.maxMs.toFixed(1)),
        peak_rss_mb: Math.round((result.peakRss ?? 0) / 2 ** 20),
        input_bound_ms: options.inputMs,
        rss_bound_mb: options.rssMb,
        node: process.version,
        commit,
        dirty,
        date: new Date().toISOString(),
        result: ok ? 'pass' : `fail: ${error?.name}: ${error?.message}`,
      };
      appendFileSync(options.report, `${JSON.stringify(line)}\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
