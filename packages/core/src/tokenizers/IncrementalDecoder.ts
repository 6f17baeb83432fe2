import type { DecodeOptions } from './Tokenizer.js';

/** What an {@link IncrementalDecoder} needs of a tokenizer. */
export interface TokenDecoder {
  decode(ids: readonly number[], options?: DecodeOptions): string;
}

/** The replacement character a UTF-8 decoder writes for an incomplete byte sequence. */
const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Decodes generated tokens one at a time, for streaming, so that the concatenated pieces equal
 * `decode(allIds, { cleanUpTokenizationSpaces: false })`. A token may end in the middle of a
 * UTF-8 character (an emoji is often 3 or 4 byte-level tokens); such a character is held back
 * until the token that completes it arrives, and a SentencePiece word keeps its leading space.
 *
 * Hand-written: `@huggingface/tokenizers` has no streaming decoder, and transformers.js's
 * `TextStreamer` re-decodes the whole text at every token and belongs to transformers.js. This is
 * the algorithm of Hugging Face's text-generation-inference (`decode_token`): decode a small
 * window of tokens with the previously emitted token(s) as context, emit what the newest tokens
 * add unless the text ends with U+FFFD (an incomplete character), then slide the window. It holds
 * for every decoder whose output for a prefix of the tokens is a prefix of the output (byte-level,
 * SentencePiece-style and WordPiece decoders are).
 *
 * ```ts
 * const stream = tokenizer.createIncrementalDecoder({ skipSpecialTokens: true });
 * const prompt = tokenizer.encodeChat(messages, { addGenerationPrompt: true });
 * for await (const { token } of model.generate(prompt, { stopTokens: tokenizer.vocabInfo.stopIds })) {
 *   process.stdout.write(stream.push(token));
 * }
 * process.stdout.write(stream.flush());
 * ```
 *
 * Spaces are never cleaned up (`clean_up_tokenization_spaces`): a clean-up looks at the text after
 * a space, which a stream has not seen yet.
 */
export class IncrementalDecoder {
  /** The tokens from the context start: `[0, read)` were emitted, `[read, end)` are pending. */
  private window: number[] = [];
  private read = 0;
  /** `decode(window[0:read])`, kept between calls. */
  private prefixText = '';
  private readonly options: DecodeOptions;

  constructor(
    private readonly tokenizer: TokenDecoder,
    options: { readonly skipSpecialTokens?: boolean } = {},
  ) {
    this.options = { skipSpecialTokens: options.skipSpecialTokens ?? false, cleanUpTokenizationSpaces: false };
  }

  /**
   * Adds a token; returns the text it completes (often empty: the middle of a character, a
   * skipped special token).
   */
  push(id: number): string {
    this.window.push(id);
    const text = this.tokenizer.decode(this.window, this.options);
    if (text.length > this.prefixText.length && !text.endsWith(REPLACEMENT_CHARACTER)) {
      return this.emit(text);
    }
    return '';
  }

  /** Adds several tokens; returns the text they complete. */
  pushAll(ids: Iterable<number>): string {
    let text = '';
    for (const id of ids) {
      text += this.push(id);
    }
    return text;
  }

  /**
   * The text held back at the end of a stream: an incomplete character comes out as U+FFFD, as
   * `decode` writes it. The decoder then starts over, as after {@link reset}.
   */
  flush(): string {
    const text = this.read === this.window.length ? this.prefixText : this.tokenizer.decode(this.window, this.options);
    const piece = text.length > this.prefixText.length ? text.slice(this.prefixText.length) : '';
    this.reset();
    return piece;
  }

  /** Forgets every token: the next one starts a new text. */
  reset(): void {
    this.window = [];
    this.read = 0;
    this.prefixText = '';
  }

  /**
   * Returns what `text` adds to the emitted prefix, and slides the window: the tokens just emitted
   * become the context of the next ones.
   */
  private emit(text: string): string {
    const piece = text.slice(this.prefixText.length);
    this.window = this.window.slice(this.read);
    this.read = this.window.length;
    this.prefixText = this.tokenizer.decode(this.window, this.options);
    return piece;
  }
}
