import { Type, type Static } from '@sinclair/typebox';

import { loadHuggingFaceTokenizer, type HuggingFaceTokenizer } from '@fs2/core';


/** The JSON schema of {@link MistralTokenizerConfig}: no options (fairseq2's config is `None`). */
export const MistralTokenizerConfigSchema = Type.Object({}, { $id: 'fs2.mistral.MistralTokenizerConfig' });

/** The configuration of a Mistral tokenizer: none. */
export type MistralTokenizerConfig = Static<typeof MistralTokenizerConfigSchema>;

/** The config of a card without `tokenizer_config`. */
export function mistralTokenizerDefaultConfig(): MistralTokenizerConfig {
  return {};
}

/**
 * Loads a Mistral tokenizer: the `tokenizer.json` at `path` (a folder or the file), with its own
 * special tokens (`<s>`, `</s>`); `<s>` starts every encoded text, as Mistral's SentencePiece
 * encoder does (fairseq2 reads `tokenizer.model`; fs2 reads Hugging Face's `tokenizer.json`).
 *
 * @throws TokenizerModelError when the files are missing or cannot be used.
 */
export function loadMistralTokenizer(path: string, _config: MistralTokenizerConfig): Promise<HuggingFaceTokenizer> {
  return loadHuggingFaceTokenizer(path, { addBosToken: true });
}
