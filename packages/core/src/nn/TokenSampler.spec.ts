import { describe, expect, it } from '@jest/globals';
import seedrandom from 'seedrandom';

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

  it('picks the same tokens as sorting the whole vocabulary would, for top-p over a 20k vocabulary, ties included', () => {
    const n = 20_000;
    let state = 7;
    const random = (): number => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
    const cases = [
      Float32Array.from({ length: n }, () => random() * 0.01), // nearly flat: a nucleus of most of the vocabulary
      Float32Array.from({ length: n }, () => random() * 20 - 10), // peaked
      Float32Array.from({ length: n }, () => Math.round(random() * 4)), // five values: ties everywhere
    ];
    for (const logits of cases) {
      for (const topP of [0.05, 0.5, 0.95]) {
        const reference = referenceTopP(logits, 1.3, topP, 11);
        const sampler = new TokenSampler({ temperature: 1.3, topP, seed: 11 });
        expect(Array.from({ length: 5 }, () => sampler.sample(logits))).toEqual(reference);
      }
    }
  });
});

/** Top-p sampling by a full sort, as TokenSampler did before: 5 draws with `seed`. */
function referenceTopP(logits: Float32Array, temperature: number, topP: number, seed: number): number[] {
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((i, j) => (logits[j] as number) - (logits[i] as number) || i - j);
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v / temperature);
  let total = 0;
  for (const v of logits) total += Math.exp(v / temperature - max);
  const probabilities = order.map((i) => Math.exp((logits[i] as number) / temperature - max) / total);
  let mass = 0;
  let keep = 0;
  while (keep < probabilities.length && mass < topP) {
    mass += probabilities[keep] as number;
    keep++;
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += probabilities[i] as number;
  const random = seedrandom(String(seed));
  return Array.from({ length: 5 }, () => {
    let u = random() * kept;
    for (let i = 0; i < keep; i++) {
      u -= probabilities[i] as number;
      if (u < 0) return order[i] as number;
    }
    return order[keep - 1] as number;
  });
}
