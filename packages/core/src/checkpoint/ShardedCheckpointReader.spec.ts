import { describe, expect, it } from '@jest/globals';

import { MemoryCheckpointReader } from '../../../../test/support/index.js';
import { CheckpointError } from './errors.js';
import { narrowHostTensor, reshardTensor, type HostTensor } from './reshardTensor.js';
import { ShardedCheckpointReader } from './ShardedCheckpointReader.js';

function tensor(shape: number[], start = 0): HostTensor {
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => start + i) };
}

/** `tp` memory shards of `full` (a map of tensors), each key split along `dims[key]`. */
function shardsOf(full: Record<string, HostTensor>, dims: Record<string, number>, tp: number): MemoryCheckpointReader[] {
  return Array.from(
    { length: tp },
    (_, rank) =>
      new MemoryCheckpointReader(
        `/ckpt/consolidated.0${rank}.pth`,
        new Map(
          Object.entries(full).map(([key, t]) => {
            const dim = dims[key];
            if (dim === undefined) {
              return [key, t];
            }
            const size = (t.shape[dim] as number) / tp;
            return [key, narrowHostTensor(t, dim, rank * size, size)];
          }),
        ),
      ),
  );
}

const FULL: Record<string, HostTensor> = {
  'w.col': tensor([8, 6]),
  'w.row': tensor([6, 8], 1000),
  'cube': tensor([4, 8, 4], 5000),
  'norm': tensor([6], 9000),
};
const DIMS: Record<string, number> = { 'w.col': 0, 'w.row': 1, 'cube': 1 };

describe(ShardedCheckpointReader, () => {
  it('reads every slice of every key like the unsharded tensor, for source tp 1, 2 and 4', async () => {
    for (const tp of [1, 2, 4]) {
      const reader = ShardedCheckpointReader.create({
        path: '/ckpt',
        format: 'meta',
        shards: shardsOf(FULL, DIMS, tp),
        shardDims: new Map(Object.entries(DIMS)),
      });
      for (const [key, full] of Object.entries(FULL)) {
        expect(reader.shape(key)).toEqual(full.shape);
        expect(reader.shardDim(key)).toBe(tp === 1 ? undefined : DIMS[key]);
        expect(Array.from(await reader.read(key))).toEqual(Array.from(full.data));
        for (let dim = 0; dim < full.shape.length; dim++) {
          const size = full.shape[dim] as number;
          for (let start = 0; start < size; start++) {
            for (let length = 0; start + length <= size; length++) {
              const got = await reader.readSlice(key, dim, start, length);
              expect({ tp, key, dim, start, length, data: Array.from(got) }).toEqual({
                tp,
                key,
                dim,
                start,
                length,
                data: Array.from(narrowHostTensor(full, dim, start, length).data),
              });
            }
          }
        }
      }
    }
  });

  it('gives each target rank what reshardTensor gives it (source tp 1/2/4 -> target tp 1/2/4)', async () => {
    for (const sourceTp of [1, 2, 4]) {
      const shards = shardsOf(FULL, DIMS, sourceTp);
      const reader = ShardedCheckpointReader.create({ path: '/ckpt', format: 'meta', shards, shardDims: new Map(Object.entries(DIMS)) });
      for (const targetTp of [1, 2, 4]) {
        for (let rank = 0; rank < targetTp; rank++) {
          for (const key of Object.keys(FULL)) {
            const dim = DIMS[key];
            const splits = await Promise.all(shards.map(async (s) => [{ shape: s.shape(key), data: await s.read(key) }]));
            const want = reshardTensor({ key, splits, shardDim: dim, tpSize: targetTp, tpRank: rank });
            const got =
              dim === undefined
                ? await reader.read(key)
                : await reader.readSlice(key, dim, (rank * (FULL[key]?.shape[dim] as number)) / targetTp, (FULL[key]?.shape[dim] as number) / targetTp);
            expect(Array.from(got)).toEqual(Array.from(want.data));
          }
        }
      }
    }
  });

  it('reads into the caller\'s array', async () => {
    const reader = ShardedCheckpointReader.create({ path: '/ckpt', format: 'meta', shards: shardsOf(FULL, DIMS, 2), shardDims: new Map(Object.entries(DIMS)) });
    const into = new Float32Array(48);
    expect(await reader.read('w.col', into)).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(FULL['w.col']?.data ?? []));
  });

  it('closes every shard', async () => {
    const shards = shardsOf(FULL, DIMS, 2);
    const reader = ShardedCheckpointReader.create({ path: '/ckpt', format: 'meta', shards, shardDims: new Map() });
    await reader.close();
    expect(shards.map((s) => s.closed)).toEqual([true, true]);
  });

  describe('shards that disagree give a CheckpointError naming the key and the files', () => {
    const create = (shards: MemoryCheckpointReader[], dims: Map<string, number> = new Map()): unknown => {
      try {
        return ShardedCheckpointReader.create({ path: '/ckpt', format: 'meta', shards, shardDims: dims });
      } catch (error) {
        return error;
      }
    };

    it('a key missing from a shard', () => {
      const a = new MemoryCheckpointReader('/ckpt/a', new Map([['x', tensor([2])], ['y', tensor([2])]]));
      const b = new MemoryCheckpointReader('/ckpt/b', new Map([['x', tensor([2])]]));
      const error = create([a, b]) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.tensor).toBe('y');
      expect(error.message).toBe('y is in the tensor-parallel shard /ckpt/a but not in /ckpt/b.');
      expect((create([b, a]) as Error).message).toBe('y is in the tensor-parallel shard /ckpt/a but not in /ckpt/b.');
    });

    it('a replicated key whose shards differ (a forgotten shard dim)', () => {
      const [a, b] = shardsOf({ 'w.col': tensor([8, 6]) }, { 'w.col': 0 }, 2) as [MemoryCheckpointReader, MemoryCheckpointReader];
      const tweaked = new MemoryCheckpointReader('/ckpt/b', new Map([['w.col', tensor([4, 5])]]));
      expect((create([a, tweaked]) as Error).message).toBe(
        'w.col is [4, 6] of F32 in /ckpt/consolidated.00.pth but [4, 5] of F32 in /ckpt/b (it is read as replicated: no shard dim was given for it).',
      );
      expect((create([a, tweaked], new Map([['w.col', 0]])) as Error).message).toBe(
        'w.col is [4, 6] of F32 in /ckpt/consolidated.00.pth but [4, 5] of F32 in /ckpt/b (sharded along dim 0).',
      );
      expect(create([a, b], new Map([['w.col', 0]]))).toBeInstanceOf(ShardedCheckpointReader);
    });

    it('a shard dim the tensor does not have', () => {
      expect((create(shardsOf(FULL, {}, 2), new Map([['norm', 1]])) as Error).message).toBe(
        'norm has 1 dims in /ckpt/consolidated.00.pth, so it cannot be sharded along dim 1.',
      );
    });
  });
});
