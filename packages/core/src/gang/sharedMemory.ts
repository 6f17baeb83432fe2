/**
 * The layout of a thread gang's `SharedArrayBuffer`, shared by the host and its workers (internal).
 *
 * Everything is addressed in 4-byte words from the start of the buffer, so one `Int32Array` and one
 * `Float32Array` over the whole buffer address the same words.
 *
 * ```
 * header        16 words      magic, state (0 running, 1 failed), allocator of sub-gang blocks and data
 * failure       2048 words    the failure record (UTF-8 JSON), written once by the host
 * blocks        blockCount x blockWords
 *                             one control block per gang of 2 or more ranks (block 0 is the root):
 *                             [0..16)  the arrival counter (alone on its 64-byte cache line)
 *                             then 2 halves x size ranks x 16 words: one descriptor per rank and half,
 *                             each on its own cache line: [step, opcode, length, aux]
 * data          dataWords     per gang of k ranks: 2 halves x k ranks x chunkFloats floats
 * ```
 *
 * Each collective step (one chunk of one collective) uses half `step & 1`: a rank writes its slot of
 * that half, arrives, waits for the others, reads. A rank can be at most one step ahead of the slowest
 * rank of its gang (it cannot pass the next step's arrival without it), so it writes the other half
 * while the slowest still reads this one: one arrival per step suffices, no second barrier.
 */

/** Word indices of the header. */
export const HEADER = {
  magic: 0,
  state: 1,
  nextBlock: 2,
  nextData: 3,
} as const;

/** The header takes one cache line. */
const HEADER_WORDS = 16;
/** Room for a failure message of a few thousand characters; longer ones are cut. */
const FAILURE_BYTES = 8192;
/** Words per cache line: x86-64 and arm64 lines are 64 bytes. */
const LINE_WORDS = 16;
const MAGIC = 0x66733267; // "fs2g"

/** `HEADER.state` values. */
export const STATE_RUNNING = 0;
export const STATE_FAILED = 1;

/** Word offsets inside a descriptor. */
export const DESCRIPTOR = { step: 0, opcode: 1, length: 2, aux: 3 } as const;

/** The size of everything, from the host's options. */
export interface ThreadGangLayout {
  readonly size: number;
  readonly chunkFloats: number;
  readonly subGangSlots: number;
  readonly blockCount: number;
  readonly blockWords: number;
  readonly failureStart: number;
  readonly blocksStart: number;
  readonly dataStart: number;
  readonly dataEnd: number;
  readonly totalBytes: number;
}

/** Computes the layout of a gang of `size` ranks; see the file's header. */
export function computeLayout(size: number, chunkFloats: number, subGangSlots: number): ThreadGangLayout {
  // A sub-gang of one rank is a FakeGang and takes nothing, so a block serves at least 2 slots.
  const blockCount = 1 + Math.floor(subGangSlots / 2);
  const blockWords = LINE_WORDS + 2 * size * LINE_WORDS;
  const failureStart = HEADER_WORDS;
  const blocksStart = failureStart + FAILURE_BYTES / 4;
  const dataStart = blocksStart + blockCount * blockWords;
  const dataEnd = dataStart + 2 * chunkFloats * (size + subGangSlots);
  return {
    size,
    chunkFloats,
    subGangSlots,
    blockCount,
    blockWords,
    failureStart,
    blocksStart,
    dataStart,
    dataEnd,
    totalBytes: dataEnd * 4,
  };
}

/** The word index of block `block`'s arrival counter. */
export function blockCounter(layout: ThreadGangLayout, block: number): number {
  return layout.blocksStart + block * layout.blockWords;
}

/** The word index of the descriptor of gang rank `rank` in half `half` of block `block`. */
export function descriptorIndex(layout: ThreadGangLayout, block: number, half: number, rank: number): number {
  return blockCounter(layout, block) + LINE_WORDS + (half * layout.size + rank) * LINE_WORDS;
}

/** Resets block `block` for a gang of `ranks` ranks: no arrival, no rank at any step. */
function initBlock(i32: Int32Array, layout: ThreadGangLayout, block: number, ranks: number): void {
  Atomics.store(i32, blockCounter(layout, block), 0);
  for (let half = 0; half < 2; half++) {
    for (let rank = 0; rank < ranks; rank++) {
      Atomics.store(i32, descriptorIndex(layout, block, half, rank) + DESCRIPTOR.step, -1);
    }
  }
}

