import { join } from 'node:path';

import { Type, type Static } from '@sinclair/typebox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { caught, caughtAsync, copyRealTokenizer, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetStore } from '../assets/AssetStore.js';
import type { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { AssetCardCycleError, AssetCardError } from '../assets/errors.js';
import { validateAssetStore } from '../assets/validateAssetStore.js';
import { InternalError, InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { DuplicateRegistrationError } from '../runtime/errors.js';
import { createFairseq2 } from '../runtime/init.js';
import { writeByteLevelTokenizer } from '../tokenizers/buildByteLevelTokenizerJson.js';
import {
  TokenizerFamilyNotKnownError,
  TokenizerGatedError,
  TokenizerModelError,
  TokenizerNotKnownError,
} from '../tokenizers/errors.js';
import { GlobalTokenizerLoader, loadTokenizer, loadTokenizerFromPath } from '../tokenizers/GlobalTokenizerLoader.js';
import type { HuggingFaceTokenizer } from '../tokenizers/HuggingFaceTokenizer.js';
import { getHuggingFaceTokenizerHub } from '../tokenizers/huggingFaceTokenizerFamily.js';
import { loadHuggingFaceTokenizer } from '../tokenizers/loadHuggingFaceTokenizer.js';
import { TokenizerFamily } from '../tokenizers/TokenizerFamily.js';
import { createTokenizerHubAccessor } from '../tokenizers/TokenizerHub.js';
import { registerAssetDownloadManager } from './downloads.js';
import { registerTokenizerFamily } from './tokenizers.js';

/** A third-party family, as a model package would register it: one switch for its end token. */
const ToyTokenizerConfigSchema = Type.Object(
  { use_end: Type.Boolean({ description: 'End with <|end|> rather than <|eos|>. Default: false.' }) },
  { $id: 'test.ToyTokenizerConfig' },
);
type ToyTokenizerConfig = Static<typeof ToyTokenizerConfigSchema>;

const getToyTokenizerHub = createTokenizerHubAccessor<HuggingFaceTokenizer, ToyTokenizerConfig>('toy', {
  configSchema: ToyTokenizerConfigSchema,
});

function registerToy(container: DependencyContainer): void {
  registerTokenizerFamily(container, 'toy', {
    configSchema: ToyTokenizerConfigSchema,
    defaultConfig: () => ({ use_end: false }),
    loader: (path, config: ToyTokenizerConfig) =>
      loadHuggingFaceTokenizer(path, { eosToken: config.use_end ? '<|end|>' : '<|eos|>', stopTokens: ['<|end|>'] }),
  });
}

const CARDS = `name: toy_base
tokenizer_family: toy
tokenizer: ./byte
---
name: toy_chat
base: toy_base
tokenizer_config:
  use_end: true
---
name: toy_legacy
base: toy_base
tokenizer_config_override:
  use_end: true
---
name: toy_gated
tokenizer_family: toy
url: https://example.com/toy
---
name: toy_bad_override
base: toy_base
tokenizer_config:
  use_end: 'yes'
---
name: toy_sub
tokenizer_family: toy
tokenizer: .
tokenizer_path: byte
---
name: toy_broken
tokenizer_family: toy
tokenizer: ./broken
---
name: toy_remote
tokenizer_family: toy
tokenizer: test://toy/broken
---
name: llama_tok
tokenizer_family: llama
tokenizer: ./byte
---
name: model_only
model_family: toy
---
name: chat_model
model_family: toy
tokenizer_ref: toy_chat
---
name: two_hops
tokenizer_ref: chat_model
---
name: ref_missing
tokenizer_ref: nowhere
---
name: loop_a
tokenizer_ref: loop_b
---
name: loop_b
tokenizer_ref: loop_a
`;

describe('tokenizer composition', () => {
  // Reading the real Qwen3 tokenizer.json (11 MB) takes about 0.5 s on an idle machine; allow a busy one.
  jest.setTimeout(60_000);

  let shared: TempDir;
  let qwen3Dir: string;
  let dir: TempDir;
  let env: Record<string, string>;

  /** An isolated fs2 world: its own system and user folders, no extensions, the toy family unless told. */
  const world = (extras?: (container: DependencyContainer) => void, options: { toy?: boolean } = {}): Promise<DependencyResolver> =>
    createFairseq2({
      env,
      cwd: dir.path,
      extensions: false,
      noProgress: true,
      extras: (container) => {
        if (options.toy ?? true) {
          registerToy(container);
        }
        extras?.(container);
      },
    });

  beforeAll(() => {
    shared = makeTempDir();
    qwen3Dir = copyRealTokenizer('qwen3', join(shared.path, 'qwen3'));
  });
  afterAll(() => shared.cleanup());

  beforeEach(async () => {
    dir = makeTempDir();
    dir.mkdir('home');
    dir.mkdir('user');
    const cards = dir.write('system/tokenizers.yaml', CARDS);
    await writeByteLevelTokenizer(join(dir.path, 'system/byte'), {
      specialTokens: ['<|eos|>', '<|end|>'],
      eosToken: '<|eos|>',
      chatTemplate: '{% for m in messages %}{{ m.content }}<|end|>{% endfor %}',
    });
    dir.write('system/broken/tokenizer.json', '{"version": "1.0"}');
    expect(cards).toBe(join(dir.path, 'system/tokenizers.yaml'));
    env = {
      HOME: join(dir.path, 'home'),
      FAIRSEQ2_ASSET_DIR: join(dir.path, 'system'),
      FAIRSEQ2_USER_ASSET_DIR: join(dir.path, 'user'),
      FAIRSEQ2_CACHE_DIR: join(dir.path, 'cache'),
    };
  });
  afterEach(() => dir.cleanup());

  const cardsFile = (): string => join(dir.path, 'system/tokenizers.yaml');

  it('registers the generic hf family and the global loader', async () => {
    const resolver = await world(undefined, { toy: false });
    expect(resolver.lookup(TokenizerFamily).keys()).toEqual(['hf']);
    const family = resolver.lookup(TokenizerFamily).get('hf');
    expect([family.name, family.origin, family.getDefaultConfig()]).toEqual(['hf', '@fs2/core', {}]);
    expect(resolver.resolve(GlobalTokenizerLoader)).toBe(resolver.resolve(GlobalTokenizerLoader));
  });

  describe('a family registered by an extension', () => {
    it('lists its cards and reads their configs, root to leaf, legacy spellings included', async () => {
      const hub = getToyTokenizerHub(await world());
      expect([...hub.iterCards()].map((c) => c.name)).toEqual([
        'toy_bad_override',
        'toy_base',
        'toy_broken',
        'toy_chat',
        'toy_gated',
        'toy_legacy',
        'toy_remote',
        'toy_sub',
      ]);
      expect(hub.getTokenizerConfig('toy_base')).toEqual({ use_end: false });
      expect(hub.getTokenizerConfig('toy_chat')).toEqual({ use_end: true });
      expect(hub.getTokenizerConfig('toy_legacy')).toEqual({ use_end: true });
      expect(hub.family.origin).toBe('extras');
    });

    it('loads a card\'s tokenizer through its loader, with the card\'s config or the one given', async () => {
      const resolver = await world();
      const hub = getToyTokenizerHub(resolver);
      expect((await hub.loadTokenizer('toy_base')).vocabInfo).toMatchObject({ size: 258, eosId: 256, stopIds: [256, 257] });
      expect((await hub.loadTokenizer('toy_chat')).vocabInfo).toMatchObject({ eosId: 257, stopIds: [257] });
      expect((await hub.loadTokenizer('toy_base', { config: { use_end: true } })).vocabInfo.eosId).toBe(257);
      expect((await hub.loadTokenizer(resolver.resolve(AssetStore).retrieveCard('toy_sub'))).encode('hi')).toEqual([104, 105]);
      const custom = await hub.loadCustomTokenizer(join(dir.path, 'system/byte'), { use_end: true });
      expect(custom.encodeChat([{ role: 'user', content: 'hi' }])).toEqual([104, 105, 257]);
    });

    it('checks configs against the family\'s schema', async () => {
      const hub = getToyTokenizerHub(await world());
      const option = await caughtAsync(() => hub.loadTokenizer('toy_base', { config: { use_end: 'yes' } as unknown as ToyTokenizerConfig }));
      expect(option).toBeInstanceOf(InvalidArgumentError);
      expect(option.message).toBe('The `config` option is not a valid toy tokenizer configuration: `use_end` is expected to be of type boolean, but is of type string instead.');
      const argument = await caughtAsync(() => hub.loadCustomTokenizer(dir.path, {} as ToyTokenizerConfig));
      expect(argument.message).toBe('The `config` argument is not a valid toy tokenizer configuration: `use_end` is missing.');
      const card = caught(() => hub.getTokenizerConfig('toy_bad_override'));
      expect(card).toBeInstanceOf(AssetCardError);
      expect(card.message).toBe(
        `\`tokenizer_config\` field of the \`toy_bad_override\` asset card is not a valid tokenizer configuration: \`use_end\` is expected to be of type boolean, but is of type string instead. (${cardsFile()}:22:12)`,
      );
    });

    it('says a card without `tokenizer` is gated, and how to add a local copy', async () => {
      const hub = getToyTokenizerHub(await world());
      const error = await caughtAsync(() => hub.loadTokenizer('toy_gated'));
      expect(error).toBeInstanceOf(TokenizerGatedError);
      expect(error.message).toBe(
        'toy_gated is a gated tokenizer and cannot be loaded. See https://example.com/toy for details. To use a copy you have, add a card to your ' +
          'user asset folder ($FAIRSEQ2_USER_ASSET_DIR, else ~/.config/fairseq2/assets/) with `name: toy_gated@user` and `tokenizer: /path/to/the/tokenizer`.',
      );
    });

    it('loads the local copy a user card points at', async () => {
      dir.write('user/mine.yaml', `name: toy_gated@user\ntokenizer: ${join(dir.path, 'system/byte')}\n`);
      expect((await getToyTokenizerHub(await world()).loadTokenizer('toy_gated')).vocabInfo.size).toBe(258);
    });

    it('reports an unknown name, and a card of another family', async () => {
      const resolver = await world();
      const hub = getToyTokenizerHub(resolver);
      const unknown = await caughtAsync(() => hub.loadTokenizer('nope'));
      expect(unknown).toBeInstanceOf(TokenizerNotKnownError);
      expect(unknown.message).toBe('nope is not a known tokenizer.');
      expect(caught(() => hub.getTokenizerConfig('nope')).message).toBe('nope is not a known tokenizer.');

      const other = caught(() => hub.getTokenizerConfig('llama_tok'));
      expect(other).toBeInstanceOf(AssetCardError);
      expect(other.message).toBe(
        `\`tokenizer_family\` field of the \`llama_tok\` asset card is expected to be \`toy\`, but is \`llama\` instead. (${cardsFile()}:38:19)`,
      );
      const hf = caught(() => getHuggingFaceTokenizerHub(resolver).getTokenizerConfig('toy_base'));
      expect(hf.message).toBe(
        `\`tokenizer_family\` field of the \`toy_base\` asset card is expected to be \`hf\`, but is \`toy\` instead. (${cardsFile()}:2:19)`,
      );
    });

    it('reports broken files: as they are for a local path, with a hint to delete a download', async () => {
      const resolver = await world((container) => {
        const downloads: AssetDownloadManager = {
          supportedSchemes: new Set(['test']),
          downloadModel: () => Promise.reject(new Error('not used')),
          downloadTokenizer: () => Promise.resolve(join(dir.path, 'system/broken')),
          downloadDataset: () => Promise.reject(new Error('not used')),
        };
        registerAssetDownloadManager(container, downloads);
      });
      const hub = getToyTokenizerHub(resolver);
      const local = await caughtAsync(() => hub.loadTokenizer('toy_broken'));
      expect(local).toBeInstanceOf(TokenizerModelError);
      expect(local.message).toBe(`${dir.path}/system/broken/tokenizer.json has no \`model\`: it is not a Hugging Face \`tokenizer.json\`.`);

      const remote = await caughtAsync(() => hub.loadTokenizer('toy_remote'));
      expect(remote).toBeInstanceOf(AssetCardError);
      expect(remote.cause).toBeInstanceOf(TokenizerModelError);
      expect(remote.message).toBe(
        `The tokenizer of the \`toy_remote\` asset card cannot be loaded: ${dir.path}/system/broken/tokenizer.json has no \`model\`: it is not a Hugging Face \`tokenizer.json\`. ` +
          `If the download is damaged, delete ${dir.path}/system/broken and load the tokenizer again.`,
      );
    });
  });

  describe('the generic hf family', () => {
    it('loads a card that names a Hugging Face folder, with or without `tokenizer_family: hf`', async () => {
      dir.write('user/qwen.yaml', `name: my_qwen3\ntokenizer_family: hf\ntokenizer: ${qwen3Dir}\n---\nname: plain_qwen3\ntokenizer: ${qwen3Dir}\n`);
      const resolver = await world();
      const tokenizer = await getHuggingFaceTokenizerHub(resolver).loadTokenizer('my_qwen3');
      expect(tokenizer.encode('Hello world!')).toEqual([9707, 1879, 0]);
      expect(tokenizer.vocabInfo.eosId).toBe(151645);
      expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toBe(
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
      );
      const plain = await loadTokenizer('plain_qwen3', { resolver });
      expect(plain.encode('Hello world!')).toEqual([9707, 1879, 0]);
      expect(getHuggingFaceTokenizerHub(resolver).getTokenizerConfig('plain_qwen3')).toEqual({});
    });

    it('applies a card\'s tokenizer_config over the files\' settings', async () => {
      dir.write(
        'user/qwen.yaml',
        `name: qwen3_base_tok\ntokenizer: ${qwen3Dir}\ntokenizer_config:\n  eos_token: <|endoftext|>\n  stop_tokens: [<|im_end|>]\n  chat_template: "{{ messages[0].content }}"\n`,
      );
      const tokenizer = await loadTokenizer('qwen3_base_tok', { resolver: await world() });
      expect([tokenizer.vocabInfo.eosId, tokenizer.vocabInfo.stopIds]).toEqual([151643, [151643, 151645]]);
      expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe('Hi');
    });

    it('loads a folder without a card, by the hf family or the one named', async () => {
      const resolver = await world();
      expect((await loadTokenizerFromPath(qwen3Dir, { resolver })).encode('Hello world!')).toEqual([9707, 1879, 0]);
      const toy = await loadTokenizerFromPath(join(dir.path, 'system/byte'), { resolver, family: 'toy' });
      expect(toy.vocabInfo.eosId).toBe(256);
      const configured = await loadTokenizerFromPath(join(dir.path, 'system/byte'), { resolver, family: 'toy', config: { use_end: true } });
      expect(configured.vocabInfo.eosId).toBe(257);

      const unknown = await caughtAsync(() => loadTokenizerFromPath(qwen3Dir, { resolver, family: 'llama' }));
      expect(unknown).toBeInstanceOf(TokenizerFamilyNotKnownError);
      expect(unknown.message).toBe('llama is not a known tokenizer family. Registered families: hf, toy.');
      const missing = await caughtAsync(() => loadTokenizerFromPath(join(dir.path, 'home'), { resolver }));
      expect(missing).toBeInstanceOf(TokenizerModelError);
      expect(missing.message).toBe(`${dir.path}/home has no tokenizer.json. It holds nothing.`);
    });
  });

  describe('the global loader', () => {
    it('dispatches on tokenizer_family and follows tokenizer_ref', async () => {
      const resolver = await world();
      expect((await loadTokenizer('toy_chat', { resolver })).vocabInfo.eosId).toBe(257);
      expect((await loadTokenizer('chat_model', { resolver })).vocabInfo.eosId).toBe(257);
      expect((await loadTokenizer('two_hops', { resolver })).vocabInfo.eosId).toBe(257);
      expect((await getToyTokenizerHub(resolver).loadTokenizer('two_hops')).vocabInfo.eosId).toBe(257);
      expect(resolver.resolve(GlobalTokenizerLoader).resolveCard('two_hops').name).toBe('toy_chat');
    });

    it('reports a missing reference and a reference cycle', async () => {
      const resolver = await world();
      const missing = await caughtAsync(() => loadTokenizer('ref_missing', { resolver }));
      expect(missing).toBeInstanceOf(AssetCardError);
      expect(missing.message).toBe(`\`nowhere\` asset referenced by the \`ref_missing\` asset card does not exist. (${cardsFile()}:52:16)`);
      const cycle = await caughtAsync(() => loadTokenizer('loop_a', { resolver }));
      expect(cycle).toBeInstanceOf(AssetCardCycleError);
      expect(cycle.message).toBe(`The \`loop_a\` asset card has a cycle in its \`tokenizer_ref\` chain: loop_a -> loop_b -> loop_a. (${cardsFile()}:58:16)`);
    });

    it('reports an unknown card, a family that is not registered, and a card with no tokenizer at all', async () => {
      const resolver = await world();
      expect((await caughtAsync(() => loadTokenizer('nope', { resolver }))).message).toBe('nope is not a known tokenizer.');
      const llama = await caughtAsync(() => loadTokenizer('llama_tok', { resolver }));
      expect(llama).toBeInstanceOf(AssetCardError);
      expect(llama.message).toBe(
        `\`tokenizer_family\` field of the \`llama_tok\` asset card is expected to be a registered tokenizer family (hf, toy), but is \`llama\` instead. (${cardsFile()}:38:19)`,
      );
      const modelOnly = await caughtAsync(() => loadTokenizer('model_only', { resolver }));
      expect(modelOnly).toBeInstanceOf(AssetCardError);
      expect(modelOnly.message).toBe(`\`model_only\` asset card does not have a field named \`tokenizer_family\`. (${cardsFile()}:41:7)`);
    });
  });

  describe('hub accessors', () => {
    it('refuse a family that is not registered, or registered with another schema', async () => {
      const resolver = await world(undefined, { toy: false });
      const missing = caught(() => getToyTokenizerHub(resolver));
      expect(missing).toBeInstanceOf(TokenizerFamilyNotKnownError);
      expect(missing.message).toBe('toy is not a known tokenizer family. Registered families: hf.');

      const impostor = await world(
        (container) =>
          registerTokenizerFamily(container, 'toy', {
            configSchema: Type.Object({ other: Type.String() }, { $id: 'test.Other' }),
            defaultConfig: () => ({ other: '' }),
            loader: (path) => loadHuggingFaceTokenizer(path),
          }),
        { toy: false },
      );
      const mismatch = caught(() => getToyTokenizerHub(impostor));
      expect(mismatch).toBeInstanceOf(InternalError);
      expect(mismatch.message).toBe(
        'The hub accessor of the toy tokenizer family expects the config schema `test.ToyTokenizerConfig`, but the family registered by extras uses `test.Other`.',
      );
    });

    it('a second family under a taken name is an error naming both registrants', async () => {
      const error = await caughtAsync(() => world((container) => registerToy(container)));
      expect(error).toBeInstanceOf(DuplicateRegistrationError);
      expect(error.message).toBe('`TokenizerFamily[toy]` is already registered by extras; the registration by extras is a duplicate.');
    });
  });

  describe('card validation', () => {
    const problems = async (resolver: DependencyResolver): Promise<string[]> => {
      const report = await validateAssetStore(resolver.resolve(AssetStore), resolver.resolveAll(AssetCardValidator), {
        paths: [join(dir.path, 'system'), join(dir.path, 'user')],
      });
      return report.problems.map((p) => p.message);
    };

    it('reports unknown families, overrides that do not fit and broken references', async () => {
      expect(await problems(await world())).toEqual([
        `\`tokenizer_config\` field of the \`toy_bad_override\` asset card is not a valid tokenizer configuration: \`use_end\` is expected to be of type boolean, but is of type string instead. (${cardsFile()}:22:12)`,
        `\`tokenizer_family\` field of the \`llama_tok\` asset card is expected to be a registered tokenizer family (hf, toy), but is \`llama\` instead. (${cardsFile()}:38:19)`,
        `\`nowhere\` asset referenced by the \`ref_missing\` asset card does not exist. (${cardsFile()}:52:16)`,
        `The \`loop_a\` asset card has a cycle in its \`tokenizer_ref\` chain: loop_a -> loop_b -> loop_a. (${cardsFile()}:58:16)`,
      ]);
    });

    it('does not report family names when only the library\'s hf family is installed', async () => {
      const messages = await problems(await world(undefined, { toy: false }));
      expect(messages.some((m) => m.includes('registered tokenizer family'))).toBe(false);
      expect(messages).toContain(`\`nowhere\` asset referenced by the \`ref_missing\` asset card does not exist. (${cardsFile()}:52:16)`);
    });
  });
});
