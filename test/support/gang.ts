// Not re-exported by index.ts: it imports @fs2/core (and with it TF.js), which tests that only need
// temporary folders or fixtures should not pay for. Import it as `test/support/gang.js`.
import { afterEach, expect } from '@jest/globals';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ThreadGangHost,
  type ThreadGangApi,
  type ThreadGangApiShape,
  type ThreadGangHostOptions,
} from '@fs2/core';
import { FIXTURES_DIR } from './fixtures.js';

/** The folder of the thread gang worker fixtures (see test/fixtures/gang/README.md). */
export const GANG_FIXTURES_DIR = join(FIXTURES_DIR, 'gang');

/** The URL of a worker fixture, e.g. `gangFixture('collectives.mjs')`. */
export function gangFixture(name: string): URL {
  return pathToFileURL(join(GANG_FIXTURES_DIR, name));
}

/**
 * Starts thread gang hosts on fixtures and closes every one of them after each test, so that a
 * failing test leaves no worker running; then checks that no worker of any host is left.
 */
export function useThreadGangHosts(): {
  start<TApi extends ThreadGangApiShape<TApi> = ThreadGangApi>(
    fixture: string,
    options: Omit<ThreadGangHostOptions, 'entry'>,
  ): Promise<ThreadGangHost<TApi>>;
} {
  const hosts: ThreadGangHost<never>[] = [];
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.close()));
    expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
  });
  return {
    async start(fixture, options) {
      const host = await ThreadGangHost.start({ ...options, entry: gangFixture(fixture) });
      hosts.push(host as unknown as ThreadGangHost<never>);
      return host as never;
    },
  };
}

/** Bytes per rank on a board (test/fixtures/gang/board.mjs). */
const BOARD_SLOT_BYTES = 2048;

/** A board on which each of `size` ranks can leave one text (test/fixtures/gang/board.mjs). */
export function createBoard(size: number): SharedArrayBuffer {
  return new SharedArrayBuffer(size * BOARD_SLOT_BYTES);
}

/** What rank `rank` wrote on `board`, or `undefined`. */
export function readBoard(board: SharedArrayBuffer, rank: number): string | undefined {
  const length = Atomics.load(new Int32Array(board, rank * BOARD_SLOT_BYTES, 1), 0);
  if (length === 0) {
    return undefined;
  }
  return new TextDecoder().decode(new Uint8Array(board, rank * BOARD_SLOT_BYTES + 4, length).slice());
}

/** The input of `rank` at `index` in repeat `repeat` of the collective fixtures (test/fixtures/gang/inputs.mjs). */
export function gangInput(rank: number, index: number, repeat: number): number {
  return ((index * 7 + rank * 13 + repeat * 3) % 101) - 50;
}

/** The inputs of `rank` for repeat `repeat`. */
export function gangInputs(rank: number, length: number, repeat: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => gangInput(rank, i, repeat));
}
