import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { gangInputs, useThreadGangHosts } from '../../../../test/support/gang.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { ReduceOperation } from './Gang.js';
import { ThreadGangHost } from './ThreadGangHost.js';

// Collectives of real worker threads over shared memory. The workers run test/fixtures/gang/*.mjs
// and the compiled bootstrap in packages/core/dist (run `npm run build` first; `npm test` does).

interface Checked {
  readonly mismatches: number;
  readonly last: Float32Array;
}

interface CollectivesApi {
  info(): { rank: number; size: number; ranks: number[]; initData: unknown };
  echo(payload: unknown): unknown;
  allReduce(payload: { length: number; op: ReduceOperation; repeats: number }): Checked;
  allGather(payload: { length: number; repeats: number; preallocate: boolean }): Checked;
  broadcast(payload: { length: number; repeats: number }): Checked;
  barrier(payload: { repeats: number }): number;
  mixed(payload: { lengths: number[]; repeats: number }): { mismatches: number; collectives: number };
  subGangs(): Record<string, unknown>;
  exhaustSubGangs(): { created: number; error: { name: string; message: string }; sum: number; lastSum: number };
}

interface MeshApi {
  mesh(payload: { tpSize: number }): Record<string, unknown>;
}

/** The reduction of every rank's inputs, in rank order, in float32 (the fixture computes the same). */
function expectedReduction(op: ReduceOperation, size: number, length: number, repeat: number): Float32Array {
  const out = gangInputs(0, length, repeat);
  for (let r = 1; r < size; r++) {
    const other = gangInputs(r, length, repeat);
    out.forEach((a, i) => {
      const b = other[i]!;
      out[i] = op === 'sum' || op === 'mean' ? a + b : op === 'product' ? a * b : op === 'min' ? Math.min(a, b) : Math.max(a, b);
    });
  }
  return op === 'mean' ? out.map((v) => v / size) : out;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const CHUNK = 1000;
const OPS: ReduceOperation[] = ['sum', 'mean', 'product', 'min', 'max'];

describe.each([2, 3])('a thread gang of %i ranks', (size) => {
  let host: ThreadGangHost<CollectivesApi>;
  const ranks = Array.from({ length: size }, (_, r) => r);

  beforeAll(async () => {
    host = await ThreadGangHost.start<CollectivesApi>({
      entry: new URL('../../../../test/fixtures/gang/collectives.mjs', import.meta.url),
      size,
      chunkFloats: CHUNK,
      initData: { label: 'collectives' },
    });
  });

  afterAll(async () => {
    await host.close();
    expect(host.liveWorkerCount).toBe(0);
  });

  it('gives each rank its rank, the gang size and the init data', async () => {
    const infos = await host.requestAll('info', undefined);

    expect(infos).toEqual(ranks.map((rank) => ({ rank, size, ranks, initData: { label: 'collectives' } })));
    expect(host.methods).toEqual(['allGather', 'allReduce', 'barrier', 'broadcast', 'echo', 'exhaustSubGangs', 'info', 'mixed', 'subGangs']);
  });

  describe.each([
    ['small', 5, 40],
    ['chunked', 2 * CHUNK + 500, 4],
    ['one chunk exactly', CHUNK, 4],
    ['empty', 0, 4],
  ])('with %s payloads (%i floats, %i times)', (_, length, repeats) => {
    it.each(OPS)('all-reduces (%s) to the same value on every rank', async (op) => {
      const replies = await host.requestAll('allReduce', { length, op, repeats });

      const expected = expectedReduction(op, size, length, repeats - 1);
      for (const reply of replies) {
        expect(reply.mismatches).toBe(0);
        expect(reply.last).toEqual(expected);
      }
    });

    it.each([false, true])('all-gathers in rank order (output given: %s)', async (preallocate) => {
      const replies = await host.requestAll('allGather', { length, repeats, preallocate });

      const expected = concat(ranks.map((r) => gangInputs(r, length, repeats - 1)));
      for (const reply of replies) {
        expect(reply.mismatches).toBe(0);
        expect(reply.last).toEqual(expected);
      }
    });

    it('broadcasts from every rank in turn', async () => {
      const replies = await host.requestAll('broadcast', { length, repeats });

      const source = (repeats - 1) % size;
      for (const reply of replies) {
        expect(reply.mismatches).toBe(0);
        expect(reply.last).toEqual(gangInputs(source, length, repeats - 1));
      }
    });
  });

  it('meets at barriers many times', async () => {
    expect(await host.requestAll('barrier', { repeats: 300 })).toEqual(ranks.map(() => 300));
  });

  it('interleaves every collective over lengths around the chunk size without leaking state between calls', async () => {
    const replies = await host.requestAll('mixed', { lengths: [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 7, 2 * CHUNK + 3], repeats: 6 });

    expect(replies).toEqual(ranks.map(() => ({ mismatches: 0, collectives: 6 * 7 * 5 })));
  });

  it("resolves request() to rank 0's reply, after every rank replied", async () => {
    expect(await host.request('info', undefined)).toEqual({ rank: 0, size, ranks, initData: { label: 'collectives' } });
  });
});

describe('ThreadGangHost', () => {
  const hosts = useThreadGangHosts();

  it('exchanges a payload larger than the default chunk of 65 536 floats', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 2 });

    const replies = await host.requestAll('allReduce', { length: 150_000, op: 'sum', repeats: 1 });

    expect(replies.map((r) => r.mismatches)).toEqual([0, 0]);
    expect(replies[1]!.last).toEqual(expectedReduction('sum', 2, 150_000, 0));
  });

  it('creates sub-gangs as collectives of the parent: members get a gang, others undefined', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 3, chunkFloats: 16 });

    const replies = await host.requestAll('subGangs', undefined);

    expect(replies).toEqual([
      { a: { rank: 0, size: 2, ranks: [0, 2] }, b: null, c: null, aSum: [4, 40] },
      { a: null, b: { rank: 1, size: 2, ranks: [2, 1] }, c: { rank: 0, size: 1, ranks: null }, bGather: [2, 1], bBroadcast: 42, cSum: 5 },
      { a: { rank: 1, size: 2, ranks: [0, 2] }, b: { rank: 0, size: 2, ranks: [2, 1] }, c: null, aSum: [4, 40], bGather: [2, 1], bBroadcast: 42 },
    ]);
  });

  it('fails createGang on every rank when the sub-gang memory is used up, and the gangs stay usable', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 2, chunkFloats: 16, subGangSlots: 4 });

    const replies = await host.requestAll('exhaustSubGangs', undefined);

    const message =
      'The thread gang has no shared memory left for a sub-gang of 2 ranks: 4 of its 4 sub-gang slots are in use. Raise `subGangSlots` in the options of the thread gang host.';
    expect(replies).toEqual([0, 1].map(() => ({ created: 2, error: { name: 'InvalidOperationError', message }, sum: 3, lastSum: 2 })));
  });

  it('builds data- and tensor-parallel gangs in workers that import @fs2/core', async () => {
    const host = await hosts.start<MeshApi>('mesh.mjs', { size: 4 });

    const tp2 = await host.requestAll('mesh', { tpSize: 2 });
    const tp4 = await host.request('mesh', { tpSize: 4 });
    const tp1 = await host.request('mesh', { tpSize: 1 });

    const fake = { rank: 0, size: 1, ranks: null };
    expect(tp2).toEqual([
      { root: { rank: 0, size: 4, ranks: [0, 1, 2, 3] }, tp: { rank: 0, size: 2, ranks: [0, 1] }, dp: { rank: 0, size: 2, ranks: [0, 2] }, rdpIsDp: true, sdp: fake, pp: fake, tpSum: 1, dpGather: [0, 2] },
      { root: { rank: 1, size: 4, ranks: [0, 1, 2, 3] }, tp: { rank: 1, size: 2, ranks: [0, 1] }, dp: { rank: 0, size: 2, ranks: [1, 3] }, rdpIsDp: true, sdp: fake, pp: fake, tpSum: 1, dpGather: [1, 3] },
      { root: { rank: 2, size: 4, ranks: [0, 1, 2, 3] }, tp: { rank: 0, size: 2, ranks: [2, 3] }, dp: { rank: 1, size: 2, ranks: [0, 2] }, rdpIsDp: true, sdp: fake, pp: fake, tpSum: 5, dpGather: [0, 2] },
      { root: { rank: 3, size: 4, ranks: [0, 1, 2, 3] }, tp: { rank: 1, size: 2, ranks: [2, 3] }, dp: { rank: 1, size: 2, ranks: [1, 3] }, rdpIsDp: true, sdp: fake, pp: fake, tpSum: 5, dpGather: [1, 3] },
    ]);
    expect(tp4).toMatchObject({ tp: { size: 4, ranks: [0, 1, 2, 3] }, dp: fake, tpSum: 6, dpGather: [0] });
    expect(tp1).toMatchObject({ tp: fake, dp: { size: 4, ranks: [0, 1, 2, 3] }, tpSum: 0, dpGather: [0, 1, 2, 3] });
  });

  it('shares a SharedArrayBuffer in the init data and in payloads instead of copying it', async () => {
    const shared = new SharedArrayBuffer(8);
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 2, initData: { shared } });

    const [info] = await host.requestAll('info', undefined);
    const [echoed] = await host.requestAll('echo', { shared });
    new Int32Array(shared)[0] = 7;

    expect(new Int32Array((info!.initData as { shared: SharedArrayBuffer }).shared)[0]).toBe(7);
    expect(new Int32Array((echoed as { shared: SharedArrayBuffer }).shared)[0]).toBe(7);
  });

  it('rejects a request for a method the workers do not have, without failing the gang', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 2 });

    await expect((host as unknown as ThreadGangHost).request('nope', undefined)).rejects.toThrow(
      new InvalidArgumentError(
        'method',
        "The thread gang's workers have no `nope` handler; their handlers are `allGather`, `allReduce`, `barrier`, `broadcast`, `echo`, `exhaustSubGangs`, `info`, `mixed`, `subGangs`.",
      ),
    );
    expect(host.failure).toBeUndefined();
    expect(await host.requestAll('echo', 1)).toEqual([1, 1]);
  });

  it('rejects a payload that cannot be cloned, without failing the gang', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 2 });

    await expect(host.request('echo', { fn: () => 1 })).rejects.toThrow(
      'The payload of the `echo` request cannot be sent to the workers: `DataCloneError: ()=>1 could not be cloned.`.',
    );
    expect(await host.requestAll('echo', 'ok')).toEqual(['ok', 'ok']);
  });

  it('closes: every worker exits, and later requests reject', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 3 });
    const exits = host.workers.map((worker) => new Promise<number>((resolve) => worker.once('exit', resolve)));

    await host.close();

    expect(await Promise.all(exits)).toHaveLength(3);
    expect(host.liveWorkerCount).toBe(0);
    await expect(host.request('echo', 1)).rejects.toThrow('The thread gang was closed.');
    await host.close();
  });

  it('is async-disposable: disposing closes it', async () => {
    const host = await hosts.start<CollectivesApi>('collectives.mjs', { size: 2 });

    await host[Symbol.asyncDispose]();

    expect(host.liveWorkerCount).toBe(0);
    expect(host.failure?.kind).toBe('closed');
  });

  it.each([
    [{ size: 0 }, 'size', '`size` must be an integer from 1 to 256, but is 0 instead.'],
    [{ size: 2, chunkFloats: 0 }, 'chunkFloats', '`chunkFloats` must be an integer greater than or equal to 1, but is 0 instead.'],
    [{ size: 2, collectiveTimeoutMs: 0 }, 'collectiveTimeoutMs', '`collectiveTimeoutMs` must be a number greater than 0, but is 0 instead.'],
    [{ size: 2, abortGraceMs: -1 }, 'abortGraceMs', '`abortGraceMs` must be a number greater than or equal to 0, but is -1 instead.'],
    [{ size: 2, spinIterations: 0.5 }, 'spinIterations', '`spinIterations` must be an integer greater than or equal to 0, but is 0.5 instead.'],
    [{ size: 2, entry: 'relative/worker.mjs' }, 'entry', '`entry` must be a URL or an absolute path of the worker module, but is "relative/worker.mjs" instead.'],
    [{ size: 2, entry: '/nonexistent/worker.mjs' }, 'entry', 'The thread gang worker module `/nonexistent/worker.mjs` does not exist.'],
    [
      { size: 256, chunkFloats: 2 ** 20 },
      'chunkFloats',
      "The thread gang's shared memory would take 6450897024 bytes, more than its limit of 2147483647; lower `chunkFloats` (1048576) or `subGangSlots` (512).",
    ],
  ])('rejects the options %j', async (options, argument, message) => {
    await expect(
      ThreadGangHost.start({ entry: new URL('../../../../test/fixtures/gang/collectives.mjs', import.meta.url), ...options }),
    ).rejects.toThrow(new InvalidArgumentError(argument, message));
  });
});
