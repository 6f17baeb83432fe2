import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  metaReferenceShardDims,
  metaShardFileName,
  narrowHostTensor,
  openMetaCheckpoint,
  type StorageDtype,
  type TensorArray,
} from '../../packages/core/src/checkpoint/index.js';
import { buildTorchStateDict } from './torch.js';

/**
 * Splits the Meta reference checkpoint in `sourceDir` (`consolidated.NN.pth` files and a
 * `params.json`) into `count` tensor-parallel shards in `targetDir`, as Meta's reference code saves
 * a Llama 3 model trained on `count` ranks: each tensor along its shard dim
 * (`metaReferenceShardDims`: the embedding along the vocabulary, column-parallel weights along
 * their rows, row-parallel ones along their columns), the others whole in every file, the dtypes
 * kept. Returns `targetDir`.
 */
export async function writeMetaShards(sourceDir: string, targetDir: string, count: number): Promise<string> {
  mkdirSync(targetDir, { recursive: true });
  copyFileSync(join(sourceDir, 'params.json'), join(targetDir, 'params.json'));
  const params = JSON.parse(readFileSync(join(sourceDir, 'params.json'), 'utf8')) as { dim: number };
  const shardDim = metaReferenceShardDims(sourceDir, params.dim);
  const reader = await openMetaCheckpoint(sourceDir);
  try {
    const shards: { key: string; shape: number[]; dtype: StorageDtype; data: TensorArray }[][] = Array.from({ length: count }, () => []);
    for (const key of reader.keys()) {
      const info = reader.info(key);
      const tensor = { shape: info.shape, data: await reader.read(key) };
      const dim = shardDim(key, info.shape);
      for (let rank = 0; rank < count; rank++) {
        const size = dim === undefined ? 0 : (info.shape[dim] as number) / count;
        const part = dim === undefined ? tensor : narrowHostTensor(tensor, dim, rank * size, size);
        shards[rank]?.push({ key, shape: [...part.shape], dtype: info.dtype, data: part.data });
      }
    }
    shards.forEach((tensors, rank) =>
      writeFileSync(join(targetDir, metaShardFileName(rank)), buildTorchStateDict(tensors, `consolidated.${String(rank).padStart(2, '0')}`)),
    );
  } finally {
    await reader.close();
  }
  return targetDir;
}
