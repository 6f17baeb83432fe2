import { InvalidOperationError } from '../errors/Fs2Error.js';
import { FakeGang } from './FakeGang.js';
import {
  allGatherOutput,
  checkReduceOperation,
  checkSourceRank,
  checkSubGangRanks,
  REDUCE_OPERATIONS,
  type Gang,
  type ReduceOperation,
} from './Gang.js';
import { GangError, type GangFailureKind } from './GangError.js';
import {
  allocateSubGang,
  blockCounter,
  DESCRIPTOR,
  descriptorIndex,
  HEADER,
  readFailure,
  STATE_RUNNING,
  usedSubGangSlots,
  type FailureRecord,
  type ThreadGangLayout,
} from './sharedMemory.js';

/**
 * What the ranks of one worker share (internal): views of the gang's memory, the collective
 * settings, and the channel to the host.
 */
export interface ThreadGangRuntime {
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly u8: Uint8Array;
  readonly layout: ThreadGangLayout;
  /** This worker's root rank. */
  readonly rootRank: number;
  readonly collectiveTimeoutMs: number;
  readonly spinIterations: number;
  /** Sends a failure this rank detected (a timeout, a mismatch) to the host, which fails the gang. */
  readonly report: (record: FailureRecord) => void;
  /** The first failure this rank detected itself, until the host publishes it. */
  failure?: GangError;
}

const OP_BARRIER = 1;
const OP_ALL_REDUCE = 2;
const OP_ALL_GATHER = 3;
const OP_BROADCAST = 4;
const OP_CREATE_GANG = 5;

const OP_NAMES: Readonly<Record<number, string>> = {
  [OP_BARRIER]: 'barrier',
  [OP_ALL_REDUCE]: 'allReduce',
  [OP_ALL_GATHER]: 'allGather',
  [OP_BROADCAST]: 'broadcast',
  [OP_CREATE_GANG]: 'createGang',
};

/**
 * A rank of a gang of worker threads of one process, created by a {@link ThreadGangHost}: each worker
 * gets its root `ThreadGang` in its {@link ThreadGangWorkerContext}. Collectives exchange data through
 * the gang's `SharedArrayBuffer` and wait with `Atomics.wait` (after spinning
 * `spinIterations` times), so they are synchronous and can only run in a worker thread.
 *
 * A payload larger than the host's `chunkFloats` is exchanged in chunks; nothing is allocated per
 * call (except `allGather`'s output when the caller does not pass one).
 *
 * Failures: a collective that waits longer than `collectiveTimeoutMs` throws a `timeout`
 * {@link GangError} naming the ranks that did not arrive; ranks that call different collectives
 * throw a `mismatch` `GangError`; and when any rank fails (throws, dies, times out) the host wakes
 * every waiting rank, whose collective throws a `GangError` that repeats the first failure. From then
 * on, every collective throws.
 */
export class ThreadGang implements Gang {
  readonly rank: number;
  readonly size: number;
  /** The root rank of each rank of this gang: rank `i` of this gang is root rank `ranks[i]`. */
  readonly ranks: readonly number[];

  readonly #runtime: ThreadGangRuntime;
  readonly #block: number;
  readonly #data: number;
  readonly #counter: number;
  readonly #chunk: number;
  /** The step of the next chunk; every rank of the gang counts the same steps. */
  #step = 0;

  /** @internal Created by the worker bootstrap and by {@link ThreadGang.createGang}. */
  constructor(runtime: ThreadGangRuntime, block: number, data: number, ranks: readonly number[]) {
    this.#runtime = runtime;
    this.#block = block;
    this.#data = data;
    this.#counter = blockCounter(runtime.layout, block);
    this.#chunk = runtime.layout.chunkFloats;
    this.ranks = Object.freeze([...ranks]);
    this.size = ranks.length;
    this.rank = ranks.indexOf(runtime.rootRank);
  }

