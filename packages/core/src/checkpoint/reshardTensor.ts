import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { TensorArray } from './dtypes.js';

/** A tensor in host memory: a row-major array and its shape. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: TensorArray;
}

/** One piece of a range that spans consecutive shards: see {@link planShardSlice}. */
export interface ShardPiece {
  /** Which shard. */
  readonly shard: number;
  /** Where the piece starts inside the shard. */
  readonly start: number;
  readonly length: number;
  /** Where the piece lands in the requested range. */
  readonly offset: number;
}

/**
 * The pieces of `[start, start + length)` of a dim split into consecutive shards of `sizes`
 * (shard 0 holds `[0, sizes[0])`, shard 1 the next `sizes[1]`, ...): only the shards that overlap
 * the range, each with its local range. Shards may be uneven (data-parallel splits are).
 */
export function planShardSlice(sizes: readonly number[], start: number, length: number): ShardPiece[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > total) {
    throw new InvalidArgumentError('start', `[${start}, ${start + length}) is outside the ${total} elements of the shards.`);
  }
  const pieces: ShardPiece[] = [];
  let shardStart = 0;
  const end = start + length;
  for (let shard = 0; shard < sizes.length; shard++) {
    const size = sizes[shard] as number;
    const from = Math.max(start, shardStart);
    const to = Math.min(end, shardStart + size);
    if (from < to) {
      pieces.push({ shard, start: from - shardStart, length: to - from, offset: from - start });
    }
    shardStart += size;
  }
  return pieces;
}

function product(values: readonly number[]): number {
  let p = 1;
  for (const v of values) {
    p *= v;
  }
  return p;
}

/**
 * Copies `src` (of `srcShape`) into `dst` (of `dstShape`) at `[dstStart, dstStart + srcShape[dim])`
 * along `dim`; every other dim must agree.
 */
export function copyAlongDim(
  src: TensorArray,
  srcShape: readonly number[],
  dst: TensorArray,
  dstShape: readonly number[],
  dim: number,
  dstStart: number,
): void {
  const outer = product(srcShape.slice(0, dim));
  const inner = product(srcShape.slice(dim + 1));
  const srcRow = (srcShape[dim] as number) * inner;
  const dstRow = (dstShape[dim] as number) * inner;
  const at = dstStart * inner;
  if (outer === 1 || srcRow === dstRow) {
    dst.set(src.subarray(0, outer * srcRow), at);
    return;
  }
  for (let o = 0; o < outer; o++) {
    dst.set(src.subarray(o * srcRow, (o + 1) * srcRow), o * dstRow + at);
  }
}

/** `tensor` narrowed to `[start, start + length)` along `dim` (a copy). */
export function narrowHostTensor(tensor: HostTensor, dim: number, start: number, length: number): HostTensor {
  const size = tensor.shape[dim];
  if (size === undefined || !Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0 || start + length > size) {
    throw new InvalidArgumentError(
      'start',
      `Cannot narrow a tensor of shape [${tensor.shape.join(', ')}] to [${start}, ${start + length}) along dim ${dim}.`,
    );
  }
  const shape = [...tensor.shape];
  shape[dim] = length;
  const outer = product(tensor.shape.slice(0, dim));
  const inner = product(tensor.shape.slice(dim + 1));
  const data = tensor.data instanceof Float32Array ? new Float32Array(product(shape)) : new Int32Array(product(shape));
  for (let o = 0; o < outer; o++) {
    const from = (o * size + start) * inner;
    data.set(tensor.data.subarray(from, from + length * inner), o * length * inner);
  }
  return { shape, data };
}

