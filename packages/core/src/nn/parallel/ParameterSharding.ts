import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import { formatShape } from '../errors.js';
import type { StateEntry, StateSource } from '../loadModuleState.js';
import { numel } from '../Module.js';

/**
 * How a model's parameters are split over a tensor-parallel gang (fairseq2's `get_shard_dims`):
 * each sharded parameter is cut into `size` equal parts along one dim of its full fs2 shape, and
 * rank `rank` holds part `rank`; every other parameter is replicated (each rank holds all of it).
 * What a checkpoint loader needs to read only this rank's slices.
 */
export interface ParameterSharding {
  /** This rank in the tensor-parallel gang. */
  readonly rank: number;
  /** The number of ranks. */
  readonly size: number;
  /**
   * The dim of the full fs2 tensor `name` (fs2 layout: linear weights `[in, out]`) that is split
   * among the ranks, or `undefined` when every rank holds the whole tensor.
   */
  shardDim(name: string): number | undefined;
}

/**
 * The range `[start, start + length)` of dim `dim` (of a full size `size`) that rank `rank` of
 * `ranks` holds: equal parts, in rank order.
 *
 * @throws InvalidArgumentError when `ranks` does not divide `size`.
 */
export function shardRange(name: string, size: number, dim: number, rank: number, ranks: number): { start: number; length: number } {
  if (size % ranks !== 0) {
    throw new InvalidArgumentError(
      'tpSize',
      `${name} has a size of ${size} along its shard dim ${dim}, which is not divisible by the tensor-parallel size ${ranks}.`,
    );
  }
  const length = size / ranks;
  return { start: rank * length, length };
}

/**
 * This rank's part of a full state entry (a copy), or the entry itself when `sharding` does not
 * split it.
 */
export function shardStateEntry(entry: StateEntry, sharding: ParameterSharding): StateEntry {
  const dim = sharding.shardDim(entry.name);
  if (dim === undefined || sharding.size === 1) {
    return entry;
  }
  const { shape, data } = entry;
  if (dim < 0 || dim >= shape.length) {
    throw new InvalidArgumentError(
      'entry',
      `${entry.name} of shape ${formatShape(shape)} cannot be sharded along dim ${dim}.`,
    );
  }
  const { start, length } = shardRange(entry.name, shape[dim] as number, dim, sharding.rank, sharding.size);
  const local = [...shape];
  local[dim] = length;
  const outer = numel(shape.slice(0, dim));
  const inner = numel(shape.slice(dim + 1));
  const full = shape[dim] as number;
  const out = new Float32Array(numel(local));
  for (let o = 0; o < outer; o++) {
    const from = (o * full + start) * inner;
    out.set(data.subarray(from, from + length * inner), o * length * inner);
  }
  return { name: entry.name, shape: local, data: out };
}

/** `source` (a full state, one tensor at a time) narrowed to this rank's parts. */
export async function* shardState(source: StateSource, sharding: ParameterSharding): AsyncGenerator<StateEntry> {
  for await (const entry of source) {
    yield shardStateEntry(entry, sharding);
  }
}
