import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';

import { InternalError } from '../../errors/Fs2Error.js';
import { HeapBudgetExceededError } from '../errors.js';
import { KERNELS_WASM_BASE64 } from './kernelsWasm.js';

/** Floats per weight panel (kernels.c `NR`). */
export const PANEL_WIDTH = 8;

/** Bytes every allocation is aligned to: a cache line, so that no two blocks share one. */
const ALIGN = 64;

/** 64 KiB: the WebAssembly page. */
const PAGE = 65536;

/**
 * The most a kernel memory can grow to: 4 GiB less one page, the wasm32 limit (as for the TF.js
 * wasm heap, js-ecosystem.md §2.2).
 */
export const KERNEL_MEMORY_MAX_BYTES = 65535 * PAGE;

/** The device name the CPU kernels' memory is reported under in memory errors. */
export const CPU_KERNELS_MEMORY_NAME = 'wasm (fs2 CPU kernels)';

/** Chunks of work per product, at most: each is one claim through the control block. */
const MAX_CHUNKS = 1024;

/** Delayed jobs in a row after which the kernels run on one thread for a while (see `watchStragglers`). */
const STRAGGLER_JOBS = 8;

/** Jobs run on one thread after {@link STRAGGLER_JOBS} delayed ones. */
const SOLO_JOBS = 2000;

/** How long an idle worker spins before sleeping, in ms: past the gaps between the products of one decode step. */
const SPIN_MS = 4;

// Control block (Int32 slots): JOB = the current job number, CLAIM = job << 10 | next chunk,
// DONE = chunks finished, SLEEPERS = workers in Atomics.wait, FAILED = the job number of a job
// whose kernel threw on a worker (a trap: a bug), OP = the function (an index of
// PARALLEL_OPS, or -1: exit), NARGS, UNITS / CHUNK / CHUNKS / OFFSET = how the work is cut (units
// OFFSET .. OFFSET + UNITS in CHUNKS chunks of CHUNK), then ARGS.
const JOB = 0;
const CLAIM = 1;
const DONE = 2;
const SLEEPERS = 3;
const FAILED = 4;
const OP = 5;
const NARGS = 6;
const UNITS = 7;
const CHUNK = 8;
const CHUNKS = 9;
const OFFSET = 10;
const ARGS = 11;
const MAX_ARGS = 16;
const CONTROL_INTS = ARGS + MAX_ARGS;
const JOB_MASK = (1 << 21) - 1;
const OP_EXIT = -1;

/**
 * The kernels that threads share: integer arguments, then the range `[u0, u1)` of work units
 * (weight panels, key/value heads) a call covers.
 */
const PARALLEL_OPS = ['matmul', 'attention', 'attention_step', 'pack_in_out', 'pack_out_in'] as const;

/** A kernel run by several threads (see {@link CpuKernels.parallel}). */
export type ParallelKernel = (typeof PARALLEL_OPS)[number];

/**
 * The part of the WebAssembly JS API used here, typed locally: fs2 compiles against `lib: ES2023`
 * and `@types/node` 20, neither of which declares the `WebAssembly` namespace.
 */
interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The functions of kernels.c (addresses are byte offsets into the kernel memory). */
export interface KernelExports {
  matmul(a: number, m: number, k: number, w: number, bias: number, c: number, ldc: number, p0: number, p1: number): void;
  pack_in_out(src: number, srcRow: number, k: number, cols: number, w: number, col: number, scaleBits: number, k0: number, k1: number): void;
  pack_out_in(src: number, srcRow: number, k: number, w: number, col: number, scaleBits: number, r0: number, r1: number): void;
  unpack_in_out(w: number, k: number, cols: number, dst: number, col: number): void;
  rmsnorm(x: number, ldx: number, out: number, ldo: number, w: number, dim: number, eps: number, r0: number, r1: number): void;
  head_norm(x: number, ldx: number, rows: number, heads: number, hd: number, w: number, eps: number): void;
  rope(x: number, ldx: number, rows: number, heads: number, hd: number, cos: number, sin: number): void;
  silu_mul(gu: number, ld: number, rows: number, f: number, out: number, ldo: number): void;
  add_rows(x: number, ldx: number, y: number, ldy: number, rows: number, cols: number): void;
  kv_write(qkv: number, ld: number, rows: number, h: number, kv: number, hd: number, k: number, v: number, cap: number, start: number): void;
  attention(
    qkv: number, ld: number, rows: number, start: number, window: number, k: number, v: number, cap: number, hd: number,
    group: number, out: number, ldo: number, scratch: number, h0: number, h1: number,
  ): void;
  attention_step(
    qkv: number, start: number, window: number, k: number, v: number, cap: number, hd: number, group: number,
    out: number, scratch: number, g0: number, g1: number,
  ): void;
  __heap_base: { value: number };
}

