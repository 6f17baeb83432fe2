import { join } from 'node:path';

import { Type, type Static } from '@sinclair/typebox';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { byteTokenizer, caught, caughtAsync, isolatedEnv, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetStore } from '../assets/AssetStore.js';
import type { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { AssetCardError } from '../assets/errors.js';
import { validateAssetStore } from '../assets/validateAssetStore.js';
import { DatasetFamily } from '../datasets/DatasetFamily.js';
import { createDatasetHubAccessor } from '../datasets/DatasetHub.js';
import { DatasetError, DatasetFamilyNotKnownError, DatasetNotKnownError } from '../datasets/errors.js';
import { getInstructionDatasetHub } from '../datasets/genericInstructionDatasetFamily.js';
import { GlobalDatasetOpener, openDataset } from '../datasets/GlobalDatasetOpener.js';
import type { SequenceBatch } from '../datasets/SequenceBatch.js';
import { getTextDatasetHub } from '../datasets/textDatasetFamily.js';
import { TextDataset } from '../datasets/TextDataset.js';
import { InternalError, InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { DuplicateRegistrationError } from '../runtime/errors.js';
import { createFairseq2 } from '../runtime/init.js';
import { registerDatasetFamily } from './datasets.js';
import { registerAssetDownloadManager } from './downloads.js';

/** A third-party family, as a recipe registers it (seed 002's `my_dataset`): lines of a file, upper-cased or not. */
const LinesConfigSchema = Type.Object(
  { upper: Type.Boolean({ description: 'Upper-case every line. Default: false.' }) },
  { $id: 'test.LinesConfig' },
);
type LinesConfig = Static<typeof LinesConfigSchema>;

class LinesDataset {
  constructor(
    readonly lines: readonly string[],
    readonly name: string,
  ) {}
}

const getLinesDatasetHub = createDatasetHubAccessor<LinesDataset, LinesConfig>('lines', { configSchema: LinesConfigSchema });

function registerLines(container: DependencyContainer): void {
  registerDatasetFamily(container, 'lines', {
    configSchema: LinesConfigSchema,
    defaultConfig: () => ({ upper: false }),
    opener: async (config: LinesConfig, { name, dataPath }) => {
      if (dataPath === undefined) {
        throw new DatasetError(name, `The lines dataset ${name} needs a \`data\` file.`);
      }
      const { readFile } = await import('node:fs/promises');
      const text = await readFile(dataPath, 'utf8');
      if (text.startsWith('broken')) {
        throw new DatasetError(dataPath, `${dataPath} is broken.`);
      }
      const lines = text.split('\n').filter((l) => l !== '');
      return new LinesDataset(config.upper ? lines.map((l) => l.toUpperCase()) : lines, name);
    },
  });
}

const CARDS = `name: lines_base
dataset_family: lines
data: ./lines.txt
---
name: lines_upper
base: lines_base
dataset_config:
  upper: true
---
name: lines_bad_override
base: lines_base
dataset_config:
  upper: 'yes'
---
name: lines_nodata
dataset_family: lines
---
name: lines_missing
dataset_family: lines
data: ./nowhere.txt
---
name: lines_remote
dataset_family: lines
data: test://data/lines
---
name: corpus
dataset_family: text
data: ./corpus
---
name: gsm8k_sft
dataset_family: generic_instruction
---
name: gsm8k_sft@awscluster
data: ./sft
---
name: unknown_family
dataset_family: nobody
`;

describe('dataset composition', () => {
  let dir: TempDir;
  let env: Record<string, string>;

  const world = (extras?: (container: DependencyContainer) => void, options: { lines?: boolean } = {}): Promise<DependencyResolver> =>
    createFairseq2({
      env,
      cwd: dir.path,
      extensions: false,
      noProgress: true,
      extras: (container) => {
        if (options.lines ?? true) {
          registerLines(container);
        }
        extras?.(container);
      },
    });

  beforeEach(() => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
    dir.write('system/datasets.yaml', CARDS);
    dir.write('system/lines.txt', 'alpha\nbeta\n');
    dir.write('system/broken.txt', 'broken\n');
    dir.write('system/corpus/train.txt', 'hello');
    dir.write('system/corpus/valid.txt', 'bye');
    dir.write('system/sft/train.jsonl', '{"src": "1+1?", "tgt": "2"}\n');
  });
  afterEach(() => dir.cleanup());

  const cardsFile = (): string => join(dir.path, 'system/datasets.yaml');

  it('registers the text and generic_instruction families and the global opener', async () => {
    const resolver = await world(undefined, { lines: false });
    expect(resolver.lookup(DatasetFamily).keys().sort()).toEqual(['generic_instruction', 'text']);
    const text = resolver.lookup(DatasetFamily).get('text');
    expect([text.name, text.origin]).toEqual(['text', '@fs2/core']);
    expect(text.getDefaultConfig()).toEqual({ text_key: 'text', text_extensions: ['.txt', '.md'], unit: 'file', append_eos: true, on_bad_record: 'error' });
    expect(resolver.resolve(GlobalDatasetOpener)).toBe(resolver.resolve(GlobalDatasetOpener));
  });

  describe('a family registered by a recipe or an extension', () => {
    it('lists its cards and reads their configs, root to leaf', async () => {
      const hub = getLinesDatasetHub(await world());
      expect([...hub.iterCards()].map((c) => c.name)).toEqual(['lines_bad_override', 'lines_base', 'lines_missing', 'lines_nodata', 'lines_remote', 'lines_upper']);
      expect(hub.getDatasetConfig('lines_base')).toEqual({ upper: false });
      expect(hub.getDatasetConfig('lines_upper')).toEqual({ upper: true });
      expect(hub.family.origin).toBe('extras');
    });

    it('opens a card\'s dataset with its `data` resolved against the card\'s file', async () => {
      const hub = getLinesDatasetHub(await world());
      expect((await hub.openDataset('lines_base')).lines).toEqual(['alpha', 'beta']);
      expect((await hub.openDataset('lines_upper')).lines).toEqual(['ALPHA', 'BETA']);
      expect((await hub.openDataset('lines_base', { config: { upper: true } })).lines).toEqual(['ALPHA', 'BETA']);
      const custom = await hub.openCustomDataset(join(dir.path, 'system/lines.txt'), { upper: true });
      expect([custom.name, custom.lines]).toEqual([join(dir.path, 'system/lines.txt'), ['ALPHA', 'BETA']]);
    });

    it('names what is wrong with a card, its config or its data', async () => {
      const hub = getLinesDatasetHub(await world());
      const unknown = caught(() => hub.getDatasetConfig('nope'));
      expect(unknown).toBeInstanceOf(DatasetNotKnownError);
      expect(unknown.message).toBe('nope is not a known dataset.');

      const bad = caught(() => hub.getDatasetConfig('lines_bad_override'));
      expect(bad).toBeInstanceOf(AssetCardError);
      expect(bad.message).toBe(
        `\`dataset_config\` field of the \`lines_bad_override\` asset card is not a valid dataset configuration: \`upper\` is expected to be of type boolean, but is of type string instead. (${cardsFile()}:13:10)`,
      );

      const other = caught(() => hub.getDatasetConfig('corpus'));
      expect(other.message).toBe(
        `\`dataset_family\` field of the \`corpus\` asset card is expected to be \`lines\`, but is \`text\` instead. (${cardsFile()}:27:17)`,
      );

      const missing = await caughtAsync(() => hub.openDataset('lines_missing'));
      expect(missing).toBeInstanceOf(AssetCardError);
      expect(missing.message).toBe(
        `\`${dir.path}/system/nowhere.txt\` pointed to by the \`data\` field of the \`lines_missing\` asset card is not found. (${cardsFile()}:20:7)`,
      );

      expect((await caughtAsync(() => hub.openDataset('lines_nodata'))).message).toBe('The lines dataset lines_nodata needs a `data` file.');

      const config = await caughtAsync(() => hub.openCustomDataset(undefined, { upper: 1 } as unknown as LinesConfig));
      expect(config).toBeInstanceOf(InvalidArgumentError);
      expect(config.message).toBe(
        'The `config` argument is not a valid lines dataset configuration: `upper` is expected to be of type boolean, but is of type number instead.',
      );
    });

    it('wraps the error of downloaded data with a hint to delete the download', async () => {
      const broken = join(dir.path, 'system/broken.txt');
      const resolver = await world((container) => {
        const downloads: AssetDownloadManager = {
          supportedSchemes: new Set(['test']),
          downloadModel: () => Promise.reject(new Error('not used')),
          downloadTokenizer: () => Promise.reject(new Error('not used')),
          downloadDataset: () => Promise.resolve(broken),
        };
        registerAssetDownloadManager(container, downloads);
      });
      const error = await caughtAsync(() => getLinesDatasetHub(resolver).openDataset('lines_remote'));
      expect(error).toBeInstanceOf(AssetCardError);
      expect(error.cause).toBeInstanceOf(DatasetError);
      expect(error.message).toBe(
        `The dataset of the \`lines_remote\` asset card cannot be opened: ${broken} is broken. If the download is damaged, delete ${broken} and open the dataset again.`,
      );
    });

    it('refuses a second family under the same name, and an accessor written for another schema', async () => {
      const duplicate = await caughtAsync(() => world((container) => registerLines(container)));
      expect(duplicate).toBeInstanceOf(DuplicateRegistrationError);
      expect(duplicate.message).toBe('`DatasetFamily[lines]` is already registered by extras; the registration by extras is a duplicate.');

      const resolver = await world();
      const wrong = caught(() => createDatasetHubAccessor('lines', { configSchema: Type.Object({}, { $id: 'other.Config' }) })(resolver));
      expect(wrong).toBeInstanceOf(InternalError);
      expect(wrong.message).toBe(
        'The hub accessor of the lines dataset family expects the config schema `other.Config`, but the family registered by extras uses `test.LinesConfig`.',
      );
      const absent = caught(() => createDatasetHubAccessor('absent', { configSchema: LinesConfigSchema })(resolver));
      expect(absent).toBeInstanceOf(DatasetFamilyNotKnownError);
      expect(absent.message).toBe('absent is not a known dataset family. Registered families: generic_instruction, lines, text.');
    });
  });

  describe('the built-in families', () => {
    it('open a text corpus by card, and an instruction set through its environment overlay (seed 000\'s gsm8k_sft@awscluster)', async () => {
      env = { ...env, FAIRSEQ2_ASSET_ENV: 'awscluster' };
      const resolver = await world(undefined, { lines: false });
      const corpus = await getTextDatasetHub(resolver).openDataset('corpus');
      expect(corpus).toBeInstanceOf(TextDataset);
      expect([corpus.name, corpus.splits()]).toEqual(['corpus', ['train', 'valid']]);
      const reader = await corpus.createReader('valid', byteTokenizer(), { batchSize: 1, maxSeqLen: 8 });
      expect(Array.from((reader.next() as SequenceBatch).inputs)).toEqual([256, ...Buffer.from('bye'), 0, 0, 0, 0].map((t) => (t === 0 ? 258 : t)));

      const sft = await getInstructionDatasetHub(resolver).openDataset('gsm8k_sft');
      expect(await sft.readPrompts('train')).toEqual([
        { id: `${join(dir.path, 'system/sft/train.jsonl')}:1`, prompt: '1+1?', reference: '2' },
      ]);
    });
  });

  describe('the global opener', () => {
    it('opens any card by its family, or a path with a family named', async () => {
      const resolver = await world();
      expect(((await openDataset('lines_upper', { resolver })) as LinesDataset).lines).toEqual(['ALPHA', 'BETA']);
      const opener = resolver.resolve(GlobalDatasetOpener);
      const fromPath = (await opener.openFromPath(join(dir.path, 'system/corpus'), { family: 'text', config: { ...(resolver.lookup(DatasetFamily).get('text').getDefaultConfig() as object), unit: 'line' } })) as TextDataset;
      expect(fromPath.splits()).toEqual(['train', 'valid']);

      const unknown = await caughtAsync(() => opener.openFromPath(undefined, { family: 'csv' }));
      expect(unknown).toBeInstanceOf(DatasetFamilyNotKnownError);
      expect(unknown.message).toBe('csv is not a known dataset family. Registered families: generic_instruction, lines, text.');

      const unregistered = await caughtAsync(() => opener.open('unknown_family'));
      expect(unregistered).toBeInstanceOf(AssetCardError);
      expect(unregistered.message).toBe(
        `\`dataset_family\` field of the \`unknown_family\` asset card is expected to be a registered dataset family (generic_instruction, lines, text), but is \`nobody\` instead. (${cardsFile()}:37:17)`,
      );
    });
  });

  it('checks dataset_config overrides in `fs2 assets validate`, leaving families that are not registered alone', async () => {
    const resolver = await world();
    const report = await validateAssetStore(resolver.resolve(AssetStore), resolver.resolveAll(AssetCardValidator));
    expect(report.problems.map((p) => p.message)).toEqual([
      `\`dataset_config\` field of the \`lines_bad_override\` asset card is not a valid dataset configuration: \`upper\` is expected to be of type boolean, but is of type string instead. (${cardsFile()}:13:10)`,
    ]);
  });
});
