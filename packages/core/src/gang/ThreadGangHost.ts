import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { compiledModuleUrl } from './compiledModuleUrl.js';
import { GangError, type GangFailureKind } from './GangError.js';
import {
  deserializeError,
  describeError,
  serializeError,
  PROTOCOL_VERSION,
  type HostToWorker,
  type WorkerBootData,
  type WorkerToHost,
} from './protocol.js';
import { computeLayout, initSharedMemory, publishFailure, type ThreadGangLayout } from './sharedMemory.js';
import { joinRanks } from './ThreadGang.js';
import type {
  ThreadGangApi,
  ThreadGangApiShape,
  ThreadGangPayload,
  ThreadGangReply,
} from './ThreadGangWorker.js';

/** Options of {@link ThreadGangHost.start}. */
export interface ThreadGangHostOptions {
  /**
   * The worker module: a `file:` URL or an absolute path of an ES module whose default export is a
   * {@link ThreadGangWorkerSetup} (see {@link defineThreadGangWorker}). Node imports it in each worker
   * thread, outside any test runner's module system: it must be plain JavaScript (a compiled module,
   * or an `.mjs` file), and it resolves `@fs2/core` to the package's compiled `dist/`.
   */
  readonly entry: string | URL;
  /** The number of ranks (worker threads), 1 to 256. */
  readonly size: number;
  /** Data for every rank's setup, structured-cloned into each worker. Default `undefined`. */
  readonly initData?: unknown;
  /**
   * How long a rank waits in a collective for the other ranks before it fails the gang with a
   * `timeout` {@link GangError} naming the ranks that did not arrive, in milliseconds. Default 60 000
   * (one minute): in-host collectives take microseconds, so a minute of waiting means a rank is stuck
   * or much slower than its peers (raise it when ranks run long uneven work between collectives, such
   * as one rank loading a checkpoint while the others wait in a barrier). `Infinity` waits forever.
   */
  readonly collectiveTimeoutMs?: number;
  /**
   * How long `start()` waits for every rank's setup, in milliseconds; on expiry the start fails with a
   * `timeout` `GangError` naming the ranks that were not ready. Default `Infinity` (setup loads models,
   * whose time has no useful bound).
   */
  readonly startTimeoutMs?: number;
  /**
   * The number of floats one rank exchanges per collective step: larger payloads are exchanged in
   * chunks of this size, smaller ones in one step. Default 65 536 (256 KiB per rank and half): that
   * covers one token's hidden state of any model in one step, and a chunk of a prefill in 64-256 KiB
   * (whose copies run at 8-28 GB/s by js-ecosystem.md §3.2) costs about the same as a wake-up.
   */
  readonly chunkFloats?: number;
  /**
   * The number of ranks, summed over every sub-gang of 2 ranks or more, that `createGang()` can
   * create; each takes `2 * chunkFloats` floats of shared memory. Default `2 * size`: enough for one
   * `createParallelGangs()` (each rank in one data- and one tensor-parallel gang).
   */
  readonly subGangSlots?: number;
  /**
   * How many times a rank polls the shared counter before it sleeps in `Atomics.wait` (one poll takes
   * about 10 ns). Default 1 000 (about 10 µs): measured with `bench/collectiveLatency.mjs` on a 2-core
   * VM, it cut the median 2-rank barrier from 27-28 µs to 11-21 µs and a 768-float all-reduce from
   * 24-28 µs to 15-16 µs, while longer spins (10 000 and more) gave larger outliers on a busy machine,
   * where a spinning rank takes the core its peer needs. 0 sleeps at once.
   */
  readonly spinIterations?: number;
  /**
   * After a failure, how long the host lets the surviving ranks finish what they were doing (their
   * collectives throw at once, so they usually finish in microseconds) before it terminates them, in
   * milliseconds. Default 1 000.
   */
  readonly abortGraceMs?: number;
  /** V8 heap limits of each worker (`worker_threads` `resourceLimits`). Default: Node's defaults. */
  readonly resourceLimits?: ResourceLimits;
}

/** Options of {@link ThreadGangHost.request} and {@link ThreadGangHost.requestAll}. */
export interface ThreadGangRequestOptions {
  /**
   * How long to wait for every rank's reply, in milliseconds; on expiry the gang fails with a
   * `timeout` `GangError` naming the ranks that did not reply. Default `Infinity`.
   */
  readonly timeoutMs?: number;
}