/**
 * The worker's loop, as source (run with `eval: true`, so it needs no file of its own in `dist/`).
 * It claims chunks of the current job with a compare-and-swap on CLAIM (which carries the job
 * number, so a late worker can never take a chunk of a later job), runs them, counts them in DONE,
 * spins a little when idle and then sleeps on JOB.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, spinMs, ops } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = ops.map((name) => exports[name]);
const ctl = new Int32Array(memory.buffer, control, ${CONTROL_INTS});
let seen = Atomics.load(ctl, ${JOB});
for (;;) {
  let job = Atomics.load(ctl, ${JOB});
  if (job === seen) {
    const until = performance.now() + spinMs;
    let spins = 0;
    while ((job = Atomics.load(ctl, ${JOB})) === seen) {
      if ((++spins & 1023) === 0 && performance.now() > until) {
        Atomics.add(ctl, ${SLEEPERS}, 1);
        Atomics.wait(ctl, ${JOB}, seen);
        Atomics.sub(ctl, ${SLEEPERS}, 1);
        spins = 0;
      }
    }
  }
  seen = job;
  const op = ctl[${OP}];
  if (op === ${OP_EXIT}) break;
  const fn = fns[op];
  const args = Array.from(ctl.subarray(${ARGS}, ${ARGS} + ctl[${NARGS}]));
  const units = ctl[${UNITS}], chunk = ctl[${CHUNK}], chunks = ctl[${CHUNKS}], offset = ctl[${OFFSET}];
  const tag = (job & ${JOB_MASK}) << 10;
  for (;;) {
    const v = Atomics.load(ctl, ${CLAIM});
    if ((v & ~1023) !== tag || (v & 1023) >= chunks) break;
    if (Atomics.compareExchange(ctl, ${CLAIM}, v, v + 1) !== v) continue;
    const u0 = offset + (v & 1023) * chunk;
    try {
      fn(...args, u0, Math.min(offset + units, u0 + chunk));
    } catch (error) {
      Atomics.store(ctl, ${FAILED}, job);
    }
    Atomics.add(ctl, ${DONE}, 1);
  }
}
`;

/** Calls of one kernel and their total wall time, in a profile. */
export interface KernelTiming {
  calls: number;
  ms: number;
}

/** Options of {@link CpuKernels.create}. */
export interface CpuKernelsOptions {
  /**
   * Threads that run a product together: this one plus `threads - 1` workers sharing the kernel
   * memory. Default: `min(availableParallelism(), 4)`.
   */
  readonly threads?: number;
}

/**
 * fs2's CPU kernels: float32 matrix products in WebAssembly SIMD (kernels.c) over weights laid
 * out once at load in panels of {@link PANEL_WIDTH} columns, in a shared memory of their own, run
 * by this thread and worker threads together.
 *
 * Why not TF.js's wasm matMul (XNNPACK): it runs on one thread (tfjs-backend-wasm cannot start
 * threads under Node, js-ecosystem.md §2.2) and keeps a packed copy of every weight beside the
 * tensor (twice the memory). Here a weight is held once, already in the layout the kernel streams,
 * and both cores read it: decode is bound by memory bandwidth, which one thread does not saturate
 * (membw.c: read 1 thread 24-30 GB/s, 2 threads 26-61 GB/s), and prefill by arithmetic.
 *
 * Memory is handed out by {@link CpuKernels.alloc} / {@link CpuKernels.free} (first fit over a
 * free list, blocks aligned to 64 bytes). The memory only grows, up to {@link KERNEL_MEMORY_MAX_BYTES}.
 */
