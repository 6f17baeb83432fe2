import { describe, expect, it } from '@jest/globals';

import type { ThreadGangHost } from './ThreadGangHost.js';
import { defineThreadGangWorker, type ThreadGangApiOf } from './ThreadGangWorker.js';

const setup = defineThreadGangWorker(async ({ gang }) => ({
  sum(values: number[]): number[] {
    const data = Float32Array.from(values);
    gang.allReduce(data, 'sum');
    return [...data];
  },
  async size(): Promise<number> {
    return gang.size;
  },
}));

type Api = ThreadGangApiOf<typeof setup>;

/** Never called: `npm run typecheck` checks that the host's requests are typed by the worker's handlers. */
export async function typedRequests(host: ThreadGangHost<Api>): Promise<void> {
  const sums: number[] = await host.request('sum', [1, 2]);
  const sizes: number[] = await host.requestAll('size', undefined);
  // @ts-expect-error the payload of `sum` is a number[]
  await host.request('sum', 'one');
  // @ts-expect-error there is no `product` handler
  await host.request('product', [1]);
  void [sums, sizes];
}

interface InterfaceApi {
  forward(payload: { tokens: number[] }): Float32Array;
}

/** An interface (without an index signature) is a valid API type too. */
export async function interfaceRequests(host: ThreadGangHost<InterfaceApi>): Promise<Float32Array> {
  return host.request('forward', { tokens: [1] });
}

describe(defineThreadGangWorker, () => {
  it('returns the setup function unchanged', () => {
    const fn = () => ({});

    expect(defineThreadGangWorker(fn)).toBe(fn);
    expect(typeof setup).toBe('function');
  });
});
