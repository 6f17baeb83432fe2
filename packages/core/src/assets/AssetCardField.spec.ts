import { describe, expect, it } from '@jest/globals';

import { caught, yamlProvider } from '../../../../test/support/index.js';
import { InMemoryAssetMetadataSource } from './InMemoryAssetMetadataSource.js';
import { StandardAssetStore } from './AssetStore.js';
import { AssetCardError } from './errors.js';

const FILE = '/cards/models.yaml';
const store = new StandardAssetStore([
  yamlProvider('builtin', {
    [FILE]: `name: x
s: text
n: 1.5
i: 3
t: true
o: {a: 1}
l: [a, b]
ml: [a, 2]
nul: null
rel: weights/model.safetensors
abs: /abs/model.safetensors
hg: "hg://Qwen/Qwen3-0.6B"
empty: ""
choice: hg
`,
    '/user/cards/child.yaml': 'name: child\nbase: x\nown: models/mine.safetensors\n',
  }),
]);
const card = store.retrieveCard('x');
const at = (line: number, column: number): string => ` (${FILE}:${line}:${column})`;

describe('AssetCard fields', () => {
  it('throws fairseq2 sentence for a missing field, at the card name', () => {
    const error = caught(() => card.field('checkpoint'));

    expect(error).toBeInstanceOf(AssetCardError);
    expect(error.message).toBe(`\`x\` asset card does not have a field named \`checkpoint\`.${at(1, 7)}`);
    expect(error).toMatchObject({ cardName: 'x', field: 'checkpoint', line: 1, column: 7 });
    expect(card.maybeField('checkpoint')).toBeUndefined();
    expect(card.hasField('checkpoint')).toBe(false);
    expect(card.hasField('s')).toBe(true);
  });

  it.each([
    ['asString', 's', 'text'],
    ['asNumber', 'n', 1.5],
    ['asNumber', 'i', 3],
    ['asInteger', 'i', 3],
    ['asBoolean', 't', true],
    ['asObject', 'o', { a: 1 }],
    ['asList', 'l', ['a', 'b']],
    ['asStringList', 'l', ['a', 'b']],
  ] as const)('%s reads %s', (method, name, value) => {
    expect(card.field(name)[method]()).toEqual(value);
  });

  it.each([
    ['asString', 'i', 'string', 'number', at(4, 4)],
    ['asNumber', 't', 'number', 'boolean', at(5, 4)],
    ['asNumber', 's', 'number', 'string', at(2, 4)],
    ['asInteger', 'n', 'integer', 'number', at(3, 4)],
    ['asBoolean', 's', 'boolean', 'string', at(2, 4)],
    ['asObject', 'l', 'object', 'list', at(7, 4)],
    ['asList', 'o', 'list', 'object', at(6, 4)],
    ['asString', 'nul', 'string', 'null', at(9, 6)],
  ] as const)('%s of %s throws the typed sentence', (method, name, expected, actual, location) => {
    const error = caught(() => card.field(name)[method]());

    expect(error).toBeInstanceOf(AssetCardError);
    expect(error.message).toBe(
      `\`${name}\` field of the \`x\` asset card is expected to be of type ${expected}, but is of type ${actual} instead.${location}`,
    );
    expect(error).toMatchObject({ field: name, cardName: 'x' });
  });

  it('names the item that is not a string in a string list', () => {
    expect(caught(() => card.field('ml').asStringList()).message).toBe(
      `\`ml\` field of the \`x\` asset card is expected to be a list of strings, but its item at index 1 is of type number.${at(8, 9)}`,
    );
  });

  it('checks one-of values', () => {
    expect(card.field('choice').asOneOf(['hg', 'sp'])).toBe('hg');
    expect(caught(() => card.field('s').asOneOf(['hg', 'sp'])).message).toBe(
      `\`s\` field of the \`x\` asset card is expected to be one of \`hg\`, \`sp\`, but is \`text\` instead.${at(2, 4)}`,
    );
  });

  describe('.asUri', () => {
    it('keeps URIs with a scheme', () => {
      const uri = card.field('hg').asUri();

      expect(uri.scheme).toBe('hg');
      expect(uri.rest).toBe('Qwen/Qwen3-0.6B');
    });

    it('turns an absolute path into a file URI', () => {
      expect(card.field('abs').asUri().toPath()).toBe('/abs/model.safetensors');
    });

    it("resolves a relative path against the folder of the file that wrote it, even through a child card", () => {
      const child = store.retrieveCard('child');

      expect(child.field('rel').asUri().toPath()).toBe('/cards/weights/model.safetensors');
      expect(child.field('own').asUri().toPath()).toBe('/user/cards/models/mine.safetensors');
      expect(child.field('rel').card).toBe(child);
      expect(child.field('rel').dir).toBe('/cards');
    });

    it('refuses an empty string', () => {
      expect(caught(() => card.field('empty').asUri()).message).toBe(
        `\`empty\` field of the \`x\` asset card is expected to be a URI or a pathname, but is an empty string.${at(13, 8)}`,
      );
    });

    it('refuses a relative path in an in-memory card', async () => {
      const [provider] = await new InMemoryAssetMetadataSource('mem', [{ name: 'm', checkpoint: 'a/b.pt' }]).load();
      const memory = new StandardAssetStore(provider === undefined ? [] : [provider]).retrieveCard('m');
      const error = caught(() => memory.field('checkpoint').asUri());

      expect(error.message).toBe('`checkpoint` field of the `m` asset card is a relative pathname and cannot be converted to a URI.');
      expect(error).toMatchObject({ file: undefined, line: undefined, column: undefined });
    });
  });

  it('locates nested values', () => {
    expect(card.field('o').locate(['a'])).toEqual({
      key: { file: FILE, line: 6, column: 5 },
      value: { file: FILE, line: 6, column: 8 },
    });
    expect(card.field('o').locate([])).toEqual({
      key: { file: FILE, line: 6, column: 1 },
      value: { file: FILE, line: 6, column: 4 },
    });
  });

  it('exposes the synthesized __source__ and __base_path__ fields', () => {
    expect(card.field('__source__').asString()).toBe('builtin');
    expect(card.field('__base_path__').asString()).toBe('/cards');
    expect(store.retrieveCard('child').field('__source__').asString()).toBe('builtin');
  });
});