export class CpuKernels {
  readonly threads: number;
  private readonly memory: WasmMemory;
  /** The kernels, to call on this thread alone (timed while a profile runs, see {@link CpuKernels.startProfile}). */
  fn: KernelExports;
  private readonly rawFn: KernelExports;
  private profile: Map<string, KernelTiming> | undefined;
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  private job = 0;
  /** Free blocks, sorted by address: [start, size] pairs. */
  private readonly freeBlocks: [number, number][] = [];
  private readonly sizes = new Map<number, number>();
  private top: number;
  private stagingPtr = 0;
  /** Consecutive jobs in which this thread waited for a worker, and jobs left to run alone (see watchStragglers). */
  private delayedJobs = 0;
  private soloJobs = 0;
  private stagingBytes = 0;
  /** Everything from here up has never been handed out: still the zeros the memory grew with. */
  private untouched: number;
  private allocatedBytes = 0;
  private highWater = 0;
  private closed = false;

  private constructor(threads: number) {
    this.threads = threads;
    this.memory = new WebAssemblyApi.Memory({ initial: 16, maximum: KERNEL_MEMORY_MAX_BYTES / PAGE, shared: true });
    const module = compileOptimized(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    this.rawFn = new WebAssemblyApi.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.fn = this.rawFn;
    const heapBase = this.rawFn.__heap_base.value;
    const controlOffset = alignUp(heapBase, ALIGN);
    this.control = new Int32Array(this.memory.buffer, controlOffset, CONTROL_INTS);
    this.top = alignUp(controlOffset + CONTROL_INTS * 4, ALIGN);
    this.untouched = this.top;
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory: this.memory, control: controlOffset, spinMs: SPIN_MS, ops: PARALLEL_OPS },
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Starts the kernels (compiles the module, starts the workers). */
  static create(options: CpuKernelsOptions = {}): CpuKernels {
    const threads = options.threads ?? Math.min(availableParallelism(), 4);
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAX_CHUNKS) {
      throw new RangeError(`The CPU kernels need 1 to ${MAX_CHUNKS} threads, not ${threads}.`);
    }
    return new CpuKernels(threads);
  }

  /** Bytes of the kernel memory (its high-water mark: it never shrinks). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes currently allocated. */
  get allocated(): number {
    return this.allocatedBytes;
  }

  /** The most bytes ever allocated at once. */
  get allocatedHighWater(): number {
    return this.highWater;
  }