const DEFAULT_COLLECTIVE_TIMEOUT_MS = 60_000;
const DEFAULT_CHUNK_FLOATS = 65_536;
/** See `ThreadGangHostOptions.spinIterations`. */
const DEFAULT_SPIN_ITERATIONS = 1_000;
const DEFAULT_ABORT_GRACE_MS = 1_000;
/** One thread per rank in one process: far more than any host has cores (the layout grows with size²). */
const MAX_SIZE = 256;
/** Typed arrays over the buffer are indexed by 32-bit words; stay well inside that. */
const MAX_SHARED_BYTES = 2 ** 31 - 1;

interface Settings {
  readonly entry: string;
  readonly size: number;
  readonly initData: unknown;
  readonly collectiveTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly chunkFloats: number;
  readonly subGangSlots: number;
  readonly spinIterations: number;
  readonly abortGraceMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
}

interface PendingRequest {
  readonly method: string;
  readonly replies: unknown[];
  readonly replied: boolean[];
  remaining: number;
  readonly resolve: (replies: unknown[]) => void;
  readonly reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

type State = 'starting' | 'running' | 'failed';

/**
 * Node's exit code for a module whose top-level await never settles (nodejs.org/api/process.html,
 * "Exit codes"): the bootstrap awaits the setup at its top level, so a worker whose setup awaits a
 * promise that nothing can settle drains its event loop and exits with it.
 */
const UNSETTLED_TOP_LEVEL_AWAIT = 13;

/** The workers of every host of this module that have not exited yet. */
let liveWorkersInProcess = 0;

/**
 * Runs a gang of worker threads in this process: `size` workers, each running the bootstrap of
 * `@fs2/core`, which imports the `entry` module, gives its setup function a {@link ThreadGang} over one
 * `SharedArrayBuffer`, and then serves the host's requests. A tensor-parallel model runner loads one
 * shard per rank in the setup and answers `forward` requests, its ranks meeting in collectives.
 *
 * ```ts
 * const host = await ThreadGangHost.start<ThreadGangApiOf<typeof setup>>({
 *   entry: new URL('./tp-worker.js', import.meta.url), size: 2, initData: { checkpoint },
 * });
 * try {
 *   const logits = await host.request('forward', { tokens });   // rank 0's reply
 * } finally {
 *   await host.close();
 * }
 * ```
 *
 * Requests go to every rank, in order; each rank runs one request at a time. `request()` resolves to
 * rank 0's reply, `requestAll()` to every rank's.
 *
 * Failures never hang: when a rank's handler or setup throws, a worker dies (`process.exit()`, an
 * uncaught error, running out of heap, `worker.terminate()`), a collective times out or the ranks
 * call mismatched collectives, the host fails the gang: every collective waiting on any rank, and every
 * later one, throws a {@link GangError}; every pending and later request rejects with the first
 * failure as a `GangError` naming the rank and the reason; after `abortGraceMs` at most, every worker
 * is terminated. A failed host cannot be used again: start a new one.
 *
 * Lifetime: `close()` terminates every worker and resolves once they have exited. The workers keep the
 * process alive only while a request or the start is pending (or a shutdown runs), so a host that is
 * never closed does not hold the process open; its threads end with the process.
 */
export class ThreadGangHost<TApi extends ThreadGangApiShape<TApi> = ThreadGangApi> {
  /** The number of ranks. */
  readonly size: number;
  /** The worker threads, by rank, for monitoring (`threadId`, `'exit'` events); do not post to them. */
  readonly workers: readonly Worker[];
  /** Resolves once every worker has exited (after `close()`, or after a failure's shutdown). */
  readonly exited: Promise<void>;

  readonly #settings: Settings;
  readonly #layout: ThreadGangLayout;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  #state: State = 'starting';
  #failure: GangError | undefined;
  #methods: readonly string[] = [];
  readonly #alive: boolean[];
  /** Per rank: the start (1 until ready) plus the requests sent and not yet answered. */
  readonly #outstanding: number[];
  readonly #ready: boolean[];
  readonly #pending = new Map<number, PendingRequest>();
  #nextId = 1;
  #refed = true;
  #shuttingDown = false;
  #terminating = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #resolveStarted!: () => void;
  #rejectStarted!: (error: unknown) => void;
  readonly #started: Promise<void>;
  #resolveExited!: () => void;

