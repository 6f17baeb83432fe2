import { describe, expect, it } from '@jest/globals';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { FakeGang } from './FakeGang.js';
import type { ReduceOperation } from './Gang.js';

describe(FakeGang, () => {
  it('is rank 0 of 1 by default, and every collective is the identity', () => {
    const gang = new FakeGang();
    const data = new Float32Array([1.5, -2, 3]);

    gang.barrier();
    gang.allReduce(data, 'sum');
    gang.allReduce(data, 'product');
    gang.broadcast(data, 0);

    expect([gang.rank, gang.size]).toEqual([0, 1]);
    expect([...data]).toEqual([1.5, -2, 3]);
    expect([...gang.allGather(data)]).toEqual([1.5, -2, 3]);
  });

  it.each<[ReduceOperation, number[]]>([
    ['sum', [3, -6, 1.5]],
    ['product', [1, -8, 0.125]],
    ['mean', [1, -2, 0.5]],
    ['min', [1, -2, 0.5]],
    ['max', [1, -2, 0.5]],
  ])('simulates %s over 3 ranks that hold the same data', (op, expected) => {
    const data = new Float32Array([1, -2, 0.5]);

    new FakeGang({ rank: 1, size: 3 }).allReduce(data, op);

    expect([...data]).toEqual(expected);
  });

  it('all-gathers a copy of the input into every rank slot, into a given output', () => {
    const gang = new FakeGang({ rank: 0, size: 3 });
    const output = new Float32Array(6);

    const result = gang.allGather(new Float32Array([7, 8]), output);

    expect(result).toBe(output);
    expect([...output]).toEqual([7, 8, 7, 8, 7, 8]);
  });

  it('rejects an all-gather output of the wrong length', () => {
    expect(() => new FakeGang({ size: 2 }).allGather(new Float32Array(3), new Float32Array(5))).toThrow(
      new InvalidArgumentError(
        'output',
        '`output` must have 6 elements (the gang size 2 times the 3 elements of `data`), but has 5 instead.',
      ),
    );
  });

  it('broadcasts only from its own rank, as fairseq2', () => {
    const gang = new FakeGang({ rank: 1, size: 2 });
    const data = new Float32Array([4]);

    gang.broadcast(data, 1);

    expect([...data]).toEqual([4]);
    expect(() => gang.broadcast(data)).toThrow('`sourceRank` of a fake gang must be its own rank (1), but is 0 instead.');
  });

  it('creates sub-gangs as fairseq2: the index in `ranks` is the rank', () => {
    const gang = new FakeGang({ rank: 2, size: 4 });

    const sub = gang.createGang([3, 2]);

    expect(sub).toBeInstanceOf(FakeGang);
    expect([sub?.rank, sub?.size]).toEqual([1, 2]);
    expect(gang.createGang([0, 1])).toBeUndefined();
  });

  it.each<[number[], string]>([
    [[], '`ranks` must name at least one rank, but is empty.'],
    [[0, 4], 'The rank at index 1 of `ranks` must be an integer greater than or equal to 0 and less than the size of the gang (4), but is 4 instead.'],
    [[-1], 'The rank at index 0 of `ranks` must be an integer greater than or equal to 0 and less than the size of the gang (4), but is -1 instead.'],
    [[1.5], 'The rank at index 0 of `ranks` must be an integer greater than or equal to 0 and less than the size of the gang (4), but is 1.5 instead.'],
    [[1, 2, 1], 'The ranks in `ranks` must be unique, but are [1, 2, 1].'],
  ])('rejects the sub-gang ranks %j', (ranks, message) => {
    expect(() => new FakeGang({ size: 4 }).createGang(ranks)).toThrow(new InvalidArgumentError('ranks', message));
  });

  it('rejects an unknown reduce operation', () => {
    expect(() => new FakeGang().allReduce(new Float32Array(1), 'avg' as ReduceOperation)).toThrow(
      "`op` must be one of 'sum', 'mean', 'product', 'min', 'max', but is \"avg\" instead.",
    );
  });

  it.each([
    [{ size: 0 }, '`size` must be an integer greater than 0, but is 0 instead.'],
    [{ size: 2, rank: 2 }, '`rank` must be an integer greater than or equal to 0 and less than `size` (2), but is 2 instead.'],
    [{ rank: -1 }, '`rank` must be an integer greater than or equal to 0 and less than `size` (1), but is -1 instead.'],
  ])('rejects the options %j', (options, message) => {
    expect(() => new FakeGang(options)).toThrow(message);
  });
});
