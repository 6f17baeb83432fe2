import { Type, type Static } from '@sinclair/typebox';

import { loadHuggingFaceTokenizer, type HuggingFaceTokenizer, type HuggingFaceTokenizerOptions } from '@fs2/core';


/** The JSON schema of {@link QwenTokenizerConfig} (fairseq2's `QwenTokenizerConfig`). */
export const QwenTokenizerConfigSchema = Type.Object(
  {
    use_im_end: Type.Boolean({ description: 'End sequences with <|im_end|> (chat models) rather than <|endoftext|>. Default: false.' }),
  },
  { $id: 'fs2.qwen.QwenTokenizerConfig' },
);

/**
 * The configuration of a Qwen tokenizer (cards' `tokenizer_config`).
 *
 * - `use_im_end`: end sequences with `<|im_end|>`, the end of a chat turn (instruct and Qwen 3
 *   models), rather than `<|endoftext|>`; with it both stop a generation. Default: `false`.
 */
export type QwenTokenizerConfig = Static<typeof QwenTokenizerConfigSchema>;

/** The config of a card without `tokenizer_config`. */
export function qwenTokenizerDefaultConfig(): QwenTokenizerConfig {
  return { use_im_end: false };
}

/** Qwen's special tokens (fairseq2's `load_qwen_tokenizer`): no beginning token, `<|endoftext|>` pads. */
export function qwenTokenizerOptions(config: QwenTokenizerConfig): HuggingFaceTokenizerOptions {
  return {
    bosToken: null,
    eosToken: config.use_im_end ? '<|im_end|>' : '<|endoftext|>',
    padToken: '<|endoftext|>',
    stopTokens: config.use_im_end ? ['<|endoftext|>'] : [],
  };
}

/**
 * Loads a Qwen tokenizer: the `tokenizer.json` at `path` (a folder or the file) with
 * {@link qwenTokenizerOptions}.
 *
 * @throws TokenizerModelError when the files are missing or cannot be used.
 */
export function loadQwenTokenizer(path: string, config: QwenTokenizerConfig): Promise<HuggingFaceTokenizer> {
  return loadHuggingFaceTokenizer(path, qwenTokenizerOptions(config));
}
