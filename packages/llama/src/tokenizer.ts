import { Type, type Static } from '@sinclair/typebox';

import {
  loadHuggingFaceTokenizer,
  type HuggingFaceTokenizer,
  type HuggingFaceTokenizerOptions,
  type TokenizerVocabulary,
} from '@fs2/core';


/**
 * The JSON schema of {@link LlamaTokenizerConfig} (fairseq2's `LLaMATokenizerConfig`, minus
 * `split_regex`, which only its tiktoken reader used).
 */
export const LlamaTokenizerConfigSchema = Type.Object(
  {
    impl: Type.Union([Type.Literal('sp'), Type.Literal('tiktoken'), Type.Literal('hg')], {
      description: "fairseq2's tokenizer implementation; fs2 reads tokenizer.json whatever it says. Default: hg.",
    }),
    use_eot: Type.Boolean({ description: 'End sequences with <|eot_id|> (Llama 3 chat models) rather than <|end_of_text|>. Default: false.' }),
  },
  { $id: 'fs2.llama.LlamaTokenizerConfig' },
);

/**
 * The configuration of a LLaMA tokenizer (cards' `tokenizer_config`).
 *
 * - `impl`: fairseq2's choice of reader (`sp` SentencePiece, `tiktoken`, `hg` Hugging Face). fs2
 *   reads only Hugging Face `tokenizer.json` files, whatever the value; a folder with only
 *   `tokenizer.model` gets an error saying how to convert it. Default: `hg` (fairseq2: `sp`).
 * - `use_eot`: end sequences with `<|eot_id|>` (Llama 3 chat models) rather than
 *   `<|end_of_text|>`; both stop a generation either way. Default: `false`.
 */
export type LlamaTokenizerConfig = Static<typeof LlamaTokenizerConfigSchema>;

/** The config of a card without `tokenizer_config`. */
export function llamaTokenizerDefaultConfig(): LlamaTokenizerConfig {
  return { impl: 'hg', use_eot: false };
}

/**
 * The special tokens of a LLaMA vocabulary: Llama 3's (`<|begin_of_text|>`, `<|end_of_text|>` or
 * `<|eot_id|>`, padding `<|finetune_right_pad_id|>` from 3.1 on, and both end tokens stopping a
 * generation) when it has them, else Llama 2's SentencePiece `<s>` and `</s>`. The beginning token
 * starts every encoded text.
 */
export function llamaTokenizerOptions(config: LlamaTokenizerConfig, vocabulary: TokenizerVocabulary): HuggingFaceTokenizerOptions {
  if (!vocabulary.has('<|begin_of_text|>')) {
    return { bosToken: '<s>', eosToken: '</s>', addBosToken: true };
  }
  return {
    bosToken: '<|begin_of_text|>',
    eosToken: config.use_eot ? '<|eot_id|>' : '<|end_of_text|>',
    stopTokens: ['<|end_of_text|>', '<|eot_id|>'].filter((token) => vocabulary.has(token)),
    padToken: vocabulary.has('<|finetune_right_pad_id|>') ? '<|finetune_right_pad_id|>' : null,
    // The first Llama 3 tokenizer.json does not add it; the library does not add it twice.
    addBosToken: true,
  };
}

/**
 * Loads a LLaMA tokenizer (fairseq2's `load_llama_tokenizer` with `impl: hg`): the
 * `tokenizer.json` at `path` (a folder or the file) with {@link llamaTokenizerOptions}.
 *
 * @throws TokenizerModelError when the files are missing or cannot be used.
 */
export function loadLlamaTokenizer(path: string, config: LlamaTokenizerConfig): Promise<HuggingFaceTokenizer> {
  return loadHuggingFaceTokenizer(path, (vocabulary) => llamaTokenizerOptions(config, vocabulary));
}
