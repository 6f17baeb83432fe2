import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { SafetensorsFolderReader } from './SafetensorsFolderReader.js';
import { SafetensorsReader } from './safetensors.js';
import { writeSafetensors, writeShardedSafetensors, type TensorToWrite } from './writeSafetensors.js';

const TENSORS: TensorToWrite[] = [
  { key: 'f32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 1e-8, 0, 6]) },
  { key: 'bf16', shape: [3], dtype: 'BF16', data: new Float32Array([1.5, -2.25, 0.09375]) },
  { key: 'f16', shape: [2], dtype: 'F16', data: new Float32Array([0.5, 65_504]) },
  { key: 'f64', shape: [1], dtype: 'F64', data: new Float32Array([0.25]) },
  { key: 'i32', shape: [2], data: new Int32Array([7, -7]) },
  { key: 'i64', shape: [2], dtype: 'I64', data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
  { key: 'u8', shape: [2], dtype: 'U8', data: new Int32Array([0, 255]) },
  { key: 'scalar', shape: [], data: new Float32Array([42]) },
  { key: 'empty', shape: [0, 4], data: new Float32Array(0) },
];

describe(writeSafetensors, () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('round-trips every dtype, the metadata and a padded header', async () => {
    const path = join(dir.path, 'out.safetensors');
    await writeSafetensors(path, TENSORS, { format: 'pt', note: 'fs2' });
    const bytes = readFileSync(path);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    const reader = await SafetensorsReader.open(path);
    try {
      expect(reader.metadata).toEqual({ format: 'pt', note: 'fs2' });
      expect(reader.keys()).toEqual(TENSORS.map((t) => t.key));
      for (const tensor of TENSORS) {
        expect(reader.info(tensor.key)).toMatchObject({ shape: tensor.shape, dtype: tensor.dtype ?? (tensor.data instanceof Int32Array ? 'I32' : 'F32') });
        expect(await reader.read(tensor.key)).toEqual(tensor.data);
      }
    } finally {
      await reader.close();
    }
    expect(readdirSync(dir.path)).toEqual(['out.safetensors']);
  });

  it('streams lazily produced data', async () => {
    const path = join(dir.path, 'lazy.safetensors');
    const produced: string[] = [];
    await writeSafetensors(path, ['a', 'b'].map((key) => ({ key, shape: [2], data: async () => (produced.push(key), new Float32Array([1, 2])) })));
    expect(produced).toEqual(['a', 'b']);
    const reader = await SafetensorsReader.open(path);
    expect(Array.from(await reader.read('b'))).toEqual([1, 2]);
    await reader.close();
  });

  it('leaves the old file and no temporary file when writing fails', async () => {
    const path = join(dir.path, 'keep.safetensors');
    writeFileSync(path, 'old');
    const failing: TensorToWrite[] = [
      { key: 'ok', shape: [1], data: new Float32Array(1) },
      { key: 'late', shape: [2], data: async () => new Float32Array(3) },
    ];
    await expect(writeSafetensors(path, failing)).rejects.toThrow('late has 3 elements, but its shape needs 2.');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir.path)).toEqual(['keep.safetensors']);
  });

  it.each<[string, TensorToWrite[], string]>([
    ['a repeated key', [{ key: 'a', shape: [1], data: new Float32Array(1) }, { key: 'a', shape: [1], data: new Float32Array(1) }], 'The tensor a is given twice.'],
    ['__metadata__ as a key', [{ key: '__metadata__', shape: [1], data: new Float32Array(1) }], 'A tensor cannot be named __metadata__ in a safetensors file.'],
    ['a wrong element count', [{ key: 'a', shape: [2, 2], data: new Float32Array(3) }], 'a has 3 elements, but its shape needs 4.'],
    ['float data as an integer type', [{ key: 'a', shape: [1], dtype: 'I64', data: new Float32Array(1) }], 'a holds float32 data, which cannot be stored as I64.'],
    ['a value that does not fit', [{ key: 'a', shape: [2], dtype: 'I8', data: new Int32Array([1, 300]) }], 'a holds 300 at index 1, which does not fit in I8.'],
    ['a bad shape', [{ key: 'a', shape: [-1], data: new Float32Array(1) }], 'The shape of a [-1] is not a list of sizes.'],
  ])('refuses %s, naming the tensor', async (_name, tensors, message) => {
    const path = join(dir.path, 'bad.safetensors');
    await expect(writeSafetensors(path, tensors)).rejects.toThrow(message);
    expect(readdirSync(dir.path)).toEqual([]);
  });
});

describe(writeShardedSafetensors, () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('splits by size, writes the index last, and reads back through the index', async () => {
    const tensors: TensorToWrite[] = Array.from({ length: 5 }, (_, i) => ({
      key: `layers.${i}.weight`,
      shape: [4, 4],
      dtype: 'BF16',
      data: Float32Array.from({ length: 16 }, (_, j) => i * 16 + j),
    }));
    const out = join(dir.path, 'export');
    const result = await writeShardedSafetensors(out, tensors, { maxShardBytes: 70 });
    expect(result.files.map((f) => f.slice(out.length + 1))).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
    expect(result.totalSize).toBe(5 * 32);
    const index = JSON.parse(readFileSync(result.indexPath, 'utf8')) as { metadata: unknown; weight_map: Record<string, string> };
    expect(index.metadata).toEqual({ total_size: 160 });
    expect(index.weight_map['layers.2.weight']).toBe('model-00002-of-00003.safetensors');
    const reader = await SafetensorsFolderReader.open(out);
    try {
      expect(reader.keys()).toEqual(tensors.map((t) => t.key));
      for (const tensor of tensors) {
        expect(await reader.read(tensor.key)).toEqual(tensor.data);
      }
    } finally {
      await reader.close();
    }
  });

  it('checks its options', async () => {
    await expect(writeShardedSafetensors(dir.path, [], { maxShardBytes: 0 })).rejects.toThrow('maxShardBytes must be a positive integer, not 0.');
    await expect(writeShardedSafetensors(dir.path, [], { prefix: '../x' })).rejects.toThrow('The shard prefix "../x" is not a plain file name.');
  });
});