  /**
   * A block of at least `bytes` bytes (64-byte aligned, contents undefined); its address.
   *
   * @throws HeapBudgetExceededError when the kernel memory cannot grow that far.
   */
  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    for (let i = 0; i < this.freeBlocks.length; i++) {
      const block = this.freeBlocks[i] as [number, number];
      if (block[1] >= size) {
        const ptr = block[0];
        if (block[1] === size) {
          this.freeBlocks.splice(i, 1);
        } else {
          block[0] += size;
          block[1] -= size;
        }
        return this.taken(ptr, size);
      }
    }
    const ptr = this.top;
    const end = ptr + size;
    if (end > KERNEL_MEMORY_MAX_BYTES) {
      throw new HeapBudgetExceededError(
        CPU_KERNELS_MEMORY_NAME,
        'a block of the CPU kernels',
        size,
        Math.max(0, KERNEL_MEMORY_MAX_BYTES - this.top),
        KERNEL_MEMORY_MAX_BYTES,
        {},
      );
    }
    if (end > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / PAGE));
    }
    this.top = end;
    return this.taken(ptr, size);
  }

  /**
   * Like {@link CpuKernels.alloc}, but the block reads as zeros. Memory the kernels never handed
   * out before is zero already (that is how WebAssembly memory grows), so only reused bytes are
   * cleared: a model's first load does not write its weights' pages twice.
   */
  allocZeroed(bytes: number): number {
    const untouched = this.untouched;
    const ptr = this.alloc(bytes);
    const size = this.sizes.get(ptr) as number;
    const reused = Math.min(ptr + size, untouched) - ptr;
    if (reused > 0) {
      new Uint8Array(this.memory.buffer, ptr, reused).fill(0);
    }
    return ptr;
  }

  /** Returns a block from {@link CpuKernels.alloc}. */
  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) {
      throw new InternalError(`The CPU kernel memory has no block at ${ptr}.`);
    }
    this.sizes.delete(ptr);
    this.allocatedBytes -= size;
    // Insert in address order, merging with the neighbours.
    let i = 0;
    while (i < this.freeBlocks.length && (this.freeBlocks[i] as [number, number])[0] < ptr) i++;
    this.freeBlocks.splice(i, 0, [ptr, size]);
    const merge = (j: number): void => {
      const a = this.freeBlocks[j];
      const b = this.freeBlocks[j + 1];
      if (a !== undefined && b !== undefined && a[0] + a[1] === b[0]) {
        a[1] += b[1];
        this.freeBlocks.splice(j + 1, 1);
      }
    };
    merge(i);
    merge(i - 1);
    const last = this.freeBlocks[this.freeBlocks.length - 1];
    if (last !== undefined && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.freeBlocks.pop();
    }
  }

  /** A float32 view of `length` floats at `ptr` (valid until the memory grows: take a fresh one after any alloc). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /**
   * `C[m, 8 * panels] = A[m, k] . W (+ bias)`, where W is a panel-laid-out `[k, n]` weight of
   * `panels = ceil(n / 8)` panels, C's rows are `8 * panels` floats apart, `bias` (0 for none) has
   * `8 * panels` floats. Split by panels over the threads.
   */
  matmul(a: number, m: number, k: number, w: number, bias: number, c: number, panels: number): void {
    // Units per chunk: decode streams the weight (chunks of ~16 panels balance the threads), a
    // prefill computes (chunks of ~4 panels).
    const chunks = Math.max(this.threads * 8, Math.ceil(panels / (m === 1 ? 16 : 4)));
    this.parallel('matmul', [a, m, k, w, bias, c, panels * PANEL_WIDTH], panels, chunks);
  }

  /**
   * Runs `op(...args, u0, u1)` over the units `[0, units)`, cut into about `chunks` ranges that this
   * thread and the workers claim one at a time (so a worker that is late or descheduled only
   * takes less of the work); returns when all are done.
   */
  parallel(op: ParallelKernel, args: readonly number[], units: number, chunks: number, align = 1, offset = 0): void {
    if (this.profile === undefined) {
      this.runParallel(op, args, units, chunks, align, offset);
      return;
    }
    const started = performance.now();
    this.runParallel(op, args, units, chunks, align, offset);
    // Products by shape ([k] x [k, n]); attention as one entry.
    this.record(op === 'matmul' ? `matmul ${args[2]}x${args[6]}` : op, performance.now() - started);
  }

  /**
   * Starts timing every kernel call (wall time on this thread, products by shape), until
   * {@link CpuKernels.stopProfile}: how `fs2 bench --profile` shows where a step goes.
   */
  startProfile(): void {
    const profile = new Map<string, KernelTiming>();
    this.profile = profile;
    const timed: Record<string, unknown> = { ...this.rawFn };
    for (const [name, value] of Object.entries(this.rawFn)) {
      if (typeof value === 'function') {
        const f = value as (...a: number[]) => void;
        timed[name] = (...a: number[]) => {
          const started = performance.now();
          f(...a);
          this.record(name, performance.now() - started);
        };
      }
    }
    this.fn = timed as unknown as KernelExports;
  }

  /** Stops the profile; kernel name -> calls and total milliseconds. */
  stopProfile(): Map<string, KernelTiming> {
    const profile = this.profile ?? new Map<string, KernelTiming>();
    this.profile = undefined;
    this.fn = this.rawFn;
    return profile;
  }

  private record(name: string, ms: number): void {
    const entry = this.profile?.get(name);
    if (entry === undefined) {
      this.profile?.set(name, { calls: 1, ms });
    } else {
      entry.calls++;
      entry.ms += ms;
    }
  }

  private runParallel(op: ParallelKernel, args: readonly number[], units: number, chunks: number, align: number, offset: number): void {
    this.assertOpen();
    const fn = this.rawFn[op] as (...a: number[]) => void;
    const target = Math.max(1, Math.min(MAX_CHUNKS, units, chunks));
    const chunk = Math.ceil(Math.ceil(units / target) / align) * align;
    const count = Math.ceil(units / chunk);
    if (this.threads === 1 || count <= 1 || this.soloJobs > 0) {
      this.soloJobs = Math.max(0, this.soloJobs - 1);
      fn(...args, offset, offset + units);
      return;
    }
    if (args.length > MAX_ARGS) {
      throw new InternalError(`A parallel kernel takes at most ${MAX_ARGS} arguments, not ${args.length}.`);
    }
    const ctl = this.control;
    const job = (this.job = (this.job + 1) & JOB_MASK);
    ctl[OP] = PARALLEL_OPS.indexOf(op);
    ctl[NARGS] = args.length;
    ctl.set(args, ARGS);
    ctl[UNITS] = units;
    ctl[OFFSET] = offset;
    ctl[CHUNK] = chunk;
    ctl[CHUNKS] = count;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, CLAIM, job << 10);
    Atomics.store(ctl, JOB, job);
    if (Atomics.load(ctl, SLEEPERS) > 0) {
      Atomics.notify(ctl, JOB);
    }
    let failure: unknown;
    let own = 0;
    const started = performance.now();
    for (;;) {
      const v = Atomics.load(ctl, CLAIM);
      if ((v & 1023) >= count) break;
      if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) !== v) continue;
      own++;
      const u0 = offset + (v & 1023) * chunk;
      // After a failure the remaining chunks are claimed but skipped, so that no worker is still
      // writing when this returns.
      if (failure === undefined) {
        try {
          fn(...args, u0, Math.min(offset + units, u0 + chunk));
        } catch (error) {
          failure = error;
        }
      }
      Atomics.add(ctl, DONE, 1);
    }
    const worked = performance.now();
    while (Atomics.load(ctl, DONE) < count) {
      // A worker is finishing its chunk.
    }
    // Close the job before the next one rewrites OP, ARGS and the cut: a worker that saw this
    // job's number but was descheduled before claiming would otherwise read the next job's
    // arguments with this job's tag, and, when the next job has more chunks, pass the
    // `claimed >= chunks` test, claim a chunk of a finished job, run it on the next job's buffers
    // and count it in the next job's DONE (so that job could end before its chunks were written:
    // wrong results, seen once in CI under load). No job's tag is negative.
    Atomics.store(ctl, CLAIM, -1);
    this.watchStragglers(own, count, worked - started, performance.now() - worked);
    if (failure === undefined && Atomics.load(ctl, FAILED) === job) {
      failure = new Error('a kernel failed on a worker thread');
    }
    if (failure !== undefined) {
      throw new InternalError(`The CPU kernel ${op} failed: ${(failure as Error).message}`, { cause: failure });
    }
  }

  /**
   * Falls back to this thread alone for a while when the workers do not help. On a machine whose
   * cores are busy with other processes, a worker that spins for the next job takes CPU time from
   * this thread, and one descheduled in the middle of a chunk makes it wait a scheduler time slice:
   * measured with another process busy on one of 2 cores, streaming the ~125M model's weights took
   * 32-45 ms on 2 threads (this one doing ~86 % of the chunks) against 16-24 ms on 1. A job counts
   * as delayed when this thread did at least 80 % of 8 or more chunks, or waited longer than 3 of
   * its own chunks (plus 50 µs); 8 in a row switch to one thread (the workers go to sleep) for the
   * next 2,000 jobs (~30 decode steps of that model), after which both threads are tried again.
   * Jobs shorter than 0.2 ms are not judged: a worker needs a few microseconds to join one.
   */
  private watchStragglers(ownChunks: number, chunks: number, workedMs: number, waitedMs: number): void {
    const verdict = judgeJob(ownChunks, chunks, workedMs, waitedMs);
    if (verdict === 'unjudged') {
      return;
    }
    this.delayedJobs = verdict === 'delayed' ? this.delayedJobs + 1 : 0;
    if (this.delayedJobs >= STRAGGLER_JOBS) {
      this.delayedJobs = 0;
      this.soloJobs = SOLO_JOBS;
    }
  }

  /**
   * Lays rows `[k0, k1)` of a row-major `[k, cols]` block (fs2's `[in, out]`; `srcPtr` points at
   * row `k0`) into columns `[col, col + cols)` of the panel weight at `w` (`k` rows), times `scale`.
   * Runs on every thread (a first load also faults the weight's pages in: that is split too).
   */
  packInOut(srcPtr: number, k: number, cols: number, w: number, col: number, scale: number, k0 = 0, k1 = k): void {
    this.parallel('pack_in_out', [srcPtr, k0, k, cols, w, col, floatBits(scale)], k1 - k0, this.threads * 4, 8, k0);
  }

  /**
   * Lays rows `[r0, r1)` of a row-major `[rows, k]` block (PyTorch's `[out, in]`; `srcPtr` points
   * at row `r0`) into columns `[col + r0, col + r1)` of the panel weight at `w` (`k` rows), times
   * `scale`, on every thread.
   */
  packOutIn(srcPtr: number, k: number, w: number, col: number, scale: number, r0: number, r1: number): void {
    this.parallel('pack_out_in', [srcPtr, r0, k, w, col, floatBits(scale)], r1 - r0, this.threads * 4, 8, r0);
  }

  /** Frees the staging block (after a load), so that KV caches and scratch reuse its pages. */
  releaseStaging(): void {
    if (this.stagingPtr !== 0) {
      this.free(this.stagingPtr);
      this.stagingPtr = 0;
      this.stagingBytes = 0;
    }
  }

  /**
   * A block of at least `bytes` bytes kept for staging (reading a file in chunks before laying
   * them out), reused by every call: its pages are faulted in once. Valid until the next call.
   */
  staging(bytes: number): number {
    if (this.stagingPtr === 0 || this.stagingBytes < bytes) {
      if (this.stagingPtr !== 0) {
        this.free(this.stagingPtr);
      }
      this.stagingPtr = this.alloc(bytes);
      this.stagingBytes = bytes;
    }
    return this.stagingPtr;
  }

  /** Columns `[col, col + cols)` of the panel weight at `w` (`k` rows) into `dst` as row-major `[k, cols]`. */
  unpackInOut(w: number, k: number, cols: number, dst: number, col: number): void {
    this.rawFn.unpack_in_out(w, k, cols, dst, col);
  }

  /** Stops the workers; the kernels cannot be used afterwards. */
  close(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    if (this.workers.length > 0) {
      this.control[OP] = OP_EXIT;
      Atomics.store(this.control, JOB, (this.job + 1) & JOB_MASK);
      Atomics.notify(this.control, JOB);
    }
    for (const worker of this.workers) {
      void worker.terminate();
    }
  }

  private taken(ptr: number, size: number): number {
    this.sizes.set(ptr, size);
    // Whatever is handed out may be written: it no longer counts as zeros.
    this.untouched = Math.max(this.untouched, ptr + size);
    this.allocatedBytes += size;
    this.highWater = Math.max(this.highWater, this.allocatedBytes);
    return ptr;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new InternalError('The CPU kernels are used after close().');
    }
  }
}

