import { Type, type Static } from '@sinclair/typebox';

import type { HuggingFaceTokenizer, HuggingFaceTokenizerOptions } from './HuggingFaceTokenizer.js';
import { loadHuggingFaceTokenizer } from './loadHuggingFaceTokenizer.js';
import type { TokenizerFamilySpec } from './StandardTokenizerFamily.js';
import { HF_TOKENIZER_FAMILY } from './tokenizerFamilyName.js';
import { createTokenizerHubAccessor } from './TokenizerHub.js';

const token = (description: string) => Type.Optional(Type.Union([Type.String(), Type.Null()], { description }));

/**
 * The config of the generic `hf` tokenizer family (a card's `tokenizer_config`). Every field is
 * optional: what is not set comes from the tokenizer's own files (`tokenizer_config.json`,
 * `special_tokens_map.json`), as in {@link HuggingFaceTokenizerOptions}.
 */
export const HuggingFaceTokenizerConfigSchema = Type.Object(
  {
    bos_token: token('The beginning-of-sequence token; null for none. Default: the files\'.'),
    eos_token: token('The end-of-sequence token; null for none. Default: the files\'.'),
    pad_token: token('The padding token; null for none. Default: the files\'.'),
    unk_token: token('The unknown token; null for none. Default: the files\'.'),
    stop_tokens: Type.Optional(
      Type.Array(Type.String(), { description: 'More tokens that end a generation (<|eot_id|>, <|im_end|>). Default: none.' }),
    ),
    add_bos_token: Type.Optional(Type.Boolean({ description: 'Put bos_token before every text. Default: the files\', else false.' })),
    add_eos_token: Type.Optional(Type.Boolean({ description: 'Put eos_token after every text. Default: the files\', else false.' })),
    chat_template: Type.Optional(Type.String({ description: 'A chat template (Jinja) replacing the files\'. Default: the files\'.' })),
  },
  { $id: 'fs2.HuggingFaceTokenizerConfig' },
);

/** See {@link HuggingFaceTokenizerConfigSchema}. */
export type HuggingFaceTokenizerConfig = Static<typeof HuggingFaceTokenizerConfigSchema>;

/** The `hf` config as loader options. */
export function huggingFaceTokenizerOptions(config: HuggingFaceTokenizerConfig): HuggingFaceTokenizerOptions {
  return {
    ...(config.bos_token === undefined ? {} : { bosToken: config.bos_token }),
    ...(config.eos_token === undefined ? {} : { eosToken: config.eos_token }),
    ...(config.pad_token === undefined ? {} : { padToken: config.pad_token }),
    ...(config.unk_token === undefined ? {} : { unkToken: config.unk_token }),
    ...(config.stop_tokens === undefined ? {} : { stopTokens: config.stop_tokens }),
    ...(config.add_bos_token === undefined ? {} : { addBosToken: config.add_bos_token }),
    ...(config.add_eos_token === undefined ? {} : { addEosToken: config.add_eos_token }),
    ...(config.chat_template === undefined ? {} : { chatTemplate: config.chat_template }),
  };
}

/**
 * The generic Hugging Face tokenizer family, registered by the library under `hf`: any folder
 * with a `tokenizer.json`, its special tokens and chat template from its own files unless the
 * card's `tokenizer_config` says otherwise. A card with a `tokenizer` and no `tokenizer_family`
 * belongs to it.
 */
export const huggingFaceTokenizerFamilySpec: TokenizerFamilySpec<HuggingFaceTokenizer, HuggingFaceTokenizerConfig> = {
  configSchema: HuggingFaceTokenizerConfigSchema,
  defaultConfig: () => ({}),
  loader: (path, config) => loadHuggingFaceTokenizer(path, huggingFaceTokenizerOptions(config)),
};

/** The typed hub of the `hf` tokenizer family. */
export const getHuggingFaceTokenizerHub = createTokenizerHubAccessor<HuggingFaceTokenizer, HuggingFaceTokenizerConfig>(
  HF_TOKENIZER_FAMILY,
  { configSchema: HuggingFaceTokenizerConfigSchema },
);
