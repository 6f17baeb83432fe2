import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';

import { InternalError, InvalidArgumentError } from '../../errors/Fs2Error.js';
import { compiledModuleUrl } from '../../gang/compiledModuleUrl.js';
import type { GangError } from '../../gang/GangError.js';
import { ThreadGangHost } from '../../gang/ThreadGangHost.js';
import { DEFAULT_MAX_NEW_TOKENS, type GeneratedToken, type GenerationOptions, type GenerationResult, type StopReason } from '../../nn/generate.js';
import { TokenSampler } from '../../nn/TokenSampler.js';
import type { TokenInput } from '../../nn/TransformerDecoderModel.js';
import type { CausalLM, Logits, LogitsOptions } from '../CausalLM.js';
import type {
  TensorParallelModelInfo,
  TensorParallelSource,
  TensorParallelWorkerApi,
  TensorParallelWorkerInit,
  WorkerGenerationOptions,
} from './protocol.js';

/** Options of {@link TensorParallelModel.start}. */
export interface TensorParallelModelOptions {
  /** The registered name of the model family (the workers look it up in their own fs2). */
  readonly family: string;
  /** The family's config of the model (checked already; structured-cloned into the workers). */
  readonly config: unknown;
  /** A checkpoint to load (a local path: download it first), or random weights of a seed. */
  readonly source: TensorParallelSource;
  /** The number of ranks (worker threads). */
  readonly tp: number;
  /** The device every worker activates. Default: `wasm`. */
  readonly device?: string;
  /** The environment variables of the workers' fs2 containers. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the workers' extension discovery starts. Default: `process.cwd()`. */
  readonly cwd?: string;
  /** See `TensorParallelOptions.workerSetup`. Default: none. */
  readonly workerSetup?: string | URL;
  /** See `ThreadGangHostOptions.collectiveTimeoutMs`. Default: 60 000. */
  readonly collectiveTimeoutMs?: number;
  /** See `ThreadGangHostOptions.startTimeoutMs`. Default: `Infinity`. */
  readonly startTimeoutMs?: number;
}

/** The URL of a `workerSetup` module. */
function setupUrl(setup: string | URL): string {
  if (setup instanceof URL) {
    return setup.href;
  }
  if (setup.startsWith('file:')) {
    return setup;
  }
  if (!isAbsolute(setup)) {
    throw new InvalidArgumentError(
      'workerSetup',
      `\`workerSetup\` must be a URL or an absolute path of a compiled module, but is ${JSON.stringify(setup)} instead.`,
    );
  }
  return pathToFileURL(setup).href;
}

/** Read through a function so the check is not narrowed away between steps. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * A model split over `tp` worker threads of this process (a thread gang), seen from the thread that
 * started it: the generation surface of a local model ({@link CausalLM}), asynchronous. Each worker
 * built its own fs2, activated its own TF.js backend and loaded its part of the model, reading only
 * its slices of the checkpoint; the ranks meet in the model's collectives (two all-reduces per
 * layer, plus the embedding's and the logits' gather).
 *
 * Obtain one with a hub's `loadModel(card, { tp })`, `loadCustomModel(path, config, { tp })` or
 * `createNewModel(config, { tp })`, or from `loadModel(card, { tp })` of `@fs2/core`. Every rank
 * computes the same logits; for a generation every rank samples the same token (the same seed, which
 * is drawn here when none is given), checked with a one-float broadcast per token.
 *
 * Failures follow the thread gang's: a rank that throws or dies, a collective that times out, fails
 * the whole model, every pending and later call rejects with the same `GangError`, and every worker
 * is terminated. Inputs are checked here first, so that a bad token id is an `InvalidArgumentError`
 * and leaves the model working. {@link TensorParallelModel.dispose} terminates the workers.
 */
