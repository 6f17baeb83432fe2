import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildTorchStateDict, fixturePath, makeTempDir, MemoryCheckpointReader, type TempDir } from '../../../../test/support/index.js';
import { createFairseq2 } from '../runtime/init.js';
import type { CheckpointReader } from './CheckpointReader.js';
import { CheckpointLoader, DelegatingCheckpointLoader, openCheckpoint } from './CheckpointLoader.js';
import { CheckpointNotFoundError, UnknownCheckpointFormatError } from './errors.js';
import { ShardedCheckpointReader } from './ShardedCheckpointReader.js';

const FORMATS = ['torch (.pt, .pth, .bin)', 'fairseq2 (pp_00/tp_NN/sdp_NN.pt)', 'safetensors (file, folder, index)', 'meta (consolidated.NN.pth)'];
const KNOWN = FORMATS.join(', ');

async function opened(path: string): Promise<{ format: string; keys: number; path: string }> {
  const reader = await openCheckpoint(path);
  try {
    return { format: reader.format, keys: reader.keys().length, path: reader.path };
  } finally {
    await reader.close();
  }
}

describe(openCheckpoint, () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('dispatches each layout to its format', async () => {
    const single = fixturePath('llama3', 'model.safetensors');
    expect(await opened(single)).toEqual({ format: 'safetensors', keys: 30, path: single });
    expect(await opened(fixturePath('llama3'))).toEqual({ format: 'safetensors', keys: 30, path: fixturePath('llama3') });
    expect(await opened(fixturePath('llama3_bf16_sharded'))).toEqual({ format: 'safetensors', keys: 30, path: fixturePath('llama3_bf16_sharded') });
    const pth = fixturePath('llama3_meta', 'consolidated.00.pth');
    expect(await opened(pth)).toEqual({ format: 'torch', keys: 30, path: pth });
    expect(await opened(fixturePath('llama3_meta'))).toEqual({ format: 'meta', keys: 30, path: fixturePath('llama3_meta') });
    const bin = dir.write('pytorch_model.bin', buildTorchStateDict([{ key: 'w', shape: [2], dtype: 'F32', data: new Float32Array(2) }]));
    expect(await opened(bin)).toEqual({ format: 'torch', keys: 1, path: bin });
  });

  it('reads fairseq2\'s native pp_00/tp_NN/sdp_NN.pt layout, joining the sdp splits along dim 0', async () => {
    const native = dir.mkdir('native');
    const weight = Float32Array.from({ length: 12 }, (_, i) => i);
    // tp 2 (dim 1 of w) x sdp 2 (uneven dim 0 splits: 1 row, then 2).
    for (const tp of [0, 1]) {
      for (const sdp of [0, 1]) {
        const rows = sdp === 0 ? [0] : [1, 2];
        const data = Float32Array.from(rows.flatMap((r) => [0, 1].map((c) => weight[r * 4 + tp * 2 + c] as number)));
        dir.write(
          `native/pp_00/tp_0${tp}/sdp_0${sdp}.pt`,
          buildTorchStateDict([
            { key: 'decoder.w', shape: [rows.length, 2], dtype: 'F32', data },
            { key: 'decoder.step', shape: [], dtype: 'I64', data: new Int32Array([7]) },
          ]),
        );
      }
    }
    await expect(openCheckpoint(native)).rejects.toThrow(
      `${native} is split into 2 tensor-parallel shards; pass the shard dim of each key (\`shardDims\`) to read it.`,
    );
    const reader = await openCheckpoint(native, { shardDims: new Map([['decoder.w', 1]]) });
    try {
      expect(reader.format).toBe('fairseq2');
      expect(reader.shape('decoder.w')).toEqual([3, 4]);
      expect(Array.from(await reader.read('decoder.w'))).toEqual(Array.from(weight));
      expect(Array.from(await reader.readSlice('decoder.w', 1, 1, 2))).toEqual([1, 2, 5, 6, 9, 10]);
      expect(Array.from(await reader.read('decoder.step'))).toEqual([7]);
    } finally {
      await reader.close();
    }
    dir.write('native/pp_01/tp_00/sdp_00.pt', new Uint8Array(0));
    await expect(openCheckpoint(native)).rejects.toThrow(`${native} has 2 pipeline-parallel stages (pp_00 to pp_01); only pp_00 is read.`);
  });

  it('names the missing shard of a Meta folder', async () => {
    const meta = dir.mkdir('meta');
    copyFileSync(fixturePath('llama3_meta', 'consolidated.00.pth'), join(meta, 'consolidated.00.pth'));
    copyFileSync(fixturePath('llama3_meta', 'consolidated.00.pth'), join(meta, 'consolidated.02.pth'));
    await expect(openCheckpoint(meta)).rejects.toThrow(`${meta} holds 2 consolidated.NN.pth shards, but not consolidated.01.pth.`);
  });

  it('refuses a path in no known format, and a missing path', async () => {
    const folder = dir.mkdir('empty');
    writeFileSync(join(folder, 'config.json'), '{}');
    const error = await openCheckpoint(folder).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownCheckpointFormatError);
    expect((error as Error).message).toBe(`${folder} does not point to any known checkpoint. The known formats are: ${KNOWN}.`);
    const text = dir.write('weights.npz', 'x');
    expect(((await openCheckpoint(text).catch((e: unknown) => e)) as Error).message).toBe(
      `${text} does not point to any known checkpoint. The known formats are: ${KNOWN}.`,
    );
    const missing = join(dir.path, 'nope');
    const notFound = await openCheckpoint(missing).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(CheckpointNotFoundError);
    expect((notFound as CheckpointNotFoundError).category).toBe('not_found');
    expect((notFound as Error).message).toBe(`${missing} does not exist.`);
  });
});

describe('the CheckpointLoader registrations', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('register the library formats, and an extension can add one', async () => {
    const npz: CheckpointLoader = {
      name: 'acme npz',
      supportsPath: async (path) => path.endsWith('.npz'),
      open: async (path): Promise<CheckpointReader> => new MemoryCheckpointReader(path, new Map([['x', { shape: [1], data: new Float32Array([3]) }]])),
    };
    const resolver = await createFairseq2({
      extensions: [{ name: 'acme-npz', setup: (container) => container.collection.registerInstance(CheckpointLoader, npz) }],
      env: {},
    });
    expect(resolver.resolveAll(CheckpointLoader).map((l) => l.name)).toEqual([...FORMATS, 'acme npz']);
    const loader = resolver.resolve(CheckpointLoader);
    expect(loader).toBeInstanceOf(DelegatingCheckpointLoader);
    expect(resolver.resolve(CheckpointLoader)).toBe(loader);
    const reader = await loader.open(dir.write('w.npz', 'x'));
    expect(Array.from(await reader.read('x'))).toEqual([3]);
    await reader.close();
    const meta = await loader.open(fixturePath('llama3_meta'));
    expect(meta).toBeInstanceOf(ShardedCheckpointReader);
    await meta.close();
  });
});
