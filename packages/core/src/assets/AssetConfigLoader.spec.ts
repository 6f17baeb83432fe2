import { Type, type Static } from '@sinclair/typebox';
import { describe, expect, it } from '@jest/globals';

import { caught, yamlStore } from '../../../../test/support/index.js';
import { StandardAssetConfigLoader, assetConfigKeys } from './AssetConfigLoader.js';
import { AssetCardError } from './errors.js';

const LlamaConfig = Type.Object({
  model_dim: Type.Integer(),
  num_layers: Type.Integer(),
  rope: Type.Object({ theta: Type.Number(), scale: Type.Union([Type.Number(), Type.Null()]) }),
  data_dir: Type.String(),
});
type LlamaConfig = Static<typeof LlamaConfig>;

const preset = (): LlamaConfig => ({ model_dim: 64, num_layers: 2, rope: { theta: 10000, scale: null }, data_dir: '' });

const ROOT = '/cards/models.yaml';
const USER = '/home/u/cards/mine.yaml';

function setup(models: string, user = ''): { loader: StandardAssetConfigLoader; warnings: string[]; store: ReturnType<typeof yamlStore> } {
  const warnings: string[] = [];
  const variables: Record<string, string> = { DATA: '/data' };
  const loader = new StandardAssetConfigLoader({ get: (name) => variables[name] }, (w) => warnings.push(w));
  const store = yamlStore({ builtin: { [ROOT]: models }, user: user === '' ? {} : { [USER]: user } });
  return { loader, warnings, store };
}

