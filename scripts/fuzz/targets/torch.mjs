// The torch zip reader (TorchCheckpointReader: yauzl central directory, STORED and DEFLATE
// entries, the restricted unpickler on data.pkl, storages checked against their entries): the
// small torch.save fixtures (protocols 2, 4, 5, a deflated archive, a nested state dict, two
// malicious pickles) byte-mutated where the zip structure lives, and rebuilt with a mutated
// data.pkl or with storage entries cut short. Every tensor of a file that opens is read.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { TorchCheckpointReader } from '@fs2/core';

import { buildStoredZip, readZipEntries, zipHotRegions } from '../formats.mjs';
import { mutatedBytes } from '../mutate.mjs';
import { readEverything } from './checkpointReads.mjs';

export function torchCorpus(root) {
  const dir = join(root, 'test', 'fixtures', 'torch_synthetic');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.pt'))
    .sort()
    .map((name) => readFileSync(join(dir, name)));
}

export async function setup({ root, tmp }) {
  const corpus = torchCorpus(root);
  const archives = corpus.map((bytes) => readZipEntries(bytes));
  const pickles = archives.map((entries) => entries.find((e) => e.name.endsWith('data.pkl')).data);
  const mutatedPickle = fc
    .record({ file: fc.nat({ max: archives.length - 1 }), pickle: mutatedBytes(pickles, { maxEdits: 3 }) })
    .map(({ file, pickle }) =>
      buildStoredZip(archives[file].map((e) => (e.name.endsWith('data.pkl') ? { name: e.name, data: pickle } : e))),
    );
  const cutStorage = fc
    .record({ file: fc.nat({ max: archives.length - 1 }), which: fc.nat(), keep: fc.nat() })
    .map(({ file, which, keep }) => {
      const entries = archives[file];
      const storages = entries.filter((e) => /\/data\/[^/]+$/.test(e.name));
      const victim = storages.length === 0 ? undefined : storages[which % storages.length];
      return buildStoredZip(
        entries.map((e) => (e === victim ? { name: e.name, data: e.data.subarray(0, keep % (e.data.length + 1)) } : e)),
      );
    });
  const path = join(tmp, 'fuzz.pt');
  return {
    arbitrary: fc.oneof(mutatedBytes(corpus, { hotRegions: zipHotRegions }), mutatedPickle, cutStorage),
    async run(bytes) {
      writeFileSync(path, bytes);
      await readEverything(await TorchCheckpointReader.open(path));
    },
    show: (bytes) => bytes,
  };
}
