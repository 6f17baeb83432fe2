import { describe, expect, it } from '@jest/globals';

import { caught } from '../../../../test/support/index.js';
import { ConfigMergeError } from './errors.js';
import { mergeConfig } from './mergeConfig.js';

describe(mergeConfig, () => {
  it('merges mappings recursively and replaces everything else', () => {
    const target = { a: 1, nested: { b: 2, c: [1, 2] }, keep: 'x' };

    expect(mergeConfig(target, { a: 10, nested: { c: [3] }, added: { d: 4 } })).toEqual({
      a: 10,
      nested: { b: 2, c: [3] },
      keep: 'x',
      added: { d: 4 },
    });
  });

  it('changes neither argument and shares nothing with them', () => {
    const target = { nested: { b: 2 }, list: [1] };
    const overrides = { nested: { c: { d: 1 } } };
    const result = mergeConfig(target, overrides) as { nested: { b: number; c: { d: number } }; list: number[] };
    result.nested.b = 99;
    result.nested.c.d = 99;
    result.list.push(2);

    expect(target).toEqual({ nested: { b: 2 }, list: [1] });
    expect(overrides).toEqual({ nested: { c: { d: 1 } } });
  });

  it('replaces the target with overrides that are not a mapping, and treats a scalar target as {}', () => {
    expect(mergeConfig({ a: 1 }, [1, 2])).toEqual([1, 2]);
    expect(mergeConfig({ a: 1 }, null)).toBeNull();
    expect(mergeConfig({ a: 5 }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    expect(mergeConfig(undefined, { a: 1 })).toEqual({ a: 1 });
  });

  it('removes the keys named by _del_ before merging', () => {
    expect(mergeConfig({ a: 1, b: { c: 1, d: 2 } }, { b: { _del_: ['c'] }, _del_: ['a'] })).toEqual({ b: { d: 2 } });
    expect(mergeConfig({ a: { x: 1 } }, { _del_: ['a'], a: { y: 2 } })).toEqual({ a: { y: 2 } });
  });

  it('assigns the values of _set_ wholesale after merging', () => {
    expect(mergeConfig({ tok: { use_im_end: false, other: 1 } }, { tok: { _set_: { use_im_end: true } } })).toEqual({
      tok: { use_im_end: true, other: 1 },
    });
    expect(mergeConfig({ a: { x: 1, y: 2 } }, { _set_: { a: { z: 3 } } })).toEqual({ a: { z: 3 } });
  });

  it('keeps a __proto__ key as an own key, never as the prototype', () => {
    const overrides = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const result = mergeConfig({}, overrides) as Record<string, unknown>;

    expect(Object.keys(result)).toEqual(['__proto__']);
    expect((result as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).not.toHaveProperty('polluted');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it.each([
    [{ _del_: 'a' }, ['_del_'], '`_del_` must be a list of key names.'],
    [{ nested: { _del_: [1] } }, ['nested', '_del_'], '`nested._del_` must be a list of key names.'],
    [{ nested: { _del_: ['zz'] } }, ['nested', '_del_'], '`nested._del_` names `zz`, which is not a key of `nested`.'],
    [{ _del_: ['zz'] }, ['_del_'], '`_del_` names `zz`, which is not a key of the configuration.'],
    [{ _set_: [1] }, ['_set_'], '`_set_` must be a mapping of keys to values.'],
  ])('refuses a malformed directive %j', (overrides, path, message) => {
    const error = caught(() => mergeConfig({ a: 1, nested: { b: 1 } }, overrides));

    expect(error).toBeInstanceOf(ConfigMergeError);
    expect(error.message).toBe(message);
    expect((error as ConfigMergeError).path).toEqual(path);
  });
});
