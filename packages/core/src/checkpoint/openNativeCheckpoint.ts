import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { CheckpointReader } from './CheckpointReader.js';
import { CheckpointError } from './errors.js';
import { ShardedCheckpointReader, type ShardDims } from './ShardedCheckpointReader.js';
import { TorchCheckpointReader, type TorchCheckpointOptions } from './TorchCheckpointReader.js';

/** Options of {@link openNativeCheckpoint}. */
export interface NativeCheckpointOptions extends TorchCheckpointOptions {
  /**
   * The tensor-parallel shard dims by key (fairseq2 names). Needed when the checkpoint has more
   * than one `tp_NN` folder; fairseq2 takes them from the model (`get_shard_dims`). Default: none.
   */
  readonly shardDims?: ShardDims;
}

function numbered(names: readonly string[], pattern: RegExp): number[] {
  return names
    .map((n) => pattern.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}

function checkContiguous(dir: string, found: readonly number[], what: string): void {
  found.forEach((n, i) => {
    if (n !== i) {
      throw new CheckpointError(dir, `${dir} has ${what.replace('NN', two(n))} but not ${what.replace('NN', two(i))}.`);
    }
  });
}

/**
 * Opens fairseq2's native checkpoint layout `pp_00/tp_NN/sdp_NN.pt` (two-digit numbers from 00
 * without gaps). Pipeline parallelism does not exist in fairseq2, so only `pp_00` is read. Every
 * `tp_NN` must hold the same number of `sdp_NN.pt` files (a rectangle). The sharded data-parallel
 * splits of a tensor are put back together along dim 0 (they may be uneven; a 0-dim tensor is
 * taken from `sdp_00`), then the tensor-parallel shards along their `shardDims`.
 *
 * @throws CheckpointError naming the missing or extra folder or file.
 */
export async function openNativeCheckpoint(dir: string, options: NativeCheckpointOptions = {}): Promise<ShardedCheckpointReader> {
  const pp = numbered(await readdir(dir), /^pp_([0-9]{2})$/);
  checkContiguous(dir, pp, 'pp_NN');
  if (pp.length !== 1) {
    throw new CheckpointError(dir, `${dir} has ${pp.length} pipeline-parallel stages (pp_00 to pp_${two(pp.length - 1)}); only pp_00 is read.`);
  }
  const ppDir = join(dir, 'pp_00');
  const tp = numbered(await readdir(ppDir), /^tp_([0-9]{2})$/);
  if (tp.length === 0) {
    throw new CheckpointError(dir, `${ppDir} holds no tp_00 folder.`);
  }
  checkContiguous(ppDir, tp, 'tp_NN');
  if (tp.length > 1 && options.shardDims === undefined) {
    throw new CheckpointError(
      dir,
      `${dir} is split into ${tp.length} tensor-parallel shards; pass the shard dim of each key (\`shardDims\`) to read it.`,
    );
  }
  const opened: CheckpointReader[] = [];
  try {
    const tpReaders: CheckpointReader[] = [];
    let sdpCount: number | undefined;
    for (const t of tp) {
      const tpDir = join(ppDir, `tp_${two(t)}`);
      const sdp = numbered(await readdir(tpDir), /^sdp_([0-9]{2})\.pt$/);
      if (sdp.length === 0) {
        throw new CheckpointError(dir, `${tpDir} holds no sdp_00.pt.`);
      }
      checkContiguous(tpDir, sdp, 'sdp_NN.pt');
      if (sdpCount !== undefined && sdp.length !== sdpCount) {
        throw new CheckpointError(dir, `${tpDir} holds ${sdp.length} sdp_NN.pt files, but tp_00 holds ${sdpCount}; the shards must form a rectangle.`);
      }
      sdpCount = sdp.length;
      const files: CheckpointReader[] = [];
      for (const s of sdp) {
        const reader = await TorchCheckpointReader.open(join(tpDir, `sdp_${two(s)}.pt`), options);
        opened.push(reader);
        files.push(reader);
      }
      tpReaders.push(
        files.length === 1
          ? (files[0] as CheckpointReader)
          : ShardedCheckpointReader.create({
              path: tpDir,
              format: 'fairseq2',
              shards: files,
              shardDims: (_key, shape) => (shape.length > 0 ? 0 : undefined),
              kind: 'data-parallel',
            }),
      );
    }
    return ShardedCheckpointReader.create({
      path: dir,
      format: 'fairseq2',
      shards: tpReaders,
      shardDims: options.shardDims ?? new Map(),
    });
  } catch (error) {
    await Promise.all(opened.map((r) => r.close()));
    throw error;
  }
}
