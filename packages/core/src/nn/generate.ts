import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { TokenStream } from './DecoderRuntime.js';
import type { KVCache } from './KVCache.js';
import { TokenSampler, type SamplingOptions } from './TokenSampler.js';
import type { TransformerDecoderModel } from './TransformerDecoderModel.js';

/** Options of {@link generate}: sampling (see `SamplingOptions`) plus when to stop. */
export interface GenerationOptions extends SamplingOptions {
  /** The most tokens to generate. Default: `128`. */
  readonly maxNewTokens?: number;
  /**
   * Tokens that end the generation (end-of-sequence, end-of-turn: `eos_token_id` may be a list). The
   * stop token is yielded and included in the result, as transformers does. Default: none.
   */
  readonly stopTokens?: Iterable<number>;
  /** Aborts the generation between two tokens (stop reason `aborted`). Default: none. */
  readonly signal?: AbortSignal;
  /** Called with each token as soon as it is chosen (besides the iterator). Default: none. */
  readonly onToken?: (token: GeneratedToken) => void;
}

/** The default of {@link GenerationOptions.maxNewTokens}. */
export const DEFAULT_MAX_NEW_TOKENS = 128;

/** One generated token. */
export interface GeneratedToken {
  /** The token id. */
  readonly token: number;
  /** Its index among the generated tokens (0 for the first). */
  readonly index: number;
}

/**
 * Why a generation ended: a stop token was produced, `maxNewTokens` were produced, the KV cache (the
 * model's `maxCacheLength` or `maxSeqLen`) is full, or the signal aborted it.
 */
export type StopReason = 'stop_token' | 'max_new_tokens' | 'max_length' | 'aborted';

/** The outcome of a generation. */
export interface GenerationResult {
  /** The generated tokens (not the prompt), the stop token included. */
  readonly tokens: number[];
  readonly stopReason: StopReason;
}

/**
 * Generates tokens after `prompt` with `model`: the prompt is prefilled into a fresh KV cache in
 * chunks, then each step feeds the last token and computes logits for that position only. Tokens
 * are picked by a {@link TokenSampler} (greedy by default) on the host, from logits read back
 * asynchronously; a device runtime (`model.runtime`, the `webgpu` device's) may instead pick them
 * on the device and compute ahead, reading back only the token ids. Each token is yielded as soon
 * as it is chosen; the return value is the {@link GenerationResult}. The cache and every tensor are
 * freed when the generator finishes, fails or is closed early (`break`).
 */
export async function* generate(
  model: TransformerDecoderModel,
  prompt: readonly number[] | Int32Array,
  options: GenerationOptions = {},
): AsyncGenerator<GeneratedToken, GenerationResult, undefined> {
  const maxNewTokens = options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens <= 0) {
    throw new InvalidArgumentError('maxNewTokens', `\`maxNewTokens\` must be a positive integer, but is ${maxNewTokens}.`);
  }
  const limit = Math.min(model.maxCacheLength, model.config.maxSeqLen);
  if (prompt.length === 0) {
    throw new InvalidArgumentError('prompt', 'The prompt must hold at least one token.');
  }
  if (prompt.length > limit) {
    throw new InvalidArgumentError(
      'prompt',
      `The prompt of ${prompt.length} tokens does not fit: the model's KV cache holds at most ${limit} positions.`,
    );
  }
  const sampler = new TokenSampler(options);
  const stopTokens = new Set(options.stopTokens ?? []);
  const tokens: number[] = [];
  if (isAborted(options.signal)) {
    return { tokens, stopReason: 'aborted' };
  }

  // The last generated token is fed back only if another is wanted, so the cache needs
  // prompt + maxNewTokens - 1 positions.
  const cache: KVCache = model.createCache({ capacity: Math.min(limit, prompt.length + maxNewTokens - 1) });
  let stream: TokenStream | undefined;
  try {
    const { ids } = model.tokenIds(prompt);
    stream = model.runtime?.openTokenStream(ids, cache, sampler, maxNewTokens) ?? new HostTokenStream(model, ids, cache, sampler);
    for (;;) {
      const generated: GeneratedToken = { token: await stream.next(), index: tokens.length };
      tokens.push(generated.token);
      options.onToken?.(generated);
      yield generated;
      if (stopTokens.has(generated.token)) {
        return { tokens, stopReason: 'stop_token' };
      }
      if (tokens.length >= maxNewTokens) {
        return { tokens, stopReason: 'max_new_tokens' };
      }
      if (stream.remaining === 0) {
        return { tokens, stopReason: 'max_length' };
      }
      if (isAborted(options.signal)) {
        return { tokens, stopReason: 'aborted' };
      }
    }
  } finally {
    stream?.close();
    cache.dispose();
  }
}

/**
 * The portable token stream: TF.js forward passes, logits read back (asynchronously, which every
 * backend supports) and a token picked on the host by the sampler.
 */
class HostTokenStream implements TokenStream {
  private last: number | undefined;

  constructor(
    private readonly model: TransformerDecoderModel,
    private readonly prompt: Int32Array,
    private readonly cache: KVCache,
    private readonly sampler: TokenSampler,
  ) {}

  get remaining(): number {
    return this.cache.remaining;
  }

  close(): void {}

  async next(): Promise<number> {
    const logits =
      this.last === undefined ? this.model.prefill(this.prompt, this.cache) : this.model.forward([this.last], { cache: this.cache, logits: 'last' });
    let row: Float32Array;
    try {
      row = (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
    this.last = this.sampler.sample(row);
    return this.last;
  }
}

/** Read through a function so the check is not narrowed away between steps. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
