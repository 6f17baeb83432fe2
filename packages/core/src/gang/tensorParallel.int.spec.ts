import { describe, expect, it } from '@jest/globals';

import { useThreadGangHosts } from '../../../../test/support/gang.js';

// A toy tensor-parallel computation, as a sharded model runs it: each rank is a worker thread with its
// own TF.js wasm backend holding a shard of the weights, and the ranks meet in allGatherTensor /
// allReduceTensor (test/fixtures/gang/tensorParallel.mjs). The results must match the unsharded product.

interface TensorResult {
  readonly shape: number[];
  readonly values: Float32Array;
}

interface TensorParallelApi {
  backend(): string;
  columnParallel(): TensorResult;
  mlp(): TensorResult;
  numTensors(): number;
}

/** A deterministic pseudo-random matrix with entries in [-1, 1). */
function matrix(rows: number, cols: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: rows * cols }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  });
}

/** a [m, k] times b [k, n], in float64. */
function matMul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += aip * b[p * n + j]!;
    }
  }
  return out;
}

function expectClose(actual: Float32Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  const worst = expected.reduce((max, e, i) => Math.max(max, Math.abs(e - actual[i]!)), 0);
  expect(worst).toBeLessThan(1e-4);
}

describe('tensor parallelism over a thread gang', () => {
  const hosts = useThreadGangHosts();
  const m = 3;
  const k = 16;
  const n = 24;
  const x = matrix(m, k, 1);
  const w1 = matrix(k, n, 2);
  const w2 = matrix(n, k, 3);

  it.each([2, 3])('matches the single-rank products with %i ranks on the wasm backend', async (size) => {
    const host = await hosts.start<TensorParallelApi>('tensorParallel.mjs', { size, initData: { m, k, n, x, w1, w2 } });
    expect(await host.requestAll('backend', undefined)).toEqual(Array.from({ length: size }, () => 'wasm'));
    const tensorsBefore = await host.requestAll('numTensors', undefined);

    const columns = await host.requestAll('columnParallel', undefined);
    const mlp = await host.requestAll('mlp', undefined);

    const hidden = matMul(x, w1, m, k, n);
    const relu = Float32Array.from(hidden, (v) => Math.max(0, v));
    const output = matMul(relu, w2, m, n, k);
    for (let rank = 0; rank < size; rank++) {
      expect(columns[rank]!.shape).toEqual([m, n]);
      expectClose(columns[rank]!.values, hidden);
      expect(mlp[rank]!.shape).toEqual([m, k]);
      expectClose(mlp[rank]!.values, output);
      // Every rank holds the same bits.
      expect(columns[rank]!.values).toEqual(columns[0]!.values);
      expect(mlp[rank]!.values).toEqual(mlp[0]!.values);
    }
    expect(await host.requestAll('numTensors', undefined)).toEqual(tensorsBefore);
  }, 20_000);
});
