import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { createBoard, gangFixture, readBoard, useThreadGangHosts } from '../../../../test/support/gang.js';
import { GangError } from './GangError.js';
import { ThreadGangHost, type ThreadGangHostOptions } from './ThreadGangHost.js';

// How a thread gang fails: every failure ends, on the host and on the surviving ranks, with a named
// GangError, within a bounded time (the tests' timeouts), and leaves no worker running. The workers
// run test/fixtures/gang/faults.mjs; survivors write the error they saw on a shared board.

interface FaultsApi {
  ping(): number;
  throwMidway(payload: { failing: number }): string;
  exit(payload: { failing: number; code: number }): string;
  crash(payload: { failing: number }): string;
  exhaustMemory(payload: { failing: number }): string;
  sleep(payload: { failing: number }): string;
  skip(payload: { failing: number }): string;
  mismatch(): string;
  mismatchCreateGang(): string;
  retryAfterFailure(payload: { failing: number }): string;
  slow(payload: { ms: number }): number;
  unclonable(): unknown;
}

const FAULTS = 'faults.mjs';

/** Runs `request`, expects it to reject with a GangError, waits until every worker exited, returns the error. */
async function expectGangFailure(host: ThreadGangHost<FaultsApi>, request: Promise<unknown>): Promise<GangError> {
  const exits = host.workers.map((worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())));
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GangError);
  await Promise.all(exits);
  await host.exited;
  expect(host.liveWorkerCount).toBe(0);
  expect(host.failure).toBe(error);
  // Every later request rejects with the first failure.
  await expect(host.request('ping', undefined)).rejects.toBe(error);
  return error as GangError;
}

function survivorSaw(collective: string, rank: number, failure: string): string {
  return `GangError: The \`${collective}\` collective on rank ${rank} was aborted: ${failure}`;
}

