import seedrandom from 'seedrandom';

import { InvalidArgumentError } from '../errors/Fs2Error.js';

/** How the next token is chosen from a row of logits. */
export interface SamplingOptions {
  /**
   * Softmax temperature. `0` picks the most likely token (greedy; ties go to the lowest id);
   * above 0, tokens are drawn from `softmax(logits / temperature)`. Default: `0`.
   */
  readonly temperature?: number;
  /** Draw only among the `topK` most likely tokens (applied after the temperature). Default: `0` (off). */
  readonly topK?: number;
  /**
   * Nucleus sampling (Holtzman et al. 2019, arXiv:1904.09751): draw only among the most likely
   * tokens whose probabilities add up to `topP` (the token that crosses it included; after top-k,
   * as transformers' `TopPLogitsWarper`). Default: `1` (off).
   */
  readonly topP?: number;
  /** Seed of the random generator: the same seed gives the same tokens. Default: a random seed. */
  readonly seed?: number | string;
}

/**
 * Picks tokens from logits on the host, in float64: greedy, or temperature / top-k / top-p sampling
 * with a seeded generator (seedrandom's ARC4), so a seed reproduces a generation exactly.
 */
export class TokenSampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  private readonly random: () => number;

  constructor(options: SamplingOptions = {}) {
    this.temperature = options.temperature ?? 0;
    this.topK = options.topK ?? 0;
    this.topP = options.topP ?? 1;
    if (!Number.isFinite(this.temperature) || this.temperature < 0) {
      throw new InvalidArgumentError('temperature', `\`temperature\` must be a finite number >= 0, but is ${this.temperature}.`);
    }
    if (!Number.isSafeInteger(this.topK) || this.topK < 0) {
      throw new InvalidArgumentError('topK', `\`topK\` must be an integer >= 0, but is ${this.topK}.`);
    }
    if (!(this.topP > 0 && this.topP <= 1)) {
      throw new InvalidArgumentError('topP', `\`topP\` must be in (0, 1], but is ${this.topP}.`);
    }
    this.random = options.seed === undefined ? seedrandom() : seedrandom(String(options.seed));
  }

  /** Whether this sampler is greedy (no randomness). */
  get greedy(): boolean {
    return this.temperature === 0;
  }

  /** The next token for one row of logits. */
  sample(logits: Float32Array): number {
    if (this.greedy) {
      return argMax(logits);
    }
    const n = logits.length;
    const k = this.topK > 0 ? Math.min(this.topK, n) : n;
    // Candidates in decreasing order; with top-p only, as few as needed to reach the nucleus.
    let candidates: Int32Array;
    let probabilities: Float64Array;
    if (this.topK === 0 && this.topP >= 1) {
      // Plain temperature sampling: every token, in id order (the order does not change the law).
      candidates = allIndices(n);
      probabilities = softmaxOf(logits, candidates, this.temperature, candidates);
    } else if (this.topK > 0) {
      candidates = topIndices(logits, k);
      probabilities = softmaxOf(logits, candidates, this.temperature, candidates);
    } else {
      ({ candidates, probabilities } = nucleusCandidates(logits, this.temperature, this.topP));
    }
    let keep = probabilities.length;
    if (this.topP < 1) {
      // Keep tokens while the mass before them is below topP (the one crossing it included).
      let mass = 0;
      keep = 0;
      while (keep < probabilities.length && mass < this.topP) {
        mass += probabilities[keep] as number;
        keep++;
      }
      keep = Math.max(1, keep);
    }
    let mass = 0;
    for (let i = 0; i < keep; i++) {
      mass += probabilities[i] as number;
    }
    let u = this.random() * mass;
    for (let i = 0; i < keep; i++) {
      u -= probabilities[i] as number;
      if (u < 0) {
        return candidates[i] as number;
      }
    }
    return candidates[keep - 1] as number;
  }
}

