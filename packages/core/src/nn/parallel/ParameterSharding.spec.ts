import { describe, expect, it } from '@jest/globals';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import type { StateEntry } from '../loadModuleState.js';
import { shardRange, shardState, shardStateEntry, type ParameterSharding } from './ParameterSharding.js';

/** A [2, 4, 6] tensor whose value is its flat index. */
const ENTRY: StateEntry = { name: 'w', shape: [2, 4, 6], data: Float32Array.from({ length: 48 }, (_, i) => i) };

function sharding(rank: number, size: number, dims: Readonly<Record<string, number>>): ParameterSharding {
  return { rank, size, shardDim: (name) => dims[name] };
}

describe('parameter sharding', () => {
  it("cuts a tensor into equal parts along its shard dim, rank r holding part r", () => {
    const dim1 = shardStateEntry(ENTRY, sharding(1, 2, { w: 1 }));
    expect(dim1.shape).toEqual([2, 2, 6]);
    // Rows 2 and 3 of each of the two [4, 6] blocks.
    expect(Array.from(dim1.data)).toEqual([...Array.from({ length: 12 }, (_, i) => 12 + i), ...Array.from({ length: 12 }, (_, i) => 36 + i)]);

    const dim2 = shardStateEntry(ENTRY, sharding(2, 3, { w: 2 }));
    expect(dim2.shape).toEqual([2, 4, 2]);
    expect(Array.from(dim2.data)).toEqual(Array.from({ length: 8 }, (_, row) => [row * 6 + 4, row * 6 + 5]).flat());

    const dim0 = shardStateEntry(ENTRY, sharding(0, 2, { w: 0 }));
    expect(dim0).toEqual({ name: 'w', shape: [1, 4, 6], data: ENTRY.data.slice(0, 24) });
  });

  it('leaves replicated tensors, and every tensor of a single rank, as they are', () => {
    expect(shardStateEntry(ENTRY, sharding(1, 2, {}))).toBe(ENTRY);
    expect(shardStateEntry(ENTRY, sharding(0, 1, { w: 1 }))).toBe(ENTRY);
  });

  it('the parts of every rank put back together are the whole tensor', async () => {
    const parts = [];
    for (let rank = 0; rank < 3; rank++) {
      for await (const entry of shardState([ENTRY], sharding(rank, 3, { w: 2 }))) {
        parts.push(entry);
      }
    }
    const whole = new Float32Array(48);
    parts.forEach((part, rank) => {
      for (let row = 0; row < 8; row++) {
        whole.set(part.data.subarray(row * 2, row * 2 + 2), row * 6 + rank * 2);
      }
    });
    expect(whole).toEqual(ENTRY.data);
  });

  it('refuses a size that does not divide the shard dim, naming the tensor', () => {
    const call = () => shardStateEntry(ENTRY, sharding(0, 4, { w: 2 }));
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow('w has a size of 6 along its shard dim 2, which is not divisible by the tensor-parallel size 4.');
    expect(shardRange('x', 12, 0, 2, 3)).toEqual({ start: 8, length: 4 });
  });
});
