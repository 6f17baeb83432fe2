#!/usr/bin/env node
// Writes the `gpt2_tiny_random` checkpoint next to its card: cards/gpt2_tiny_random/ with a Hugging
// Face GPT-2 `config.json` and a `model.safetensors` of random float32 weights in HF's layout
// (`transformer.*` keys, Conv1D weights [in, out], no `lm_head.weight`: it is tied to `wte`).
//
// Deterministic: the same seed gives the same bytes. Run after `npm run build` (it uses
// `writeSafetensors` of @fs2/core's dist):
//
//   npm run make-tiny-checkpoint -w @fs2-examples/custom-family
//
// The HF names and shapes are written out here by hand, not derived from the family's key map, so
// that the tests, which read this file under HF names for their reference forward pass, check the
// key map rather than share its mistakes.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeSafetensors } from '@fs2/core';

/** The `gpt2_tiny` architecture (src/archs.ts), in HF `config.json` names. */
const CONFIG = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  vocab_size: 96,
  n_positions: 64,
  n_embd: 32,
  n_layer: 2,
  n_head: 4,
  n_inner: null,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  resid_pdrop: 0,
  embd_pdrop: 0,
  attn_pdrop: 0,
  initializer_range: 0.02,
  scale_attn_weights: true,
  tie_word_embeddings: true,
  torch_dtype: 'float32',
};

/** GPT-2's release date: any fixed seed would do. */
const SEED = 20190214;

/** mulberry32 (Tommy Ettinger's public-domain 32-bit generator): uniform in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uniform = mulberry32(SEED);

/** A standard normal (Box-Muller). */
function normal() {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * `mean + std * N(0, 1)` per element. The spreads are larger than GPT-2's initialisation (0.02) so
 * that attention is far from uniform and biases and gains matter: a loader bug then moves the
 * logits by much more than float32 noise.
 */
function tensor(key, shape, std, mean = 0) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    data[i] = mean + std * normal();
  }
  return { key, shape, dtype: 'F32', data };
}

const d = CONFIG.n_embd;
const inner = CONFIG.n_inner ?? 4 * d;
const tensors = [
  tensor('transformer.wte.weight', [CONFIG.vocab_size, d], 0.3),
  tensor('transformer.wpe.weight', [CONFIG.n_positions, d], 0.3),
];
for (let i = 0; i < CONFIG.n_layer; i++) {
  const h = `transformer.h.${i}`;
  tensors.push(
    tensor(`${h}.ln_1.weight`, [d], 0.1, 1),
    tensor(`${h}.ln_1.bias`, [d], 0.05),
    tensor(`${h}.attn.c_attn.weight`, [d, 3 * d], 0.15),
    tensor(`${h}.attn.c_attn.bias`, [3 * d], 0.05),
    tensor(`${h}.attn.c_proj.weight`, [d, d], 0.15),
    tensor(`${h}.attn.c_proj.bias`, [d], 0.05),
    tensor(`${h}.ln_2.weight`, [d], 0.1, 1),
    tensor(`${h}.ln_2.bias`, [d], 0.05),
    tensor(`${h}.mlp.c_fc.weight`, [d, inner], 0.15),
    tensor(`${h}.mlp.c_fc.bias`, [inner], 0.05),
    tensor(`${h}.mlp.c_proj.weight`, [inner, d], 0.15),
    tensor(`${h}.mlp.c_proj.bias`, [d], 0.05),
  );
}
tensors.push(tensor('transformer.ln_f.weight', [d], 0.1, 1), tensor('transformer.ln_f.bias', [d], 0.05));

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'cards', 'gpt2_tiny_random');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'config.json'), `${JSON.stringify(CONFIG, null, 2)}\n`);
await writeSafetensors(join(out, 'model.safetensors'), tensors, { format: 'pt' });
const count = tensors.reduce((total, t) => total + t.data.length, 0);
process.stdout.write(`Wrote ${out}: ${tensors.length} tensors, ${count} parameters.\n`);
