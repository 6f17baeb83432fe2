// Target `safetensors`: SafetensorsReader on the fixtures' checkpoints shrunk (lib/corpus.mjs) and
// synthetic seeds (every dtype, a scalar, empty tensors, no tensors), byte-mutated, spliced, or
// with their header edited structurally (lib/safetensorsEdits.mjs). After a successful open, every
// tensor is read whole, by rows and as a slice.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { SafetensorsReader } from '@fs2/core';

import { safetensorsSeeds } from '../lib/corpus.mjs';
import { materializeBytes, mutatedSeedArb, splicedSeedArb } from '../lib/mutate.mjs';
import { readEveryTensor } from '../lib/readAll.mjs';
import { buildStructural, structuralArb } from '../lib/safetensorsEdits.mjs';

export default {
  async setup({ tmp }) {
    const seeds = await safetensorsSeeds();
    const bytes = seeds.map((s) => s.bytes);
    const path = join(tmp, 'model.safetensors');
    const build = (input) => (input.edits !== undefined ? buildStructural(seeds[input.seed], input) : materializeBytes(bytes, input));
    return {
      arbitrary: fc.oneof(
        { weight: 4, arbitrary: mutatedSeedArb(seeds.length) },
        { weight: 1, arbitrary: splicedSeedArb(seeds.length) },
        { weight: 5, arbitrary: structuralArb(seeds.length) },
      ),
      async run(input) {
        writeFileSync(path, build(input));
        const reader = await SafetensorsReader.open(path);
        try {
          await readEveryTensor(reader);
        } finally {
          await reader.close();
        }
        return 'ok';
      },
      materialize: (input) => ({ 'model.safetensors': build(input) }),
    };
  },
};