/** The index of the largest value (the first one on ties). */
export function argMax(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** Whether (value a, index i) ranks before (value b, index j): larger value first, then lower index. */
function before(values: Float32Array, i: number, j: number): boolean {
  const a = values[i] as number;
  const b = values[j] as number;
  return a > b || (a === b && i < j);
}

/** The indices of the `k` largest values, largest first (ties: lower index first). O(n log k). */
export function topIndices(values: Float32Array, k: number): Int32Array {
  const n = values.length;
  if (k >= n) {
    return allIndices(n).sort((i, j) => (values[j] as number) - (values[i] as number) || i - j);
  }
  // A heap of the k best so far, whose root is the worst of them.
  const heap = new Int32Array(k);
  let size = 0;
  const worse = (i: number, j: number): boolean => before(values, j, i);
  const siftUp = (pos: number): void => {
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!worse(heap[pos] as number, heap[parent] as number)) break;
      [heap[pos], heap[parent]] = [heap[parent] as number, heap[pos] as number];
      pos = parent;
    }
  };
  const siftDown = (pos: number): void => {
    for (;;) {
      const l = 2 * pos + 1;
      const r = l + 1;
      let worst = pos;
      if (l < size && worse(heap[l] as number, heap[worst] as number)) worst = l;
      if (r < size && worse(heap[r] as number, heap[worst] as number)) worst = r;
      if (worst === pos) return;
      [heap[pos], heap[worst]] = [heap[worst] as number, heap[pos] as number];
      pos = worst;
    }
  };
  for (let i = 0; i < n; i++) {
    if (size < k) {
      heap[size] = i;
      siftUp(size++);
    } else if (before(values, i, heap[0] as number)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((i, j) => (values[j] as number) - (values[i] as number) || i - j);
}

function allIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** `softmax(values / temperature)` normalised over `over`, evaluated at `at`. */
function softmaxOf(values: Float32Array, at: Int32Array, temperature: number, over: Int32Array): Float64Array {
  let max = -Infinity;
  for (const i of over) max = Math.max(max, (values[i] as number) / temperature);
  let total = 0;
  for (const i of over) total += Math.exp((values[i] as number) / temperature - max);
  const out = new Float64Array(at.length);
  for (let j = 0; j < at.length; j++) {
    out[j] = Math.exp((values[at[j] as number] as number) / temperature - max) / total;
  }
  return out;
}

/** Value buckets of {@link nucleusCandidates}'s histogram. */
const NUCLEUS_BUCKETS = 4096;

/**
 * The tokens that may make up the top-p nucleus, largest first (ties: lower id first), with their
 * probabilities `softmax(values / temperature)` over the whole vocabulary: every token whose value
 * reaches the bucket where a histogram of the values (largest first) accumulates `topP` of the
 * mass, plus one more bucket against rounding. Two linear passes and a sort of about the nucleus,
 * where sorting the vocabulary (150k for Qwen) took most of a step when the distribution is flat.
 * The caller's prefix walk then picks exactly what a full sort would.
 */
export function nucleusCandidates(
  values: Float32Array,
  temperature: number,
  topP: number,
): { candidates: Int32Array; probabilities: Float64Array } {
  const n = values.length;
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const v = (values[i] as number) / temperature;
    if (v > max) max = v;
    if (v < min && v > -Infinity) min = v;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.exp((values[i] as number) / temperature - max);
  // Bucket b holds values in (max - (b + 1) w, max - b w]; bucket 0 the largest.
  const width = max > min ? (max - min) / NUCLEUS_BUCKETS : 1;
  const bucketOf = (v: number): number => Math.min(NUCLEUS_BUCKETS - 1, Math.floor((max - v) / width));
  const mass = new Float64Array(NUCLEUS_BUCKETS);
  for (let i = 0; i < n; i++) {
    const v = (values[i] as number) / temperature;
    if (v > -Infinity) {
      const b = bucketOf(v);
      mass[b] = (mass[b] as number) + Math.exp(v - max);
    }
  }
  let last = NUCLEUS_BUCKETS - 1;
  let cumulative = 0;
  for (let b = 0; b < NUCLEUS_BUCKETS; b++) {
    cumulative += mass[b] as number;
    if (cumulative >= topP * total) {
      last = Math.min(NUCLEUS_BUCKETS - 1, b + 1);
      break;
    }
  }
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = (values[i] as number) / temperature;
    if (last === NUCLEUS_BUCKETS - 1 || (v > -Infinity && bucketOf(v) <= last)) kept.push(i);
  }
  const candidates = Int32Array.from(kept).sort((i, j) => (values[j] as number) - (values[i] as number) || i - j);
  const probabilities = new Float64Array(candidates.length);
  for (let j = 0; j < candidates.length; j++) {
    probabilities[j] = Math.exp((values[candidates[j] as number] as number) / temperature - max) / total;
  }
  return { candidates, probabilities };
}