/**
 * Compiles the kernels with V8's optimising compiler right away. By default V8 first compiles wasm
 * with its baseline compiler (Liftoff) and optimises a function only after it has run for a while,
 * in the background, for its next call: the first products of a prefill then run ~5x slower
 * (measured on a [128, 768] x [768, 4096] product: 195 ms, then 35-48 ms). The module is small
 * (~12 KB), so optimising it up front costs milliseconds. The flag is read at compile time and put
 * back at once, so no other module (TF.js's) is affected.
 */
function compileOptimized(bytes: Uint8Array): WasmModule {
  const userChoice = process.execArgv.some((arg) => /^--(no-)?(liftoff|wasm-lazy-compilation)$/.test(arg));
  if (!userChoice) {
    // Lazy compilation would compile each function at its first call, with the flags of then.
    setFlagsFromString('--no-liftoff');
    setFlagsFromString('--no-wasm-lazy-compilation');
  }
  try {
    return new WebAssemblyApi.Module(bytes);
  } finally {
    if (!userChoice) {
      setFlagsFromString('--liftoff');
      setFlagsFromString('--wasm-lazy-compilation');
    }
  }
}

/**
 * Whether the workers helped with a job (see `CpuKernels.watchStragglers`): `delayed` when this
 * thread did at least 80 % of 8 or more chunks, or waited for the workers longer than 3 of its own
 * chunks plus 50 µs; `unjudged` for a job shorter than 0.2 ms.
 */
export function judgeJob(ownChunks: number, chunks: number, workedMs: number, waitedMs: number): 'delayed' | 'helped' | 'unjudged' {
  if (workedMs + waitedMs < 0.2) {
    return 'unjudged';
  }
  const alone = chunks >= 8 && ownChunks >= 0.8 * chunks;
  const waited = ownChunks > 0 && waitedMs > (3 * workedMs) / ownChunks + 0.05;
  return alone || waited ? 'delayed' : 'helped';
}

const bitsView = new Int32Array(1);
const floatView = new Float32Array(bitsView.buffer);

/** The bits of a float32, as an int32 (kernels that run on several threads take integer arguments only). */
function floatBits(value: number): number {
  floatView[0] = value;
  return bitsView[0] as number;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}
