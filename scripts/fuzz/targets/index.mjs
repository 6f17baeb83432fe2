// The sharded safetensors index reader (SafetensorsFolderReader over
// model.safetensors.index.json): a folder of two shards whose index is byte-mutated or edited
// (shards that do not exist, names with paths, keys a shard lacks, wrong types), then every
// tensor read.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { SafetensorsFolderReader } from '@fs2/core';

import { buildSafetensors, layoutSafetensors } from '../formats.mjs';
import { hostileJsonValue, mutatedBytes } from '../mutate.mjs';
import { readEverything } from './checkpointReads.mjs';

const SHARDS = {
  'model-00001-of-00002.safetensors': [
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 2] },
    { name: 'model.norm.weight', dtype: 'BF16', shape: [2] },
  ],
  'model-00002-of-00002.safetensors': [{ name: 'lm_head.weight', dtype: 'F16', shape: [4, 2] }],
};

const SHARD_NAMES = fc.constantFrom(
  'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'missing.safetensors', '../model-00001-of-00002.safetensors',
  '/etc/passwd', '.', '..', '', 'sub/x.safetensors', 'model.safetensors.index.json', 'a\u0000b',
);
const KEYS = fc.constantFrom('model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight', 'not.there', '__proto__', '', 'constructor');

export async function setup({ tmp }) {
  const dir = join(tmp, 'index');
  mkdirSync(dir, { recursive: true });
  const weightMap = {};
  for (const [file, tensors] of Object.entries(SHARDS)) {
    const { header, data } = layoutSafetensors(tensors);
    writeFileSync(join(dir, file), buildSafetensors(header, data));
    for (const { name } of tensors) weightMap[name] = file;
  }
  const valid = { metadata: { total_size: 48 }, weight_map: weightMap };
  const corpus = [Buffer.from(JSON.stringify(valid, null, 2)), Buffer.from(JSON.stringify(valid))];
  const structured = fc
    .record({
      edits: fc.array(fc.record({ key: KEYS, shard: fc.oneof(SHARD_NAMES, hostileJsonValue), remove: fc.boolean() }), { maxLength: 4 }),
      top: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileJsonValue }),
      metadata: fc.oneof({ weight: 3, arbitrary: fc.constant(valid.metadata) }, { weight: 1, arbitrary: hostileJsonValue }),
    })
    .map(({ edits, top, metadata }) => {
      const map = { ...weightMap };
      for (const { key, shard, remove } of edits) {
        if (remove) delete map[key];
        else Object.defineProperty(map, key, { value: shard, enumerable: true, writable: true, configurable: true });
      }
      return Buffer.from(JSON.stringify(top !== undefined ? { weight_map: top } : { metadata, weight_map: map }));
    });
  const indexPath = join(dir, 'model.safetensors.index.json');
  return {
    arbitrary: fc.oneof(mutatedBytes(corpus), structured),
    async run(bytes) {
      writeFileSync(indexPath, bytes);
      await readEverything(await SafetensorsFolderReader.open(dir));
    },
    show: (bytes) => bytes.toString('utf8'),
  };
}
