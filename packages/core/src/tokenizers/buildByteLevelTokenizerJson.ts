import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { InvalidArgumentError } from '../errors/Fs2Error.js';

/** Options of {@link buildByteLevelTokenizerJson}. */
export interface ByteLevelTokenizerOptions {
  /** Special tokens, given the ids 256, 257, ... in this order. Default: none. */
  readonly specialTokens?: readonly string[];
}

/** Options of {@link writeByteLevelTokenizer}: the special tokens and the `tokenizer_config.json` settings. */
export interface WriteByteLevelTokenizerOptions extends ByteLevelTokenizerOptions {
  /** The beginning-of-sequence token, one of `specialTokens`. Default: none. */
  readonly bosToken?: string;
  /** The end-of-sequence token, one of `specialTokens`. Default: none. */
  readonly eosToken?: string;
  /** The padding token, one of `specialTokens`. Default: none. */
  readonly padToken?: string;
  /** Put `bosToken` before every encoded text. Default: `false`. */
  readonly addBosToken?: boolean;
  /** Put `eosToken` after every encoded text. Default: `false`. */
  readonly addEosToken?: boolean;
  /** A chat template (Jinja). Default: none. */
  readonly chatTemplate?: string;
}

/**
 * GPT-2's byte-to-unicode table (`bytes_to_unicode` in openai/gpt-2 `encoder.py`, used by every
 * byte-level BPE): the printable Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for
 * themselves, the 68 others map in order to U+0100.. (so a space is `Ġ`, U+0120, and a newline
 * `Ċ`, U+010A). Hand-written because `@huggingface/tokenizers` does not export its copy.
 */
function gpt2ByteToUnicode(): string[] {
  const printable = (byte: number): boolean => (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const table: string[] = [];
  let next = 0x100;
  for (let byte = 0; byte < 256; byte += 1) {
    table.push(String.fromCodePoint(printable(byte) ? byte : next++));
  }
  return table;
}

/**
 * A byte-level BPE `tokenizer.json` (as an object) with the 256 byte tokens as ids 0..255 (id =
 * byte value, spelled with GPT-2's byte-to-unicode table), no merges, and the special tokens
 * after them: every UTF-8 text encodes to its bytes and decodes back byte for byte. The
 * vocabulary of the tiny offline models and of training from scratch. Read it with
 * `new HuggingFaceTokenizer({ tokenizer: json })`, or write a folder with
 * {@link writeByteLevelTokenizer}.
 *
 * Pre-tokenizer and decoder are `ByteLevel` with `use_regex: false` (no splitting into words: with
 * no merges there is nothing to gain from it).
 *
 * @throws InvalidArgumentError when a special token is empty, repeated, or a byte token.
 */
export function buildByteLevelTokenizerJson(options: ByteLevelTokenizerOptions = {}): Record<string, unknown> {
  const bytes = gpt2ByteToUnicode();
  const vocab: Record<string, number> = {};
  bytes.forEach((token, id) => {
    vocab[token] = id;
  });
  const specialTokens = options.specialTokens ?? [];
  const seen = new Set<string>();
  for (const token of specialTokens) {
    if (token.length === 0) {
      throw new InvalidArgumentError('specialTokens', 'A special token must not be empty.');
    }
    if (seen.has(token)) {
      throw new InvalidArgumentError('specialTokens', `The special token \`${token}\` is listed twice.`);
    }
    if (Object.hasOwn(vocab, token)) {
      throw new InvalidArgumentError('specialTokens', `The special token \`${token}\` is the byte token ${vocab[token]}.`);
    }
    seen.add(token);
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, index) => ({
      id: bytes.length + index,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

/**
 * Writes a byte-level tokenizer folder into `dir` (created if needed): the `tokenizer.json` of
 * {@link buildByteLevelTokenizerJson} and a `tokenizer_config.json` naming its special tokens
 * (`clean_up_tokenization_spaces: false`, so that decoding inverts encoding). Both Hugging Face
 * transformers and `loadHuggingFaceTokenizer` read it. Returns `dir`.
 *
 * @throws InvalidArgumentError when `bosToken`, `eosToken` or `padToken` is not one of `specialTokens`.
 */
export async function writeByteLevelTokenizer(dir: string, options: WriteByteLevelTokenizerOptions = {}): Promise<string> {
  const json = buildByteLevelTokenizerJson(options);
  const specialTokens = options.specialTokens ?? [];
  for (const [argument, token] of [
    ['bosToken', options.bosToken],
    ['eosToken', options.eosToken],
    ['padToken', options.padToken],
  ] as const) {
    if (token !== undefined && !specialTokens.includes(token)) {
      throw new InvalidArgumentError(argument, `\`${argument}\` (\`${token}\`) must be one of \`specialTokens\` (${specialTokens.map((t) => `\`${t}\``).join(', ') || 'none'}).`);
    }
  }
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: options.bosToken ?? null,
    eos_token: options.eosToken ?? null,
    pad_token: options.padToken ?? null,
    unk_token: null,
    add_bos_token: options.addBosToken ?? false,
    add_eos_token: options.addEosToken ?? false,
    clean_up_tokenization_spaces: false,
    ...(options.chatTemplate === undefined ? {} : { chat_template: options.chatTemplate }),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return dir;
}
