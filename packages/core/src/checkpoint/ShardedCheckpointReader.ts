import type { TensorArray } from './dtypes.js';
import { CheckpointReaderBase, type CheckpointReader, type CheckpointTensorInfo, type TensorSlice } from './CheckpointReader.js';
import { CheckpointError } from './errors.js';
import { copyAlongDim, planShardSlice } from './reshardTensor.js';

/**
 * The dim each tensor of a sharded checkpoint is split along, by source key: a map, or a function
 * of the key and the first shard's shape. A key without a dim (absent, or `undefined`) is
 * replicated: every shard holds the whole tensor.
 */
export type ShardDims = ReadonlyMap<string, number> | ShardDimFunction;

/** The function form of {@link ShardDims}. */
export type ShardDimFunction = (key: string, shardShape: readonly number[]) => number | undefined;

/** Options of {@link ShardedCheckpointReader.create}. */
export interface ShardedCheckpointOptions {
  /** The folder the shards came from. */
  readonly path: string;
  /** The format name the reader reports (`meta`, `fairseq2`). */
  readonly format: string;
  /** The shards, in rank order. */
  readonly shards: readonly CheckpointReader[];
  /** The dim of each key; see {@link ShardDims}. Ignored with a single shard. */
  readonly shardDims: ShardDims;
  /** What the shards are, for messages. Default: `tensor-parallel`. */
  readonly kind?: string;
}

/**
 * Several shards of one checkpoint (the `consolidated.NN.pth` files of a Meta checkpoint, the
 * `tp_NN` or `sdp_NN` files of a fairseq2 one) read as the one checkpoint they split: the keys are
 * the shards' (which must agree), shapes are the full ones, and every read is planned over the
 * shards (`planShardSlice`, the arithmetic of fairseq2's `reshard_tensor`):
 *
 * - reading a whole tensor reads every shard's part into its place in the destination (straight
 *   into it when the shard dim is the outermost non-trivial dim: no copy);
 * - `readSlice` along the shard dim reads only the shards that overlap the slice: a target
 *   tensor-parallel rank reads `readSlice(key, dim, rank * n / tp, n / tp)` and touches only the
 *   source shards it needs, whatever the source and target tp sizes;
 * - a replicated key is read from shard 0.
 *
 * The shards stay open and are exposed (`shards`), so a loader that wants the raw splits of a
 * key can read them itself.
 */
export class ShardedCheckpointReader extends CheckpointReaderBase {
  private constructor(
    readonly path: string,
    readonly format: string,
    /** The shards, in rank order. */
    readonly shards: readonly CheckpointReader[],
    private readonly dims: ReadonlyMap<string, number | undefined>,
    private readonly infos: ReadonlyMap<string, CheckpointTensorInfo>,
  ) {
    super();
  }

  /**
   * Checks that the shards agree (the same keys and dtypes; shapes equal except along each key's
   * shard dim) and computes the full shapes.
   *
   * @throws CheckpointError naming the key and the two shard files that disagree.
   */
  static create(options: ShardedCheckpointOptions): ShardedCheckpointReader {
    const { path, format, shards, shardDims } = options;
    const kind = options.kind ?? 'tensor-parallel';
    const first = shards[0];
    if (first === undefined) {
      throw new CheckpointError(path, `${path} has no ${kind} shards.`);
    }
    const dims = new Map<string, number | undefined>();
    const infos = new Map<string, CheckpointTensorInfo>();
    const keys = first.keys();
    for (const shard of shards.slice(1)) {
      const extra = shard.keys().find((k) => !first.has(k));
      if (extra !== undefined) {
        throw new CheckpointError(path, `${extra} is in the ${kind} shard ${shard.path} but not in ${first.path}.`, extra);
      }
    }
    for (const key of keys) {
      const base = first.info(key);
      const dim = shards.length === 1 ? undefined : shardDimOf(shardDims, key, base.shape);
      if (dim !== undefined && (!Number.isInteger(dim) || dim < 0 || dim >= base.shape.length)) {
        throw new CheckpointError(path, `${key} has ${base.shape.length} dims in ${first.path}, so it cannot be sharded along dim ${dim}.`, key);
      }
      const shape = [...base.shape];
      for (const shard of shards.slice(1)) {
        if (!shard.has(key)) {
          throw new CheckpointError(path, `${key} is in the ${kind} shard ${first.path} but not in ${shard.path}.`, key);
        }
        const other = shard.info(key);
        const agrees =
          other.dtype === base.dtype &&
          other.shape.length === base.shape.length &&
          other.shape.every((d, i) => i === dim || d === base.shape[i]);
        if (!agrees) {
          const replicated = dim === undefined ? ' (it is read as replicated: no shard dim was given for it)' : ` (sharded along dim ${dim})`;
          throw new CheckpointError(
            path,
            `${key} is [${base.shape.join(', ')}] of ${base.dtype} in ${first.path} but [${other.shape.join(', ')}] of ${other.dtype} in ${shard.path}${replicated}.`,
            key,
          );
        }
        if (dim !== undefined) {
          shape[dim] = (shape[dim] as number) + (other.shape[dim] as number);
        }
      }
      dims.set(key, dim);
      infos.set(key, { key, shape, dtype: base.dtype, path: base.path });
    }
    return new ShardedCheckpointReader(path, format, shards, dims, infos);
  }

