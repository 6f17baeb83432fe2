import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Type } from '@sinclair/typebox';

import {
  GPT2_FAMILY,
  Gpt2ConfigSchema,
  Gpt2Model,
  createGpt2Model,
  getGpt2ModelHub,
  gpt2Archs,
  registerGpt2Family,
  setupGpt2Extension,
} from '@fs2-examples/custom-family';

import { GPT2_CARDS_FILE, caught, caughtAsync, isolatedEnv, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetStore, AssetStoreOptions } from '../assets/AssetStore.js';
import { validateAssetStore } from '../assets/validateAssetStore.js';
import { InternalError } from '../errors/Fs2Error.js';
import { ModelFamilyNotKnownError } from '../models/errors.js';
import { ModelFamily, type LoadableModel } from '../models/ModelFamily.js';
import { createModelHubAccessor } from '../models/ModelHub.js';
import { StandardModelFamily } from '../models/StandardModelFamily.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { ExtensionError, type InlineExtension } from '../runtime/extensions.js';
import { createFairseq2, initFairseq2, shutdownFairseq2 } from '../runtime/init.js';
import { registerFileAssets } from './assets.js';
import { registerModelFamily } from './models.js';

const GPT2_EXTENSION: InlineExtension = { name: '@fs2-examples/custom-family', setup: setupGpt2Extension };

/** Another package's `gpt2` family: same name, its own config schema. */
const ACME_SCHEMA = Type.Object({ width: Type.Integer() }, { $id: 'acme.Gpt2Config' });
function registerAcmeGpt2(container: DependencyContainer, kind?: string): void {
  registerModelFamily(container, GPT2_FAMILY, {
    ...(kind === undefined ? {} : { kind }),
    configSchema: ACME_SCHEMA,
    defaultConfig: () => ({ width: 1 }),
    archs: {},
    factory: (): LoadableModel => ({ parameterShapes: () => new Map(), loadState: async () => undefined, dispose: () => undefined }),
    converters: [],
  });
}

