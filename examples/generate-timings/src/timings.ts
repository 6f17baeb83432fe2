import {
  NotSupportedError,
  TransformerDecoderModel,
  loadModel,
  loadTokenizer,
  type DependencyResolver,
} from '@fs2/core';

/** The card of fs2's default model: a byte-level LLaMA trained on fs2's own docs and code. */
export const DEFAULT_MODEL_CARD = 'fs2_tiny';

/** Options of {@link generateWithTimings}. */
export interface TimingOptions {
  /** The model card. Default: {@link DEFAULT_MODEL_CARD}. */
  readonly card?: string;
  /** The prompt. Default: `'export function '`. */
  readonly prompt?: string;
  /** The most tokens to generate. Default: `64`. */
  readonly maxNewTokens?: number;
  /** The device. Default: `wasm`. */
  readonly device?: string;
}

/** What {@link generateWithTimings} measured. */
export interface GenerationTimings {
  readonly card: string;
  readonly prompt: string;
  readonly text: string;
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** Loading the model and its tokenizer, in milliseconds. */
  readonly loadMs: number;
  /** From the start of the generation to the first token (the prompt's prefill), in milliseconds. */
  readonly firstTokenMs: number;
  /** Tokens after the first, per second. */
  readonly tokensPerSecond: number;
}

// Begin-example: generate-timings
/**
 * Loads a model and its tokenizer by card name, generates greedily after a prompt, and measures
 * each part: loading, the first token (prefill), the tokens after it.
 */
export async function generateWithTimings(resolver: DependencyResolver, options: TimingOptions = {}): Promise<GenerationTimings> {
  const card = options.card ?? DEFAULT_MODEL_CARD;
  const prompt = options.prompt ?? 'export function ';
  const started = performance.now();
  const model = await loadModel(card, { resolver, device: options.device ?? 'wasm', progress: false });
  if (!(model instanceof TransformerDecoderModel)) {
    model.dispose();
    throw new NotSupportedError(`${card} is not a decoder-only language model.`);
  }
  try {
    const tokenizer = await loadTokenizer(card, { resolver });
    const loaded = performance.now();
    const ids = tokenizer.encode(prompt);
    let firstToken: number | undefined;
    const result = await model.generateAll(ids, {
      maxNewTokens: options.maxNewTokens ?? 64,
      stopTokens: tokenizer.vocabInfo.stopIds,
      onToken: () => {
        firstToken ??= performance.now();
      },
    });
    const finished = performance.now();
    const first = firstToken ?? finished;
    return {
      card,
      prompt,
      text: tokenizer.decode(result.tokens, { skipSpecialTokens: true }),
      promptTokens: ids.length,
      generatedTokens: result.tokens.length,
      loadMs: loaded - started,
      firstTokenMs: first - loaded,
      tokensPerSecond: result.tokens.length > 1 ? ((result.tokens.length - 1) * 1000) / (finished - first) : 0,
    };
  } finally {
    model.dispose();
  }
}
// End-example: generate-timings

/** The report `main` prints: the text, then one line per measurement. */
export function formatTimings(timings: GenerationTimings): string {
  return [
    `${timings.prompt}${timings.text}`,
    '',
    `model           ${timings.card}`,
    `load            ${timings.loadMs.toFixed(0)} ms`,
    `prompt          ${timings.promptTokens} tokens, first token after ${timings.firstTokenMs.toFixed(1)} ms`,
    `generation      ${timings.generatedTokens} tokens, ${timings.tokensPerSecond.toFixed(1)} tokens/s`,
    '',
  ].join('\n');
}
