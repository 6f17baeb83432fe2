import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DataReader, DataReaderState } from './DataReader.js';
import type { SequenceBatch, TokenizedExample } from './SequenceBatch.js';
import { seededPermutation } from './shuffle.js';

/** How a split becomes batches: what recipes pass to a dataset's `createReader`. */
export interface SequenceReaderOptions {
  /** Sequences per batch. Required. */
  readonly batchSize: number;
  /**
   * The longest input a batch row holds, in tokens: with packing, every row has exactly this
   * many positions; without, longer examples are truncated to it. Required.
   */
  readonly maxSeqLen: number;
  /**
   * Concatenate the examples (in shuffled order) into one stream and cut it into rows of
   * `maxSeqLen` positions, so no position is padding (pretraining); otherwise one example per
   * row, padded to the longest of its batch (fine-tuning). A row may then span two examples, and
   * attends across their boundary. Default: `false`.
   */
  readonly packing?: boolean;
  /** Shuffle the examples (and, with packing, the rows) of every epoch. Default: `true`. */
  readonly shuffle?: boolean;
  /** The seed of the shuffles; epoch `e` uses `${seed}/${e}`. Default: `2` (fairseq2's recipe default). */
  readonly seed?: number;
  /** Leave out the last batch of an epoch when it has fewer than `batchSize` rows. Default: `false`. */
  readonly dropRemainder?: boolean;
  /** The id written into padding positions (never a target). Default: `0`. */
  readonly padId?: number;
}

/** What a {@link SequenceBatchReader} did to its examples when it was built. */
export interface SequenceReaderStats {
  /** Examples read. */
  readonly examples: number;
  /** Examples left out: fewer than two tokens, or no target token (left within `maxSeqLen`). */
  readonly dropped: number;
  /** Examples cut to `maxSeqLen + 1` tokens (without packing). */
  readonly truncated: number;
  /** Tokens in the kept examples. */
  readonly tokens: number;
}

/** One row of an epoch: a span of the packed stream, or one example. */
interface Row {
  readonly example: number;
  readonly start: number;
  readonly end: number;
}

/**
 * The standard {@link DataReader} of {@link SequenceBatch}es over tokenized examples held in
 * memory: shuffled per epoch with a seed, packed or padded, batched. Examples that hold fewer
 * than two tokens predict nothing and are left out ({@link SequenceBatchReader.stats}).
 */
export class SequenceBatchReader implements DataReader<SequenceBatch> {
  readonly stats: SequenceReaderStats;
  private readonly examples: readonly TokenizedExample[];
  private readonly batchSize: number;
  private readonly maxSeqLen: number;
  private readonly packing: boolean;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropRemainder: boolean;
  private readonly padId: number;
  private currentEpoch = 0;
  private position = 0;
  private rows: Row[] = [];
  private stream: { tokens: Int32Array; mask: Uint8Array } | undefined;