  /**
   * Starts `options.size` workers and resolves once every rank's setup has returned. Rejects with a
   * {@link GangError} when a rank fails to start (its module does not load, its setup throws, its
   * worker dies, `startTimeoutMs` passes), after every worker has exited.
   *
   * @throws InvalidArgumentError for invalid options.
   * @throws OperationalError when this module runs from its TypeScript sources and the compiled worker
   *   bootstrap (`dist/gang/workerBootstrap.js`) is missing: run `npm run build`.
   */
  static async start<TApi extends ThreadGangApiShape<TApi> = ThreadGangApi>(
    options: ThreadGangHostOptions,
  ): Promise<ThreadGangHost<TApi>> {
    const settings = resolveSettings(options);
    const bootstrap = compiledModuleUrl('./workerBootstrap.js', import.meta.url);
    const host = new ThreadGangHost<TApi>(settings, bootstrap);
    try {
      await host.#started;
    } catch (error) {
      await host.exited;
      throw error;
    }
    return host;
  }

  private constructor(settings: Settings, bootstrap: URL) {
    this.#settings = settings;
    this.size = settings.size;
    this.#layout = computeLayout(settings.size, settings.chunkFloats, settings.subGangSlots);
    const buffer = new SharedArrayBuffer(this.#layout.totalBytes);
    this.#i32 = new Int32Array(buffer);
    this.#u8 = new Uint8Array(buffer);
    initSharedMemory(this.#i32, this.#layout);

    this.#alive = new Array<boolean>(settings.size).fill(true);
    this.#outstanding = new Array<number>(settings.size).fill(1);
    this.#ready = new Array<boolean>(settings.size).fill(false);
    this.#started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // Nobody awaits it when start() succeeds and the caller never fails the gang.
    this.#started.catch(() => undefined);
    this.exited = new Promise<void>((resolve) => {
      this.#resolveExited = resolve;
    });

    const workers: Worker[] = [];
    for (let rank = 0; rank < settings.size; rank++) {
      const boot: WorkerBootData = {
        protocol: PROTOCOL_VERSION,
        entry: settings.entry,
        rank,
        size: settings.size,
        buffer,
        chunkFloats: settings.chunkFloats,
        subGangSlots: settings.subGangSlots,
        collectiveTimeoutMs: settings.collectiveTimeoutMs,
        spinIterations: settings.spinIterations,
        initData: settings.initData,
      };
      let worker: Worker;
      try {
        worker = new Worker(bootstrap, {
          workerData: boot,
          ...(settings.resourceLimits === undefined ? {} : { resourceLimits: settings.resourceLimits }),
        });
      } catch (error) {
        // initData that cannot be cloned, or no thread left: nothing to wait for on this rank.
        this.#alive[rank] = false;
        for (let later = rank + 1; later < settings.size; later++) {
          this.#alive[later] = false;
        }
        this.workers = workers;
        this.#fail('threw', [rank], 'start', `Rank ${rank} of the thread gang could not be started: \`${describeError(serializeError(error))}\`.`, error);
        return;
      }
      liveWorkersInProcess += 1;
      this.#listen(worker, rank);
      workers.push(worker);
    }
    this.workers = workers;

    if (Number.isFinite(settings.startTimeoutMs)) {
      this.#startTimer = setTimeout(() => {
        const missing = this.#ready.flatMap((ready, rank) => (ready ? [] : [rank]));
        this.#fail(
          'timeout',
          missing,
          'start',
          `The thread gang did not start within ${settings.startTimeoutMs} ms: ${joinRanks(missing)} ${missing.length === 1 ? 'was' : 'were'} not ready.`,
        );
      }, settings.startTimeoutMs);
    }
  }

  /**
   * The number of workers, over every host of this process, that have not exited yet: a leak check
   * for tests and for programs that start and close hosts repeatedly.
   */
  static get liveWorkersInProcess(): number {
    return liveWorkersInProcess;
  }

  /** The names of the request handlers (rank 0's), known once started. */
  get methods(): readonly string[] {
    return this.#methods;
  }

  /** The first failure, or `undefined` while the gang works. */
  get failure(): GangError | undefined {
    return this.#failure;
  }

  /** The number of workers that have not exited yet. */
  get liveWorkerCount(): number {
    return this.#alive.filter(Boolean).length;
  }

