import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { TokenizerModelError } from './errors.js';
import {
  HuggingFaceTokenizer,
  type HuggingFaceTokenizerFiles,
  type HuggingFaceTokenizerOptions,
  type HuggingFaceTokenizerOptionsFactory,
} from './HuggingFaceTokenizer.js';

/** The file a Hugging Face tokenizer folder is found by. */
export const TOKENIZER_JSON = 'tokenizer.json';

/** The optional files read beside `tokenizer.json`. */
const SIDE_FILES = {
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  generationConfig: 'generation_config.json',
} as const;
const CHAT_TEMPLATE_FILE = 'chat_template.jinja';
const SENTENCE_PIECE_HINT =
  'SentencePiece and tiktoken `.model` files are not read by fs2; convert the tokenizer once with Hugging Face transformers ' +
  '(`AutoTokenizer.from_pretrained(dir).save_pretrained(dir)` writes tokenizer.json).';

/**
 * The tokenizer at `path`: a folder with a `tokenizer.json`, or a `tokenizer.json` file (under
 * any name). From the same folder it also reads, when present, `tokenizer_config.json` (special
 * tokens, chat template, `add_bos_token`), `special_tokens_map.json`, `generation_config.json`
 * (`eos_token_id`, added to the stop tokens) and `chat_template.jinja`. `options` override
 * what the files say; see {@link HuggingFaceTokenizerOptions}. A function of the vocabulary may
 * give them instead (a family picking its tokens by the version of the files).
 *
 * ```ts
 * const tokenizer = await loadHuggingFaceTokenizer('/models/Qwen3-0.6B', { eosToken: '<|im_end|>' });
 * tokenizer.encode('Hello world!'); // [9707, 1879, 0]
 * ```
 *
 * @throws TokenizerModelError when the path does not exist, the folder has no `tokenizer.json`, a
 *   file is not valid JSON, or the tokenizer cannot be built from it (each message names the file).
 */
export async function loadHuggingFaceTokenizer(
  path: string,
  options: HuggingFaceTokenizerOptions | HuggingFaceTokenizerOptionsFactory = {},
): Promise<HuggingFaceTokenizer> {
  const file = await tokenizerJsonPath(path);
  const dir = dirname(file);
  const files: { -readonly [K in keyof HuggingFaceTokenizerFiles]: HuggingFaceTokenizerFiles[K] } = {
    tokenizer: parseJson(await readText(file, file), file),
  };
  for (const [key, name] of Object.entries(SIDE_FILES) as [keyof typeof SIDE_FILES, string][]) {
    const text = await maybeReadText(join(dir, name), file);
    if (text !== undefined) {
      files[key] = parseObject(text, join(dir, name));
    }
  }
  const template = await maybeReadText(join(dir, CHAT_TEMPLATE_FILE), file);
  if (template !== undefined) {
    files.chatTemplate = template;
  }
  return new HuggingFaceTokenizer(files, options, file);
}

/** `path` itself when it is a file, else its `tokenizer.json`. */
async function tokenizerJsonPath(path: string): Promise<string> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new TokenizerModelError(path, `The tokenizer path ${path} is not found.`, { cause: error });
  }
  if (!isDirectory) {
    if (path.endsWith('.model')) {
      throw new TokenizerModelError(path, `${path} is not a tokenizer.json: ${SENTENCE_PIECE_HINT}`);
    }
    return path;
  }
  const file = join(path, TOKENIZER_JSON);
  if ((await maybeStat(file)) !== undefined) {
    return file;
  }
  const entries = (await readdir(path)).sort();
  const sentencePiece = entries.includes('tokenizer.model');
  throw new TokenizerModelError(
    path,
    `${path} has no ${TOKENIZER_JSON}.` +
      (sentencePiece
        ? ` Its tokenizer.model: ${SENTENCE_PIECE_HINT}`
        : ` It holds ${entries.length === 0 ? 'nothing' : entries.slice(0, 8).join(', ') + (entries.length > 8 ? ', ...' : '')}.`),
  );
}

async function readText(path: string, tokenizer: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new TokenizerModelError(tokenizer, `${path} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

/** The text of `path`, or `undefined` when there is no such file. */
async function maybeReadText(path: string, tokenizer: string): Promise<string | undefined> {
  const stats = await maybeStat(path);
  return stats === undefined || stats.isDirectory() ? undefined : readText(path, tokenizer);
}

async function maybeStat(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

function parseObject(text: string, path: string): Record<string, unknown> {
  const json = parseJson(text, path);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TokenizerModelError(path, `${path} is expected to hold a JSON object, but holds ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}.`);
  }
  return json as Record<string, unknown>;
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenizerModelError(path, `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
