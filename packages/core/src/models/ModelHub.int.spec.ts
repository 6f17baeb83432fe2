import { cpSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';

import {
  Gpt2Model,
  getGpt2ModelHub,
  gpt2Archs,
  gpt2HuggingFaceConverter,
  setupGpt2Extension,
  type Gpt2Config,
} from '@fs2-examples/custom-family';

import {
  GPT2_CARDS_FILE,
  GPT2_TINY_CHECKPOINT,
  caught,
  caughtAsync,
  isolatedEnv,
  makeTempDir,
  readCheckpointTensors,
  type TempDir,
} from '../../../../test/support/index.js';
import type { AssetCard } from '../assets/AssetCard.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetCardError } from '../assets/errors.js';
import { CheckpointError } from '../checkpoint/errors.js';
import { registerFileAssets } from '../composition/assets.js';
import { InvalidArgumentError, NotSupportedError } from '../errors/Fs2Error.js';
import { createFakeGangs } from '../gang/Gangs.js';
import { ThreadGangHost } from '../gang/ThreadGangHost.js';
import { useDevice } from '../nn/devices/DeviceRegistry.js';
import type { StateEntry } from '../nn/loadModuleState.js';
import { ModelNotLoadedError, StateKeyMismatchError } from '../nn/errors.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { createFairseq2 } from '../runtime/init.js';
import { ModelArchitectureNotKnownError, ModelGatedError, ModelNotKnownError } from './errors.js';
import type { ModelHub } from './ModelHub.js';

/** The user's cards, next to which `weights/` holds a copy of the tiny checkpoint. */
const USER_CARDS = [
  'name: my_gpt2', //                                  1
  'model_family: gpt2', //                             2
  'model_arch: gpt2_tiny', //                          3
  'checkpoint: weights', //                            4
  '---', //                                            5
  'name: my_wider_gpt2', //                            6
  'base: my_gpt2', //                                  7
  'model_config:', //                                  8
  '  num_layers: 3', //                                9
  '  dropout_p: 0.25', //                             10
  '---', //                                           11
  'name: my_default_gpt2', //                         12
  'model_family: gpt2', //                            13
  '---', //                                           14
  'name: my_unknown_key', //                          15
  'model_family: gpt2', //                            16
  'model_arch: gpt2_tiny', //                         17
  'model_config:', //                                 18
  '  num_layerz: 3', //                               19
  '---', //                                           20
  'name: my_wrong_type', //                           21
  'model_family: gpt2', //                            22
  'model_arch: gpt2_tiny', //                         23
  'model_config: {model_dim: wide}', //               24
  '---', //                                           25
  'name: my_unknown_arch', //                         26
  'model_family: gpt2', //                            27
  'model_arch: gpt2_huge', //                         28
  '---', //                                           29
  'name: my_gated', //                                30
  'model_family: gpt2', //                            31
  'model_arch: gpt2_tiny', //                         32
  '---', //                                           33
  'name: toy_model', //                               34
  'model_family: toy', //                             35
  '',
].join('\n');

/** The tiny checkpoint as fs2 state entries, converted independently of the hub. */
async function tinyEntries(): Promise<Map<string, StateEntry>> {
  const config = gpt2Archs.gpt2_tiny();
  const entries = new Map<string, StateEntry>();
  for (const [key, { shape, data }] of await readCheckpointTensors(GPT2_TINY_CHECKPOINT)) {
    for (const entry of gpt2HuggingFaceConverter.convert({ key, shape, data }, config, GPT2_TINY_CHECKPOINT)) {
      entries.set(entry.name, entry);
    }
  }
  return entries;
}

function stateOf(model: Gpt2Model): Map<string, StateEntry> {
  return new Map([...model.stateEntries()].map((e) => [e.name, e]));
}

function logitsOf(model: Gpt2Model, tokens: readonly number[]): number[][] {
  const logits = model.forward(tokens);
  const rows = (logits.arraySync() as number[][][])[0] as number[][];
  logits.dispose();
  return rows;
}

describe('ModelHub (with the GPT-2 example family)', () => {
  let dir: TempDir;
  let env: Record<string, string>;
  let resolver: DependencyResolver;
  let hub: ModelHub<Gpt2Model, Gpt2Config>;
  let expected: Map<string, StateEntry>;
  const userFile = (): string => join(dir.path, 'user', 'mine.yaml');

  /** An isolated fs2 world with the example's extension (and `extras`), no discovery. */
  const world = (extras?: (container: DependencyContainer) => void): Promise<DependencyResolver> =>
    createFairseq2({
      env,
      cwd: dir.path,
      extensions: [{ name: '@fs2-examples/custom-family', setup: setupGpt2Extension }],
      log: () => undefined,
      ...(extras === undefined ? {} : { extras }),
    });

  beforeAll(async () => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
    dir.write('user/mine.yaml', USER_CARDS);
    cpSync(GPT2_TINY_CHECKPOINT, join(dir.path, 'user', 'weights'), { recursive: true });
    resolver = await world();
    hub = getGpt2ModelHub(resolver);
    expected = await tinyEntries();
  });

  afterAll(() => dir.cleanup());

  describe('.iterCards', () => {
    it("yields this family's cards, sorted by name: the example package's and the user's", () => {
      expect([...hub.iterCards()].map((card) => card.name)).toEqual([
        'gpt2',
        'gpt2_gated_demo',
        'gpt2_large',
        'gpt2_medium',
        'gpt2_tiny_random',
        'gpt2_xl',
        'my_default_gpt2',
        'my_gated',
        'my_gpt2',
        'my_unknown_arch',
        'my_unknown_key',
        'my_wider_gpt2',
        'my_wrong_type',
      ]);
    });

    it('names the source of each card', () => {
      const sources = new Map([...hub.iterCards()].map((card) => [card.name, card.source]));

      expect(sources.get('gpt2_tiny_random')).toBe('package:@fs2-examples/custom-family');
      expect(sources.get('my_gpt2')).toBe(`path:${join(dir.path, 'user')}`);
    });
  });

  describe('.getArchs', () => {
    it('lists the architectures, sorted', () => {
      expect(hub.getArchs()).toEqual(['gpt2_large', 'gpt2_medium', 'gpt2_small', 'gpt2_tiny', 'gpt2_xl']);
    });
  });

  describe('.getArchConfig', () => {
    it('returns the preset, a fresh object on every call', () => {
      const first = hub.getArchConfig('gpt2_small');
      first.num_layers = 1;

      expect(hub.getArchConfig('gpt2_small')).toEqual(gpt2Archs.gpt2_small());
      expect(hub.getArchConfig('gpt2_small')).not.toBe(hub.getArchConfig('gpt2_small'));
    });

    it('throws ModelArchitectureNotKnownError for an unknown architecture', () => {
      const error = caught(() => hub.getArchConfig('gpt2_huge'));

      expect(error).toBeInstanceOf(ModelArchitectureNotKnownError);
      expect(error).toMatchObject({ arch: 'gpt2_huge', familyName: 'gpt2', category: 'not_found' });
      expect(error.message).toBe('gpt2_huge is not a known gpt2 model architecture.');
    });
  });

  describe('.maybeGetArchConfig', () => {
    it('returns a fresh preset, or undefined for an unknown architecture (an inherited name included)', () => {
      expect(hub.maybeGetArchConfig('gpt2_tiny')).toEqual(gpt2Archs.gpt2_tiny());
      expect(hub.maybeGetArchConfig('gpt2_tiny')).not.toBe(hub.maybeGetArchConfig('gpt2_tiny'));
      expect(hub.maybeGetArchConfig('gpt2_huge')).toBeUndefined();
      expect(hub.maybeGetArchConfig('toString')).toBeUndefined();
    });
  });

  describe('.getModelConfig', () => {
    it("applies the card's model_config overrides to its architecture (the tiny card sets dropout_p: 0.0)", () => {
      expect(hub.getModelConfig('gpt2_tiny_random')).toEqual(gpt2Archs.gpt2_tiny());
      expect(hub.getModelConfig('gpt2_medium')).toEqual(gpt2Archs.gpt2_medium());
    });

    it('takes a card as well as a name, and applies overrides along the base chain', () => {
      const card = resolver.resolve(AssetStore).retrieveCard('my_wider_gpt2');

      expect(hub.getModelConfig(card)).toEqual({ ...gpt2Archs.gpt2_tiny(), num_layers: 3, dropout_p: 0.25 });
    });

    it('uses the default config (GPT-2 small) for a card without model_arch', () => {
      expect(hub.getModelConfig('my_default_gpt2')).toEqual(gpt2Archs.gpt2_small());
    });

    it('returns a fresh object on every call', () => {
      expect(hub.getModelConfig('gpt2_tiny_random')).not.toBe(hub.getModelConfig('gpt2_tiny_random'));
    });

    it.each([
      [
        'my_unknown_key',
        `\`model_config\` field of the \`my_unknown_key\` asset card is not a valid model configuration: \`num_layerz\` is not a known key. (${'USER'}:19:3)`,
      ],
      [
        'my_wrong_type',
        `\`model_config\` field of the \`my_wrong_type\` asset card is not a valid model configuration: \`model_dim\` is expected to be of type integer, but is of type string instead. (${'USER'}:24:27)`,
      ],
      [
        'my_unknown_arch',
        `\`model_arch\` field of the \`my_unknown_arch\` asset card is expected to be a supported gpt2 model architecture, but is \`gpt2_huge\` instead. (${'USER'}:28:13)`,
      ],
    ])('locates a bad card (%s) at file:line:col', (name, message) => {
      const error = caught(() => hub.getModelConfig(name));

      expect(error).toBeInstanceOf(AssetCardError);
      expect((error as AssetCardError).cardName).toBe(name);
      expect(error.message).toBe(message.replace('USER', userFile()));
    });

    it('throws ModelNotKnownError for a name no card has', () => {
      const error = caught(() => hub.getModelConfig('gpt3'));

      expect(error).toBeInstanceOf(ModelNotKnownError);
      expect(error).toMatchObject({ modelName: 'gpt3', category: 'not_found' });
      expect(error.message).toBe('gpt3 is not a known model.');
    });

    it('refuses a card of another family', () => {
      const error = caught(() => hub.getModelConfig('toy_model'));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error).toMatchObject({ cardName: 'toy_model', field: 'model_family', line: 35, column: 15 });
      expect(error.message).toBe(
        `\`model_family\` field of the \`toy_model\` asset card is expected to be \`gpt2\`, but is \`toy\` instead. (${userFile()}:35:15)`,
      );
    });
  });

  describe('.createNewModel', () => {
    it('builds a model with random weights, reproducible from the seed', async () => {
      const config = hub.getArchConfig('gpt2_tiny');
      const [a, b, c] = await Promise.all([
        hub.createNewModel(config, { seed: 7 }),
        hub.createNewModel(config, { seed: 7 }),
        hub.createNewModel(config, { seed: 8 }),
      ]);
      try {
        expect(a).toBeInstanceOf(Gpt2Model);
        expect(a.isLoaded).toBe(true);
        const [stateA, stateB, stateC] = [stateOf(a), stateOf(b), stateOf(c)];
        expect(stateA).toEqual(stateB);
        expect(stateA.get('decoder_frontend.embed.weight')?.data).not.toEqual(stateC.get('decoder_frontend.embed.weight')?.data);
        // LayerNorm gains 1, biases 0 (randomState's rule), weights spread as GPT-2's initialisation.
        expect([...(stateA.get('decoder.layer_norm.weight')?.data ?? [])]).toEqual(new Array(32).fill(1));
        expect([...(stateA.get('decoder.layers.1.ffn.inner_proj.bias')?.data ?? [])]).toEqual(new Array(128).fill(0));
        expect(logitsOf(a, [1, 2, 3])).toHaveLength(3);
      } finally {
        [a, b, c].forEach((m) => m.dispose());
      }
    });

    it('uses seed 0 by default', async () => {
      const config = hub.getArchConfig('gpt2_tiny');
      const [a, b] = await Promise.all([hub.createNewModel(config), hub.createNewModel(config, { seed: 0 })]);

      expect(stateOf(a)).toEqual(stateOf(b));
      [a, b].forEach((m) => m.dispose());
    });

    it('builds a shape-only model with meta: true, for counting parameters (even GPT-2 XL)', async () => {
      const model = await hub.createNewModel(hub.getArchConfig('gpt2_xl'), { meta: true });

      expect(model.device).toBeUndefined();
      expect(model.numParameters()).toBe(1_557_611_200);
      expect((await caughtAsync(() => model.loadState([]))).message).toBe(new ModelNotLoadedError('shape_only').message);
    });

    it('builds on the device asked for, or over the gangs given on the active device (each rank activates its own)', async () => {
      const config = hub.getArchConfig('gpt2_tiny');
      const onCpu = await hub.createNewModel(config, { device: 'cpu' });
      const overGangsOnCpu = await hub.createNewModel(config, { gangs: createFakeGangs() });
      await useDevice('wasm');
      const overGangsOnWasm = await hub.createNewModel(config, { gangs: createFakeGangs() });

      expect(onCpu.device?.name).toBe('cpu');
      expect(overGangsOnCpu.device?.name).toBe('cpu');
      expect(overGangsOnWasm.device?.name).toBe('wasm');
      [onCpu, overGangsOnCpu, overGangsOnWasm].forEach((m) => m.dispose());
    });

    it('refuses device and gangs together', async () => {
      const error = await caughtAsync(() => hub.createNewModel(hub.getArchConfig('gpt2_tiny'), { device: 'cpu', gangs: createFakeGangs() }));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe('`gangs` and `device` must not be specified at the same time.');
    });

    it('refuses tp for a family without a sharder, an invalid tp, and tp with gangs, before starting any worker', async () => {
      const config = hub.getArchConfig('gpt2_tiny');
      expect(hub.family.capabilities.tensorParallel).toBe(false);

      const noSharder = await caughtAsync(() => hub.createNewModel(config, { tp: 2 }));
      expect(noSharder).toBeInstanceOf(NotSupportedError);
      expect(noSharder.message).toBe('The gpt2 model family cannot split a model over 2 tensor-parallel ranks: it has no sharder.');

      const invalid = await caughtAsync(() => hub.createNewModel(config, { tp: 1.5 }));
      expect(invalid).toBeInstanceOf(InvalidArgumentError);
      expect(invalid.message).toBe('`tp` must be an integer from 1 to 256, but is 1.5 instead.');

      const both = await caughtAsync(() => hub.loadModel('my_gpt2', { tp: 2, gangs: createFakeGangs() } as never));
      expect(both).toBeInstanceOf(InvalidArgumentError);
      expect(both.message).toBe('`gangs` and `tp` must not be specified at the same time: `tp` starts its own gang.');
      expect(ThreadGangHost.liveWorkersInProcess).toBe(0);
    });

    it('refuses a config that does not fit the schema, naming each problem', async () => {
      const config = { ...hub.getArchConfig('gpt2_tiny'), num_layers: 'two', extra: 1 } as unknown as Gpt2Config;
      const error = await caughtAsync(() => hub.createNewModel(config));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe(
        'The `config` argument is not a valid gpt2 model configuration: `extra` is not a known key. `num_layers` is expected to be of type integer, but is of type string instead.',
      );
    });
  });

  describe('.loadModel', () => {
    it('loads a card of the example package, whose relative checkpoint path is next to the card file', async () => {
      const model = await hub.loadModel('gpt2_tiny_random');
      try {
        expect(model).toBeInstanceOf(Gpt2Model);
        expect(model.config).toEqual(gpt2Archs.gpt2_tiny());
        expect(stateOf(model)).toEqual(expected);
      } finally {
        model.dispose();
      }
    });

    it("loads a user card whose relative checkpoint path resolves against the user's card folder", async () => {
      const card = resolver.resolve(AssetStore).retrieveCard('my_gpt2');
      const model = await hub.loadModel(card, { device: 'cpu' });
      try {
        expect(model.device?.name).toBe('cpu');
        expect(stateOf(model)).toEqual(expected);
      } finally {
        model.dispose();
      }
    });

    it('uses the config given instead of the card overrides, checked against the schema', async () => {
      const model = await hub.loadModel('gpt2_tiny_random', { config: { ...gpt2Archs.gpt2_tiny(), dropout_p: 0.5 } });
      expect(model.config.dropout_p).toBe(0.5);
      model.dispose();

      const error = await caughtAsync(() => hub.loadModel('gpt2_tiny_random', { config: { ...gpt2Archs.gpt2_tiny(), dropout_p: 2 } }));
      expect(error.message).toBe(
        'The `config` option is not a valid gpt2 model configuration: `dropout_p` must be <= 1, but is 2.',
      );
    });

    it('says a checkpoint does not fit the model when the card overrides its shape', async () => {
      const error = await caughtAsync(() => hub.loadModel('my_wider_gpt2'));

      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).path).toBe(join(dir.path, 'user', 'weights'));
      expect((error as CheckpointError).cause).toBeInstanceOf(StateKeyMismatchError);
      expect(error.message).toMatch(
        new RegExp(
          `^The checkpoint at ${join(dir.path, 'user', 'weights')} does not fit the gpt2 model: The state does not match the model's parameters: 12 missing \\(decoder\\.layers\\.2\\.self_attn_layer_norm\\.weight, .*, decoder\\.layers\\.2\\.ffn\\.output_proj\\.bias\\)\\.$`,
        ),
      );
    });

    it('throws ModelGatedError for a card without checkpoint, pointing at its url', async () => {
      const error = await caughtAsync(() => hub.loadModel('gpt2_gated_demo'));

      expect(error).toBeInstanceOf(ModelGatedError);
      expect(error).toMatchObject({ modelName: 'gpt2_gated_demo', infoUrl: 'https://example.com/gpt2-gated-demo', category: 'user' });
      expect(error.message).toBe(
        'gpt2_gated_demo is a gated model and cannot be loaded. See https://example.com/gpt2-gated-demo for details. ' +
          'To use a copy you have, add a card to your user asset folder ($FAIRSEQ2_USER_ASSET_DIR, else ~/.config/fairseq2/assets/) ' +
          'with `name: gpt2_gated_demo@user` and `checkpoint: /path/to/the/checkpoint`.',
      );
    });

    it('throws ModelGatedError without a url when the card has none', async () => {
      const error = await caughtAsync(() => hub.loadModel('my_gated'));

      expect(error).toBeInstanceOf(ModelGatedError);
      expect((error as ModelGatedError).infoUrl).toBeUndefined();
      expect(error.message).toBe(
        'my_gated is a gated model and cannot be loaded. ' +
          'To use a copy you have, add a card to your user asset folder ($FAIRSEQ2_USER_ASSET_DIR, else ~/.config/fairseq2/assets/) ' +
          'with `name: my_gated@user` and `checkpoint: /path/to/the/checkpoint`.',
      );
    });

    it('loads a gated model once a user overlay names a checkpoint, as the error says', async () => {
      dir.write('overlay/gated.yaml', 'name: gpt2_gated_demo@user\nmodel_arch: gpt2_tiny\ncheckpoint: ../user/weights\n');
      const overlaid = await world((c) => registerFileAssets(c, join(dir.path, 'overlay')));
      const model = await getGpt2ModelHub(overlaid).loadModel('gpt2_gated_demo');

      expect(stateOf(model)).toEqual(expected);
      model.dispose();
    });

    it('throws ModelNotKnownError for a name no card has, and refuses a card of another family', async () => {
      expect((await caughtAsync(() => hub.loadModel('gpt3'))).message).toBe('gpt3 is not a known model.');
      expect(await caughtAsync(() => hub.loadModel('toy_model'))).toBeInstanceOf(AssetCardError);
    });

    it('says which checkpoint path of a card does not exist', async () => {
      dir.write('missing/cards.yaml', 'name: my_lost_gpt2\nmodel_family: gpt2\nmodel_arch: gpt2_tiny\ncheckpoint: lost\n');
      const other = await world((c) => registerFileAssets(c, join(dir.path, 'missing')));
      const error = await caughtAsync(() => getGpt2ModelHub(other).loadModel('my_lost_gpt2'));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error.message).toBe(
        `\`${join(dir.path, 'missing', 'lost')}\` pointed to by the \`checkpoint\` field of the \`my_lost_gpt2\` asset card is not found. (${join(dir.path, 'missing', 'cards.yaml')}:4:13)`,
      );
    });
  });

  describe('.loadCustomModel', () => {
    it('loads a checkpoint folder with the config given', async () => {
      const model = await hub.loadCustomModel(GPT2_TINY_CHECKPOINT, gpt2Archs.gpt2_tiny(), { device: 'cpu' });

      expect(stateOf(model)).toEqual(expected);
      model.dispose();
    });

    it('loads the safetensors file itself, too', async () => {
      const model = await hub.loadCustomModel(join(GPT2_TINY_CHECKPOINT, 'model.safetensors'), gpt2Archs.gpt2_tiny());

      expect(stateOf(model)).toEqual(expected);
      model.dispose();
    });

    it('says the checkpoint does not fit a config of another shape', async () => {
      const error = await caughtAsync(() => hub.loadCustomModel(GPT2_TINY_CHECKPOINT, { ...gpt2Archs.gpt2_tiny(), ffn_inner_dim: 64 }));

      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toBe(
        `The checkpoint at ${GPT2_TINY_CHECKPOINT} does not fit the gpt2 model: The parameter \`decoder.layers.0.ffn.inner_proj.weight\` is expected to have the shape [32, 64], but the state has the shape [32, 128] instead.`,
      );
    });
  });

  describe('.iterCheckpoint', () => {
    it('yields the checkpoint in fs2 names and layout, without building a model on a device', async () => {
      const entries: StateEntry[] = [];
      for await (const entry of hub.iterCheckpoint(GPT2_TINY_CHECKPOINT, gpt2Archs.gpt2_tiny())) {
        entries.push(entry);
      }

      expect(new Map(entries.map((e) => [e.name, e]))).toEqual(expected);
    });
  });

  describe('.saveModel', () => {
    let model: Gpt2Model;
    beforeAll(async () => {
      model = await hub.loadModel('gpt2_tiny_random');
    });
    afterAll(() => model.dispose());

    it('writes a Hugging Face folder equal, byte for byte, to the committed checkpoint it was loaded from', async () => {
      const out = join(dir.path, 'export-hf');
      await hub.saveModel(model, hub.getModelConfig('gpt2_tiny_random'), out, { format: 'hf' });

      expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
      expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(readFileSync(join(GPT2_TINY_CHECKPOINT, 'config.json'), 'utf8'));
      expect(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(join(GPT2_TINY_CHECKPOINT, 'model.safetensors')))).toBe(true);
    });

    it('round-trips through the Hugging Face format: the saved folder loads back identically', async () => {
      const out = join(dir.path, 'roundtrip-hf');
      const config = { ...gpt2Archs.gpt2_tiny(), dropout_p: 0.125 };
      await hub.saveModel(model, config, out, { format: 'hf', maxShardBytes: 40_000 });

      expect(readdirSync(out).sort()).toEqual([
        'config.json',
        'model-00001-of-00004.safetensors',
        'model-00002-of-00004.safetensors',
        'model-00003-of-00004.safetensors',
        'model-00004-of-00004.safetensors',
        'model.safetensors.index.json',
      ]);
      const back = await hub.loadCustomModel(out, config);
      expect(stateOf(back)).toEqual(expected);
      back.dispose();
    });

    it('round-trips through the fs2 format: the folder holds a card and loads back by it', async () => {
      const out = join(dir.path, 'saved', 'my_copy');
      const config = { ...gpt2Archs.gpt2_tiny(), dropout_p: 0.125 };
      await hub.saveModel(model, config, out, { format: 'fs2' });

      expect(readdirSync(out).sort()).toEqual(['model.safetensors', 'model.yaml']);
      expect(readFileSync(join(out, 'model.yaml'), 'utf8')).toBe(
        [
          'name: my_copy',
          'model_family: gpt2',
          'model_config:',
          '  model_dim: 32',
          '  num_layers: 2',
          '  num_heads: 4',
          '  max_seq_len: 64',
          '  vocab_size: 96',
          '  ffn_inner_dim: 128',
          '  layer_norm_eps: 0.00001',
          '  dropout_p: 0.125',
          'checkpoint: .',
          '',
        ].join('\n'),
      );
      const saved = await world((c) => registerFileAssets(c, join(dir.path, 'saved')));
      const savedHub = getGpt2ModelHub(saved);
      expect(savedHub.getModelConfig('my_copy')).toEqual(config);
      const back = await savedHub.loadModel('my_copy');
      expect(stateOf(back)).toEqual(expected);
      back.dispose();
    });

    it('names the fs2 card as asked, and refuses a name with an environment', async () => {
      const out = join(dir.path, 'named');
      await hub.saveModel(model, gpt2Archs.gpt2_tiny(), out, { format: 'fs2', name: 'finetuned_gpt2' });
      expect(readFileSync(join(out, 'model.yaml'), 'utf8')).toMatch(/^name: finetuned_gpt2\n/);

      const error = await caughtAsync(() => hub.saveModel(model, gpt2Archs.gpt2_tiny(), out, { format: 'fs2', name: 'x@user' }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe(
        'The card name "x@user" is not valid: a name is `name` or `name@environment`, with a non-empty name part and at most one `@`, and a saved card has no environment.',
      );
    });
  });

  describe('cards of the example package', () => {
    it('are all gpt2 cards whose configs build (archs and overrides valid)', () => {
      const store = resolver.resolve(AssetStore);
      const cards: AssetCard[] = ['gpt2', 'gpt2_medium', 'gpt2_large', 'gpt2_xl', 'gpt2_tiny_random', 'gpt2_gated_demo'].map((n) =>
        store.retrieveCard(n),
      );

      expect(cards.map((c) => c.file)).toEqual(new Array(6).fill(GPT2_CARDS_FILE));
      expect(cards.map((c) => hub.getModelConfig(c).num_layers)).toEqual([12, 24, 36, 48, 2, 24]);
    });
  });
});