  /**
   * Sends `method(payload)` to every rank and resolves to rank 0's reply, once every rank has replied.
   * Rejects with the gang's {@link GangError} when the gang fails before that (or has failed, or is
   * closed), with `InvalidArgumentError` when no handler has that name or the payload cannot be cloned.
   */
  async request<K extends keyof TApi & string>(
    method: K,
    payload: ThreadGangPayload<TApi[K]>,
    options: ThreadGangRequestOptions = {},
  ): Promise<ThreadGangReply<TApi[K]>> {
    const replies = await this.requestAll(method, payload, options);
    return replies[0]!;
  }

  /** As {@link request}, but resolves to every rank's reply, by rank. */
  requestAll<K extends keyof TApi & string>(
    method: K,
    payload: ThreadGangPayload<TApi[K]>,
    options: ThreadGangRequestOptions = {},
  ): Promise<ThreadGangReply<TApi[K]>[]> {
    if (this.#failure !== undefined) {
      return Promise.reject(this.#failure);
    }
    if (!this.#methods.includes(method)) {
      return Promise.reject(
        new InvalidArgumentError(
          'method',
          `The thread gang's workers have no \`${method}\` handler; their handlers are ${this.#methods.map((m) => `\`${m}\``).join(', ') || 'none'}.`,
        ),
      );
    }
    const timeoutMs = options.timeoutMs ?? Infinity;
    if (!(timeoutMs > 0)) {
      return Promise.reject(
        new InvalidArgumentError('timeoutMs', `\`timeoutMs\` must be greater than 0, but is ${timeoutMs} instead.`),
      );
    }
    const id = this.#nextId++;
    const message: HostToWorker = { type: 'request', id, method, payload };
    return new Promise<ThreadGangReply<TApi[K]>[]>((resolve, reject) => {
      try {
        // Structured cloning is deterministic: if rank 0's copy fails, nothing was sent.
        this.workers[0]!.postMessage(message);
      } catch (error) {
        reject(
          new InvalidArgumentError(
            'payload',
            `The payload of the \`${method}\` request cannot be sent to the workers: \`${describeError(serializeError(error))}\`.`,
            { cause: error },
          ),
        );
        return;
      }
      const pending: PendingRequest = {
        method,
        replies: new Array<unknown>(this.size),
        replied: new Array<boolean>(this.size).fill(false),
        remaining: this.size,
        resolve: resolve as (replies: unknown[]) => void,
        reject,
        timer: undefined,
      };
      this.#pending.set(id, pending);
      this.#outstanding[0]! += 1;
      for (let rank = 1; rank < this.size; rank++) {
        this.workers[rank]!.postMessage(message);
        this.#outstanding[rank]! += 1;
      }
      if (Number.isFinite(timeoutMs)) {
        pending.timer = setTimeout(() => {
          const missing = pending.replied.flatMap((replied, rank) => (replied ? [] : [rank]));
          this.#fail(
            'timeout',
            missing,
            method,
            `The \`${method}\` request timed out after ${timeoutMs} ms: ${joinRanks(missing)} did not reply.`,
          );
        }, timeoutMs);
      }
      this.#updateRefs();
    });
  }

  /**
   * Terminates every worker and resolves once all have exited. Pending requests reject with a
   * `closed` {@link GangError} (unless the gang had already failed), and so do later ones. Safe to
   * call more than once, and after a failure (it cuts the failure's grace period short).
   */
  async close(): Promise<void> {
    this.#fail('closed', [], undefined, 'The thread gang was closed.');
    this.#terminateAll();
    await this.exited;
  }

  /** `close()`, for `await using host = await ThreadGangHost.start(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #listen(worker: Worker, rank: number): void {
    worker.on('message', (message: WorkerToHost) => this.#onMessage(rank, message));
    worker.on('messageerror', (error: Error) => {
      this.#fail(
        'threw',
        [rank],
        this.#currentOperation(rank),
        `Rank ${rank} of the thread gang failed${this.#during(rank)}: a message from its worker could not be deserialized: \`${describeError(serializeError(error))}\`.`,
        error,
      );
    });
    worker.on('error', (error: Error) => {
      const described = describeError(serializeError(error));
      const what =
        (error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `its worker ran out of memory (\`${described}\`)`
          : `its worker crashed with an uncaught \`${described}\``;
      this.#fail('crashed', [rank], this.#currentOperation(rank), `Rank ${rank} of the thread gang failed${this.#during(rank)}: ${what}.`, error);
    });
    worker.on('exit', (code: number) => {
      if (!this.#terminating) {
        this.#fail(
          'exited',
          [rank],
          this.#currentOperation(rank),
          `Rank ${rank} of the thread gang failed${this.#during(rank)}: its worker exited with code ${code}${
            code === UNSETTLED_TOP_LEVEL_AWAIT && !this.#ready[rank]
              ? ' (an unsettled top-level await: its setup awaits a promise that nothing can settle)'
              : ''
          }.`,
        );
      }
      this.#alive[rank] = false;
      this.#outstanding[rank] = 0;
      liveWorkersInProcess -= 1;
      if (this.liveWorkerCount === 0) {
        clearTimeout(this.#graceTimer);
        this.#resolveExited();
      } else {
        this.#maybeFinishShutdown();
      }
    });
  }

  #onMessage(rank: number, message: WorkerToHost): void {
    switch (message.type) {
      case 'ready':
        this.#outstanding[rank]! -= 1;
        this.#ready[rank] = true;
        if (rank === 0) {
          this.#methods = Object.freeze([...message.methods]);
        }
        if (this.#state === 'starting' && this.#ready.every(Boolean)) {
          this.#state = 'running';
          clearTimeout(this.#startTimer);
          this.#resolveStarted();
          this.#updateRefs();
        }
        this.#maybeFinishShutdown();
        break;
      case 'startFailed':
        this.#outstanding[rank]! -= 1;
        this.#fail(
          'threw',
          [rank],
          'start',
          `Rank ${rank} of the thread gang failed while starting: it threw \`${describeError(message.error)}\`.`,
          deserializeError(message.error),
        );
        this.#maybeFinishShutdown();
        break;
      case 'reply': {
        this.#outstanding[rank]! -= 1;
        const pending = this.#pending.get(message.id);
        if (pending !== undefined) {
          pending.replies[rank] = message.value;
          pending.replied[rank] = true;
          pending.remaining -= 1;
          if (pending.remaining === 0) {
            clearTimeout(pending.timer);
            this.#pending.delete(message.id);
            pending.resolve(pending.replies);
            this.#updateRefs();
          }
        }
        this.#maybeFinishShutdown();
        break;
      }
      case 'error': {
        this.#outstanding[rank]! -= 1;
        const method = this.#pending.get(message.id)?.method;
        this.#fail(
          'threw',
          [rank],
          method,
          `Rank ${rank} of the thread gang failed${method === undefined ? '' : ` during the \`${method}\` request`}: its handler threw \`${describeError(message.error)}\`.`,
          deserializeError(message.error),
        );
        this.#maybeFinishShutdown();
        break;
      }
      case 'gangFailure': {
        const { record } = message;
        this.#fail(record.kind as GangFailureKind, record.ranks, record.operation, record.message);
        break;
      }
    }
  }

  /** The request or phase rank `rank` is busy with, for messages. */
  #currentOperation(rank: number): string | undefined {
    if (!this.#ready[rank]) {
      return 'start';
    }
    for (const pending of this.#pending.values()) {
      if (!pending.replied[rank]) {
        return pending.method;
      }
    }
    return undefined;
  }

  #during(rank: number): string {
    const operation = this.#currentOperation(rank);
    if (operation === undefined) {
      return '';
    }
    return operation === 'start' ? ' while starting' : ` during the \`${operation}\` request`;
  }

  /**
   * Fails the gang once: publishes the failure to the ranks (waking every waiting collective), rejects
   * the start and every pending request, and starts the shutdown. Later failures are ignored: the first
   * is the cause, the others its consequences.
   */
  #fail(kind: GangFailureKind, ranks: readonly number[], operation: string | undefined, message: string, cause?: unknown): void {
    if (this.#failure !== undefined) {
      return;
    }
    const error = new GangError(kind, ranks, operation, message, cause === undefined ? undefined : { cause });
    this.#failure = error;
    const wasStarting = this.#state === 'starting';
    this.#state = 'failed';
    publishFailure(this.#i32, this.#u8, this.#layout, { kind, ranks, operation, message });
    clearTimeout(this.#startTimer);
    if (wasStarting) {
      this.#rejectStarted(error);
    }
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();

    this.#shuttingDown = true;
    this.#updateRefs();
    if (kind === 'closed' || this.#settings.abortGraceMs <= 0) {
      this.#terminateAll();
    } else {
      this.#graceTimer = setTimeout(() => this.#terminateAll(), this.#settings.abortGraceMs);
      this.#maybeFinishShutdown();
    }
  }

  /** During a shutdown, terminates the workers as soon as none is busy. */
  #maybeFinishShutdown(): void {
    if (this.#shuttingDown && this.#outstanding.every((count, rank) => count <= 0 || !this.#alive[rank])) {
      this.#terminateAll();
    }
  }

  #terminateAll(): void {
    if (this.#terminating) {
      return;
    }
    this.#terminating = true;
    clearTimeout(this.#graceTimer);
    this.workers.forEach((worker, rank) => {
      if (this.#alive[rank]) {
        worker.terminate().catch(() => undefined);
      }
    });
    if (this.liveWorkerCount === 0) {
      this.#resolveExited();
    }
  }

  /** Workers keep the process alive only while something is pending. */
  #updateRefs(): void {
    const busy = this.#state === 'starting' || this.#pending.size > 0 || this.#shuttingDown;
    if (busy === this.#refed) {
      return;
    }
    this.#refed = busy;
    this.workers.forEach((worker, rank) => {
      if (this.#alive[rank]) {
        if (busy) {
          worker.ref();
        } else {
          worker.unref();
        }
      }
    });
  }
}

