// Target `torch`: TorchCheckpointReader on torch zip checkpoints: the synthetic fixtures (pickle
// protocols 2, 4 and 5, DEFLATE entries, a nested state dict, two malicious pickles) and the Meta
// fixture shrunk (STORED and DEFLATE), byte-mutated as files, or edited as archives (the pickle
// mutated and zipped again, entries renamed, removed, duplicated, sizes, CRCs, offsets and methods
// forged: zip bombs that declare more than they hold, entry counts, a second pickle). After a
// successful open, every tensor is read whole and as a slice.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { TorchCheckpointReader } from '@fs2/core';

import { torchSeeds } from '../lib/corpus.mjs';
import { buildZip } from '../lib/formats.mjs';
import { INTERESTING_INTEGERS, applyByteOps, byteOpArb, byteOpsArb, materializeBytes, mutatedSeedArb, splicedSeedArb } from '../lib/mutate.mjs';
import { readEveryTensor } from '../lib/readAll.mjs';

const SIZE_FIELDS = ['cdUncompressed', 'cdCompressed', 'lhUncompressed', 'lhCompressed', 'crc', 'cdOffset', 'cdMethod', 'lhMethod'];

const zipEditArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('pickle'), ops: byteOpsArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rename'), t: fc.nat(), to: fc.constantFrom('other/data.pkl', 'archive/data/999', '', '/abs', '../x', 'archive/byteorder', 'same-as-next') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete'), t: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('duplicate'), t: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('method'), t: fc.nat(), value: fc.constantFrom(0, 8, 12, 14, 99) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('size'),
      t: fc.nat(),
      field: fc.constantFrom(...SIZE_FIELDS),
      value: fc.oneof(fc.constantFrom(...INTERESTING_INTEGERS.filter((v) => v >= 0 && v < 2 ** 32), 1_000_000, 1_032_000), fc.integer({ min: -4, max: 4 }).map((delta) => ({ delta }))),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('body'), t: fc.nat(), form: fc.constantFrom('cut', 'extend', 'empty', 'big', 'garbage') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('entryCount'), value: fc.constantFrom(0, 1, 2, 0xffff) }) },
);

function editEntries(seedEntries, edits) {
  const entries = seedEntries.map((e) => ({ ...e, overrides: {} }));
  let entryCount;
  for (const edit of edits) {
    if (edit.k === 'entryCount') {
      entryCount = edit.value;
      continue;
    }
    if (edit.k === 'pickle') {
      const pickle = entries.find((e) => e.name.endsWith('/data.pkl'));
      if (pickle !== undefined) {
        pickle.body = applyByteOps(pickle.body, edit.ops);
      }
      continue;
    }
    if (entries.length === 0) {
      continue;
    }
    const i = edit.t % entries.length;
    const entry = entries[i];
    switch (edit.k) {
      case 'rename':
        entry.name = edit.to === 'same-as-next' ? entries[(i + 1) % entries.length].name : edit.to;
        break;
      case 'delete':
        entries.splice(i, 1);
        break;
      case 'duplicate':
        entries.splice(i, 0, { ...entry, overrides: { ...entry.overrides } });
        break;
      case 'method':
        entry.method = edit.value;
        break;
      case 'size': {
        const real = edit.field.endsWith('Uncompressed') ? entry.body.length : edit.field === 'crc' ? 0 : entry.body.length;
        entry.overrides[edit.field] = typeof edit.value === 'object' ? Math.max(0, real + edit.value.delta) : edit.value;
        break;
      }
      case 'body':
        entry.body =
          edit.form === 'cut'
            ? entry.body.subarray(0, entry.body.length >> 1)
            : edit.form === 'extend'
              ? Buffer.concat([entry.body, Buffer.alloc(8, 0x41)])
              : edit.form === 'empty'
                ? Buffer.alloc(0)
                : edit.form === 'big'
                  ? Buffer.from('big')
                  : Buffer.from([0x80, 0x02, 0x63, 0x0a]);
        break;
    }
  }
  return buildZip(entries, { entryCount });
}

export default {
  async setup({ tmp }) {
    const seeds = await torchSeeds();
    const files = seeds.map((s) => buildZip(s.entries));
    const path = join(tmp, 'model.pt');
    const build = (input) => (input.edits !== undefined ? applyByteOps(editEntries(seeds[input.seed].entries, input.edits), input.ops) : materializeBytes(files, input));
    return {
      arbitrary: fc.oneof(
        { weight: 3, arbitrary: mutatedSeedArb(seeds.length) },
        { weight: 1, arbitrary: splicedSeedArb(seeds.length) },
        {
          weight: 5,
          arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), edits: fc.array(zipEditArb, { minLength: 1, maxLength: 3 }), ops: fc.array(byteOpArb, { maxLength: 2 }) }),
        },
      ),
      async run(input) {
        writeFileSync(path, build(input));
        const reader = await TorchCheckpointReader.open(path);
        try {
          await readEveryTensor(reader);
        } finally {
          await reader.close();
        }
        return 'ok';
      },
      materialize: (input) => ({ 'model.pt': build(input) }),
    };
  },
};
