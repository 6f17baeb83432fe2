// `npm run fuzz`: property-based and mutation fuzzing of every parser fs2 runs on files from
// strangers (GitHub issue 10). Each target feeds fast-check inputs to the compiled library
// (`npm run build` first); every input must end in success or an fs2 error (`Fs2Error.is`), within
// PER_INPUT_LIMIT_MS and with the process under RSS_LIMIT_BYTES. Anything else fails the run with
// the target, the seed, the shrunk input and the stack.
//
// Usage: npm run fuzz -- [--target cards,safetensors,...] [--budget-ms 3000 | --runs N] [--seed S]
//                        [--report FILE] [--list]
//   --budget-ms: time per target (the default, 3 s a target, is what CI runs);
//   --runs: a number of inputs per target instead (the long runs: --runs 1000000);
//   --seed: fast-check's seed (default 20261123: CI runs the same inputs every time);
//   --report: appends one JSON line per target (seed, inputs, duration, outcomes, result).
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { Fs2Error } from '@fs2/core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The targets `npm run fuzz` runs, in order; `selftest` (a planted bug) runs only when named. */
export const FUZZ_TARGETS = ['cards', 'safetensors', 'index', 'torch', 'pickle', 'config', 'uri'];
const HIDDEN_TARGETS = ['selftest'];

/**
 * The most one input may take. The slowest legitimate inputs (a card file validated against
 * every family, a torch archive read whole) take ~1-20 ms; 2 s is two orders of magnitude above
 * that, so a hang or a quadratic blow-up trips it and a GC pause on a shared machine does not.
 */
const PER_INPUT_LIMIT_MS = 2000;

/**
 * The most resident memory the fuzzing process may reach. A loaded fs2 with TF.js and every
 * target's corpus sits near 200 MiB; inputs are at most a few KiB, so an allocation sized by a
 * hostile header (the failure the limits exist for) shows as a jump far above this.
 */
const RSS_LIMIT_BYTES = 1024 * 1024 * 1024;

const DEFAULT_SEED = 20261123;
const DEFAULT_BUDGET_MS = 3000;

class FuzzBoundError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FuzzBoundError';
  }
}