function resolveSettings(options: ThreadGangHostOptions): Settings {
  const size = options.size;
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
    throw new InvalidArgumentError(
      'size',
      `\`size\` must be an integer from 1 to ${MAX_SIZE}, but is ${size} instead.`,
    );
  }
  const collectiveTimeoutMs = options.collectiveTimeoutMs ?? DEFAULT_COLLECTIVE_TIMEOUT_MS;
  const startTimeoutMs = options.startTimeoutMs ?? Infinity;
  const abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  for (const [name, value, min] of [
    ['collectiveTimeoutMs', collectiveTimeoutMs, 'greater than 0'],
    ['startTimeoutMs', startTimeoutMs, 'greater than 0'],
    ['abortGraceMs', abortGraceMs, 'greater than or equal to 0'],
  ] as const) {
    const valid = typeof value === 'number' && (min === 'greater than 0' ? value > 0 : value >= 0);
    if (!valid) {
      throw new InvalidArgumentError(name, `\`${name}\` must be a number ${min}, but is ${String(value)} instead.`);
    }
  }
  const chunkFloats = options.chunkFloats ?? DEFAULT_CHUNK_FLOATS;
  const subGangSlots = options.subGangSlots ?? 2 * size;
  const spinIterations = options.spinIterations ?? DEFAULT_SPIN_ITERATIONS;
  for (const [name, value, min] of [
    ['chunkFloats', chunkFloats, 1],
    ['subGangSlots', subGangSlots, 0],
    ['spinIterations', spinIterations, 0],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(
        name,
        `\`${name}\` must be an integer greater than or equal to ${min}, but is ${String(value)} instead.`,
      );
    }
  }
  const layout = computeLayout(size, chunkFloats, subGangSlots);
  if (layout.totalBytes > MAX_SHARED_BYTES) {
    throw new InvalidArgumentError(
      'chunkFloats',
      `The thread gang's shared memory would take ${layout.totalBytes} bytes, more than its limit of ${MAX_SHARED_BYTES}; lower \`chunkFloats\` (${chunkFloats}) or \`subGangSlots\` (${subGangSlots}).`,
    );
  }
  return {
    entry: resolveEntry(options.entry),
    size,
    initData: options.initData,
    collectiveTimeoutMs,
    startTimeoutMs,
    chunkFloats,
    subGangSlots,
    spinIterations,
    abortGraceMs,
    resourceLimits: options.resourceLimits,
  };
}

function resolveEntry(entry: string | URL): string {
  let url: URL;
  if (entry instanceof URL) {
    url = entry;
  } else if (typeof entry === 'string' && entry.startsWith('file:')) {
    url = new URL(entry);
  } else if (typeof entry === 'string' && isAbsolute(entry)) {
    url = pathToFileURL(entry);
  } else {
    throw new InvalidArgumentError(
      'entry',
      `\`entry\` must be a URL or an absolute path of the worker module, but is ${JSON.stringify(entry)} instead.`,
    );
  }
  if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) {
    throw new InvalidArgumentError('entry', `The thread gang worker module \`${fileURLToPath(url)}\` does not exist.`);
  }
  return url.href;
}
