/**
 * What the host of a tensor-parallel model and its workers (`tensorParallelWorker.ts`) exchange
 * (internal): the workers' start data and their request handlers' payloads and replies.
 */
import type { Logits } from '../CausalLM.js';
import type { GenerationResult } from '../../nn/generate.js';
import type { SamplingOptions } from '../../nn/TokenSampler.js';

/** Where a worker's weights come from. */
export type TensorParallelSource =
  | { readonly kind: 'checkpoint'; readonly path: string }
  | { readonly kind: 'random'; readonly seed: number };

/** The `initData` of every worker. */
export interface TensorParallelWorkerInit {
  /** The environment variables of the host's fs2 container, for the worker's own. */
  readonly env: Readonly<Record<string, string>>;
  /** The host's working directory: where the worker's extension discovery starts. */
  readonly cwd: string;
  /** The model family's name. */
  readonly family: string;
  /** The family's config, checked by the host. */
  readonly config: unknown;
  readonly source: TensorParallelSource;
  /** The device to activate. Default: `wasm`. */
  readonly device: string | undefined;
  /** The URL of a module whose default export registers more services in each worker. */
  readonly setup: string | undefined;
}

/** What rank 0 tells the host about the model once loaded. */
export interface TensorParallelModelInfo {
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  readonly maxCacheLength: number;
  /** The parameters (elements) this rank holds. */
  readonly localParameters: number;
}

/** The options of a generation that cross to the workers (no callbacks, no signal). */
export interface WorkerGenerationOptions extends SamplingOptions {
  readonly maxNewTokens?: number;
  readonly stopTokens?: readonly number[];
}

/** One step of a generation: a token, or the end. */
export type GenerationStep =
  | { readonly done: false; readonly token: number; readonly index: number }
  | { readonly done: true; readonly result: GenerationResult };

/** The request handlers of a worker (`logits` and `generateNext` reply from rank 0 only; the other ranks reply `undefined`). */
export interface TensorParallelWorkerApi {
  describe(payload: undefined): TensorParallelModelInfo;
  logits(payload: { readonly tokens: readonly (readonly number[])[]; readonly logits: 'all' | 'last' }): Logits | undefined;
  generateStart(payload: { readonly session: number; readonly prompt: readonly number[]; readonly options: WorkerGenerationOptions }): void;
  generateNext(payload: { readonly session: number }): Promise<GenerationStep | undefined>;
  generateEnd(payload: { readonly session: number }): Promise<void>;
  liveTensors(payload: undefined): number;
}
