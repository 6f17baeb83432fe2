import { describe, expect, it } from '@jest/globals';

import { caught, yamlProvider, yamlStore } from '../../../../test/support/index.js';
import type { AssetMetadataSource } from './AssetMetadataSource.js';
import { StandardAssetStore } from './AssetStore.js';
import { AssetCardCycleError, AssetCardError, AssetMetadataError, AssetNotFoundError, AssetSourceNotFoundError } from './errors.js';

const MODELS = '/cards/models.yaml';
const USER = '/home/u/.config/fairseq2/assets/mine.yaml';

const models = `name: llama3
model_family: llama
url: "https://example.com/llama"
---
name: llama3_8b
base: llama3
model_arch: llama3_8b
---
name: qwen3_0.6b
model_family: qwen
checkpoint: "hg://Qwen/Qwen3-0.6B"
`;

describe(StandardAssetStore, () => {
  describe('names', () => {
    it('lists canonical names and card names, sorted', () => {
      const store = yamlStore({
        builtin: { [MODELS]: models },
        user: { [USER]: 'name: zeta@user\n---\nname: llama3_8b@user\ncheckpoint: /x\n---\nname: alpha@cluster\n' },
      });

      expect(store.assetNames).toEqual(['alpha@cluster', 'llama3@', 'llama3_8b@', 'llama3_8b@user', 'qwen3_0.6b@', 'zeta@user']);
      expect(store.cardNames).toEqual(['alpha', 'llama3', 'llama3_8b', 'qwen3_0.6b', 'zeta']);
      expect(store.sources).toEqual(['builtin', 'user']);
      expect(store.maybeGetEntry('llama3_8b@user')?.source).toBe('user');
      expect(store.maybeGetEntry('llama3_8b')).toBeUndefined();
    });

    it('has the user environment, then the detected one', () => {
      expect(yamlStore({}).environments).toEqual(['user']);
      expect(yamlStore({}, { environment: ' cluster ' }).environments).toEqual(['user', 'cluster']);
      expect(yamlStore({}, { environment: 'user' }).environments).toEqual(['user']);
    });
  });

  describe('.retrieveCard', () => {
    const store = yamlStore({ builtin: { [MODELS]: models } });

    it('returns the card with its base chain', () => {
      const card = store.retrieveCard('llama3_8b');

      expect(card.name).toBe('llama3_8b');
      expect(card.base?.name).toBe('llama3');
      expect(card.chain.map((c) => c.name)).toEqual(['llama3_8b', 'llama3']);
      expect(card.field('model_family').asString()).toBe('llama');
      expect(card.field('model_arch').asString()).toBe('llama3_8b');
      expect(card.source).toBe('builtin');
      expect(card.file).toBe(MODELS);
      expect(card.dir).toBe('/cards');
      expect(card.location).toEqual({ file: MODELS, line: 5, column: 7 });
      expect(card.metadata).toEqual({
        base: 'llama3',
        model_arch: 'llama3_8b',
        __source__: 'builtin',
        __base_path__: '/cards',
      });
      expect(card.toString()).toBe(
        'llama3_8b={"base":"llama3","model_arch":"llama3_8b","__source__":"builtin","__base_path__":"/cards"}',
      );
    });

    it('accepts the canonical form and trims', () => {
      expect(store.retrieveCard('llama3_8b@').name).toBe('llama3_8b');
      expect(store.retrieveCard(' llama3_8b ').name).toBe('llama3_8b');
    });

    it('returns the same card object for the same name', () => {
      expect(store.retrieveCard('llama3_8b')).toBe(store.retrieveCard('llama3_8b'));
    });

    it('throws AssetNotFoundError with fairseq2 message', () => {
      const error = caught(() => store.retrieveCard('llama9'));

      expect(error).toBeInstanceOf(AssetNotFoundError);
      expect(error.message).toBe('llama9 asset is not found.');
      expect((error as AssetNotFoundError).assetName).toBe('llama9');
      expect((error as AssetNotFoundError).category).toBe('not_found');
    });

    it.each([[''], ['@user'], ['a@b@c']])('finds nothing for the invalid name %j', (name) => {
      expect(store.maybeRetrieveCard(name)).toBeUndefined();
    });
  });

  describe('environment overlays', () => {
    const overlays = `name: foo
model_family: llama
checkpoint: /builtin/foo
url: "https://example.com"
---
name: foo@cluster
checkpoint: /cluster/foo
model_config: {a: 1}
---
name: foo@user
checkpoint: /user/foo
---
name: bar
base: foo
---
name: bar@user
tokenizer: /user/bar
`;
    const store = yamlStore({ builtin: { [MODELS]: overlays } }, { environment: 'cluster' });

    it('applies the detected environment, then user on top, field by field', () => {
      const card = store.retrieveCard('foo');

      expect(card.field('checkpoint').asString()).toBe('/user/foo');
      expect(card.field('model_config').value).toEqual({ a: 1 });
      expect(card.field('url').asString()).toBe('https://example.com');
      expect(card.overlays).toEqual(['foo@cluster', 'foo@user']);
      expect(card.field('checkpoint').entry.name).toBe('foo@user');
      expect(card.field('checkpoint').location).toEqual({ file: MODELS, line: 11, column: 13 });
    });

    it('keeps the order fields were first written in', () => {
      expect(store.retrieveCard('foo').fieldNames).toEqual([
        'model_family',
        'checkpoint',
        'url',
        'model_config',
        '__source__',
        '__base_path__',
      ]);
    });

    it('applies only the named environment for name@env, and none for name@', () => {
      expect(store.retrieveCard('foo@cluster').field('checkpoint').asString()).toBe('/cluster/foo');
      expect(store.retrieveCard('foo@').field('checkpoint').asString()).toBe('/builtin/foo');
      expect(store.retrieveCard('foo@elsewhere').field('checkpoint').asString()).toBe('/builtin/foo');
    });

    it('gives base cards the same overlays', () => {
      const card = store.retrieveCard('bar');

      expect(card.field('tokenizer').asString()).toBe('/user/bar');
      expect(card.field('checkpoint').asString()).toBe('/user/foo');
      expect(store.retrieveCard('bar@').field('checkpoint').asString()).toBe('/builtin/foo');
    });

    it('retrieves a card defined only in an environment (fairseq2 cannot)', () => {
      const envOnly = yamlStore({ user: { [USER]: 'name: my_model@user\nbase: foo\ncheckpoint: /mine\n' }, builtin: { [MODELS]: overlays } });
      const card = envOnly.retrieveCard('my_model');

      expect(card.name).toBe('my_model');
      expect(card.source).toBe('user');
      expect(card.field('checkpoint').asString()).toBe('/mine');
      expect(card.field('model_family').asString()).toBe('llama');
      expect(envOnly.retrieveCard('my_model@user').name).toBe('my_model');
      expect(envOnly.maybeRetrieveCard('my_model@')).toBeUndefined();
    });
  });

  describe('base chains', () => {
    it('names the missing base and where it was written', () => {
      const store = yamlStore({ builtin: { [MODELS]: 'name: a\nbase: b\n---\nname: b\nbase: nothing\n' } });
      const error = caught(() => store.retrieveCard('a'));

      expect(error).toBeInstanceOf(AssetCardError);
      expect(error.message).toBe(`\`nothing\` base asset of the \`b\` asset card does not exist. (${MODELS}:5:7)`);
      expect(error).toMatchObject({ cardName: 'b', field: 'base', file: MODELS, line: 5, column: 7 });
    });

    it('shows a base cycle', () => {
      const store = yamlStore({ builtin: { [MODELS]: 'name: a\nbase: b\n---\nname: b\nbase: c\n---\nname: c\nbase: a\n' } });
      const error = caught(() => store.retrieveCard('a'));

      expect(error).toBeInstanceOf(AssetCardCycleError);
      expect(error.message).toBe(`The \`a\` asset card has a cycle in its \`base\` chain: a -> b -> c -> a. (${MODELS}:8:7)`);
      expect(error).toMatchObject({ cycle: ['a', 'b', 'c', 'a'], cardName: 'c', field: 'base' });
      expect(caught(() => store.retrieveCard('b')).message).toBe(
        `The \`b\` asset card has a cycle in its \`base\` chain: b -> c -> a -> b. (${MODELS}:2:7)`,
      );
    });

    it('shows a cycle reached from a card below it', () => {
      const store = yamlStore({ builtin: { [MODELS]: 'name: leaf\nbase: a\n---\nname: a\nbase: b\n---\nname: b\nbase: a\n' } });
      const error = caught(() => store.retrieveCard('leaf'));

      expect(error.message).toBe(`The \`leaf\` asset card has a cycle in its \`base\` chain: a -> b -> a. (${MODELS}:8:7)`);
      expect(error).toMatchObject({ cycle: ['a', 'b', 'a'] });
    });

    it('shows a card that is its own base', () => {
      const store = yamlStore({ builtin: { [MODELS]: 'name: a\nbase: a\n' } });

      expect(caught(() => store.retrieveCard('a')).message).toBe(
        `The \`a\` asset card has a cycle in its \`base\` chain: a -> a. (${MODELS}:2:7)`,
      );
    });

    it('explains the foo@user {base: foo} loop that fairseq2 recurses on forever', () => {
      const store = yamlStore({
        builtin: { [MODELS]: 'name: foo\nmodel_family: llama\n' },
        user: { [USER]: 'name: foo@user\nbase: foo\ncheckpoint: /mine\n' },
      });
      const error = caught(() => store.retrieveCard('foo'));

      expect(error.message).toBe(
        `The \`foo\` asset card has a cycle in its \`base\` chain: foo -> foo. \`foo@user\` is an overlay of \`foo\` and extends it already: it needs no \`base\` field. (${USER}:2:7)`,
      );
      expect(store.retrieveCard('foo@').field('model_family').asString()).toBe('llama');
    });
  });

  describe('.findCards', () => {
    it('returns the matching cards, inherited fields included, sorted', () => {
      const store = yamlStore({
        b: { '/b/z.yaml': 'name: zz\nbase: llama3\n---\nname: aa@user\nmodel_family: llama\n' },
        a: { [MODELS]: models },
      });

      expect(store.findCards('model_family', 'llama').map((c) => c.name)).toEqual(['aa', 'llama3', 'llama3_8b', 'zz']);
      expect(store.findCards('model_family', 'qwen').map((c) => c.name)).toEqual(['qwen3_0.6b']);
      expect(store.findCards('model_family', 'gpt')).toEqual([]);
    });

    it('compares structured values deeply', () => {
      const store = yamlStore({ a: { [MODELS]: 'name: x\ntokenizer_config: {use_im_end: true}\n' } });

      expect(store.findCards('tokenizer_config', { use_im_end: true }).map((c) => c.name)).toEqual(['x']);
    });
  });

  describe('duplicates', () => {
    it('refuses a name defined in two sources, naming both with their files', () => {
      const error = caught(() =>
        yamlStore({ builtin: { [MODELS]: models }, 'path:/etc/fairseq2/assets': { '/etc/fairseq2/assets/x.yaml': '# x\nname: llama3\n' } }),
      );

      expect(error).toBeInstanceOf(AssetMetadataError);
      expect(error.message).toBe(
        `\`llama3\` asset is defined in both builtin (${MODELS}:1:7) and path:/etc/fairseq2/assets. (/etc/fairseq2/assets/x.yaml:2:7)`,
      );
      expect(error).toMatchObject({ source: 'path:/etc/fairseq2/assets', file: '/etc/fairseq2/assets/x.yaml', line: 2, column: 7 });
    });

    it('refuses a name defined twice in one source', () => {
      const error = caught(() => yamlStore({ s: { '/c/a.yaml': 'name: x\n', '/c/b.yaml': 'name: x@\n' } }));

      expect(error.message).toBe('`x` asset is defined twice in s, first at /c/a.yaml:1:7. (/c/b.yaml:1:7)');
    });

    it('reads the same file reached through two sources once', () => {
      const store = new StandardAssetStore([
        yamlProvider('path:/home/u/.config/fairseq2/assets', { [USER]: 'name: mine\n' }),
        yamlProvider('path:/home/u/.config', { [USER]: 'name: mine\n' }),
      ]);

      expect(store.retrieveCard('mine').source).toBe('path:/home/u/.config/fairseq2/assets');
    });
  });

  describe('lenient loading', () => {
    it('records problems and keeps the first definition', () => {
      const store = yamlStore(
        { a: { '/c/a.yaml': 'name: x\nv: 1\n---\nname: [bad]\n' }, b: { '/c/b.yaml': 'name: x\nv: 2\n' } },
        { lenient: true },
      );

      expect(store.problems.map((p) => p.message)).toEqual([
        '`name` field of the document at index 1 is expected to be of type string, but is of type list instead. (/c/a.yaml:4:7)',
        '`x` asset is defined in both a (/c/a.yaml:1:7) and b. (/c/b.yaml:1:7)',
      ]);
      expect(store.retrieveCard('x').field('v').value).toBe(1);
    });

    it('turns a missing source into a problem', async () => {
      const missing: AssetMetadataSource = {
        load: () => Promise.reject(new AssetSourceNotFoundError('path:/nowhere', '/nowhere does not exist.')),
      };
      const store = await StandardAssetStore.load([missing], { lenient: true });

      expect(store.problems.map((p) => p.message)).toEqual(['path:/nowhere asset source is not found: /nowhere does not exist.']);
      expect(store.sources).toEqual(['path:/nowhere']);
      await expect(StandardAssetStore.load([missing])).rejects.toThrow(AssetSourceNotFoundError);
    });
  });
});
