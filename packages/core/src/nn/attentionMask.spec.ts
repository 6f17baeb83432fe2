import { describe, expect, it } from '@jest/globals';

import { attentionMask, firstAttendedKey } from './attentionMask.js';

const X = Number.NEGATIVE_INFINITY;

describe(attentionMask, () => {
  it('is causal without a window', () => {
    expect([...(attentionMask(0, 3, 0, undefined) ?? [])]).toEqual([0, X, X, 0, 0, X, 0, 0, 0]);
  });

  it('lets query i see keys i - W < j <= i (W keys, itself included)', () => {
    expect([...(attentionMask(0, 4, 0, 2) ?? [])]).toEqual([
      0, X, X, X,
      0, 0, X, X,
      X, 0, 0, X,
      X, X, 0, 0,
    ]);
  });

  it('covers a chunk that continues a cache, from the first key in reach', () => {
    const keyStart = firstAttendedKey(5, 3);
    expect(keyStart).toBe(3);
    // queries 5, 6 over keys 3..6
    expect([...(attentionMask(5, 2, keyStart, 3) ?? [])]).toEqual([0, 0, 0, X, X, 0, 0, 0]);
  });

  it('is absent when one query sees every key in reach', () => {
    expect(attentionMask(9, 1, 0, undefined)).toBeUndefined();
    expect(attentionMask(9, 1, firstAttendedKey(9, 4), 4)).toBeUndefined();
  });
});
