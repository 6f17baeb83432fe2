import { describe, expect, it } from '@jest/globals';

import { caught } from '../../../../test/support/index.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { SequenceBatch, TokenizedExample } from './SequenceBatch.js';
import { SequenceBatchReader } from './SequenceBatchReader.js';

const example = (...tokens: number[]): TokenizedExample => ({ tokens: Int32Array.from(tokens) });

function rows(batch: SequenceBatch): { inputs: number[]; targets: number[]; mask: number[] }[] {
  return Array.from({ length: batch.batchSize }, (_, b) => {
    const at = (a: ArrayLike<number>): number[] => Array.from(a).slice(b * batch.seqLen, (b + 1) * batch.seqLen);
    return { inputs: at(batch.inputs), targets: at(batch.targets), mask: at(batch.targetMask) };
  });
}

function readAll(reader: SequenceBatchReader): SequenceBatch[] {
  const batches: SequenceBatch[] = [];
  for (let batch = reader.next(); batch !== undefined; batch = reader.next()) {
    batches.push(batch);
  }
  return batches;
}

describe('SequenceBatchReader', () => {
  const corpus = [example(1, 2, 3, 4), example(5, 6, 7), example(8, 9, 10, 11, 12)];

  it('packs examples into rows of maxSeqLen, each token but the first a target once', () => {
    const reader = new SequenceBatchReader(corpus, { batchSize: 2, maxSeqLen: 4, packing: true, shuffle: false, padId: 0 });
    const batches = readAll(reader);

    expect(batches.map((b) => [b.batchSize, b.seqLen])).toEqual([
      [2, 4],
      [1, 4],
    ]);
    expect(batches.flatMap(rows)).toEqual([
      { inputs: [1, 2, 3, 4], targets: [2, 3, 4, 5], mask: [1, 1, 1, 1] },
      { inputs: [5, 6, 7, 8], targets: [6, 7, 8, 9], mask: [1, 1, 1, 1] },
      { inputs: [9, 10, 11, 0], targets: [10, 11, 12, 0], mask: [1, 1, 1, 0] },
    ]);
    expect(batches.map((b) => [b.numTargets, b.numElements])).toEqual([
      [8, 8],
      [3, 3],
    ]);
    expect(reader.batchesPerEpoch).toBe(2);
    expect(reader.stats).toEqual({ examples: 3, dropped: 0, truncated: 0, tokens: 12 });
  });

  it('puts one example per row without packing, padded to the longest of its batch, and truncates long ones', () => {
    const reader = new SequenceBatchReader([...corpus, example(1, 2, 3, 4, 5, 6, 7, 8)], {
      batchSize: 3,
      maxSeqLen: 5,
      shuffle: false,
      padId: 99,
    });
    const [first, second] = readAll(reader) as [SequenceBatch, SequenceBatch];

    expect(rows(first)).toEqual([
      { inputs: [1, 2, 3, 99], targets: [2, 3, 4, 99], mask: [1, 1, 1, 0] },
      { inputs: [5, 6, 99, 99], targets: [6, 7, 99, 99], mask: [1, 1, 0, 0] },
      { inputs: [8, 9, 10, 11], targets: [9, 10, 11, 12], mask: [1, 1, 1, 1] },
    ]);
    expect(rows(second)).toEqual([{ inputs: [1, 2, 3, 4, 5], targets: [2, 3, 4, 5, 6], mask: [1, 1, 1, 1, 1] }]);
    expect(first.numTargets).toBe(9);
    expect(reader.stats.truncated).toBe(1);
  });

  it('keeps target masks, drops examples that predict nothing, and starts a packed stream without a target', () => {
    const masked: TokenizedExample = { tokens: Int32Array.from([1, 2, 3, 4]), targetMask: Uint8Array.from([0, 0, 1, 1]) };
    const promptOnly: TokenizedExample = { tokens: Int32Array.from([1, 2, 3]), targetMask: Uint8Array.from([0, 0, 0]) };
    const reader = new SequenceBatchReader([masked, promptOnly, example(7)], { batchSize: 4, maxSeqLen: 8, shuffle: false });

    expect(reader.stats).toEqual({ examples: 3, dropped: 2, truncated: 0, tokens: 4 });
    expect(rows(reader.next() as SequenceBatch)).toEqual([{ inputs: [1, 2, 3], targets: [2, 3, 4], mask: [0, 1, 1] }]);

    const packed = new SequenceBatchReader([example(1, 2), example(3, 4)], { batchSize: 1, maxSeqLen: 3, packing: true, shuffle: false });
    expect(rows(packed.next() as SequenceBatch)).toEqual([{ inputs: [1, 2, 3], targets: [2, 3, 4], mask: [1, 1, 1] }]);
  });

  it('shuffles every epoch differently, the same way for the same seed', () => {
    const many = Array.from({ length: 20 }, (_, i) => example(i + 1, i + 1));
    const order = (reader: SequenceBatchReader): number[] => readAll(reader).flatMap((b) => Array.from(b.inputs));
    const a = new SequenceBatchReader(many, { batchSize: 4, maxSeqLen: 2, seed: 7 });
    const b = new SequenceBatchReader(many, { batchSize: 4, maxSeqLen: 2, seed: 7 });
    const c = new SequenceBatchReader(many, { batchSize: 4, maxSeqLen: 2, seed: 8 });
    const epoch0 = order(a);

    expect(order(b)).toEqual(epoch0);
    expect(order(c)).not.toEqual(epoch0);
    expect([...epoch0].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    a.nextEpoch();
    expect(a.epoch).toBe(1);
    expect(order(a)).not.toEqual(epoch0);
  });

  it('continues from a saved state with exactly the batches it would have read', () => {
    const many = Array.from({ length: 30 }, (_, i) => example(i, i + 1, i + 2));
    const options = { batchSize: 3, maxSeqLen: 4, packing: true, seed: 3 } as const;
    const reference = new SequenceBatchReader(many, options);
    reference.nextEpoch();
    reference.next();
    reference.next();
    const state = reference.state();
    const rest = readAll(reference).map((b) => Array.from(b.inputs));

    const resumed = new SequenceBatchReader(many, options);
    resumed.restoreState(state);
    expect(state).toEqual({ epoch: 1, position: 2 });
    expect(readAll(resumed).map((b) => Array.from(b.inputs))).toEqual(rest);
  });

  it('drops the last partial batch when asked', () => {
    const reader = new SequenceBatchReader(corpus, { batchSize: 2, maxSeqLen: 4, packing: true, shuffle: false, dropRemainder: true });
    expect(reader.batchesPerEpoch).toBe(1);
    expect(readAll(reader)).toHaveLength(1);
  });

  it('refuses bad options and states', () => {
    const zero = caught(() => new SequenceBatchReader(corpus, { batchSize: 0, maxSeqLen: 4 }));
    expect(zero).toBeInstanceOf(InvalidArgumentError);
    expect(zero.message).toBe('`batchSize` must be a positive integer, but is 0.');

    const reader = new SequenceBatchReader(corpus, { batchSize: 1, maxSeqLen: 4, packing: true });
    expect(caught(() => reader.restoreState({ epoch: 0, position: 9 })).message).toBe(
      'The reader state is at batch 9 of epoch 0, but an epoch of this reader has 3 batches: it was saved by a reader over other data or options.',
    );
    expect(caught(() => reader.restoreState({ epoch: -1, position: 0 })).message).toBe(
      'The reader state {"epoch":-1,"position":0} is not valid: epoch and position are non-negative integers.',
    );
  });
});