  constructor(examples: readonly TokenizedExample[], options: SequenceReaderOptions) {
    this.batchSize = positive('batchSize', options.batchSize);
    this.maxSeqLen = positive('maxSeqLen', options.maxSeqLen);
    this.packing = options.packing ?? false;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 2;
    this.dropRemainder = options.dropRemainder ?? false;
    this.padId = options.padId ?? 0;
    const kept: TokenizedExample[] = [];
    let dropped = 0;
    let truncated = 0;
    let tokens = 0;
    for (const example of examples) {
      let current = example;
      if (!this.packing && current.tokens.length > this.maxSeqLen + 1) {
        truncated += 1;
        const end = this.maxSeqLen + 1;
        current = {
          tokens: current.tokens.subarray(0, end),
          ...(current.targetMask === undefined ? {} : { targetMask: current.targetMask.subarray(0, end) }),
        };
      }
      if (current.tokens.length < 2 || (current.targetMask !== undefined && !current.targetMask.subarray(1).includes(1))) {
        dropped += 1;
        continue;
      }
      kept.push(current);
      tokens += current.tokens.length;
    }
    this.examples = kept;
    this.stats = { examples: examples.length, dropped, truncated, tokens };
    this.startEpoch(0);
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  get batchesPerEpoch(): number {
    const full = Math.floor(this.rows.length / this.batchSize);
    return this.dropRemainder || this.rows.length % this.batchSize === 0 ? full : full + 1;
  }

  next(): SequenceBatch | undefined {
    if (this.position >= this.batchesPerEpoch) {
      return undefined;
    }
    const start = this.position * this.batchSize;
    const rows = this.rows.slice(start, start + this.batchSize);
    this.position += 1;
    return this.makeBatch(rows);
  }

  nextEpoch(): void {
    this.startEpoch(this.currentEpoch + 1);
  }

  state(): DataReaderState {
    return { epoch: this.currentEpoch, position: this.position };
  }

  restoreState(state: DataReaderState): void {
    if (!Number.isSafeInteger(state.epoch) || state.epoch < 0 || !Number.isSafeInteger(state.position) || state.position < 0) {
      throw new InvalidArgumentError('state', `The reader state ${JSON.stringify(state)} is not valid: epoch and position are non-negative integers.`);
    }
    this.startEpoch(state.epoch);
    if (state.position > this.batchesPerEpoch) {
      throw new InvalidArgumentError(
        'state',
        `The reader state is at batch ${state.position} of epoch ${state.epoch}, but an epoch of this reader has ${this.batchesPerEpoch} batches: it was saved by a reader over other data or options.`,
      );
    }
    this.position = state.position;
  }

  private startEpoch(epoch: number): void {
    this.currentEpoch = epoch;
    this.position = 0;
    const n = this.examples.length;
    const order = this.shuffle ? seededPermutation(n, `${this.seed}/${epoch}/examples`) : Uint32Array.from({ length: n }, (_, i) => i);
    if (!this.packing) {
      this.stream = undefined;
      this.rows = Array.from(order, (example) => ({ example, start: 0, end: (this.examples[example] as TokenizedExample).tokens.length }));
      return;
    }
    // One stream of the examples in this epoch's order; row r covers tokens [rT, rT + T + 1): its
    // inputs are the first T, its targets the last T, so every token but the first is a target once.
    let total = 0;
    for (const index of order) {
      total += (this.examples[index] as TokenizedExample).tokens.length;
    }
    const tokens = new Int32Array(total);
    const mask = new Uint8Array(total);
    let offset = 0;
    for (const index of order) {
      const example = this.examples[index] as TokenizedExample;
      tokens.set(example.tokens, offset);
      if (example.targetMask === undefined) {
        mask.fill(1, offset + 1, offset + example.tokens.length);
        // The first token of an example is predicted from the end of the previous one: a target
        // too, except at the very start of the stream.
        if (offset > 0) {
          mask[offset] = 1;
        }
      } else {
        mask.set(example.targetMask, offset);
      }
      offset += example.tokens.length;
    }
    this.stream = { tokens, mask };
    const t = this.maxSeqLen;
    const rows: Row[] = [];
    for (let start = 0; start + 1 < total; start += t) {
      rows.push({ example: -1, start, end: Math.min(total, start + t + 1) });
    }
    if (this.shuffle) {
      const rowOrder = seededPermutation(rows.length, `${this.seed}/${epoch}/rows`);
      this.rows = Array.from(rowOrder, (i) => rows[i] as Row);
    } else {
      this.rows = rows;
    }
  }

  private makeBatch(rows: readonly Row[]): SequenceBatch {
    const seqLen = this.packing ? this.maxSeqLen : Math.max(...rows.map((r) => r.end - r.start - 1));
    const batchSize = rows.length;
    const inputs = new Int32Array(batchSize * seqLen).fill(this.padId);
    const targets = new Int32Array(batchSize * seqLen).fill(this.padId);
    const targetMask = new Float32Array(batchSize * seqLen);
    let numTargets = 0;
    let numElements = 0;
    rows.forEach((row, b) => {
      const { tokens, mask } = this.rowData(row);
      const length = tokens.length - 1;
      const base = b * seqLen;
      inputs.set(tokens.subarray(0, length), base);
      targets.set(tokens.subarray(1), base);
      for (let t = 0; t < length; t++) {
        const counts = mask === undefined ? 1 : (mask[t + 1] as number);
        targetMask[base + t] = counts;
        numTargets += counts;
      }
      numElements += length;
    });
    return { batchSize, seqLen, inputs, targets, targetMask, numTargets, numElements };
  }

  private rowData(row: Row): { tokens: Int32Array; mask: Uint8Array | undefined } {
    if (this.stream !== undefined) {
      return { tokens: this.stream.tokens.subarray(row.start, row.end), mask: this.stream.mask.subarray(row.start, row.end) };
    }
    const example = this.examples[row.example] as TokenizedExample;
    return { tokens: example.tokens, mask: example.targetMask };
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(name, `\`${name}\` must be a positive integer, but is ${value}.`);
  }
  return value;
}
