import { describe, expect, it } from '@jest/globals';

import { concatHostTensors, narrowHostTensor, planShardSlice, reshardTensor, type HostTensor } from './reshardTensor.js';

/** A [rows, cols] tensor whose element (r, c) is r * 100 + c: every slice is recognisable. */
function grid(rows: number, cols: number): HostTensor {
  return { shape: [rows, cols], data: Float32Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols) * 100 + (i % cols)) };
}

/** The tp shards of `full` along `dim`, each split again into `dp` uneven data-parallel parts. */
function split(full: HostTensor, tp: number, dim: number, dp = 1): HostTensor[][] {
  const size = (full.shape[dim] as number) / tp;
  return Array.from({ length: tp }, (_, r) => {
    const shard = narrowHostTensor(full, dim, r * size, size);
    if (dp === 1) {
      return [shard];
    }
    const rows = shard.shape[0] as number;
    const cut = Math.min(rows, 1); // uneven: 1 row, then the rest
    return [narrowHostTensor(shard, 0, 0, cut), narrowHostTensor(shard, 0, cut, rows - cut)];
  });
}

describe(planShardSlice, () => {
  it('lists only the overlapping shards with their local ranges', () => {
    expect(planShardSlice([4, 4, 4], 3, 6)).toEqual([
      { shard: 0, start: 3, length: 1, offset: 0 },
      { shard: 1, start: 0, length: 4, offset: 1 },
      { shard: 2, start: 0, length: 1, offset: 5 },
    ]);
    expect(planShardSlice([2, 5, 1], 2, 5)).toEqual([{ shard: 1, start: 0, length: 5, offset: 0 }]);
    expect(planShardSlice([3, 3], 0, 0)).toEqual([]);
    expect(() => planShardSlice([3, 3], 4, 3)).toThrow('[4, 7) is outside the 6 elements of the shards.');
  });
});

describe(reshardTensor, () => {
  it('gives every target rank its part, for source tp 1/2/4 -> target tp 1/2/4 along dims 0 and 1', () => {
    const full = grid(8, 12);
    for (const dim of [0, 1]) {
      for (const sourceTp of [1, 2, 4]) {
        for (const targetTp of [1, 2, 4]) {
          for (let rank = 0; rank < targetTp; rank++) {
            const size = (full.shape[dim] as number) / targetTp;
            const want = narrowHostTensor(full, dim, rank * size, size);
            const got = reshardTensor({ key: 'w', splits: split(full, sourceTp, dim), shardDim: dim, tpSize: targetTp, tpRank: rank });
            expect({ dim, sourceTp, targetTp, rank, shape: got.shape, data: Array.from(got.data) }).toEqual({
              dim,
              sourceTp,
              targetTp,
              rank,
              shape: want.shape,
              data: Array.from(want.data),
            });
          }
        }
      }
    }
  });

  it('puts uneven data-parallel splits back together along dim 0 first', () => {
    const full = grid(8, 4);
    for (const sourceTp of [1, 2, 4]) {
      for (const targetTp of [1, 2, 4]) {
        for (let rank = 0; rank < targetTp; rank++) {
          const got = reshardTensor({ key: 'w', splits: split(full, sourceTp, 1, 2), shardDim: 1, tpSize: targetTp, tpRank: rank });
          expect(Array.from(got.data)).toEqual(Array.from(narrowHostTensor(full, 1, (rank * 4) / targetTp, 4 / targetTp).data));
        }
      }
    }
  });

  it('takes tp shard 0 of a replicated tensor, and the own shard when the sizes match', () => {
    const a = grid(2, 2);
    const b = { shape: [2, 2], data: new Float32Array([9, 9, 9, 9]) };
    expect(reshardTensor({ key: 'norm', splits: [[a], [b]], shardDim: undefined, tpSize: 4, tpRank: 3 })).toBe(a);
    expect(reshardTensor({ key: 'w', splits: [[a], [b]], shardDim: 0, tpSize: 2, tpRank: 1 })).toBe(b);
  });

  it('keeps int32 data int32', () => {
    const full: HostTensor = { shape: [4], data: Int32Array.from([1, 2, 3, 4]) };
    const got = reshardTensor({ key: 'ids', splits: [[narrowHostTensor(full, 0, 0, 2)], [narrowHostTensor(full, 0, 2, 2)]], shardDim: 0, tpSize: 4, tpRank: 2 });
    expect(got.data).toEqual(Int32Array.from([3]));
  });

  it('names the key when the size does not divide or the rank is outside', () => {
    const full = grid(6, 2);
    expect(() => reshardTensor({ key: 'layers.0.w', splits: split(full, 2, 0), shardDim: 0, tpSize: 4, tpRank: 0 })).toThrow(
      'layers.0.w has a size of 6 along its shard dim 0, which is not divisible by the target tensor-parallel size 4.',
    );
    expect(() => reshardTensor({ key: 'layers.0.w', splits: split(full, 2, 0), shardDim: 0, tpSize: 2, tpRank: 2 })).toThrow(
      'Cannot reshard layers.0.w for rank 2 of a tensor-parallel size 2.',
    );
    expect(() => reshardTensor({ key: 'layers.0.w', splits: split(full, 2, 0), shardDim: 2, tpSize: 1, tpRank: 0 })).toThrow(
      'layers.0.w has 2 dims, so it cannot be sharded along dim 2.',
    );
  });
});

describe(concatHostTensors, () => {
  it('concatenates along an inner dim and refuses shapes that disagree', () => {
    const left = narrowHostTensor(grid(2, 3), 1, 0, 1);
    const right = narrowHostTensor(grid(2, 3), 1, 1, 2);
    expect(concatHostTensors([left, right], 1)).toEqual(grid(2, 3));
    expect(() => concatHostTensors([grid(2, 3), grid(3, 3)], 1)).toThrow('Cannot concatenate tensors of shapes [2, 3], [3, 3] along dim 1.');
  });
});
