import { beforeAll, describe, expect, it } from '@jest/globals';

import {
  Gpt2ConfigSchema,
  Gpt2Model,
  createGpt2Model,
  gpt2Archs,
  gpt2HuggingFaceConverter,
  gpt2HuggingFaceInterop,
  type Gpt2Config,
} from '@fs2-examples/custom-family';

import {
  GPT2_TINY_CHECKPOINT,
  MemoryCheckpointReader,
  caughtAsync,
  readCheckpointTensors,
  yamlStore,
} from '../../../../test/support/index.js';
import { StandardAssetConfigLoader } from '../assets/AssetConfigLoader.js';
import type { AssetUri } from '../assets/AssetUri.js';
import type { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import type { ProgressReporter, ProgressTaskOptions } from '../assets/download/ProgressReporter.js';
import { AssetCardError } from '../assets/errors.js';
import type { CheckpointLoader } from '../checkpoint/CheckpointLoader.js';
import type { TensorArray } from '../checkpoint/dtypes.js';
import type { HostTensor } from '../checkpoint/reshardTensor.js';
import { CheckpointError } from '../checkpoint/errors.js';
import { NotSupportedError } from '../errors/Fs2Error.js';
import type { StateEntry } from '../nn/loadModuleState.js';
import type { LoadableModel } from './ModelFamily.js';
import { StandardModelFamily, type ModelFamilySpec } from './StandardModelFamily.js';

const PATH = '/models/tiny';

/** A reader over tensors in memory that records each key it reads. */
class RecordingReader extends MemoryCheckpointReader {
  readonly reads: string[] = [];

  override async read(key: string, into?: TensorArray): Promise<TensorArray> {
    this.reads.push(key);
    return super.read(key, into);
  }
}

interface Harness {
  readonly family: StandardModelFamily<Gpt2Model, Gpt2Config>;
  readonly readers: RecordingReader[];
  readonly tasks: { options: ProgressTaskOptions; advanced: number; end?: 'finish' | 'abort' }[];
  readonly downloads: { uri: string }[];
}

function harness(
  tensors: ReadonlyMap<string, HostTensor>,
  spec: Partial<ModelFamilySpec<Gpt2Model, Gpt2Config>> = {},
  options: { readonly huggingFace?: boolean } = {},
): Harness {
  const readers: RecordingReader[] = [];
  const tasks: Harness['tasks'] = [];
  const downloads: Harness['downloads'] = [];
  const checkpoints: CheckpointLoader = {
    name: 'memory',
    supportsPath: async () => true,
    open: async (path) => {
      const reader = new RecordingReader(path, tensors);
      readers.push(reader);
      return reader;
    },
  };
  const progress: ProgressReporter = {
    enabled: true,
    startTask(options) {
      const task: Harness['tasks'][number] = { options, advanced: 0 };
      tasks.push(task);
      return {
        advance: (amount) => void (task.advanced += amount),
        update: () => undefined,
        finish: () => void (task.end = 'finish'),
        abort: () => void (task.end = 'abort'),
      };
    },
    message: () => undefined,
  };
  const downloadManager: AssetDownloadManager = {
    supportedSchemes: new Set(['https']),
    downloadModel: async (uri: AssetUri) => {
      downloads.push({ uri: uri.toString() });
      return PATH;
    },
    downloadTokenizer: async () => PATH,
    downloadDataset: async () => PATH,
  };
  const family = new StandardModelFamily<Gpt2Model, Gpt2Config>(
    'gpt2',
    'test',
    {
      configSchema: Gpt2ConfigSchema,
      defaultConfig: gpt2Archs.gpt2_small,
      archs: gpt2Archs,
      factory: createGpt2Model,
      converters: [gpt2HuggingFaceConverter],
      ...(options.huggingFace === false ? {} : { huggingFace: gpt2HuggingFaceInterop }),
      ...spec,
    },
    {
      configs: new StandardAssetConfigLoader({ get: () => undefined }, () => undefined),
      downloads: downloadManager,
      checkpoints,
      progress,
    },
  );
  return { family, readers, tasks, downloads };
}

async function drain(source: AsyncIterable<StateEntry>): Promise<StateEntry[]> {
  const entries: StateEntry[] = [];
  for await (const entry of source) {
    entries.push(entry);
  }
  return entries;
}

describe('StandardModelFamily', () => {
  const config = gpt2Archs.gpt2_tiny();
  let hf: Map<string, HostTensor>;

  beforeAll(async () => {
    hf = await readCheckpointTensors(GPT2_TINY_CHECKPOINT);
  });

  describe('.iterCheckpoint', () => {
    it('is lazy: it reads one tensor per entry asked for, and nothing before the first', async () => {
      const { family, readers } = harness(hf);
      const entries = family.iterCheckpoint(PATH, config);

      expect(readers).toHaveLength(0);
      const first = await entries.next();
      expect(first.value).toMatchObject({ name: 'decoder_frontend.embed.weight', shape: [96, 32] });
      expect(readers[0]?.reads).toEqual(['transformer.wte.weight']);
      await entries.next();
      expect(readers[0]?.reads).toEqual(['transformer.wte.weight', 'transformer.wpe.weight']);
      await entries.return(undefined);
      expect(readers[0]?.closed).toBe(true);
    });

    it('never reads the keys the converter drops (an integer mask buffer would otherwise fail)', async () => {
      const withBuffers = new Map<string, HostTensor>([
        ['h.0.attn.bias', { shape: [1, 1, 4, 4], data: new Int32Array(16).fill(1) }],
        ['lm_head.weight', { shape: [96, 32], data: new Float32Array(96 * 32) }],
        ...[...hf].map(([key, tensor]): [string, HostTensor] => [key.replace(/^transformer\./, ''), tensor]),
      ]);
      const { family, readers } = harness(withBuffers);
      const entries = await drain(family.iterCheckpoint(PATH, config));

      expect(entries).toHaveLength(28);
      expect(readers[0]?.reads).toHaveLength(28);
      expect(readers[0]?.reads).not.toContain('h.0.attn.bias');
      expect(readers[0]?.reads).not.toContain('lm_head.weight');
      expect(readers[0]?.closed).toBe(true);
    });

    it('reads the fs2 native format (fs2 names and layout), after the family converters', async () => {
      const native = new Map<string, HostTensor>(
        (await drain(harness(hf).family.iterCheckpoint(PATH, config))).map((e) => [e.name, { shape: e.shape, data: e.data }]),
      );
      const entries = await drain(harness(native).family.iterCheckpoint(PATH, config));

      expect(entries.map((e) => e.name)).toEqual([...native.keys()]);
    });

    it('refuses a checkpoint in no format the family reads, naming a few keys and the formats', async () => {
      const llama = new Map<string, HostTensor>(
        ['model.embed_tokens.weight', 'model.norm.weight', 'lm_head.weight', 'model.layers.0.mlp.up_proj.weight'].map((k) => [
          k,
          { shape: [1], data: new Float32Array(1) },
        ]),
      );
      const { family, readers } = harness(llama);
      const error = await caughtAsync(() => drain(family.iterCheckpoint(PATH, config)));

      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toBe(
        '/models/tiny is not a checkpoint the gpt2 model family can read: its keys (model.embed_tokens.weight, model.norm.weight, lm_head.weight, ...) match none of its formats (hf, fs2).',
      );
      expect(readers[0]?.closed).toBe(true);
    });

    it('refuses an integer tensor where a weight belongs', async () => {
      const ints = new Map<string, HostTensor>([['transformer.wte.weight', { shape: [2], data: new Int32Array(2) }]]);
      const error = await caughtAsync(() => drain(harness(ints).family.iterCheckpoint(PATH, config)));

      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).tensor).toBe('transformer.wte.weight');
      expect(error.message).toBe('transformer.wte.weight in /models/tiny holds integers, but model weights are floating-point.');
    });

    it('needs a synchronous factory to know the fs2 names without a model', async () => {
      // Deciding whether a checkpoint is in fs2's own format needs the model's parameter names.
      const native = new Map<string, HostTensor>([['decoder.layer_norm.weight', { shape: [32], data: new Float32Array(32) }]]);
      const { family } = harness(native, { factory: async (c, context) => createGpt2Model(c, context) });
      const error = await caughtAsync(() => drain(family.iterCheckpoint(PATH, config)));

      expect(error).toBeInstanceOf(NotSupportedError);
      expect(error.message).toBe('The gpt2 model family builds models asynchronously; pass the model to `iterCheckpoint`.');
    });
  });

  describe('.loadCustomModel', () => {
    it('reports progress: one task, one step per tensor, finished', async () => {
      const { family, tasks } = harness(hf);
      const model = await family.loadCustomModel(PATH, config, { device: 'cpu' });

      expect(tasks).toEqual([{ options: { description: 'Loading /models/tiny', total: 28, unit: 'items', itemName: 'tensors' }, advanced: 28, end: 'finish' }]);
      model.dispose();
    });

    it('reports nothing with progress: false', async () => {
      const { family, tasks } = harness(hf);
      (await family.loadCustomModel(PATH, config, { device: 'cpu', progress: false })).dispose();

      expect(tasks).toEqual([]);
    });

    it('aborts the task and closes the checkpoint when loading fails', async () => {
      const broken = new Map(hf);
      broken.set('transformer.h.0.attn.c_attn.scale', { shape: [1], data: new Float32Array(1) });
      const { family, tasks, readers } = harness(broken);
      const error = await caughtAsync(() => family.loadCustomModel(PATH, config, { device: 'cpu' }));

      expect(error.message).toBe('transformer.h.0.attn.c_attn.scale in /models/tiny does not match any entry of the gpt2 HF key map.');
      expect(tasks[0]?.end).toBe('abort');
      expect(readers[0]?.closed).toBe(true);
    });
  });

  describe('.loadModel', () => {
    const store = yamlStore({
      test: {
        '/cards/a.yaml': [
          'name: remote_gpt2',
          'model_family: gpt2',
          'model_arch: gpt2_tiny',
          'checkpoint: https://example.com/gpt2.safetensors',
          '',
        ].join('\n'),
      },
    });

    it('downloads a remote checkpoint through the download manager, then loads it', async () => {
      const { family, downloads } = harness(hf);
      const model = await family.loadModel(store.retrieveCard('remote_gpt2'), { device: 'cpu', progress: false });

      expect(downloads).toEqual([{ uri: 'https://example.com/gpt2.safetensors' }]);
      expect(model.isLoaded).toBe(true);
      model.dispose();
    });

    it('says how to recover when a downloaded checkpoint cannot be read', async () => {
      const broken = new Map(hf);
      broken.set('transformer.h.0.attn.c_attn.scale', { shape: [1], data: new Float32Array(1) });
      const error = await caughtAsync(() => harness(broken).family.loadModel(store.retrieveCard('remote_gpt2'), { device: 'cpu' }));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error).toMatchObject({ cardName: 'remote_gpt2', field: 'checkpoint' });
      expect((error as AssetCardError).cause).toBeInstanceOf(CheckpointError);
      expect(error.message).toBe(
        'The checkpoint of the `remote_gpt2` asset card cannot be loaded: transformer.h.0.attn.c_attn.scale in /models/tiny does not match any entry of the gpt2 HF key map. If the download is damaged, delete /models/tiny and load the model again.',
      );
    });
  });

  describe('.saveModel', () => {
    it('refuses a model that does not expose its weights', async () => {
      const opaque: LoadableModel = { parameterShapes: () => new Map(), loadState: async () => undefined, dispose: () => undefined };
      const error = await caughtAsync(() => harness(hf).family.saveModel(opaque as Gpt2Model, config, '/nowhere', { format: 'fs2' }));

      expect(error).toBeInstanceOf(NotSupportedError);
      expect(error.message).toBe('The gpt2 model does not expose its weights (`stateEntries()`), so it cannot be saved.');
    });

    it('refuses the hf format for a family without Hugging Face interop', async () => {
      const { family } = harness(hf, {}, { huggingFace: false });
      const model = await family.createNewModel(config, { device: 'cpu' });
      const error = await caughtAsync(() => family.saveModel(model, config, '/nowhere', { format: 'hf' }));

      expect(error).toBeInstanceOf(NotSupportedError);
      expect(error.message).toBe('The gpt2 model family cannot export Hugging Face checkpoints.');
      expect(family.capabilities.huggingFaceExport).toBe(false);
      model.dispose();
    });
  });
});