describe('model composition', () => {
  let dir: TempDir;
  let env: Record<string, string>;

  const world = (extensions: readonly InlineExtension[], extras?: (c: DependencyContainer) => void): Promise<DependencyResolver> =>
    createFairseq2({ env, cwd: dir.path, extensions, log: () => undefined, ...(extras === undefined ? {} : { extras }) });

  beforeEach(() => {
    dir = makeTempDir();
    env = isolatedEnv(dir.path);
  });

  afterEach(() => {
    shutdownFairseq2();
    dir.cleanup();
  });

  describe('registerModelFamily', () => {
    it('registers a StandardModelFamily under its name, attributed to the registering package', async () => {
      const family = (await world([GPT2_EXTENSION])).lookup(ModelFamily).get(GPT2_FAMILY);

      expect(family).toBeInstanceOf(StandardModelFamily);
      expect(family).toMatchObject({ name: 'gpt2', kind: 'causal_lm', origin: '@fs2-examples/custom-family', configSchema: Gpt2ConfigSchema });
      expect(family.capabilities).toEqual({ meta: true, tensorParallel: false, huggingFaceExport: true });
      expect(family.huggingFace?.modelTypes).toEqual(['gpt2']);
      expect(family.meta).toBeUndefined();
    });

    it('is a singleton: the hub and the global loader share one family object', async () => {
      const resolver = await world([GPT2_EXTENSION]);

      expect(getGpt2ModelHub(resolver).family).toBe(resolver.lookup(ModelFamily).get(GPT2_FAMILY));
    });

    it('refuses a second family with the same name, naming both packages', async () => {
      const error = await caughtAsync(() => world([GPT2_EXTENSION, { name: '@acme/gpt2', setup: (c) => registerAcmeGpt2(c) }]));

      expect(error).toBeInstanceOf(ExtensionError);
      expect((error as ExtensionError).packageName).toBe('@acme/gpt2');
      expect(error.message).toBe(
        'The fs2 extension of the @acme/gpt2 package failed: `ModelFamily[gpt2]` is already registered by @fs2-examples/custom-family; the registration by @acme/gpt2 is a duplicate.',
      );
    });

    it('attributes a family registered by extras to extras', async () => {
      const error = await caughtAsync(() => world([GPT2_EXTENSION], (c) => registerGpt2Family(c)));

      expect(error.message).toBe(
        '`ModelFamily[gpt2]` is already registered by @fs2-examples/custom-family; the registration by extras is a duplicate.',
      );
    });

    it('supportsMeta: false refuses shape-only models', async () => {
      const resolver = await world([], (c) =>
        registerModelFamily(c, 'no_meta', {
          configSchema: Gpt2ConfigSchema,
          defaultConfig: gpt2Archs.gpt2_tiny,
          archs: {},
          factory: createGpt2Model,
          converters: [],
          supportsMeta: false,
        }),
      );
      const family = resolver.lookup(ModelFamily).get('no_meta');

      expect(family.capabilities).toEqual({ meta: false, tensorParallel: false, huggingFaceExport: false });
      expect((await caughtAsync(() => family.createNewModel(gpt2Archs.gpt2_tiny(), { meta: true }))).message).toBe(
        'The no_meta model family does not support shape-only (meta) models.',
      );
    });
  });

  describe('a hub accessor (createModelHubAccessor)', () => {
    it('throws ModelFamilyNotKnownError when no family has the name, listing those registered', async () => {
      const empty = await world([]);
      const error = caught(() => getGpt2ModelHub(empty));

      expect(error).toBeInstanceOf(ModelFamilyNotKnownError);
      expect(error).toMatchObject({ familyName: 'gpt2', knownFamilies: [], category: 'not_found' });
      expect(error.message).toBe('gpt2 is not a known model family.');

      const others = await world([], (c) => {
        registerAcmeGpt2Named(c, 'zeta');
        registerAcmeGpt2Named(c, 'alpha');
      });
      expect(caught(() => getGpt2ModelHub(others)).message).toBe('gpt2 is not a known model family. Registered families: alpha, zeta.');
    });

    it('refuses a family of the name registered with another config schema (InternalError naming its package)', async () => {
      const resolver = await world([{ name: '@acme/gpt2', setup: (c) => registerAcmeGpt2(c) }]);
      const error = caught(() => getGpt2ModelHub(resolver));

      expect(error).toBeInstanceOf(InternalError);
      expect(error.message).toBe(
        'The hub accessor of the gpt2 model family expects the config schema `fs2-examples.custom-family.Gpt2Config`, but the family registered by @acme/gpt2 uses `acme.Gpt2Config`.',
      );
    });

    it('refuses a family of the name that builds another kind of model', async () => {
      const resolver = await world([{ name: '@acme/gpt2', setup: (c) => registerAcmeGpt2(c, 'seq2seq') }]);
      const getAcmeHub = createModelHubAccessor(GPT2_FAMILY, { configSchema: ACME_SCHEMA });

      expect(caught(() => getAcmeHub(resolver)).message).toBe(
        'The hub accessor of the gpt2 model family expects models of kind `causal_lm`, but the family registered by @acme/gpt2 builds `seq2seq`.',
      );
    });

    it('names a schema without $id as such', async () => {
      const resolver = await world([GPT2_EXTENSION]);
      const getUntypedHub = createModelHubAccessor(GPT2_FAMILY, { configSchema: Type.Object({}) });

      expect(caught(() => getUntypedHub(resolver)).message).toBe(
        'The hub accessor of the gpt2 model family expects the config schema (without `$id`), but the family registered by @fs2-examples/custom-family uses `fs2-examples.custom-family.Gpt2Config`.',
      );
    });

    it('returns a new hub on every call', async () => {
      const resolver = await world([GPT2_EXTENSION]);

      expect(getGpt2ModelHub(resolver)).not.toBe(getGpt2ModelHub(resolver));
    });

    it('uses the process-global resolver once initFairseq2() has run', async () => {
      await initFairseq2({ env, cwd: dir.path, extensions: [GPT2_EXTENSION], log: () => undefined });
      const model = await getGpt2ModelHub().loadModel('gpt2_tiny_random', { device: 'cpu' });

      expect(model).toBeInstanceOf(Gpt2Model);
      model.dispose();
    });
  });

  describe('the model card validator', () => {
    const validate = async (resolver: DependencyResolver, paths?: string[]) =>
      validateAssetStore(resolver.resolve(AssetStore), resolver.resolveAll(AssetCardValidator), {
        cwd: dir.path,
        ...(paths === undefined ? {} : { paths }),
      });
    const lenient = (c: DependencyContainer): void => c.registerInstance(AssetStoreOptions, { lenient: true });

    it("passes the example package's cards", async () => {
      const report = await validate(await world([GPT2_EXTENSION], lenient), [GPT2_CARDS_FILE]);

      expect(report).toEqual({ problems: [], checked: 6 });
    });

    it('reports a bad model_arch and bad overrides at file:line:col, every problem of a card', async () => {
      const file = dir.write(
        'cards/bad.yaml',
        [
          'name: bad_arch',
          'model_family: gpt2',
          'model_arch: gpt2_huge',
          '---',
          'name: bad_overrides',
          'model_family: gpt2',
          'model_arch: gpt2_tiny',
          'model_config:',
          '  num_layerz: 3',
          '  model_dim: wide',
          '---',
          'name: bad_family_type',
          'model_family: 3',
          '---',
          'name: good',
          'model_family: gpt2',
          'model_config: {num_layers: 3}',
          '',
        ].join('\n'),
      );
      const resolver = await world([GPT2_EXTENSION], (c) => {
        lenient(c);
        registerFileAssets(c, join(dir.path, 'cards'));
      });
      const report = await validate(resolver, ['cards']);

      expect(report.checked).toBe(4);
      expect(report.problems.map((p) => p.message)).toEqual([
        `\`model_arch\` field of the \`bad_arch\` asset card is expected to be a supported gpt2 model architecture, but is \`gpt2_huge\` instead. (${file}:3:13)`,
        `\`model_config\` field of the \`bad_overrides\` asset card is not a valid model configuration: \`num_layerz\` is not a known key. (${file}:9:3)`,
        `\`model_config\` field of the \`bad_overrides\` asset card is not a valid model configuration: \`model_dim\` is expected to be of type integer, but is of type string instead. (${file}:10:14)`,
        `\`model_family\` field of the \`bad_family_type\` asset card is expected to be of type string, but is of type number instead. (${file}:13:15)`,
      ]);
    });

    it('skips the cards of families that are not installed (the built-in llama cards, a typo alike)', async () => {
      dir.write('cards/other.yaml', 'name: other\nmodel_family: gtp2\nmodel_arch: whatever\n');
      const resolver = await world([GPT2_EXTENSION], (c) => {
        lenient(c);
        registerFileAssets(c, join(dir.path, 'cards'));
      });

      expect(await validate(resolver)).toMatchObject({ problems: [] });
    });

    it('checks a family that is not a StandardModelFamily through getModelConfig', async () => {
      dir.write('cards/custom.yaml', 'name: custom_model\nmodel_family: custom\nmodel_arch: nope\n');
      const resolver = await world([], (c) => {
        lenient(c);
        registerFileAssets(c, join(dir.path, 'cards'));
        c.register(ModelFamily, () => customFamily(), { key: 'custom' });
      });

      expect((await validate(resolver, ['cards'])).problems.map((p) => p.message)).toEqual([
        `custom_model is refused by the custom family. (${join(dir.path, 'cards', 'custom.yaml')}:3:13)`,
      ]);
    });
  });
});

function registerAcmeGpt2Named(container: DependencyContainer, name: string): void {
  registerModelFamily(container, name, {
    configSchema: ACME_SCHEMA,
    defaultConfig: () => ({ width: 1 }),
    archs: {},
    factory: (): LoadableModel => ({ parameterShapes: () => new Map(), loadState: async () => undefined, dispose: () => undefined }),
    converters: [],
  });
}

/** A hand-written ModelFamily (not a StandardModelFamily) whose getModelConfig refuses every card. */
function customFamily(): ModelFamily {
  const unsupported = (): never => {
    throw new Error('not used');
  };
  return {
    name: 'custom',
    kind: 'causal_lm',
    origin: 'test',
    configSchema: Type.Object({}),
    capabilities: { meta: false, tensorParallel: false, huggingFaceExport: false },
    huggingFace: undefined,
    meta: undefined,
    getArchs: () => [],
    maybeGetArchConfig: () => undefined,
    getModelConfig: (card) => {
      throw card.field('model_arch').error(`${card.name} is refused by the custom family.`);
    },
    checkConfig: unsupported,
    createNewModel: unsupported,
    loadModel: unsupported,
    loadCustomModel: unsupported,
    iterCheckpoint: unsupported,
    saveModel: unsupported,
  };
}