  keys(): string[] {
    return [...this.infos.keys()];
  }

  override has(key: string): boolean {
    return this.infos.has(key);
  }

  info(key: string): CheckpointTensorInfo {
    const info = this.infos.get(key);
    if (info === undefined) {
      throw new CheckpointError(this.path, `${this.path} has no tensor named ${key}.`, key);
    }
    return info;
  }

  /** The dim `key` is sharded along, or `undefined` when it is replicated. */
  shardDim(key: string): number | undefined {
    this.info(key);
    return this.dims.get(key);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }

  protected async readInto(info: CheckpointTensorInfo, slice: TensorSlice | undefined, out: TensorArray): Promise<void> {
    const key = info.key;
    const dim = this.dims.get(key);
    const first = this.shards[0] as CheckpointReader;
    if (dim === undefined) {
      await (slice === undefined ? first.read(key, out) : first.readSlice(key, slice.dim, slice.start, slice.length, out));
      return;
    }
    const request = slice ?? { dim, start: 0, length: info.shape[dim] as number };
    const outShape = [...info.shape];
    outShape[request.dim] = request.length;
    // When every dim before the shard dim has size 1, each shard's part is one contiguous block.
    const contiguous = outShape.slice(0, dim).every((d) => d === 1);
    const inner = outShape.slice(dim + 1).reduce((a, b) => a * b, 1);
    const sizes = this.shards.map((s) => s.info(key).shape[dim] as number);
    if (request.dim === dim) {
      for (const piece of planShardSlice(sizes, request.start, request.length)) {
        const shard = this.shards[piece.shard] as CheckpointReader;
        if (contiguous) {
          const target = out.subarray(piece.offset * inner, (piece.offset + piece.length) * inner);
          await shard.readSlice(key, dim, piece.start, piece.length, target);
        } else {
          const part = await shard.readSlice(key, dim, piece.start, piece.length);
          const partShape = [...outShape];
          partShape[dim] = piece.length;
          copyAlongDim(part, partShape, out, outShape, dim, piece.offset);
        }
      }
      return;
    }
    let offset = 0;
    for (let i = 0; i < this.shards.length; i++) {
      const shard = this.shards[i] as CheckpointReader;
      const size = sizes[i] as number;
      const partShape = [...outShape];
      partShape[dim] = size;
      if (contiguous) {
        const target = out.subarray(offset * inner, (offset + size) * inner);
        await shard.readSlice(key, request.dim, request.start, request.length, target);
      } else {
        const part = await shard.readSlice(key, request.dim, request.start, request.length);
        copyAlongDim(part, partShape, out, outShape, dim, offset);
      }
      offset += size;
    }
  }
}

function shardDimOf(shardDims: ShardDims, key: string, shape: readonly number[]): number | undefined {
  return typeof shardDims === 'function' ? shardDims(key, shape) : shardDims.get(key);
}
