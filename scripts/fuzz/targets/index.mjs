// Target `index`: SafetensorsFolderReader on a folder holding the sharded fixture shrunk (two
// shards) and its model.safetensors.index.json, the index edited structurally (shards renamed,
// missing, outside the folder, keys moved to a shard that lacks them, a weight_map or metadata of
// another type) or byte-mutated, sometimes with a shard mutated too, or without the index (the
// folder is globbed). After a successful open, every tensor is read whole, by rows and as a slice.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { SafetensorsFolderReader } from '@fs2/core';

import { indexSeed } from '../lib/corpus.mjs';
import { applyByteOps, byteOpsArb, interestingJsonArb, rarely, setOwn, toJsonText } from '../lib/mutate.mjs';
import { readEveryTensor } from '../lib/readAll.mjs';

const INDEX = 'model.safetensors.index.json';
const NAMES = ['../model-00001-of-00002.safetensors', '/etc/passwd', '', '.', '..', INDEX, 'missing.safetensors', 'a/b.safetensors', 'model-00001-of-00002.safetensors\u0000'];

const indexEditArb = fc.oneof(
  fc.record({ k: fc.constant('shard'), t: fc.nat(), to: fc.oneof(fc.constantFrom(...NAMES), fc.nat(1)) }),
  fc.record({ k: fc.constant('delete'), t: fc.nat() }),
  fc.record({ k: fc.constant('add'), key: fc.constantFrom('extra.weight', '__proto__', 'constructor', 'model.norm.weight', ''), to: fc.nat(1) }),
  fc.record({ k: fc.constant('value'), t: fc.nat(), value: interestingJsonArb }),
  fc.record({ k: fc.constant('weight_map'), value: interestingJsonArb }),
  fc.record({ k: fc.constant('metadata'), value: interestingJsonArb }),
  fc.record({ k: fc.constant('root'), value: interestingJsonArb }),
);

export default {
  async setup({ tmp }) {
    const seed = await indexSeed();
    const shardNames = Object.keys(seed.shards);
    const indexText = Buffer.from(JSON.stringify(seed.index, null, 2));
    // Files are rewritten only when they change: most inputs change the index alone.
    const written = new Map();
    const write = (name, bytes) => {
      if (written.get(name)?.equals(bytes) !== true) {
        writeFileSync(join(tmp, name), bytes);
        written.set(name, bytes);
      }
    };

    const indexOf = (input) => {
      if (input.ops !== undefined) {
        return applyByteOps(indexText, input.ops);
      }
      let index = structuredClone(seed.index);
      for (const edit of input.edits) {
        const map = index?.weight_map;
        const keys = typeof map === 'object' && map !== null ? Object.keys(map) : [];
        const key = keys.length === 0 ? undefined : keys[(edit.t ?? 0) % keys.length];
        switch (edit.k) {
          case 'shard':
            if (key !== undefined) {
              map[key] = typeof edit.to === 'number' ? shardNames[edit.to] : edit.to;
            }
            break;
          case 'delete':
            if (key !== undefined) {
              delete map[key];
            }
            break;
          case 'add':
            if (keys.length > 0) {
              setOwn(map, edit.key, shardNames[edit.to]);
            }
            break;
          case 'value':
            if (key !== undefined) {
              map[key] = edit.value;
            }
            break;
          case 'weight_map':
          case 'metadata':
            if (typeof index === 'object' && index !== null) {
              setOwn(index, edit.k, edit.value);
            }
            break;
          case 'root':
            index = edit.value;
            break;
        }
      }
      return Buffer.from(toJsonText(index));
    };
    const shardsOf = (input) =>
      shardNames.map((name, i) => [name, input.shard !== null && input.shard.index === i ? applyByteOps(seed.shards[name], input.shard.ops) : seed.shards[name]]);

    return {
      arbitrary: fc.record({
        index: fc.oneof(
          { weight: 3, arbitrary: fc.record({ edits: fc.array(indexEditArb, { minLength: 1, maxLength: 4 }) }) },
          { weight: 2, arbitrary: fc.record({ ops: byteOpsArb }) },
          { weight: 1, arbitrary: fc.record({ absent: fc.constant(true) }) },
        ),
        shard: rarely(fc.record({ index: fc.nat(shardNames.length - 1), ops: byteOpsArb }), 4),
      }),
      async run(input) {
        for (const [name, bytes] of shardsOf(input)) {
          write(name, bytes);
        }
        if (input.index.absent === true) {
          if (existsSync(join(tmp, INDEX))) {
            rmSync(join(tmp, INDEX));
          }
          written.delete(INDEX);
        } else {
          write(INDEX, indexOf(input.index));
        }
        const reader = await SafetensorsFolderReader.open(tmp);
        try {
          await readEveryTensor(reader);
        } finally {
          await reader.close();
        }
        return input.index.absent === true ? 'ok:globbed' : 'ok';
      },
      materialize: (input) => ({
        ...(input.index.absent === true ? {} : { [INDEX]: indexOf(input.index) }),
        ...Object.fromEntries(shardsOf(input)),
      }),
    };
  },
};
