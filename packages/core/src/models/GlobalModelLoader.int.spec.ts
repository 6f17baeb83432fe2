import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Type } from '@sinclair/typebox';

import { Gpt2Model, gpt2Archs, setupGpt2Extension } from '@fs2-examples/custom-family';

import { GPT2_TINY_CHECKPOINT, caughtAsync, isolatedEnv, makeTempDir, readCheckpointTensors, type TempDir } from '../../../../test/support/index.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetCardError } from '../assets/errors.js';
import { CheckpointError, CheckpointNotFoundError } from '../checkpoint/errors.js';
import { registerInMemoryAssets } from '../composition/assets.js';
import { registerModelFamily } from '../composition/models.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { createFairseq2 } from '../runtime/init.js';
import { ModelFamilyNotDetectedError, ModelNotKnownError } from './errors.js';
import { GlobalModelLoader, loadModel } from './GlobalModelLoader.js';
import type { LoadableModel } from './ModelFamily.js';

/** A second family, with no Hugging Face interop, so that dispatch has a choice to make. */
function registerToyFamily(container: DependencyContainer): void {
  const schema = Type.Object({ width: Type.Integer() }, { $id: 'test.ToyConfig' });
  registerModelFamily(container, 'toy', {
    configSchema: schema,
    defaultConfig: () => ({ width: 1 }),
    archs: {},
    factory: (): LoadableModel => ({ parameterShapes: () => new Map(), loadState: async () => undefined, dispose: () => undefined }),
    converters: [],
  });
}

function tiny(weights: Map<string, { data: Float32Array }>, model: Gpt2Model): void {
  const entries = new Map([...model.stateEntries()].map((e) => [e.name, e.data]));
  expect(entries.get('decoder_frontend.embed.weight')).toEqual(weights.get('transformer.wte.weight')?.data);
  expect(entries.get('decoder.layers.1.self_attn.qkv_proj.bias')).toEqual(weights.get('transformer.h.1.attn.c_attn.bias')?.data);
  expect(entries.size).toBe(28);
}