  createGang(ranks: readonly number[]): Gang | undefined {
    checkSubGangRanks(ranks, this.size);
    const runtime = this.#runtime;
    const size = this.size;
    // Every rank contributes [count, ranks padded with -1, block, data]; rank 0 allocates.
    const words = size + 3;
    const mine = new Int32Array(words).fill(-1);
    mine[0] = ranks.length;
    mine.set(ranks, 1);
    if (this.rank === 0 && ranks.length > 1) {
      const region = allocateSubGang(runtime.i32, runtime.layout, ranks.length);
      if (region !== undefined) {
        mine[size + 1] = region.block;
        mine[size + 2] = region.data;
      }
    }
    const all = new Int32Array(words * size);
    this.#gather(OP_CREATE_GANG, runtime.i32, mine, all, 'createGang');

    const lists = Array.from({ length: size }, (_, r) =>
      Array.from(all.subarray(r * words + 1, r * words + 1 + all[r * words]!)),
    );
    const first = lists[0]!.join(',');
    if (lists.some((list) => list.join(',') !== first)) {
      const calls = lists.map((list, r) => `rank ${this.ranks[r]} passed [${list.join(', ')}]`);
      this.#fail(
        'mismatch',
        [...this.ranks],
        'createGang',
        `The ranks of the gang ${describeRanks(this.ranks)} called \`createGang()\` with different ranks: ${joinWords(calls)}.`,
      );
    }

