#!/usr/bin/env node
// Writes the training data of fs2_tiny, the default model: the repository's own documentation
// and source code (README.md, docs/*.md, cards/README.md, the TypeScript sources of packages/ and
// examples/ without their tests, and scripts/), as a `text` dataset folder, and its byte-level
// tokenizer (the 256 bytes and Llama 3's special tokens, read by the llama tokenizer family).
//
//   node scripts/fs2-tiny/make-corpus.mjs [--out DIR]        (default: tmp/fs2-tiny)
//
// DIR/corpus/train/ and DIR/corpus/valid/ hold one file per source file (every 25th file, by
// path, is held out for validation); DIR/tokenizer/ the tokenizer. Files are listed with
// `git ls-files`, so the data is what the commit holds. Then train (see README.md, "The default
// model"):
//
//   npx fs2 recipe train tmp/fs2-tiny/run --config scripts/fs2-tiny/train.yaml

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeByteLevelTokenizer } from '@fs2/core';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Llama 3's special tokens in their order (ids 128000...), here after the 256 bytes (ids 256...). */
export const LLAMA3_SPECIALS = [
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|reserved_special_token_0|>',
  '<|reserved_special_token_1|>',
  '<|finetune_right_pad_id|>',
  '<|reserved_special_token_2|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eom_id|>',
  '<|eot_id|>',
  '<|python_tag|>',
];

/** Which tracked files are training data. */
const INCLUDE = [/^README\.md$/, /^docs\/.*\.md$/, /^cards\/README\.md$/, /^(packages|examples)\/[^/]+\/src\/.*\.ts$/, /^scripts\/.*\.mjs$/];
const EXCLUDE = [/\.spec\.ts$/, /\/__tests__\//];

/** Every VALID_EVERY-th file (sorted by path) is held out. */
const VALID_EVERY = 25;

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(REPO, 'tmp', 'fs2-tiny'));

const files = execFileSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && INCLUDE.some((r) => r.test(f)) && !EXCLUDE.some((r) => r.test(f)))
  .sort();

rmSync(join(out, 'corpus'), { recursive: true, force: true });
let train = 0;
let valid = 0;
files.forEach((file, index) => {
  const split = index % VALID_EVERY === VALID_EVERY - 1 ? 'valid' : 'train';
  const dest = join(out, 'corpus', split, file);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(join(REPO, file), dest);
  if (split === 'train') train += 1;
  else valid += 1;
});

await writeByteLevelTokenizer(join(out, 'tokenizer'), {
  specialTokens: LLAMA3_SPECIALS,
  bosToken: '<|begin_of_text|>',
  eosToken: '<|end_of_text|>',
  padToken: '<|finetune_right_pad_id|>',
  addBosToken: true,
});
process.stdout.write(`Wrote ${train} training and ${valid} validation files to ${join(out, 'corpus')}, and the tokenizer to ${join(out, 'tokenizer')}.\n`);