function parseArgs(argv) {
  const options = { targets: FUZZ_TARGETS, budgetMs: DEFAULT_BUDGET_MS, runs: undefined, seed: DEFAULT_SEED, report: undefined, list: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value.`);
      return v;
    };
    if (arg === '--target' || arg === '--targets') options.targets = value().split(',').filter(Boolean);
    else if (arg === '--budget-ms') options.budgetMs = Number(value());
    else if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--seed') options.seed = Number(value());
    else if (arg === '--report') options.report = value();
    else if (arg === '--list') options.list = true;
    else throw new Error(`Unknown option ${arg}. Usage: npm run fuzz -- [--target a,b] [--budget-ms MS | --runs N] [--seed S] [--report FILE]`);
  }
  for (const target of options.targets) {
    if (!FUZZ_TARGETS.includes(target) && !HIDDEN_TARGETS.includes(target)) {
      throw new Error(`Unknown fuzz target ${target}. Targets: ${FUZZ_TARGETS.join(', ')}.`);
    }
  }
  if (!Number.isSafeInteger(options.seed)) throw new Error(`--seed must be an integer, not ${options.seed}.`);
  if (options.runs !== undefined && !(Number.isSafeInteger(options.runs) && options.runs > 0)) throw new Error('--runs must be a positive integer.');
  if (!(options.budgetMs > 0)) throw new Error('--budget-ms must be positive.');
  return options;
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Runs one target; returns its report line. */
async function fuzzTarget(name, options, tmp) {
  const dir = join(tmp, name);
  const { setup } = await import(`./fuzz/targets/${name}.mjs`);
  const target = await setup({ root: ROOT, tmp: mkdtempSync(`${dir}-`) });
  const outcomes = {};
  let inputs = 0;
  let maxMs = 0;
  // An error that escapes as an event (an 'error' no listener takes) or a rejection no one awaits
  // kills the process, not the input: it is pinned on the inputs run last, written out for replay.
  const recent = [];
  const crash = (error) => {
    process.stdout.write(`fuzz ${name}: failed, the process crashed after ${inputs} inputs (seed ${options.seed}): ${error?.stack ?? String(error)}\n`);
    recent.forEach((input, i) => {
      const shown = target.show(input);
      const file = join(process.cwd(), `fuzz-crash-${name}-${options.seed}-${i}.bin`);
      writeFileSync(file, shown instanceof Uint8Array ? shown : `${shown}\n`);
      process.stdout.write(`  ${i === recent.length - 1 ? 'last' : 'earlier'} input written to ${file}\n`);
    });
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    inputs += 1;
    recent.push(input);
    if (recent.length > 3) recent.shift();
    const started = performance.now();
    let outcome;
    try {
      // A target may name its outcome (`problems`: a card file whose problems were reported, not thrown).
      outcome = (await target.run(input)) ?? 'ok';
    } catch (error) {
      if (!Fs2Error.is(error)) {
        throw error;
      }
      outcome = error.name;
    }
    const ms = performance.now() - started;
    maxMs = Math.max(maxMs, ms);
    if (ms > PER_INPUT_LIMIT_MS) {
      throw new FuzzBoundError(`one input took ${ms.toFixed(0)} ms, more than the limit of ${PER_INPUT_LIMIT_MS} ms`);
    }
    if ((inputs & 1023) === 0 && process.memoryUsage.rss() > RSS_LIMIT_BYTES) {
      throw new FuzzBoundError(`the process holds ${process.memoryUsage.rss()} bytes, more than the limit of ${RSS_LIMIT_BYTES}`);
    }
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  });
  const started = performance.now();
  const result = await fc.check(property, {
    seed: options.seed,
    numRuns: options.runs ?? 1_000_000_000,
    ...(options.runs === undefined ? { interruptAfterTimeLimit: options.budgetMs, markInterruptAsFailure: false } : {}),
    endOnFailure: false,
  });
  // Let errors scheduled by the last inputs surface before the target counts as passed.
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.off('uncaughtException', crash);
  process.off('unhandledRejection', crash);
  const durationS = (performance.now() - started) / 1000;
  const line = {
    target: name,
    seed: options.seed,
    inputs: result.numRuns,
    duration_s: Number(durationS.toFixed(1)),
    inputs_per_s: Math.round(result.numRuns / durationS),
    outcomes,
    max_input_ms: Number(maxMs.toFixed(1)),
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    node: process.version,
    commit: gitCommit(),
    date: new Date().toISOString(),
    result: result.failed ? 'failed' : 'passed',
  };
  if (result.failed) {
    const counterexample = result.counterexample?.[0];
    const shown = target.show(counterexample);
    let where;
    if (shown instanceof Uint8Array) {
      where = join(process.cwd(), `fuzz-failure-${name}-${options.seed}.bin`);
      writeFileSync(where, shown);
    }
    line.failure = {
      error: String(result.errorInstance?.stack ?? result.errorInstance ?? result.error),
      path: result.counterexamplePath,
      input: where === undefined ? shown : `written to ${where} (${shown.length} bytes)`,
    };
  }
  return line;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    process.stdout.write(`${FUZZ_TARGETS.join('\n')}\n`);
    return 0;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'fs2-fuzz-'));
  let failed = 0;
  try {
    for (const name of options.targets) {
      let line;
      try {
        line = await fuzzTarget(name, options, tmp);
      } catch (error) {
        // The harness or an arbitrary failed, not the code under test: say which target.
        throw new Error(`target ${name}: ${error?.stack ?? String(error)}`);
      }
      if (options.report !== undefined) {
        appendFileSync(options.report, `${JSON.stringify(line)}\n`);
      }
      const counts = Object.entries(line.outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      process.stdout.write(
        `fuzz ${name}: ${line.result}, ${line.inputs} inputs in ${line.duration_s} s (${line.inputs_per_s}/s, seed ${line.seed}, slowest ${line.max_input_ms} ms): ${counts}\n`,
      );
      if (line.failure !== undefined) {
        failed += 1;
        process.stdout.write(
          `  counterexample (replay: npm run fuzz -- --target ${name} --seed ${line.seed}${options.runs === undefined ? '' : ` --runs ${options.runs}`}; path ${line.failure.path}):\n  ${line.failure.input}\n  ${line.failure.error.split('\n').join('\n  ')}\n`,
        );
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`fuzz: ${options.targets.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main().catch((error) => {
  process.stderr.write(`fuzz: ${error.message}\n`);
  return 2;
});