export class TensorParallelModel implements CausalLM {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  readonly maxCacheLength: number;
  readonly tensorParallelSize: number;
  /** The model family's name. */
  readonly family: string;
  /** The parameters (elements) each rank holds, by rank. */
  readonly rankParameters: readonly number[];
  readonly #host: ThreadGangHost<TensorParallelWorkerApi>;
  #nextSession = 1;

  private constructor(host: ThreadGangHost<TensorParallelWorkerApi>, family: string, info: readonly TensorParallelModelInfo[]) {
    const first = info[0] as TensorParallelModelInfo;
    this.#host = host;
    this.family = family;
    this.tensorParallelSize = host.size;
    this.vocabSize = first.vocabSize;
    this.maxSeqLen = first.maxSeqLen;
    this.maxCacheLength = first.maxCacheLength;
    this.rankParameters = info.map((i) => i.localParameters);
  }

  /**
   * Starts the workers and loads the model in them; resolves once every rank is ready. What the
   * model families call for `tp`; prefer them.
   *
   * @throws GangError when a worker fails to start (its error, e.g. a `TensorParallelSplitError` or
   *   a `CheckpointError`, is the cause and is quoted in the message); no worker is left running.
   * @throws OperationalError when the compiled worker module is missing (run `npm run build`).
   */
  static async start(options: TensorParallelModelOptions): Promise<TensorParallelModel> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.env ?? process.env)) {
      if (value !== undefined) {
        env[name] = value;
      }
    }
    const setup = options.workerSetup === undefined ? undefined : setupUrl(options.workerSetup);
    const initData: TensorParallelWorkerInit = {
      env,
      cwd: options.cwd ?? process.cwd(),
      family: options.family,
      config: options.config,
      source: options.source,
      device: options.device,
      setup,
    };
    const host = await ThreadGangHost.start<TensorParallelWorkerApi>({
      entry: compiledModuleUrl('./tensorParallelWorker.js', import.meta.url),
      size: options.tp,
      initData,
      ...(options.collectiveTimeoutMs === undefined ? {} : { collectiveTimeoutMs: options.collectiveTimeoutMs }),
      ...(options.startTimeoutMs === undefined ? {} : { startTimeoutMs: options.startTimeoutMs }),
    });
    try {
      return new TensorParallelModel(host, options.family, await host.requestAll('describe', undefined));
    } catch (error) {
      await host.close();
      throw error;
    }
  }

  /** The worker threads, by rank, for monitoring (`threadId`, `'exit'` events). */
  get workers(): readonly Worker[] {
    return this.#host.workers;
  }

  /** The failure that ended the model, or `undefined` while it works. */
  get failure(): GangError | undefined {
    return this.#host.failure;
  }

  /** Resolves once every worker has exited (after `dispose()`, or after a failure). */
  get exited(): Promise<void> {
    return this.#host.exited;
  }

  /** The number of live TF.js tensors on each rank, by rank (a leak check). */
  liveTensors(): Promise<number[]> {
    return this.#host.requestAll('liveTensors', undefined);
  }

  async logits(tokens: TokenInput, options: LogitsOptions = {}): Promise<Logits> {
    const rows = this.#tokenRows(tokens);
    const logits = await this.#host.request('logits', { tokens: rows, logits: options.logits ?? 'all' });
    return logits as Logits;
  }

  async *generate(prompt: readonly number[] | Int32Array, options: GenerationOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
    const maxNewTokens = options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
    if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens <= 0) {
      throw new InvalidArgumentError('maxNewTokens', `\`maxNewTokens\` must be a positive integer, but is ${maxNewTokens}.`);
    }
    const limit = Math.min(this.maxCacheLength, this.maxSeqLen);
    if (prompt.length === 0) {
      throw new InvalidArgumentError('prompt', 'The prompt must hold at least one token.');
    }
    if (prompt.length > limit) {
      throw new InvalidArgumentError(
        'prompt',
        `The prompt of ${prompt.length} tokens does not fit: the model's KV cache holds at most ${limit} positions.`,
      );
    }
    const ids = this.#tokenRows([prompt])[0] as number[];
    // Checks the sampling options here, where a mistake does not fail the model.
    const sampler = new TokenSampler(options);
    const stopTokens = [...new Set(options.stopTokens ?? [])];
    const seed = options.seed ?? (sampler.greedy ? undefined : randomBytes(8).toString('hex'));
    const workerOptions: WorkerGenerationOptions = {
      temperature: sampler.temperature,
      topK: sampler.topK,
      topP: sampler.topP,
      ...(seed === undefined ? {} : { seed }),
      maxNewTokens,
      stopTokens,
    };
    const tokens: number[] = [];
    if (isAborted(options.signal)) {
      return { tokens, stopReason: 'aborted' };
    }
    // The positions the workers' KV cache has room for (as `generate` sizes it).
    const capacity = Math.min(limit, ids.length + maxNewTokens - 1);
    const session = this.#nextSession++;
    await this.#host.request('generateStart', { session, prompt: ids, options: workerOptions });
    let open = true;
    try {
      for (;;) {
        const step = await this.#host.request('generateNext', { session });
        if (step === undefined) {
          throw new InternalError('Rank 0 of the tensor-parallel model did not report its generation step.');
        }
        if (step.done) {
          open = false;
          return step.result;
        }
        tokens.push(step.token);
        const generated: GeneratedToken = { token: step.token, index: step.index };
        options.onToken?.(generated);
        yield generated;
        // As `generate` decides after each token: a natural end first, then the signal.
        const natural: StopReason | undefined = stopTokens.includes(step.token)
          ? 'stop_token'
          : tokens.length >= maxNewTokens
            ? 'max_new_tokens'
            : ids.length + tokens.length - 1 >= capacity
              ? 'max_length'
              : undefined;
        if (natural === undefined && isAborted(options.signal)) {
          return { tokens, stopReason: 'aborted' };
        }
      }
    } finally {
      if (open && this.#host.failure === undefined) {
        await this.#host.request('generateEnd', { session });
      }
    }
  }

  async generateAll(prompt: readonly number[] | Int32Array, options: GenerationOptions = {}): Promise<GenerationResult> {
    const run = this.generate(prompt, options);
    for (;;) {
      const step = await run.next();
      if (step.done === true) {
        return step.value;
      }
    }
  }

  /** Terminates every worker and resolves once all have exited; later calls reject with a `closed` `GangError`. */
  async dispose(): Promise<void> {
    await this.#host.close();
  }

  /** `dispose()`, for `await using model = await hub.loadModel(card, { tp: 2 })`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** `tokens` as rows of ids, checked as `TransformerDecoderModel.forward` checks them. */
  #tokenRows(tokens: TokenInput): number[][] {
    const rows: readonly (readonly number[] | Int32Array)[] =
      tokens instanceof Int32Array || typeof tokens[0] === 'number' || tokens.length === 0
        ? [tokens as readonly number[] | Int32Array]
        : (tokens as readonly (readonly number[] | Int32Array)[]);
    const length = rows[0]?.length ?? 0;
    if (length === 0) {
      throw new InvalidArgumentError('tokens', 'The model needs at least one token.');
    }
    if (length > this.maxSeqLen) {
      throw new InvalidArgumentError('tokens', `Positions 0 to ${length - 1} exceed the model's \`maxSeqLen\` (${this.maxSeqLen}).`);
    }
    return rows.map((row, b) => {
      if (row.length !== length) {
        throw new InvalidArgumentError(
          'tokens',
          `Every sequence of a batch must have the same length: sequence 0 has ${length} tokens, sequence ${b} has ${row.length}.`,
        );
      }
      return Array.from(row, (id, t) => {
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
          throw new InvalidArgumentError(
            'tokens',
            `The token id ${id} at position ${t} of sequence ${b} is outside the vocabulary [0, ${this.vocabSize}).`,
          );
        }
        return id;
      });
    });
  }
}