describe('GlobalModelLoader (with the GPT-2 example family)', () => {
  let dir: TempDir;
  let resolver: DependencyResolver;
  let loader: GlobalModelLoader;
  let weights: Map<string, { data: Float32Array }>;

  beforeAll(async () => {
    dir = makeTempDir();
    dir.write('user/cards.yaml', 'name: toy_model\nmodel_family: toy\n---\nname: odd_model\nmodel_family: odd\n---\nname: no_family\nnote: x\n');
    resolver = await createFairseq2({
      env: isolatedEnv(dir.path),
      cwd: dir.path,
      extensions: [{ name: '@fs2-examples/custom-family', setup: setupGpt2Extension }],
      log: () => undefined,
      extras: (container) => {
        registerToyFamily(container);
        registerInMemoryAssets(container, 'test', [{ name: 'in_memory_odd', model_family: 'odd' }]);
      },
    });
    loader = resolver.resolve(GlobalModelLoader);
    weights = await readCheckpointTensors(GPT2_TINY_CHECKPOINT);
  });

  afterAll(() => dir.cleanup());

  describe('.load and the global loadModel', () => {
    it("dispatch on the card's model_family", async () => {
      const model = await loadModel('gpt2_tiny_random', { resolver, device: 'cpu' });
      const byCard = await loader.load(resolver.resolve(AssetStore).retrieveCard('gpt2_tiny_random'), { device: 'cpu' });

      expect(model).toBeInstanceOf(Gpt2Model);
      tiny(weights, model as Gpt2Model);
      tiny(weights, byCard as Gpt2Model);
      model.dispose();
      byCard.dispose();
    });

    it('throws ModelNotKnownError for a name no card has', async () => {
      const error = await caughtAsync(() => loadModel('gpt3', { resolver }));

      expect(error).toBeInstanceOf(ModelNotKnownError);
      expect(error.message).toBe('gpt3 is not a known model.');
    });

    it('names the registered families when a card names another, located in its file', async () => {
      const error = await caughtAsync(() => loadModel('odd_model', { resolver }));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error).toMatchObject({ cardName: 'odd_model', field: 'model_family', line: 5, column: 15 });
      expect(error.message).toBe(
        `\`model_family\` field of the \`odd_model\` asset card is expected to be a registered model family (gpt2, toy), but is \`odd\` instead. (${join(dir.path, 'user', 'cards.yaml')}:5:15)`,
      );
      expect((await caughtAsync(() => loadModel('in_memory_odd', { resolver }))).message).toBe(
        '`model_family` field of the `in_memory_odd` asset card is expected to be a registered model family (gpt2, toy), but is `odd` instead.',
      );
    });

    it('refuses a card with no model_family', async () => {
      const error = await caughtAsync(() => loadModel('no_family', { resolver }));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error.message).toBe(`\`no_family\` asset card does not have a field named \`model_family\`. (${join(dir.path, 'user', 'cards.yaml')}:7:7)`);
    });
  });

  describe('.familyOf', () => {
    it('returns the family a card names', () => {
      const store = resolver.resolve(AssetStore);

      expect(loader.familyOf(store.retrieveCard('gpt2')).name).toBe('gpt2');
      expect(loader.familyOf(store.retrieveCard('toy_model')).name).toBe('toy');
    });
  });

  describe('.loadFromPath', () => {
    it('loads a Hugging Face folder with no card: config.json model_type names the family', async () => {
      const model = await loader.loadFromPath(GPT2_TINY_CHECKPOINT, { device: 'cpu' });

      expect(model).toBeInstanceOf(Gpt2Model);
      expect((model as Gpt2Model).config).toEqual(gpt2Archs.gpt2_tiny());
      tiny(weights, model as Gpt2Model);
      model.dispose();
    });

    it('accepts the family named by the caller when it reads the model_type', async () => {
      const model = await loader.loadFromPath(GPT2_TINY_CHECKPOINT, { family: 'gpt2' });

      expect(model).toBeInstanceOf(Gpt2Model);
      model.dispose();
    });

    it('describes a folder: family, config and the file the config came from', async () => {
      const detected = await loader.describePath(GPT2_TINY_CHECKPOINT);

      expect(detected.family.name).toBe('gpt2');
      expect(detected.config).toEqual(gpt2Archs.gpt2_tiny());
      expect(detected.configFile).toBe(join(GPT2_TINY_CHECKPOINT, 'config.json'));
    });

    describe('errors', () => {
      let folder = '';
      const withConfig = (name: string, config: string | Record<string, unknown>): string => {
        folder = join(dir.path, name);
        cpSync(join(GPT2_TINY_CHECKPOINT, 'model.safetensors'), join(folder, 'model.safetensors'));
        dir.write(`${name}/config.json`, typeof config === 'string' ? config : JSON.stringify(config));
        return folder;
      };
      const tinyJson = (): Record<string, unknown> =>
        JSON.parse(readFileSync(join(GPT2_TINY_CHECKPOINT, 'config.json'), 'utf8')) as Record<string, unknown>;

      it('a path where nothing exists (not_found)', async () => {
        const path = join(dir.path, 'nowhere');
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error).toBeInstanceOf(CheckpointNotFoundError);
        expect(error).toMatchObject({ path, category: 'not_found' });
        expect(error.message).toBe(`${path} does not exist.`);
      });

      it('a file rather than a folder', async () => {
        const path = join(GPT2_TINY_CHECKPOINT, 'model.safetensors');
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error).toBeInstanceOf(ModelFamilyNotDetectedError);
        expect(error.message).toBe(
          `The model family of ${path} cannot be determined: it is not a folder; give a card, or a folder with \`config.json\` (Hugging Face) or \`params.json\` (Meta).`,
        );
      });

      it('a folder with neither config.json nor params.json', async () => {
        const path = dir.mkdir('bare');
        dir.write('bare/model.safetensors', '');
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error.message).toBe(
          `The model family of ${path} cannot be determined: it has neither \`config.json\` (Hugging Face) nor \`params.json\` (Meta); it holds model.safetensors.`,
        );
      });

      it('a config.json without model_type', async () => {
        const { model_type: _, ...json } = tinyJson();
        const path = withConfig('untyped', json);
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error.message).toBe(`The model family of ${path} cannot be determined: ${join(path, 'config.json')} has no \`model_type\`.`);
      });

      it('a model_type no registered family reads, listing those that are read', async () => {
        const path = withConfig('llama', { ...tinyJson(), model_type: 'llama' });
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error).toBeInstanceOf(ModelFamilyNotDetectedError);
        expect(error.message).toBe(
          `The model family of ${path} cannot be determined: no registered family reads \`model_type\` \`llama\` (known: gpt2 (gpt2)).`,
        );
      });

      it('a family named by the caller that does not read the model_type', async () => {
        const error = await caughtAsync(() => loader.loadFromPath(GPT2_TINY_CHECKPOINT, { family: 'toy' }));

        expect(error.message).toBe(
          `The model family of ${GPT2_TINY_CHECKPOINT} cannot be determined: no toy family reads \`model_type\` \`gpt2\` (known: gpt2 (gpt2)).`,
        );
      });

      it('a family named by the caller that is not registered', async () => {
        const error = await caughtAsync(() => loader.loadFromPath(GPT2_TINY_CHECKPOINT, { family: 'gpt3' }));

        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error.message).toBe('gpt3 is not a known model family. Registered families: gpt2, toy.');
      });

      it('a Meta folder (params.json) without a family, and with a family that does not read Meta folders', async () => {
        const path = dir.mkdir('meta');
        dir.write('meta/params.json', '{"dim": 32}');

        expect((await caughtAsync(() => loader.loadFromPath(path))).message).toBe(
          `The model family of ${path} cannot be determined: a Meta reference folder (\`params.json\`) does not name its family: pass one (\`--family llama\`) or write a card.`,
        );
        expect((await caughtAsync(() => loader.loadFromPath(path, { family: 'gpt2' }))).message).toBe(
          `The model family of ${path} cannot be determined: the gpt2 model family does not read Meta reference folders (\`params.json\`).`,
        );
      });

      it('a config.json that is not JSON, or not an object', async () => {
        const broken = withConfig('broken', '{"model_type": ');
        const error = await caughtAsync(() => loader.loadFromPath(broken));

        expect(error).toBeInstanceOf(CheckpointError);
        expect(error.message).toMatch(new RegExp(`^${join(broken, 'config.json')} is not valid JSON: `));
        const list = withConfig('list', '[1, 2]');
        expect((await caughtAsync(() => loader.loadFromPath(list))).message).toBe(`${join(list, 'config.json')} is expected to hold a JSON object.`);
      });

      it("a config.json the family cannot read (the family's own error, naming the file)", async () => {
        const path = withConfig('exact-gelu', { ...tinyJson(), activation_function: 'gelu' });
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error).toBeInstanceOf(CheckpointError);
        expect(error.message).toBe(
          `\`activation_function\` in ${join(path, 'config.json')} is expected to be one of \`gelu_new\`, \`gelu_pytorch_tanh\` (the GPT-2 family computes GELU's tanh approximation), but is \`"gelu"\` instead.`,
        );
      });

      it('a config.json whose shape does not fit the weights', async () => {
        const path = withConfig('deeper', { ...tinyJson(), n_layer: 3 });
        const error = await caughtAsync(() => loader.loadFromPath(path));

        expect(error).toBeInstanceOf(CheckpointError);
        expect(error.message).toMatch(
          new RegExp(`^The checkpoint at ${path} does not fit the gpt2 model: The state does not match the model's parameters: 12 missing \\(`),
        );
      });
    });
  });
});