/** `tensors` concatenated along `dim`; every other dim and the array type must agree. */
export function concatHostTensors(tensors: readonly HostTensor[], dim: number): HostTensor {
  const first = tensors[0];
  if (first === undefined) {
    throw new InvalidArgumentError('tensors', 'Cannot concatenate no tensors.');
  }
  const floating = first.data instanceof Float32Array;
  for (const t of tensors) {
    const agrees =
      t.shape.length === first.shape.length &&
      t.shape.every((d, i) => i === dim || d === first.shape[i]) &&
      t.data instanceof Float32Array === floating;
    if (!agrees || dim < 0 || dim >= first.shape.length) {
      throw new InvalidArgumentError(
        'tensors',
        `Cannot concatenate tensors of shapes ${tensors.map((x) => `[${x.shape.join(', ')}]`).join(', ')} along dim ${dim}.`,
      );
    }
  }
  const shape = [...first.shape];
  shape[dim] = tensors.reduce((sum, t) => sum + (t.shape[dim] as number), 0);
  const data = floating ? new Float32Array(product(shape)) : new Int32Array(product(shape));
  let at = 0;
  for (const t of tensors) {
    copyAlongDim(t.data, t.shape, data, shape, dim, at);
    at += t.shape[dim] as number;
  }
  return { shape, data };
}

/** Arguments of {@link reshardTensor}. */
export interface ReshardOptions {
  /** The tensor's key, for errors. */
  readonly key: string;
  /**
   * The source splits, `splits[tpRank][dpRank]`: the tensor-parallel shards, each possibly split
   * again along dim 0 by sharded data parallelism (one dp split when there is none).
   */
  readonly splits: readonly (readonly HostTensor[])[];
  /** The dim the tensor is sharded along for tensor parallelism; `undefined` = replicated. */
  readonly shardDim: number | undefined;
  /** The target tensor-parallel size. */
  readonly tpSize: number;
  /** The target tensor-parallel rank, in `[0, tpSize)`. */
  readonly tpRank: number;
}

/**
 * fairseq2's `reshard_tensor` (`model_checkpoint/common.py`): the part of a tensor that target rank
 * `tpRank` of `tpSize` holds, from the splits of any source tensor-parallel size.
 *
 * - The dp splits of each tp shard are concatenated along dim 0 first.
 * - Same source and target tp size: the target rank's own shard.
 * - A replicated tensor (`shardDim` undefined): tp shard 0.
 * - Otherwise the full size along `shardDim` (the sum of the shards') is cut into `tpSize` equal
 *   parts, and only the source shards that overlap the target part are narrowed and concatenated.
 *
 * @throws InvalidArgumentError naming the key when the size does not divide or the rank is outside.
 */
export function reshardTensor(options: ReshardOptions): HostTensor {
  const { key, splits, shardDim, tpSize, tpRank } = options;
  if (!Number.isSafeInteger(tpSize) || tpSize < 1 || !Number.isSafeInteger(tpRank) || tpRank < 0 || tpRank >= tpSize) {
    throw new InvalidArgumentError('tpRank', `Cannot reshard ${key} for rank ${tpRank} of a tensor-parallel size ${tpSize}.`);
  }
  if (splits.length === 0 || splits.some((s) => s.length === 0)) {
    throw new InvalidArgumentError('splits', `Cannot reshard ${key}: a tensor-parallel shard has no splits.`);
  }
  const shards = splits.map((dp) => (dp.length === 1 || (dp[0] as HostTensor).shape.length === 0 ? (dp[0] as HostTensor) : concatHostTensors(dp, 0)));
  if (shards.length === tpSize) {
    return shards[tpRank] as HostTensor;
  }
  if (shardDim === undefined) {
    return shards[0] as HostTensor;
  }
  const first = shards[0] as HostTensor;
  if (!Number.isInteger(shardDim) || shardDim < 0 || shardDim >= first.shape.length) {
    throw new InvalidArgumentError('shardDim', `${key} has ${first.shape.length} dims, so it cannot be sharded along dim ${shardDim}.`);
  }
  const sizes = shards.map((s) => s.shape[shardDim] as number);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total % tpSize !== 0) {
    throw new InvalidArgumentError(
      'tpSize',
      `${key} has a size of ${total} along its shard dim ${shardDim}, which is not divisible by the target tensor-parallel size ${tpSize}.`,
    );
  }
  const length = total / tpSize;
  const pieces = planShardSlice(sizes, tpRank * length, length).map((p) =>
    narrowHostTensor(shards[p.shard] as HostTensor, shardDim, p.start, p.length),
  );
  return pieces.length === 1 ? (pieces[0] as HostTensor) : concatHostTensors(pieces, shardDim);
}
