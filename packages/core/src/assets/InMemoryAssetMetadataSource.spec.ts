import { describe, expect, it } from '@jest/globals';

import { caught } from '../../../../test/support/index.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { InMemoryAssetMetadataSource } from './InMemoryAssetMetadataSource.js';

describe(InMemoryAssetMetadataSource, () => {
  it('reads entries with canonical names and no file', async () => {
    const [provider] = await new InMemoryAssetMetadataSource('my_source', [
      { name: 'foo1', model_family: 'foo', base: ' bar ' },
      { name: 'foo2@user', model_config: { a: [1, 2] } },
    ]).load();

    expect(provider?.source).toBe('my_source');
    expect(provider?.problems).toEqual([]);
    expect(provider?.entries.map((e) => e.name)).toEqual(['foo1@', 'foo2@user']);
    expect(provider?.entries[0]?.fields.get('base')?.value).toBe('bar');
    expect(provider?.entries[0]?.file).toBeUndefined();
    expect(provider?.entries[0]?.fields.get('model_family')?.location).toBeUndefined();
  });

  it('never changes the caller entries, before or after loading', async () => {
    const entries = [{ name: 'foo', model_config: { a: 1 } }];
    const source = new InMemoryAssetMetadataSource('s', entries);
    entries[0]!.model_config.a = 2;
    const [provider] = await source.load();

    expect(entries).toEqual([{ name: 'foo', model_config: { a: 2 } }]);
    expect(provider?.entries[0]?.fields.get('model_config')?.value).toEqual({ a: 1 });
    expect(Object.isFrozen(provider?.entries[0]?.fields.get('model_config')?.value)).toBe(true);
  });

  it.each([
    [[{ model_family: 'x' }], 'The entry at index 0 of the s source has no `name` field.'],
    [[{ name: 'a@b@c' }], '`a@b@c` is not a valid asset name: a name is `name` or `name@environment`, with a non-empty name part and at most one `@`.'],
    [[{ name: 'a', base: 'b@env' }], '`base` field of the `a` asset card must name a card without environment (no `@`, not empty), but is `b@env`.'],
    [[{ name: 'a', when: new Date(0) }], 'The entry at index 0 of the s source holds a Date at `when`: card values are plain data, nested at most 64 levels.'],
    [[{ name: 'a', x: { y: [undefined] } }], 'The entry at index 0 of the s source holds a value of type undefined at `x.y.0`: card values are plain data, nested at most 64 levels.'],
    [['text'], 'The entry at index 0 of the s source is expected to be an object (one card).'],
  ] as [Record<string, unknown>[], string][])('reports a bad entry: %j', async (entries, message) => {
    const [provider] = await new InMemoryAssetMetadataSource('s', entries).load();

    expect(provider?.entries).toEqual([]);
    expect(provider?.problems.map((p) => p.message)).toEqual([message]);
  });

  it('refuses entries that cannot be copied, and an empty source name', () => {
    const error = caught(() => new InMemoryAssetMetadataSource('s', [{ name: 'a', f: () => 1 }]));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe('The entries of the s asset source must be plain data (strings, numbers, booleans, null, lists, objects).');
    expect(caught(() => new InMemoryAssetMetadataSource(' ', [])).message).toBe('The name of an in-memory asset source must not be empty.');
  });
});
