import seedrandom from 'seedrandom';

/**
 * A random permutation of `0 .. n-1` (Fisher-Yates) drawn from a generator seeded with `seed`:
 * the same seed gives the same permutation on every machine (seedrandom's ARC4 generator is
 * specified to the bit).
 */
export function seededPermutation(n: number, seed: string): Uint32Array {
  const random = seedrandom(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    order[i] = i;
  }
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i] as number;
    order[i] = order[j] as number;
    order[j] = swap;
  }
  return order;
}
