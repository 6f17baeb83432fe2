import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { CheckpointReader } from './CheckpointReader.js';
import { CheckpointError } from './errors.js';
import { ShardedCheckpointReader, type ShardDimFunction, type ShardDims } from './ShardedCheckpointReader.js';
import { TorchCheckpointReader, type TorchCheckpointOptions } from './TorchCheckpointReader.js';

/**
 * The shard dims of Meta's reference Llama / Mistral layout (`model.py` of the llama repositories,
 * built on fairscale): `ColumnParallelLinear` weights (wq, wk, wv, w1, w3, output) are split along
 * dim 0, `RowParallelLinear` weights (wo, w2) along dim 1; norms and `rope.freqs` are replicated.
 * The embedding is special: Llama 1 and 2 use `ParallelEmbedding` (dim 1), Llama 3
 * `VocabParallelEmbedding` (dim 0); {@link metaReferenceShardDims} tells them apart with
 * `params.json`.
 */
export const META_REFERENCE_SHARD_DIMS: readonly (readonly [RegExp, number])[] = [
  [/^layers\.[0-9]+\.attention\.w[qkv]\.weight$/, 0],
  [/^layers\.[0-9]+\.attention\.wo\.weight$/, 1],
  [/^layers\.[0-9]+\.feed_forward\.w[13]\.weight$/, 0],
  [/^layers\.[0-9]+\.feed_forward\.w2\.weight$/, 1],
  [/^output\.weight$/, 0],
];

/** The name of shard `rank` of a Meta checkpoint: `consolidated.00.pth`. */
export function metaShardFileName(rank: number): string {
  return `consolidated.${String(rank).padStart(2, '0')}.pth`;
}

/**
 * The {@link ShardDims} of Meta's reference layout for a checkpoint whose `params.json` gives the
 * model dim `modelDim`: {@link META_REFERENCE_SHARD_DIMS}, plus `tok_embeddings.weight` along
 * dim 0 when a shard holds whole embedding rows (`shape[1] === modelDim`, Llama 3) and along dim 1
 * otherwise (Llama 1 and 2).
 */
export function metaReferenceShardDims(path: string, modelDim: number | undefined): ShardDimFunction {
  return (key, shape) => {
    if (key === 'tok_embeddings.weight') {
      if (modelDim === undefined) {
        throw new CheckpointError(
          path,
          `Cannot tell whether tok_embeddings.weight of ${path} is split along the vocabulary or the model dim: params.json has no \`dim\`. Pass \`shardDims\`.`,
          key,
        );
      }
      return shape[1] === modelDim ? 0 : 1;
    }
    return META_REFERENCE_SHARD_DIMS.find(([pattern]) => pattern.test(key))?.[1];
  };
}

/** Options of {@link openMetaCheckpoint}. */
export interface MetaCheckpointOptions extends TorchCheckpointOptions {
  /** The shard dims by Meta key. Default: {@link metaReferenceShardDims} from `params.json`. */
  readonly shardDims?: ShardDims;
}

/**
 * Opens a Meta reference checkpoint folder: `consolidated.00.pth`, `consolidated.01.pth`, ... (the
 * tensor-parallel shards of one set of keys, numbered from 00 without gaps) and `params.json`.
 * Returns a {@link ShardedCheckpointReader} of format `meta` whose shapes are the full ones; its
 * `shards` are the files in rank order.
 *
 * @throws CheckpointError naming the missing shard, or the key the shards disagree on.
 */
export async function openMetaCheckpoint(dir: string, options: MetaCheckpointOptions = {}): Promise<ShardedCheckpointReader> {
  const names = new Set(await readdir(dir));
  const count = [...names].filter((n) => /^consolidated\.[0-9]+\.pth$/.test(n)).length;
  if (count === 0) {
    throw new CheckpointError(dir, `${dir} holds no ${metaShardFileName(0)}.`);
  }
  for (let rank = 0; rank < count; rank++) {
    if (!names.has(metaShardFileName(rank))) {
      throw new CheckpointError(dir, `${dir} holds ${count} consolidated.NN.pth shards, but not ${metaShardFileName(rank)}.`);
    }
  }
  let shardDims = options.shardDims;
  if (shardDims === undefined) {
    shardDims = metaReferenceShardDims(dir, names.has('params.json') ? await readModelDim(join(dir, 'params.json')) : undefined);
  }
  const shards: CheckpointReader[] = [];
  try {
    for (let rank = 0; rank < count; rank++) {
      shards.push(await TorchCheckpointReader.open(join(dir, metaShardFileName(rank)), options));
    }
    return ShardedCheckpointReader.create({ path: dir, format: 'meta', shards, shardDims });
  } catch (error) {
    await Promise.all(shards.map((s) => s.close()));
    throw error;
  }
}

async function readModelDim(path: string): Promise<number | undefined> {
  let params: unknown;
  try {
    params = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CheckpointError(path, `${path} is not valid JSON (${(error as Error).message}).`, undefined, { cause: error });
  }
  const dim = (params as { dim?: unknown } | null)?.dim;
  return typeof dim === 'number' && Number.isSafeInteger(dim) && dim > 0 ? dim : undefined;
}
