import { describe, expect, it } from '@jest/globals';

import { checkConfig } from '@fs2/core';

import { caught } from '../../../test/support/index.js';
import { gpt2Archs, type Gpt2ArchName } from './archs.js';
import { Gpt2ConfigError, Gpt2ConfigSchema, checkGpt2Config } from './config.js';
import { Gpt2Model } from './model.js';

describe('gpt2Archs', () => {
  it.each<[Gpt2ArchName, number]>([
    // `GPT2LMHeadModel.num_parameters()` of openai-community/gpt2{,-medium,-large,-xl} (tied head).
    ['gpt2_small', 124_439_808],
    ['gpt2_medium', 354_823_168],
    ['gpt2_large', 774_030_080],
    ['gpt2_xl', 1_557_611_200],
    ['gpt2_tiny', 30_592],
  ])('%s has %d parameters (for the OpenAI models, the published count), counted on a shape-only model', (arch, count) => {
    expect(new Gpt2Model(gpt2Archs[arch]()).numParameters()).toBe(count);
  });

  it('builds presets from each other: medium, large and xl are small with other widths and depths', () => {
    const { model_dim, num_layers, num_heads, ffn_inner_dim, ...rest } = gpt2Archs.gpt2_xl();

    expect(rest).toEqual({ max_seq_len: 1024, vocab_size: 50_257, layer_norm_eps: 1e-5, dropout_p: 0.1 });
    expect({ model_dim, num_layers, num_heads, ffn_inner_dim }).toEqual({ model_dim: 1600, num_layers: 48, num_heads: 25, ffn_inner_dim: 6400 });
  });

  it('returns a fresh object on every call', () => {
    const first = gpt2Archs.gpt2_small();
    first.num_layers = 1;

    expect(gpt2Archs.gpt2_small().num_layers).toBe(12);
    expect(gpt2Archs.gpt2_small()).not.toBe(gpt2Archs.gpt2_small());
  });

  it.each(Object.keys(gpt2Archs))('%s fits the config schema and its own constraints', (arch) => {
    const config = gpt2Archs[arch as Gpt2ArchName]();

    expect(checkConfig(config, Gpt2ConfigSchema)).toEqual([]);
    expect(() => checkGpt2Config(config)).not.toThrow();
  });
});

describe('Gpt2ConfigSchema', () => {
  it('refuses unknown keys and wrong types', () => {
    const problems = checkConfig({ ...gpt2Archs.gpt2_tiny(), num_layerz: 2, model_dim: '32' }, Gpt2ConfigSchema);

    expect(problems.map((p) => p.reason)).toEqual(['`num_layerz` is not a known key.', '`model_dim` is expected to be of type integer, but is of type string instead.']);
  });

  it('has a default for every field, equal to GPT-2 small', () => {
    const defaults = Object.fromEntries(Object.entries(Gpt2ConfigSchema.properties).map(([key, schema]) => [key, schema.default as unknown]));

    expect(defaults).toEqual(gpt2Archs.gpt2_small());
  });
});

describe('checkGpt2Config', () => {
  it('refuses a model width that does not split into the heads', () => {
    const error = caught(() => new Gpt2Model({ ...gpt2Archs.gpt2_tiny(), num_heads: 5 }));

    expect(error).toBeInstanceOf(Gpt2ConfigError);
    expect((error as Gpt2ConfigError).field).toBe('num_heads');
    expect(error.message).toBe('`model_dim` (32) of a GPT-2 config must be a multiple of `num_heads` (5).');
  });
});
