import { Type } from '@sinclair/typebox';
import { describe, expect, it } from '@jest/globals';

import { caught } from '../../../../test/support/index.js';
import { ConfigValidationError, formatConfigPath } from './errors.js';
import { checkConfig, structureConfig } from './structureConfig.js';

const Schema = Type.Object({
  num_layers: Type.Integer({ minimum: 1 }),
  dropout_p: Type.Number(),
  norm: Type.Union([Type.Literal('rms'), Type.Literal('layer')]),
  name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  rope: Type.Object({ theta: Type.Number(), scaling: Type.Optional(Type.Object({ factor: Type.Number() })) }),
  dims: Type.Array(Type.Integer()),
  mode: Type.Union([Type.Literal('a'), Type.Integer()]),
  extra: Type.Object({}, { additionalProperties: true }),
});

const valid = {
  num_layers: 2,
  dropout_p: 0.1,
  norm: 'rms',
  rope: { theta: 10000 },
  dims: [1, 2],
  mode: 'a',
  extra: { anything: 1 },
};

describe(structureConfig, () => {
  it('returns the value itself when it fits', () => {
    expect(structureConfig(valid, Schema)).toBe(valid);
  });

  it('lists every problem with a sentence naming its path', () => {
    const problems = checkConfig(
      {
        ...valid,
        num_layers: '2',
        dropout_p: true,
        norm: 'batch',
        name: 3,
        rope: { theta: 1, thetaa: 2, scaling: { factor: 'x' } },
        dims: [1, 2.5],
        mode: [],
        unknown: 1,
      },
      Schema,
    );

    expect(problems.map((p) => [formatConfigPath(p.path), p.kind, p.reason])).toEqual([
      ['unknown', 'unknown_key', '`unknown` is not a known key.'],
      ['num_layers', 'type', '`num_layers` is expected to be of type integer, but is of type string instead.'],
      ['dropout_p', 'type', '`dropout_p` is expected to be of type number, but is of type boolean instead.'],
      ['norm', 'type', '`norm` is expected to be one of "rms", "layer", but is "batch" instead.'],
      ['name', 'type', '`name` is expected to be of type string or null, but is of type number instead.'],
      ['rope.thetaa', 'unknown_key', '`rope.thetaa` is not a known key.'],
      ['rope.scaling.factor', 'type', '`rope.scaling.factor` is expected to be of type number, but is of type string instead.'],
      ['dims[1]', 'type', '`dims[1]` is expected to be of type integer, but is of type number instead.'],
      ['mode', 'type', '`mode` is expected to be one of "a" or of type integer, but is of type list instead.'],
    ]);
  });

  it('reports missing keys and bounds', () => {
    const { num_layers: _removed, ...rest } = valid;

    expect(checkConfig(rest, Schema).map((p) => p.reason)).toEqual(['`num_layers` is missing.']);
    expect(checkConfig({ ...valid, num_layers: 0 }, Schema).map((p) => p.reason)).toEqual(['`num_layers` must be >= 1, but is 0.']);
  });

  it('names the whole configuration when it is not an object', () => {
    expect(checkConfig([1], Schema).map((p) => p.reason)).toEqual([
      'The configuration is expected to be of type object, but is of type list instead.',
    ]);
  });

  it('keeps schemas that allow other keys open', () => {
    expect(checkConfig({ ...valid, extra: { a: 1, b: [2] } }, Schema)).toEqual([]);
  });

  it('throws ConfigValidationError with every problem', () => {
    const error = caught(() => structureConfig({ ...valid, num_layers: 'x', unknown: 1 }, Schema));

    expect(error).toBeInstanceOf(ConfigValidationError);
    expect(error.message).toBe('`unknown` is not a known key. (1 more problem)');
    expect((error as ConfigValidationError).problems).toHaveLength(2);
  });
});
