import { describe, expect, it } from '@jest/globals';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { TokenSampler, argMax, topIndices } from './TokenSampler.js';

/** Logits whose softmax is exactly `probabilities`. */
function logitsOf(probabilities: number[]): Float32Array {
  return Float32Array.from(probabilities.map(Math.log));
}

function histogram(sampler: TokenSampler, logits: Float32Array, draws: number): number[] {
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) {
    const t = sampler.sample(logits);
    counts[t] = (counts[t] as number) + 1;
  }
  return counts;
}

describe(TokenSampler, () => {
  const logits = Float32Array.from([0.5, 2.5, -1, 2.5, 1.2]);

  it('is greedy by default, ties going to the lowest id', () => {
    expect(new TokenSampler().sample(logits)).toBe(1);
    expect(argMax(logits)).toBe(1);
  });

  it('gives the same tokens for the same seed and others for another seed', () => {
    const flat = new Float32Array(50).fill(0);
    const draw = (seed: number) => {
      const sampler = new TokenSampler({ temperature: 1, seed });
      return Array.from({ length: 20 }, () => sampler.sample(flat));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('equals greedy with topK = 1', () => {
    const sampler = new TokenSampler({ temperature: 1.5, topK: 1, seed: 3 });
    for (let i = 0; i < 10; i++) {
      expect(sampler.sample(logits)).toBe(1);
    }
  });

  it('draws only among the topK tokens', () => {
    const counts = histogram(new TokenSampler({ temperature: 1, topK: 2, seed: 1 }), logits, 400);
    expect(counts[0]! + counts[2]! + counts[4]!).toBe(0);
    expect(counts[1]! + counts[3]!).toBe(400);
  });

  it('keeps the nucleus up to and including the token that crosses topP', () => {
    const p = logitsOf([0.2, 0.5, 0.3]);
    // 0.5 < 0.6, so 0.3 is kept too; 0.2 is out.
    let counts = histogram(new TokenSampler({ temperature: 1, topP: 0.6, seed: 2 }), p, 600);
    expect(counts[0]).toBe(0);
    expect(counts[1]! > 0 && counts[2]! > 0).toBe(true);
    // The mass before the second token is 0.5, not below 0.5: only the first stays.
    counts = histogram(new TokenSampler({ temperature: 1, topP: 0.5, seed: 2 }), p, 100);
    expect(counts).toEqual([0, 100, 0]);
  });

  it('samples in proportion to softmax(logits / temperature)', () => {
    const p = logitsOf([0.1, 0.6, 0.3]);
    const counts = histogram(new TokenSampler({ temperature: 1, seed: 11 }), p, 20_000);
    expect(counts[0]! / 20_000).toBeCloseTo(0.1, 1);
    expect(counts[1]! / 20_000).toBeCloseTo(0.6, 1);
    // A high temperature flattens the distribution.
    const hot = histogram(new TokenSampler({ temperature: 100, seed: 11 }), p, 20_000);
    expect(hot[0]! / 20_000).toBeCloseTo(1 / 3, 1);
  });

  it('finds a nucleus larger than its first candidate batch', () => {
    const flat = new Float32Array(3000).fill(0);
    const counts = histogram(new TokenSampler({ temperature: 1, topP: 0.9005, seed: 5 }), flat, 300);
    // Ties keep the lowest ids; 2701/3000 < 0.9005 < 2702/3000: the nucleus is ids 0..2701.
    expect(counts.slice(2702).every((c) => c === 0)).toBe(true);
    expect(counts.slice(256, 2702).some((c) => c > 0)).toBe(true);
  });

  it.each([
    [{ temperature: -1 }, 'temperature', '`temperature` must be a finite number >= 0, but is -1.'],
    [{ topK: 1.5 }, 'topK', '`topK` must be an integer >= 0, but is 1.5.'],
    [{ topP: 0 }, 'topP', '`topP` must be in (0, 1], but is 0.'],
  ])('rejects %j', (options, argument, message) => {
    let error: unknown;
    try {
      new TokenSampler(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ argument, message });
  });
});

describe(topIndices, () => {
  it('returns the k largest, largest first, lower ids first on ties', () => {
    const v = Float32Array.from([3, 9, 1, 9, 5, 7]);
    expect([...topIndices(v, 3)]).toEqual([1, 3, 5]);
    expect([...topIndices(v, 6)]).toEqual([1, 3, 5, 4, 0, 2]);
    expect([...topIndices(v, 10)]).toEqual([1, 3, 5, 4, 0, 2]);
  });
});
