#!/usr/bin/env node
// Ships fs2_tiny, the default model: copies the best checkpoint of the training run (see
// train.yaml) into cards/default/fs2_tiny/ as float16 safetensors (half the size; every weight of
// this model is far inside float16's range, and its logits move by less than 1e-2), with the
// tokenizer's files, and writes the card cards/default/fs2_tiny.yaml.
//
//   node scripts/fs2-tiny/ship.mjs [--run DIR]         (default: tmp/fs2-tiny/run)

import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { listCheckpointSteps, openCheckpoint, readCheckpointScores, writeSafetensors } from '@fs2/core';
import { parse, stringify } from 'yaml';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const runIndex = args.indexOf('--run');
const run = resolve(runIndex >= 0 ? args[runIndex + 1] : join(REPO, 'tmp', 'fs2-tiny', 'run'));
const checkpoints = join(run, 'checkpoints');

const steps = await listCheckpointSteps(checkpoints);
const scores = await readCheckpointScores(checkpoints);
const scored = steps.filter((s) => scores.has(s)).sort((a, b) => scores.get(b) - scores.get(a) || b - a);
const step = scored[0] ?? steps[steps.length - 1];
if (step === undefined) {
  throw new Error(`${checkpoints} holds no checkpoint.`);
}

const out = join(REPO, 'cards', 'default', 'fs2_tiny');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const reader = await openCheckpoint(join(checkpoints, `step_${step}`, 'model'));
const tensors = [];
try {
  for await (const { key, shape, data } of reader.iterTensors()) {
    tensors.push({ key, shape, dtype: 'F16', data });
  }
} finally {
  await reader.close();
}
await writeSafetensors(join(out, 'model.safetensors'), tensors, { format: 'fs2' });
for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
  copyFileSync(join(checkpoints, 'tokenizer', file), join(out, file));
}

const train = parse(readFileSync(join(REPO, 'scripts', 'fs2-tiny', 'train.yaml'), 'utf8'));
const validLines = readFileSync(join(run, 'metrics', 'valid.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const valid = validLines.find((m) => m.step === step);
const card = {
  name: 'fs2_tiny',
  model_family: train.model.family,
  model_arch: train.model.arch,
  model_config: train.model.config_overrides,
  tokenizer_family: train.tokenizer.family,
  checkpoint: 'fs2_tiny',
  tokenizer: 'fs2_tiny',
  training: {
    recipe: 'train',
    config: 'scripts/fs2-tiny/train.yaml',
    step,
    valid_nll: valid === undefined ? null : Number(valid.nll.toFixed(4)),
  },
};
writeFileSync(
  join(REPO, 'cards', 'default', 'fs2_tiny.yaml'),
  "# fs2's default model: a byte-level LLaMA trained from scratch by fs2's own `train` recipe on fs2's\n" +
    '# docs and code (README.md, "The default model"). Written by scripts/fs2-tiny/ship.mjs.\n' +
    stringify(card),
);
process.stdout.write(`Shipped step ${step} of ${checkpoints} (validation nll ${valid?.nll}) to ${out}.\n`);
