// Runs one fuzz target in a worker thread, for scripts/fuzz.mjs: the main thread watches the shared
// counter this worker advances before each input, and terminates the worker when it stops moving
// (an input stuck in a synchronous loop cannot be interrupted from inside).
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

import fc from 'fast-check';
import { Fs2Error } from '@fs2/core';

import { SHARED } from './lib/shared.mjs';

/** An input took longer than the per-input bound. */
class SlowInputError extends Error {
  name = 'SlowInputError';
}

/** The process grew past the RSS bound while this input ran. */
class MemoryBoundError extends Error {
  name = 'MemoryBoundError';
}

/**
 * Whether an error is an acceptable end for an input: an fs2 error (`Fs2Error.is`, which also
 * recognises a second copy of `@fs2/core`) of any category but `internal`, which by its definition
 * reports a bug.
 */
function isNamedError(error) {
  return Fs2Error.is(error) && error.category !== 'internal';
}

function describeError(error) {
  if (error instanceof Error) {
    return { name: error.name, constructor: error.constructor?.name, message: error.message, stack: error.stack };
  }
  return { name: typeof error, message: String(error), stack: undefined };
}

/**
 * Where inputs are written: $FS2_FUZZ_TMP, else /dev/shm where it exists (tmpfs: writing a
 * few-KB input takes about 12 us there, 170 us on the disk-backed /tmp of the machine the long
 * runs used), else the system's temporary folder.
 */
function scratchRoot() {
  if (process.env.FS2_FUZZ_TMP !== undefined) {
    return process.env.FS2_FUZZ_TMP;
  }
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new SlowInputError(`the input did not finish within ${ms} ms (a hang?)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const { target, seed, runs, budgetMs, inputMs, rssBytes, shrinkMs, shared, crashDir, replayPath } = workerData;
  const counters = new Int32Array(shared);
  const tmp = mkdtempSync(join(scratchRoot(), `fs2-fuzz-${target}-`));
  parentPort.postMessage({ type: 'tmp', path: tmp });
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', cleanup);

  const module = await import(new URL(`./targets/${target}.mjs`, import.meta.url));
  const spec = await module.default.setup({ tmp, seed });
  const outcomes = Object.create(null);
  let maxMs = 0;
  let peakRss = process.memoryUsage.rss();
  let firstFailureAt;
  let inputs = 0;

  if (replayPath !== undefined) {
    // Regenerates input `replayPath` of the run with `seed` without running it (a hang report).
    let captured;
    fc.check(
      fc.property(spec.arbitrary, (input) => {
        captured = input;
        return true;
      }),
      { seed, path: replayPath, numRuns: 1 },
    );
    const files = saveCounterexample(spec, captured, crashDir);
    parentPort.postMessage({ type: 'replay', counterexample: fc.stringify(captured).slice(0, 4000), files });
    return;
  }

  // An error that escapes an input asynchronously (a stream's 'error' nobody listens to, a
  // rejected promise nobody awaits) would kill a user's process: it fails the input it follows.
  let escaped;
  const onEscape = (error) => {
    escaped ??= error;
  };
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);

  const property = fc.asyncProperty(spec.arbitrary, async (input) => {
    Atomics.add(counters, SHARED.calls, 1);
    if (firstFailureAt !== undefined && performance.now() - firstFailureAt > shrinkMs) {
      return true; // Shrinking has had its time: accept the rest so that fast-check reports what it has.
    }
    const start = performance.now();
    let outcome;
    try {
      outcome = (await withTimeout(Promise.resolve().then(() => spec.run(input)), inputMs)) ?? 'ok';
    } catch (error) {
      if (!isNamedError(error)) {
        firstFailureAt ??= performance.now();
        throw error;
      }
      outcome = error.constructor?.name ?? error.name;
    }
    // One turn of the event loop for late errors of this input to surface.
    await new Promise((resolve) => setImmediate(resolve));
    if (escaped !== undefined) {
      const error = escaped;
      escaped = undefined;
      firstFailureAt ??= performance.now();
      throw Object.assign(new Error(`an error escaped asynchronously (uncaught): ${error?.message ?? String(error)}`, { cause: error }), {
        stack: `EscapedError: ${error?.message}\n  original stack: ${error?.stack}`,
      });
    }
    const elapsed = performance.now() - start;
    // process.memoryUsage.rss() costs about 10 us (a read of /proc): every 8th input, and after
    // every slow one (touching a large allocation takes time).
    const rss = (++inputs & 7) === 0 || elapsed > 2 ? process.memoryUsage.rss() : 0;
    peakRss = Math.max(peakRss, rss);
    if (elapsed > inputMs) {
      firstFailureAt ??= performance.now();
      throw new SlowInputError(`the input took ${elapsed.toFixed(0)} ms, more than the bound of ${inputMs} ms`);
    }
    if (rss > rssBytes) {
      firstFailureAt ??= performance.now();
      throw new MemoryBoundError(`the process RSS reached ${(rss / 2 ** 20).toFixed(0)} MiB, more than the bound of ${(rssBytes / 2 ** 20).toFixed(0)} MiB`);
    }
    if (firstFailureAt === undefined) {
      maxMs = Math.max(maxMs, elapsed);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    return true;
  });

  Atomics.store(counters, SHARED.phase, 1);
  const started = performance.now();
  const details = await fc.check(property, {
    seed,
    numRuns: runs ?? Number.MAX_SAFE_INTEGER,
    ...(runs === undefined ? { interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false } : {}),
  });
  const duration = (performance.now() - started) / 1000;
  Atomics.store(counters, SHARED.phase, 0);
  await spec.teardown?.();

  let failure;
  if (details.failed) {
    const files = details.counterexample === null ? [] : saveCounterexample(spec, details.counterexample[0], crashDir);
    failure = {
      error: describeError(details.errorInstance),
      counterexample: details.counterexample === null ? null : fc.stringify(details.counterexample[0]).slice(0, 4000),
      counterexamplePath: details.counterexamplePath,
      numShrinks: details.numShrinks,
      files,
    };
  }
  parentPort.postMessage({
    type: 'done',
    // Runs before the first failure: fast-check counts the failing one too.
    runs: details.numRuns,
    duration,
    outcomes,
    maxMs,
    peakRss,
    failure,
  });
}

/** Writes the files the target would have written for `input` under `crashDir`; returns their paths. */
function saveCounterexample(spec, input, crashDir) {
  if (spec.materialize === undefined || input === undefined) {
    return [];
  }
  try {
    mkdirSync(crashDir, { recursive: true });
    return Object.entries(spec.materialize(input)).map(([name, bytes]) => {
      const path = join(crashDir, name.replaceAll('/', '_'));
      writeFileSync(path, bytes);
      return path;
    });
  } catch (error) {
    return [`(could not write the counterexample: ${error.message})`];
  }
}

main().catch((error) => {
  parentPort.postMessage({ type: 'error', error: describeError(error) });
});