describe('ThreadGangHost failures', () => {
  const hosts = useThreadGangHosts();
  const start = (options: Omit<ThreadGangHostOptions, 'entry'>): Promise<ThreadGangHost<FaultsApi>> =>
    hosts.start<FaultsApi>(FAULTS, options);

  it('fails every rank when one throws between two collectives', async () => {
    const board = createBoard(3);
    const host = await start({ size: 3, initData: { board } });

    const error = await expectGangFailure(host, host.requestAll('throwMidway', { failing: 1 }));

    const failure = 'Rank 1 of the thread gang failed during the `throwMidway` request: its handler threw `Error: rank 1 failed on purpose`.';
    expect(error).toMatchObject({ name: 'GangError', category: 'operational', kind: 'threw', ranks: [1], operation: 'throwMidway', message: failure });
    expect((error.cause as Error).message).toBe('rank 1 failed on purpose');
    expect([0, 1, 2].map((rank) => readBoard(board, rank))).toEqual([
      survivorSaw('barrier', 0, failure),
      'Error: rank 1 failed on purpose',
      survivorSaw('barrier', 2, failure),
    ]);
  });

  it('fails every rank when a worker calls process.exit()', async () => {
    const board = createBoard(3);
    const host = await start({ size: 3, initData: { board } });

    const error = await expectGangFailure(host, host.request('exit', { failing: 1, code: 7 }));

    const failure = 'Rank 1 of the thread gang failed during the `exit` request: its worker exited with code 7.';
    expect(error).toMatchObject({ kind: 'exited', ranks: [1], operation: 'exit', message: failure });
    expect([readBoard(board, 0), readBoard(board, 2)]).toEqual([survivorSaw('barrier', 0, failure), survivorSaw('barrier', 2, failure)]);
  });

  it('fails every rank when a worker is terminated from outside', async () => {
    const board = createBoard(3);
    const host = await start({ size: 3, initData: { board } });

    const request = host.requestAll('sleep', { failing: 2 });
    void host.workers[2]!.terminate();
    const error = await expectGangFailure(host, request);

    const failure = 'Rank 2 of the thread gang failed during the `sleep` request: its worker exited with code 1.';
    expect(error).toMatchObject({ kind: 'exited', ranks: [2], operation: 'sleep', message: failure });
    // Ranks 0 and 1 may not have reached their barrier when the failure arrived.
    for (const rank of [0, 1]) {
      expect([undefined, survivorSaw('barrier', rank, failure)]).toContain(readBoard(board, rank));
    }
  });

  it('fails every rank when a worker dies of an uncaught error', async () => {
    const board = createBoard(2);
    const host = await start({ size: 2, initData: { board } });

    const error = await expectGangFailure(host, host.request('crash', { failing: 1 }));

    const failure =
      'Rank 1 of the thread gang failed during the `crash` request: its worker crashed with an uncaught `TypeError: rank 1 crashed on purpose`.';
    expect(error).toMatchObject({ kind: 'crashed', ranks: [1], operation: 'crash', message: failure });
    expect(readBoard(board, 0)).toBe(survivorSaw('barrier', 0, failure));
  });

  it('fails every rank when a worker runs out of memory', async () => {
    const board = createBoard(2);
    const host = await start({ size: 2, initData: { board }, resourceLimits: { maxOldGenerationSizeMb: 32 } });

    const error = await expectGangFailure(host, host.request('exhaustMemory', { failing: 1 }));

    const failure =
      'Rank 1 of the thread gang failed during the `exhaustMemory` request: its worker ran out of memory (`Error [ERR_WORKER_OUT_OF_MEMORY]: Worker terminated due to reaching memory limit: JS heap out of memory`).';
    expect(error).toMatchObject({ kind: 'crashed', ranks: [1], operation: 'exhaustMemory', message: failure });
    expect(readBoard(board, 0)).toBe(survivorSaw('barrier', 0, failure));
  });

  it('times a collective out and names the rank that did not arrive', async () => {
    const board = createBoard(2);
    const host = await start({ size: 2, initData: { board }, collectiveTimeoutMs: 300 });

    const error = await expectGangFailure(host, host.requestAll('skip', { failing: 1 }));

    const failure = 'The `barrier` collective of the gang [0, 1] timed out after 300 ms on rank 0: rank 1 did not arrive.';
    expect(error).toMatchObject({ kind: 'timeout', ranks: [1], operation: 'barrier', message: failure });
    expect(readBoard(board, 0)).toBe(`GangError: ${failure}`);
  });

  it('times out ranks that wait for a rank that sleeps, and terminates the sleeper after the grace period', async () => {
    const board = createBoard(3);
    const host = await start({ size: 3, initData: { board }, collectiveTimeoutMs: 300, abortGraceMs: 200 });

    const error = await expectGangFailure(host, host.requestAll('sleep', { failing: 2 }));

    // Ranks 0 and 1 both wait and time out at about the same moment; the first to report is the cause.
    const failures = [0, 1].map(
      (rank) => `The \`barrier\` collective of the gang [0, 1, 2] timed out after 300 ms on rank ${rank}: rank 2 did not arrive.`,
    );
    expect(error).toMatchObject({ kind: 'timeout', ranks: [2], operation: 'barrier' });
    expect(failures).toContain(error.message);
  });

  it('fails every rank when the ranks call different collectives', async () => {
    const board = createBoard(3);
    const host = await start({ size: 3, initData: { board } });

    const error = await expectGangFailure(host, host.requestAll('mismatch', undefined));

    const failure =
      "The ranks of the gang [0, 1, 2] called different collectives: rank 0 called `allReduce('sum')` of 4 values, rank 1 called `allGather()` of 8 values and rank 2 called `allGather()` of 8 values.";
    expect(error).toMatchObject({ kind: 'mismatch', ranks: [0, 1, 2], message: failure });
    [0, 1, 2].forEach((rank) => {
      // A rank finds the mismatch itself, unless the first rank's report reached the host before.
      const collective = rank === 0 ? 'allReduce' : 'allGather';
      expect([`GangError: ${failure}`, survivorSaw(collective, rank, failure)]).toContain(readBoard(board, rank));
    });
  });

  it('fails every rank when the ranks create different sub-gangs', async () => {
    const board = createBoard(2);
    const host = await start({ size: 2, initData: { board } });

    const error = await expectGangFailure(host, host.requestAll('mismatchCreateGang', undefined));

    expect(error).toMatchObject({
      kind: 'mismatch',
      ranks: [0, 1],
      operation: 'createGang',
      message: 'The ranks of the gang [0, 1] called `createGang()` with different ranks: rank 0 passed [0, 1] and rank 1 passed [1, 0].',
    });
  });

  it('fails every later collective of a rank that caught the first failure', async () => {
    const board = createBoard(2);
    const host = await start({ size: 2, initData: { board } });

    const error = await expectGangFailure(host, host.requestAll('retryAfterFailure', { failing: 1 }));

    expect(readBoard(board, 0)).toBe(survivorSaw('allReduce', 0, error.message));
  });

  it('times a request out and names the ranks that did not reply', async () => {
    const host = await start({ size: 3, initData: {}, abortGraceMs: 100 });

    const error = await expectGangFailure(host, host.requestAll('slow', { ms: 60_000 }, { timeoutMs: 500 }));

    expect(error).toMatchObject({
      kind: 'timeout',
      ranks: [1, 2],
      operation: 'slow',
      message: 'The `slow` request timed out after 500 ms: ranks 1 and 2 did not reply.',
    });
  });

  it('fails a handler whose reply cannot be cloned', async () => {
    const host = await start({ size: 1, initData: {} });

    const error = await expectGangFailure(host, host.request('unclonable', undefined));

    expect(error.message).toBe(
      'Rank 0 of the thread gang failed during the `unclonable` request: its handler threw `DataCloneError: () => rank could not be cloned.`.',
    );
  });

  it('rejects pending requests when closed', async () => {
    const host = await start({ size: 2, initData: {} });

    const error = await expectGangFailure(
      host,
      Promise.all([host.request('slow', { ms: 60_000 }), host.close()]),
    );

    expect(error).toMatchObject({ kind: 'closed', ranks: [], operation: undefined, message: 'The thread gang was closed.' });
  });

  describe('start', () => {
    it('fails when a rank setup throws, after every worker exited', async () => {
      const start = ThreadGangHost.start({ entry: gangFixture(FAULTS), size: 3, initData: { failSetupOn: 1 } });

      await expect(start).rejects.toThrow(GangError);
      await expect(start).rejects.toMatchObject({
        kind: 'threw',
        ranks: [1],
        operation: 'start',
        message: 'Rank 1 of the thread gang failed while starting: it threw `Error: setup of rank 1 failed on purpose`.',
      });
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    });

    it('fails when a rank is not ready in time', async () => {
      const start = ThreadGangHost.start({
        entry: gangFixture(FAULTS),
        size: 2,
        initData: { hangSetupOn: 1 },
        startTimeoutMs: 1000,
        abortGraceMs: 100,
      });

      await expect(start).rejects.toMatchObject({
        kind: 'timeout',
        ranks: [1],
        operation: 'start',
        message: 'The thread gang did not start within 1000 ms: rank 1 was not ready.',
      });
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    });

    it('fails when a rank setup awaits a promise that nothing can settle (its worker exits)', async () => {
      const start = ThreadGangHost.start({ entry: gangFixture(FAULTS), size: 2, initData: { strandSetupOn: 0 } });

      await expect(start).rejects.toMatchObject({
        kind: 'exited',
        ranks: [0],
        operation: 'start',
        message:
          'Rank 0 of the thread gang failed while starting: its worker exited with code 13 (an unsettled top-level await: its setup awaits a promise that nothing can settle).',
      });
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    });

    it('fails when the init data cannot be cloned into a worker', async () => {
      const start = ThreadGangHost.start({ entry: gangFixture(FAULTS), size: 2, initData: { fn: () => 1 } });

      await expect(start).rejects.toMatchObject({
        kind: 'threw',
        ranks: [0],
        operation: 'start',
        message: 'Rank 0 of the thread gang could not be started: `DataCloneError: ()=>1 could not be cloned.`.',
      });
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    });

    it('fails when the worker module has no setup function', async () => {
      const entry = gangFixture('noDefaultExport.mjs');

      await expect(ThreadGangHost.start({ entry, size: 1 })).rejects.toThrow(
        `Rank 0 of the thread gang failed while starting: it threw \`TypeError: The thread gang worker module \`${entry.href}\` must export a setup function as its default export, but its default export is missing.\`.`,
      );
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    });
  });

  it('does not keep the process alive when the caller forgets to close the host', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [gangFixture('forgetClose.mjs').pathname], {
      timeout: 30_000,
    });

    expect(JSON.parse(stdout)).toEqual({ replies: [3, 3], live: 2 });
  }, 35_000);
});