    const index = ranks.indexOf(this.rank);
    if (ranks.length === 1) {
      return index < 0 ? undefined : new FakeGang();
    }
    const block = all[size + 1]!;
    const data = all[size + 2]!;
    if (block < 0) {
      const { subGangSlots } = runtime.layout;
      throw new InvalidOperationError(
        `The thread gang has no shared memory left for a sub-gang of ${ranks.length} ranks: ${usedSubGangSlots(runtime.i32, runtime.layout)} of its ${subGangSlots} sub-gang slots are in use. Raise \`subGangSlots\` in the options of the thread gang host.`,
      );
    }
    return index < 0 ? undefined : new ThreadGang(runtime, block, data, ranks.map((r) => this.ranks[r]!));
  }

  barrier(): void {
    this.#checkUsable('barrier');
    const step = this.#step;
    this.#arrive(step, OP_BARRIER, 0, 0, true, 'barrier');
    this.#step = (step + 1) | 0;
  }

  allReduce(data: Float32Array, op: ReduceOperation): void {
    const opIndex = checkReduceOperation(op);
    this.#checkUsable('allReduce');
    const { f32 } = this.#runtime;
    const size = this.size;
    const chunk = this.#chunk;
    const n = data.length;
    const chunks = Math.max(1, Math.ceil(n / chunk));
    for (let c = 0; c < chunks; c++) {
      const offset = c * chunk;
      const length = Math.min(chunk, n - offset);
      const step = this.#step;
      const base = this.#data + (step & 1) * size * chunk;
      f32.set(data.subarray(offset, offset + length), base + this.rank * chunk);
      this.#arrive(step, OP_ALL_REDUCE, n, opIndex, c === 0, 'allReduce');
      // Every rank reduces the slots in rank order, so every rank gets the same bits.
      data.set(f32.subarray(base, base + length), offset);
      for (let r = 1; r < size; r++) {
        const slot = base + r * chunk;
        switch (op) {
          case 'sum':
          case 'mean':
            for (let i = 0; i < length; i++) data[offset + i] = data[offset + i]! + f32[slot + i]!;
            break;
          case 'product':
            for (let i = 0; i < length; i++) data[offset + i] = data[offset + i]! * f32[slot + i]!;
            break;
          case 'min':
            for (let i = 0; i < length; i++) data[offset + i] = Math.min(data[offset + i]!, f32[slot + i]!);
            break;
          case 'max':
            for (let i = 0; i < length; i++) data[offset + i] = Math.max(data[offset + i]!, f32[slot + i]!);
            break;
        }
      }
      if (op === 'mean') {
        for (let i = 0; i < length; i++) data[offset + i] = data[offset + i]! / size;
      }
      this.#step = (step + 1) | 0;
    }
  }

  allGather(data: Float32Array, output?: Float32Array): Float32Array {
    const out = allGatherOutput(data, this.size, output);
    this.#checkUsable('allGather');
    this.#gather(OP_ALL_GATHER, this.#runtime.f32, data, out, 'allGather');
    return out;
  }

  broadcast(data: Float32Array, sourceRank = 0): void {
    checkSourceRank(sourceRank, this.size);
    this.#checkUsable('broadcast');
    const { f32 } = this.#runtime;
    const chunk = this.#chunk;
    const n = data.length;
    const chunks = Math.max(1, Math.ceil(n / chunk));
    for (let c = 0; c < chunks; c++) {
      const offset = c * chunk;
      const length = Math.min(chunk, n - offset);
      const step = this.#step;
      const slot = this.#data + ((step & 1) * this.size + sourceRank) * chunk;
      if (this.rank === sourceRank) {
        f32.set(data.subarray(offset, offset + length), slot);
      }
      this.#arrive(step, OP_BROADCAST, n, sourceRank, c === 0, 'broadcast');
      if (this.rank !== sourceRank) {
        data.set(f32.subarray(slot, slot + length), offset);
      }
      this.#step = (step + 1) | 0;
    }
  }

  /** All-gather of `data` into `output` through `view` (the float or the integer view of the memory). */
  #gather<T extends Float32Array | Int32Array>(opcode: number, view: T, data: T, output: T, operation: string): void {
    const size = this.size;
    const chunk = this.#chunk;
    const n = data.length;
    const chunks = Math.max(1, Math.ceil(n / chunk));
    for (let c = 0; c < chunks; c++) {
      const offset = c * chunk;
      const length = Math.min(chunk, n - offset);
      const step = this.#step;
      const base = this.#data + (step & 1) * size * chunk;
      view.set(data.subarray(offset, offset + length), base + this.rank * chunk);
      this.#arrive(step, opcode, n, 0, c === 0, operation);
      for (let r = 0; r < size; r++) {
        const slot = base + r * chunk;
        output.set(view.subarray(slot, slot + length), r * n + offset);
      }
      this.#step = (step + 1) | 0;
    }
  }

  /**
   * Publishes this rank's descriptor for `step`, arrives, and waits until every rank of the gang has
   * arrived. With `check`, compares every rank's descriptor with this one's.
   */
  #arrive(step: number, opcode: number, length: number, aux: number, check: boolean, operation: string): void {
    const { i32, layout } = this.#runtime;
    const half = step & 1;
    const descriptor = descriptorIndex(layout, this.#block, half, this.rank);
    i32[descriptor + DESCRIPTOR.opcode] = opcode;
    i32[descriptor + DESCRIPTOR.length] = length;
    i32[descriptor + DESCRIPTOR.aux] = aux;
    Atomics.store(i32, descriptor + DESCRIPTOR.step, step);

    // The counter grows by `size` per step (modulo 2^32), so step `s` is complete at size * (s + 1).
    const target = Math.imul(this.size, (step + 1) | 0);
    if (((Atomics.add(i32, this.#counter, 1) + 1) | 0) === target) {
      Atomics.notify(i32, this.#counter);
    }
    this.#wait(target, step, operation);
    if (check) {
      this.#checkDescriptors(half, opcode, length, aux);
    }
  }

  #wait(target: number, step: number, operation: string): void {
    const { i32 } = this.#runtime;
    const counter = this.#counter;
    for (let i = 0; i < this.#runtime.spinIterations; i++) {
      if (((Atomics.load(i32, counter) - target) | 0) >= 0) {
        break;
      }
    }
    const timeoutMs = this.#runtime.collectiveTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      // Read the counter before the state: the host fails the gang by setting the state, then
      // changing every counter, so a wait on this value cannot miss the failure.
      const count = Atomics.load(i32, counter);
      if (Atomics.load(i32, HEADER.state) !== STATE_RUNNING) {
        throw this.#aborted(operation);
      }
      if (((count - target) | 0) >= 0) {
        return;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        const missing = this.#missingRanks(step);
        if (missing.length > 0) {
          this.#fail(
            'timeout',
            missing,
            operation,
            `The \`${operation}\` collective of the gang ${describeRanks(this.ranks)} timed out after ${timeoutMs} ms on rank ${this.#runtime.rootRank}: ${joinRanks(missing)} did not arrive.`,
          );
        }
        // Every rank has published its step: the last increments are a moment away.
        Atomics.wait(i32, counter, count, 1);
        continue;
      }
      Atomics.wait(i32, counter, count, remaining);
    }
  }

  /** The root ranks that have not published `step` yet. */
  #missingRanks(step: number): number[] {
    const { i32, layout } = this.#runtime;
    const missing: number[] = [];
    for (let r = 0; r < this.size; r++) {
      if (Atomics.load(i32, descriptorIndex(layout, this.#block, step & 1, r) + DESCRIPTOR.step) !== step) {
        missing.push(this.ranks[r]!);
      }
    }
    return missing;
  }

  #checkDescriptors(half: number, opcode: number, length: number, aux: number): void {
    const { i32, layout } = this.#runtime;
    const calls: { opcode: number; length: number; aux: number }[] = [];
    let same = true;
    for (let r = 0; r < this.size; r++) {
      const d = descriptorIndex(layout, this.#block, half, r);
      const call = { opcode: i32[d + DESCRIPTOR.opcode]!, length: i32[d + DESCRIPTOR.length]!, aux: i32[d + DESCRIPTOR.aux]! };
      same &&= call.opcode === opcode && call.length === length && call.aux === aux;
      calls.push(call);
    }
    if (!same) {
      const described = calls.map((call, r) => `rank ${this.ranks[r]} called ${describeCall(call.opcode, call.length, call.aux)}`);
      this.#fail(
        'mismatch',
        [...this.ranks],
        OP_NAMES[opcode] ?? 'collective',
        `The ranks of the gang ${describeRanks(this.ranks)} called different collectives: ${joinWords(described)}.`,
      );
    }
  }

  #checkUsable(operation: string): void {
    const runtime = this.#runtime;
    if (Atomics.load(runtime.i32, HEADER.state) !== STATE_RUNNING) {
      throw this.#aborted(operation);
    }
    if (runtime.failure !== undefined) {
      throw runtime.failure;
    }
  }

  /** Records a failure this rank detected, reports it to the host, and throws it. */
  #fail(kind: GangFailureKind, ranks: readonly number[], operation: string, message: string): never {
    const error = new GangError(kind, ranks, operation, message);
    const runtime = this.#runtime;
    if (runtime.failure === undefined) {
      runtime.failure = error;
      runtime.report({ kind, ranks, operation, message });
    }
    throw error;
  }

  #aborted(operation: string): GangError {
    const { i32, u8, layout } = this.#runtime;
    const record = readFailure(i32, u8, layout);
    const kind = (record?.kind ?? 'closed') as GangFailureKind;
    const message = record?.message ?? 'The thread gang failed.';
    return new GangError(
      kind,
      record?.ranks ?? [],
      operation,
      `The \`${operation}\` collective on rank ${this.#runtime.rootRank} was aborted: ${message}`,
    );
  }
}

function describeCall(opcode: number, length: number, aux: number): string {
  switch (opcode) {
    case OP_BARRIER:
      return '`barrier()`';
    case OP_ALL_REDUCE:
      return `\`allReduce('${REDUCE_OPERATIONS[aux] ?? aux}')\` of ${length} values`;
    case OP_ALL_GATHER:
      return `\`allGather()\` of ${length} values`;
    case OP_BROADCAST:
      return `\`broadcast()\` of ${length} values from gang rank ${aux}`;
    case OP_CREATE_GANG:
      return '`createGang()`';
    default:
      return `an unknown collective (${opcode})`;
  }
}

/** `[0, 1, 2]`. */
export function describeRanks(ranks: readonly number[]): string {
  return `[${ranks.join(', ')}]`;
}

/** `rank 2`, `ranks 1 and 2`, `ranks 0, 1 and 2`. */
export function joinRanks(ranks: readonly number[]): string {
  return ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${joinWords(ranks.map(String))}`;
}

/** `a`, `a and b`, `a, b and c`. */
export function joinWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