/** Fills a fresh buffer: the root gang owns block 0 and the first data region. */
export function initSharedMemory(i32: Int32Array, layout: ThreadGangLayout): void {
  Atomics.store(i32, HEADER.magic, MAGIC);
  Atomics.store(i32, HEADER.state, STATE_RUNNING);
  Atomics.store(i32, HEADER.nextBlock, 1);
  Atomics.store(i32, HEADER.nextData, layout.dataStart + 2 * layout.chunkFloats * layout.size);
  initBlock(i32, layout, 0, layout.size);
}

/** Whether `i32` is a buffer made by {@link initSharedMemory}. */
export function isGangMemory(i32: Int32Array): boolean {
  return i32.length > HEADER_WORDS && Atomics.load(i32, HEADER.magic) === MAGIC;
}

/** Where a sub-gang lives: its control block and the first word of its data. */
export interface SubGangRegion {
  readonly block: number;
  readonly data: number;
}

/**
 * Takes a control block and the data of a gang of `ranks` ranks from the shared allocator, or returns
 * `undefined` when none is left. Atomic, so that two gangs may create sub-gangs at the same time.
 */
export function allocateSubGang(i32: Int32Array, layout: ThreadGangLayout, ranks: number): SubGangRegion | undefined {
  const words = 2 * layout.chunkFloats * ranks;
  const block = Atomics.add(i32, HEADER.nextBlock, 1);
  const data = Atomics.add(i32, HEADER.nextData, words);
  if (block >= layout.blockCount || data + words > layout.dataEnd) {
    return undefined;
  }
  initBlock(i32, layout, block, ranks);
  return { block, data };
}

/** The number of sub-gang slots (ranks of sub-gangs) the allocator has handed out. */
export function usedSubGangSlots(i32: Int32Array, layout: ThreadGangLayout): number {
  const used = Atomics.load(i32, HEADER.nextData) - (layout.dataStart + 2 * layout.chunkFloats * layout.size);
  return Math.min(layout.subGangSlots, used / (2 * layout.chunkFloats));
}

/** What the host writes when the gang fails, for the ranks to read. */
export interface FailureRecord {
  readonly kind: string;
  readonly ranks: readonly number[];
  readonly operation: string | undefined;
  readonly message: string;
}

/**
 * Publishes `record` and wakes every rank waiting in any gang. Called once, by the host, which is the
 * only writer of the failure record (the ranks report their failures to it by message).
 *
 * Each counter is changed before it is notified: a rank that read the counter just before the state
 * changed then finds a different value in `Atomics.wait` and returns at once, instead of sleeping
 * until its timeout (a lost wake-up). The counters mean nothing once the state is failed.
 */
export function publishFailure(i32: Int32Array, u8: Uint8Array, layout: ThreadGangLayout, record: FailureRecord): void {
  if (Atomics.load(i32, HEADER.state) !== STATE_RUNNING) {
    return;
  }
  let message = record.message;
  let bytes = encodeRecord({ ...record, message });
  while (bytes.length > FAILURE_BYTES - 4 && message.length > 0) {
    message = message.slice(0, Math.floor(message.length * 0.75));
    bytes = encodeRecord({ ...record, message: `${message}...` });
  }
  const start = layout.failureStart * 4;
  u8.set(bytes, start + 4);
  Atomics.store(i32, layout.failureStart, bytes.length);
  Atomics.store(i32, HEADER.state, STATE_FAILED);
  for (let block = 0; block < layout.blockCount; block++) {
    const counter = blockCounter(layout, block);
    Atomics.add(i32, counter, 1);
    Atomics.notify(i32, counter);
  }
}

/** Reads the failure record, or `undefined` while the gang runs. */
export function readFailure(i32: Int32Array, u8: Uint8Array, layout: ThreadGangLayout): FailureRecord | undefined {
  if (Atomics.load(i32, HEADER.state) === STATE_RUNNING) {
    return undefined;
  }
  const length = Atomics.load(i32, layout.failureStart);
  const start = layout.failureStart * 4 + 4;
  // slice(): TextDecoder is not required to accept views of a SharedArrayBuffer.
  return JSON.parse(new TextDecoder().decode(u8.slice(start, start + length))) as FailureRecord;
}

function encodeRecord(record: FailureRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}
