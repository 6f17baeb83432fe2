import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { copyFileSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';

import { fixturePath, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { CheckpointError } from './errors.js';
import { SAFETENSORS_MAX_INDEX_BYTES, SafetensorsFolderReader } from './SafetensorsFolderReader.js';
import { SafetensorsReader } from './safetensors.js';
import { writeSafetensors } from './writeSafetensors.js';

const SHARD_1 = 'model-00001-of-00002.safetensors';
const SHARD_2 = 'model-00002-of-00002.safetensors';
const INDEX = 'model.safetensors.index.json';

async function openError(path: string): Promise<CheckpointError> {
  const error = await SafetensorsFolderReader.open(path).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

/** The message `JSON.parse` gives for `text` (V8's wording, which the reader quotes). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}

describe(SafetensorsFolderReader, () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  /** A copy of the bf16 sharded fixture, with `index` as the index when given. */
  function copyFixture(index?: unknown): string {
    const folder = dir.mkdir('ckpt');
    for (const name of [SHARD_1, SHARD_2, INDEX]) {
      copyFileSync(fixturePath('llama3_bf16_sharded', name), join(folder, name));
    }
    if (index !== undefined) {
      dir.write(`ckpt/${INDEX}`, JSON.stringify(index));
    }
    return folder;
  }

  const fixtureIndex = (): { metadata: unknown; weight_map: Record<string, string> } =>
    JSON.parse(readFileSync(fixturePath('llama3_bf16_sharded', INDEX), 'utf8')) as { metadata: unknown; weight_map: Record<string, string> };

  it('reads the sharded fixture through its index, each key from its shard', async () => {
    const reader = await SafetensorsFolderReader.open(fixturePath('llama3_bf16_sharded'));
    const single = await SafetensorsReader.open(fixturePath('llama3', 'model.safetensors'));
    try {
      expect(reader.keys()).toEqual(Object.keys(fixtureIndex().weight_map));
      expect(reader.metadata).toEqual({ total_size: 390_016 });
      expect(reader.info('lm_head.weight').path).toBe(fixturePath('llama3_bf16_sharded', SHARD_2));
      for (const key of single.keys()) {
        expect(await reader.read(key)).toEqual(await single.read(key));
      }
      expect(await reader.readSlice('model.layers.1.mlp.up_proj.weight', 0, 10, 5)).toEqual(await single.readSlice('model.layers.1.mlp.up_proj.weight', 0, 10, 5));
    } finally {
      await reader.close();
      await single.close();
    }
  });

  it('ignores stray *.safetensors files the index does not name', async () => {
    const folder = copyFixture();
    await writeSafetensors(join(folder, 'stray.safetensors'), [{ key: 'model.norm.weight', shape: [1], data: new Float32Array(1) }]);
    const reader = await SafetensorsFolderReader.open(folder);
    try {
      expect(reader.shape('model.norm.weight')).toEqual([64]);
      expect(reader.files.map((f) => f.path)).toEqual([join(folder, SHARD_1), join(folder, SHARD_2)]);
    } finally {
      await reader.close();
    }
  });

  it('opens an index file given directly', async () => {
    const reader = await SafetensorsFolderReader.open(fixturePath('llama3_bf16_sharded', INDEX));
    expect(reader.keys()).toHaveLength(30);
    await reader.close();
  });

  it('names a shard the index names but that is missing', async () => {
    const index = fixtureIndex();
    index.weight_map['lm_head.weight'] = 'model-00003-of-00002.safetensors';
    const folder = copyFixture(index);
    const error = await openError(folder);
    expect(error.message).toBe(`${join(folder, INDEX)} names the shard model-00003-of-00002.safetensors, which does not exist in ${folder}.`);
  });

  it('names a key the index assigns to a shard that lacks it', async () => {
    const index = fixtureIndex();
    index.weight_map['lm_head.weight'] = SHARD_1;
    const folder = copyFixture(index);
    const error = await openError(folder);
    expect(error.tensor).toBe('lm_head.weight');
    expect(error.message).toBe(`${join(folder, INDEX)} assigns lm_head.weight to ${SHARD_1}, which has no such tensor.`);
  });

  it.each<[string, unknown, string]>([
    ['not JSON', '{', `it is not valid JSON (${jsonError('{')}).`],
    ['a list', '[]', 'it is not a JSON object.'],
    ['no weight_map', { metadata: {} }, '`weight_map` is missing or not an object.'],
    ['a weight_map that is a list', { weight_map: [] }, '`weight_map` is missing or not an object.'],
    ['a shard outside the folder', { weight_map: { a: '../../etc/passwd' } }, 'the shard of a is "../../etc/passwd", not a file name in the index\'s folder.'],
    ['an absolute shard path', { weight_map: { a: '/etc/passwd' } }, 'the shard of a is "/etc/passwd", not a file name in the index\'s folder.'],
    ['a shard in a subfolder', { weight_map: { a: 'sub/model.safetensors' } }, 'the shard of a is "sub/model.safetensors", not a file name in the index\'s folder.'],
    ['a shard name ending in a slash', { weight_map: { a: 'model.safetensors/' } }, 'the shard of a is "model.safetensors/", not a file name in the index\'s folder.'],
    ['the parent folder as shard', { weight_map: { a: '..' } }, 'the shard of a is "..", not a file name in the index\'s folder.'],
    ['the folder itself as shard', { weight_map: { a: '.' } }, 'the shard of a is ".", not a file name in the index\'s folder.'],
    ['an empty shard name', { weight_map: { a: '' } }, 'the shard of a is "", not a file name in the index\'s folder.'],
    ['a NUL in a shard name', { weight_map: { a: 'model.safetensors\0.txt' } }, 'the shard of a is "model.safetensors\\u0000.txt", not a file name in the index\'s folder.'],
    ['a shard that is a number', { weight_map: { a: 1 } }, 'the shard of a is 1, not a file name in the index\'s folder.'],
    ['a shard that is null', { weight_map: { a: null } }, 'the shard of a is null, not a file name in the index\'s folder.'],
  ])('refuses an index with %s', async (_name, index, reason) => {
    const folder = dir.mkdir('ckpt');
    dir.write(`ckpt/${INDEX}`, typeof index === 'string' ? index : JSON.stringify(index));
    const error = await openError(folder);
    expect(error.message).toBe(`${join(folder, INDEX)} is not a valid safetensors index: ${reason}`);
    expect(error.path).toBe(join(folder, INDEX));
  });

  it('refuses an index one byte over SAFETENSORS_MAX_INDEX_BYTES without reading it', async () => {
    const folder = dir.mkdir('ckpt');
    const index = dir.write(`ckpt/${INDEX}`, '{}');
    truncateSync(index, SAFETENSORS_MAX_INDEX_BYTES + 1); // Sparse: no 100 MB written.
    const error = await openError(folder);
    expect(error.message).toBe(
      `${index} is not a valid safetensors index: the file has ${SAFETENSORS_MAX_INDEX_BYTES + 1} bytes, more than the limit of ${SAFETENSORS_MAX_INDEX_BYTES}.`,
    );
  });

  it('reads an index of exactly SAFETENSORS_MAX_INDEX_BYTES (here: JSON, then NULs the parser refuses)', async () => {
    const folder = dir.mkdir('ckpt');
    const json = '{"weight_map":{}}';
    const index = dir.write(`ckpt/${INDEX}`, json);
    truncateSync(index, SAFETENSORS_MAX_INDEX_BYTES);
    const error = await openError(folder);
    expect(error.message).toBe(`${index} is not a valid safetensors index: it is not valid JSON (${jsonError(`${json}\0`)}).`);
  });

  it('refuses an index larger than SAFETENSORS_MAX_INDEX_BYTES (100 MB) before reading it', async () => {
    const folder = dir.mkdir('ckpt');
    const index = dir.write(`ckpt/${INDEX}`, '');
    truncateSync(index, SAFETENSORS_MAX_INDEX_BYTES + 1); // Sparse: nothing is written.
    const error = await openError(folder);
    expect(error.message).toBe(`${index} is not a valid safetensors index: the file has 100000001 bytes, more than the limit of 100000000.`);
  });

  describe('without an index', () => {
    it('reads every *.safetensors file of the folder', async () => {
      const folder = copyFixture();
      rmSync(join(folder, INDEX));
      const reader = await SafetensorsFolderReader.open(folder);
      try {
        expect(new Set(reader.keys())).toEqual(new Set(Object.keys(fixtureIndex().weight_map)));
      } finally {
        await reader.close();
      }
    });

    it('names both files of a key present twice', async () => {
      const folder = dir.mkdir('ckpt');
      await writeSafetensors(join(folder, 'a.safetensors'), [{ key: 'w', shape: [1], data: new Float32Array(1) }]);
      await writeSafetensors(join(folder, 'b.safetensors'), [{ key: 'w', shape: [1], data: new Float32Array(1) }]);
      const error = await openError(folder);
      expect(error.tensor).toBe('w');
      expect(error.message).toBe(`w is in both ${join(folder, 'a.safetensors')} and ${join(folder, 'b.safetensors')}.`);
    });

    it('refuses a folder without any', async () => {
      const folder = dir.mkdir('empty');
      expect((await openError(folder)).message).toBe(`${folder} holds no *.safetensors file.`);
    });
  });
});