describe(StandardAssetConfigLoader, () => {
  it('returns the base object itself when no card of the chain overrides it', () => {
    const { loader, store } = setup('name: a\nmodel_family: llama\n---\nname: b\nbase: a\n');
    const base = preset();

    expect(loader.load(store.retrieveCard('b'), base, 'model', LlamaConfig)).toBe(base);
  });

  it('merges overrides root to leaf, with directives and ${env:...}, into a new object', () => {
    const { loader, store, warnings } = setup(
      'name: a\nmodel_config:\n  num_layers: 4\n  rope: {theta: 500000, scale: 8}\n---\nname: b\nbase: a\nmodel_config:\n  rope: {_set_: {theta: 1.5, scale: null}}\n  data_dir: "${env:DATA}/b"\n',
    );
    const base = preset();
    const config = loader.load(store.retrieveCard('b'), base, 'model', LlamaConfig);

    expect(config).toEqual({ model_dim: 64, num_layers: 4, rope: { theta: 1.5, scale: null }, data_dir: '/data/b' });
    expect(base).toEqual(preset());
    expect(warnings).toEqual([]);
  });

  it('applies an @user overlay on top of the card it overlays', () => {
    const { loader, store } = setup('name: a\nmodel_config: {num_layers: 4, model_dim: 8}\n', 'name: a@user\nmodel_config: {num_layers: 6}\n');

    expect(loader.load(store.retrieveCard('a'), preset(), 'model', LlamaConfig)).toMatchObject({ num_layers: 6, model_dim: 64 });
  });

  it('points at the unknown key in the card that wrote it', () => {
    const { loader, store } = setup('name: a\nmodel_config:\n  num_layerz: 4\n---\nname: b\nbase: a\nmodel_config: {model_dim: 8}\n');
    const error = caught(() => loader.load(store.retrieveCard('b'), preset(), 'model', LlamaConfig));

    expect(error).toBeInstanceOf(AssetCardError);
    expect(error.message).toBe(
      `\`model_config\` field of the \`b\` asset card is not a valid model configuration: \`num_layerz\` is not a known key. (${ROOT}:3:3)`,
    );
    expect(error).toMatchObject({ cardName: 'b', field: 'model_config', file: ROOT, line: 3, column: 3 });
  });

  it('points at a value of the wrong type, through _set_', () => {
    const { loader, store } = setup('name: a\ntokenizer_config:\n  rope:\n    _set_: {theta: "big", scale: 1}\n');
    const error = caught(() => loader.load(store.retrieveCard('a'), preset(), 'tokenizer', LlamaConfig));

    expect(error.message).toBe(
      `\`tokenizer_config\` field of the \`a\` asset card is not a valid tokenizer configuration: \`rope.theta\` is expected to be of type number, but is of type string instead. (${ROOT}:4:20)`,
    );
  });

  it('points at the leaf-most card that wrote a value', () => {
    const { loader, store } = setup('name: a\nmodel_config: {model_dim: "x"}\n', 'name: a@user\nmodel_config: {model_dim: "y"}\n');

    expect(caught(() => loader.load(store.retrieveCard('a'), preset(), 'model', LlamaConfig)).message).toBe(
      `\`model_config\` field of the \`a\` asset card is not a valid model configuration: \`model_dim\` is expected to be of type integer, but is of type string instead. (${USER}:2:27)`,
    );
  });

  it('counts the other problems, and check() lists them all', () => {
    const { loader, store } = setup('name: a\nmodel_config:\n  model_dim: 1.5\n  bogus: 1\n  rope: {_del_: [scale]}\n');
    const card = store.retrieveCard('a');

    expect(caught(() => loader.load(card, preset(), 'model', LlamaConfig)).message).toBe(
      `\`model_config\` field of the \`a\` asset card is not a valid model configuration: \`bogus\` is not a known key. (2 more problems) (${ROOT}:4:3)`,
    );
    expect(loader.check(card, preset(), 'model', LlamaConfig).map((e) => e.message)).toEqual([
      `\`model_config\` field of the \`a\` asset card is not a valid model configuration: \`bogus\` is not a known key. (${ROOT}:4:3)`,
      `\`model_config\` field of the \`a\` asset card is not a valid model configuration: \`model_dim\` is expected to be of type integer, but is of type number instead. (${ROOT}:3:14)`,
      `\`model_config\` field of the \`a\` asset card is not a valid model configuration: \`rope.scale\` is missing. (${ROOT}:5:3)`,
    ]);
    expect(loader.check(store.retrieveCard('a'), preset(), 'dataset', LlamaConfig)).toEqual([]);
  });

  it('points at a malformed directive', () => {
    const { loader, store } = setup('name: a\nmodel_config:\n  rope:\n    _del_: [nope]\n');

    expect(caught(() => loader.load(store.retrieveCard('a'), preset(), 'model', LlamaConfig)).message).toBe(
      `\`model_config\` field of the \`a\` asset card cannot be merged with the base configuration: \`rope._del_\` names \`nope\`, which is not a key of \`rope\`. (${ROOT}:4:5)`,
    );
  });

  it('refuses an override that is not a mapping', () => {
    const { loader, store } = setup('name: a\nmodel_config: [1]\n');

    expect(caught(() => loader.load(store.retrieveCard('a'), preset(), 'model', LlamaConfig)).message).toBe(
      `\`model_config\` field of the \`a\` asset card is expected to be of type object, but is of type list instead. (${ROOT}:2:15)`,
    );
  });

  it('applies every spelling along the chain, warning once when they are mixed', () => {
    const { loader, store, warnings } = setup(
      'name: root\nmodel_config_overrides: {num_layers: 3}\n---\nname: mid\nbase: root\nmodel_config_override: {model_dim: 16}\n---\nname: leaf\nbase: mid\nmodel_config: {num_layers: 5}\n',
    );
    const card = store.retrieveCard('leaf');

    expect(loader.load(card, preset(), 'model', LlamaConfig)).toMatchObject({ num_layers: 5, model_dim: 16 });
    loader.load(card, preset(), 'model', LlamaConfig);
    expect(warnings).toEqual([
      'The `leaf` asset card mixes `model_config_overrides` (in `root`) and `model_config_override` (in `mid`) and `model_config` (in `leaf`) along its base chain; fs2 applies all of them, root to leaf, where fairseq2 would apply only `model_config_overrides`.',
    ]);
  });

  it('names the keys of each kind in fairseq2 priority order', () => {
    expect(assetConfigKeys('dataset')).toEqual(['dataset_config_overrides', 'dataset_config_override', 'dataset_config']);
  });
});
