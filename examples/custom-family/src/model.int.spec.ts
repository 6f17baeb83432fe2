import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import {
  HeapBudgetExceededError,
  InvalidArgumentError,
  ModelNotLoadedError,
  ParameterShapeMismatchError,
  StateKeyMismatchError,
  useDevice,
  type Device,
  type StateEntry,
} from '@fs2/core';

import { GPT2_TINY_CHECKPOINT, caught, caughtAsync, readCheckpointTensors, type HostTensorData } from '../../../test/support/index.js';
import { gpt2Archs, type Gpt2ArchName } from './archs.js';
import type { Gpt2Config } from './config.js';
import { gpt2HuggingFaceConverter } from './interop.js';
import { Gpt2Model, estimateGpt2Memory, gpt2Gelu } from './model.js';

/** float32 against float64 over two blocks of width 32: the error is ~1e-6; 1e-4 leaves room. */
const TOLERANCE = 1e-4;

const PROMPT = [3, 17, 95, 42, 0, 64, 8, 77, 31, 50];

// ---------------------------------------------------------------------------------------------
// An independent GPT-2 forward pass in float64, plain JS, reading the checkpoint under its own
// Hugging Face names (not through the family's key map): it checks the converter as well as the
// TF.js math. Written from the GPT-2 paper and HF `modeling_gpt2.py`.
// ---------------------------------------------------------------------------------------------

type Weights = ReadonlyMap<string, HostTensorData>;
type Matrix = number[][];

function weight(weights: Weights, key: string): Float32Array {
  const tensor = weights.get(key);
  if (tensor === undefined) {
    throw new Error(`The reference needs ${key}.`);
  }
  return tensor.data;
}

/** `x` `[n, in]` times `w` `[in, out]` (row-major) plus `b`. */
function affine(x: Matrix, w: Float32Array, b: Float32Array): Matrix {
  const out = b.length;
  return x.map((row) =>
    Array.from({ length: out }, (_, j) => row.reduce((sum, v, i) => sum + v * (w[i * out + j] as number), b[j] as number)),
  );
}

function layerNorm(x: Matrix, gain: Float32Array, bias: Float32Array, eps: number): Matrix {
  return x.map((row) => {
    const mean = row.reduce((a, b) => a + b, 0) / row.length;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * (gain[i] as number) + (bias[i] as number));
  });
}

function geluTanh(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
}

function add(a: Matrix, b: Matrix): Matrix {
  return a.map((row, t) => row.map((v, i) => v + (b[t]?.[i] as number)));
}

/** Causal multi-head attention over `qkv` `[t, 3d]` (q, k, v side by side, heads contiguous). */
function attention(qkv: Matrix, d: number, heads: number): Matrix {
  const hd = d / heads;
  return qkv.map((_, t) => {
    const out = new Array<number>(d).fill(0);
    for (let h = 0; h < heads; h++) {
      const q = (qkv[t] as number[]).slice(h * hd, (h + 1) * hd);
      const scores = qkv.slice(0, t + 1).map((row) => q.reduce((s, v, i) => s + v * (row[d + h * hd + i] as number), 0) / Math.sqrt(hd));
      const max = Math.max(...scores);
      const exps = scores.map((s) => Math.exp(s - max));
      const total = exps.reduce((a, b) => a + b, 0);
      exps.forEach((e, s) => {
        for (let i = 0; i < hd; i++) {
          out[h * hd + i] = (out[h * hd + i] as number) + (e / total) * ((qkv[s] as number[])[2 * d + h * hd + i] as number);
        }
      });
    }
    return out;
  });
}

interface ReferenceOptions {
  /** Use `ln_2` where `ln_1` belongs and the reverse: a loader bug the fixture must reveal. */
  readonly swapLayerNorms?: boolean;
}

function referenceLogits(weights: Weights, config: Gpt2Config, tokens: readonly number[], options: ReferenceOptions = {}): Matrix {
  const d = config.model_dim;
  const wte = weight(weights, 'transformer.wte.weight');
  const wpe = weight(weights, 'transformer.wpe.weight');
  let x: Matrix = tokens.map((token, t) => Array.from({ length: d }, (_, i) => (wte[token * d + i] as number) + (wpe[t * d + i] as number)));
  for (let l = 0; l < config.num_layers; l++) {
    const w = (name: string): Float32Array => weight(weights, `transformer.h.${l}.${name}`);
    const [ln1, ln2] = options.swapLayerNorms === true ? ['ln_2', 'ln_1'] : ['ln_1', 'ln_2'];
    const h = layerNorm(x, w(`${ln1}.weight`), w(`${ln1}.bias`), config.layer_norm_eps);
    const attended = attention(affine(h, w('attn.c_attn.weight'), w('attn.c_attn.bias')), d, config.num_heads);
    x = add(x, affine(attended, w('attn.c_proj.weight'), w('attn.c_proj.bias')));
    const h2 = layerNorm(x, w(`${ln2}.weight`), w(`${ln2}.bias`), config.layer_norm_eps);
    const inner = affine(h2, w('mlp.c_fc.weight'), w('mlp.c_fc.bias')).map((row) => row.map(geluTanh));
    x = add(x, affine(inner, w('mlp.c_proj.weight'), w('mlp.c_proj.bias')));
  }
  const final = layerNorm(x, weight(weights, 'transformer.ln_f.weight'), weight(weights, 'transformer.ln_f.bias'), config.layer_norm_eps);
  // The LM head is tied: logits = h wte^T.
  return final.map((row) =>
    Array.from({ length: config.vocab_size }, (_, v) => row.reduce((s, x_i, i) => s + x_i * (wte[v * d + i] as number), 0)),
  );
}

function argmax(row: readonly number[]): number {
  return row.indexOf(Math.max(...row));
}

function maxAbsDiff(a: Matrix, b: Matrix): number {
  let max = 0;
  a.forEach((row, t) => row.forEach((v, i) => (max = Math.max(max, Math.abs(v - (b[t]?.[i] ?? NaN))))));
  return Number.isNaN(max) ? Infinity : max;
}

// ---------------------------------------------------------------------------------------------

/** The tiny checkpoint converted to fs2 entries by the family's converter. */
function* convertedEntries(weights: Weights, config: Gpt2Config): Generator<StateEntry> {
  for (const [key, { shape, data }] of weights) {
    yield* gpt2HuggingFaceConverter.convert({ key, shape, data }, config, GPT2_TINY_CHECKPOINT);
  }
}

function logitRows(model: Gpt2Model, tokens: readonly number[]): Matrix {
  const logits = model.forward(tokens);
  const rows = (logits.arraySync() as number[][][])[0] as Matrix;
  logits.dispose();
  return rows;
}

describe.each(['cpu', 'wasm'])('Gpt2Model on the %s device', (deviceName) => {
  const config = gpt2Archs.gpt2_tiny();
  let device: Device;
  let weights: Weights;
  let model: Gpt2Model;
  let reference: Matrix;

  beforeAll(async () => {
    device = await useDevice(deviceName);
    weights = await readCheckpointTensors(GPT2_TINY_CHECKPOINT);
    model = new Gpt2Model(config, { device });
    await model.loadState(convertedEntries(weights, config));
    reference = referenceLogits(weights, config, PROMPT);
  });

  afterAll(() => model.dispose());

  describe('.forward', () => {
    it('matches the float64 reference within 1e-4 on every logit, leaking no tensor', () => {
      const before = tf.memory().numTensors;
      const rows = logitRows(model, PROMPT);

      expect(tf.memory().numTensors).toBe(before);
      expect(rows).toHaveLength(PROMPT.length);
      expect(maxAbsDiff(rows, reference)).toBeLessThan(TOLERANCE);
      expect(rows.map(argmax)).toEqual(reference.map(argmax));
    });

    it('uses a fixture that reveals a swapped LayerNorm (the reference moves by far more than the tolerance)', () => {
      expect(maxAbsDiff(referenceLogits(weights, config, PROMPT, { swapLayerNorms: true }), reference)).toBeGreaterThan(0.05);
    });

    it('is causal: the logits of a prefix do not depend on the tokens after it', () => {
      const prefix = logitRows(model, PROMPT.slice(0, 4));

      expect(maxAbsDiff(prefix, reference.slice(0, 4))).toBeLessThan(TOLERANCE);
    });

    it('runs a batch of sequences, each as it runs alone', () => {
      const other = [...PROMPT].reverse();
      const logits = model.forward([PROMPT, other]);
      const [first, second] = logits.arraySync() as number[][][];
      logits.dispose();

      expect(logits.shape).toEqual([2, PROMPT.length, config.vocab_size]);
      expect(maxAbsDiff(first as Matrix, reference)).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(second as Matrix, referenceLogits(weights, config, other))).toBeLessThan(TOLERANCE);
    });

    it('continues a prompt greedily as the reference does (a forward-based loop)', () => {
      const tokens = [...PROMPT];
      const expected = [...PROMPT];
      const before = tf.memory().numTensors;
      for (let step = 0; step < 6; step++) {
        tokens.push(argmax(logitRows(model, tokens).at(-1) as number[]));
        expected.push(argmax(referenceLogits(weights, config, expected).at(-1) as number[]));
      }

      expect(tokens).toEqual(expected);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('reads up to max_seq_len positions', () => {
      const tokens = Array.from({ length: config.max_seq_len }, (_, i) => (i * 7) % config.vocab_size);
      const logits = model.forward(tokens);

      expect(logits.shape).toEqual([1, config.max_seq_len, config.vocab_size]);
      logits.dispose();
    });

    it.each([
      [[], 'The GPT-2 model needs at least one token.'],
      [[1, 96], 'The token id 96 at position 1 of sequence 0 is outside the vocabulary [0, 96).'],
      [[1, -1], 'The token id -1 at position 1 of sequence 0 is outside the vocabulary [0, 96).'],
      [[1, 2.5], 'The token id 2.5 at position 1 of sequence 0 is outside the vocabulary [0, 96).'],
      [[[1, 2], [3]], 'Every sequence of a batch must have the same length: sequence 0 has 2 tokens, sequence 1 has 1.'],
      [new Array<number>(65).fill(1), 'The GPT-2 model reads at most 64 positions (`max_seq_len`), but 65 tokens were given.'],
    ])('refuses %j: %s', (tokens, message) => {
      const before = tf.memory().numTensors;
      const error = caught(() => model.forward(tokens as number[]));

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('tokens');
      expect(error.message).toBe(message);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  describe('.stateEntries', () => {
    it('reads back the loaded weights in fs2 names and layout, exactly', () => {
      const expected = new Map([...convertedEntries(weights, config)].map((e) => [e.name, e]));
      const entries = [...model.stateEntries()];

      expect(entries.map((e) => e.name)).toEqual([...model.parameterShapes().keys()]);
      for (const entry of entries) {
        const want = expected.get(entry.name) as StateEntry;
        expect([entry.name, entry.shape]).toEqual([entry.name, [...want.shape]]);
        expect(entry.data).toEqual(want.data);
      }
    });

    it('loads into a second model that computes the same logits', async () => {
      const copy = new Gpt2Model(config, { device });
      try {
        await copy.loadState(model.stateEntries());
        expect(maxAbsDiff(logitRows(copy, PROMPT), logitRows(model, PROMPT))).toBe(0);
      } finally {
        copy.dispose();
      }
    });
  });
});

describe('Gpt2Model', () => {
  const config = gpt2Archs.gpt2_tiny();
  let device: Device;

  beforeAll(async () => {
    device = await useDevice('cpu');
  });

  it('lists its parameters in fs2 names, linear weights [in, out]', () => {
    const shapes = new Gpt2Model(config).parameterShapes();

    expect([...shapes].slice(0, 14)).toEqual([
      ['decoder_frontend.embed.weight', [96, 32]],
      ['decoder_frontend.pos_encoder.weight', [64, 32]],
      ['decoder.layers.0.self_attn_layer_norm.weight', [32]],
      ['decoder.layers.0.self_attn_layer_norm.bias', [32]],
      ['decoder.layers.0.self_attn.qkv_proj.weight', [32, 96]],
      ['decoder.layers.0.self_attn.qkv_proj.bias', [96]],
      ['decoder.layers.0.self_attn.output_proj.weight', [32, 32]],
      ['decoder.layers.0.self_attn.output_proj.bias', [32]],
      ['decoder.layers.0.ffn_layer_norm.weight', [32]],
      ['decoder.layers.0.ffn_layer_norm.bias', [32]],
      ['decoder.layers.0.ffn.inner_proj.weight', [32, 128]],
      ['decoder.layers.0.ffn.inner_proj.bias', [128]],
      ['decoder.layers.0.ffn.output_proj.weight', [128, 32]],
      ['decoder.layers.0.ffn.output_proj.bias', [32]],
    ]);
    expect([...shapes.keys()].slice(-2)).toEqual(['decoder.layer_norm.weight', 'decoder.layer_norm.bias']);
    expect(shapes.size).toBe(2 + 12 * 2 + 2);
  });

  it('refuses to compute before it is loaded, when shape-only and after dispose', async () => {
    const model = new Gpt2Model(config, { device });
    expect(caught(() => model.forward([1])).message).toBe("The model has no weights yet; call `loadState()` first.");
    model.dispose();
    expect(caught(() => model.forward([1]))).toEqual(new ModelNotLoadedError('disposed'));
    expect(caught(() => [...model.stateEntries()]).message).toBe('The model has been disposed; build and load a new one.');

    const shapeOnly = new Gpt2Model(config);
    const error = await caughtAsync(() => shapeOnly.loadState([]));
    expect(error.message).toBe(
      'The model was built without a device (shape only); pass `{ device }` to build one that can load weights.',
    );
  });

  it('refuses a state with a wrong shape or missing keys, and is left without weights', async () => {
    const model = new Gpt2Model(config, { device });
    const before = tf.memory().numTensors;
    const wrong: StateEntry = { name: 'decoder.layer_norm.weight', shape: [31], data: new Float32Array(31) };

    expect(await caughtAsync(() => model.loadState([wrong]))).toBeInstanceOf(ParameterShapeMismatchError);
    const missing = await caughtAsync(() =>
      model.loadState([{ name: 'decoder.layer_norm.bias', shape: [32], data: new Float32Array(32) }]),
    );
    expect(missing).toBeInstanceOf(StateKeyMismatchError);
    expect((missing as StateKeyMismatchError).missing).toHaveLength(27);
    expect(model.isLoaded).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('the memory check', () => {
  it.each(Object.keys(gpt2Archs))('estimateGpt2Memory counts the weights of %s (4 bytes per parameter)', (arch) => {
    const config = gpt2Archs[arch as Gpt2ArchName]();

    expect(estimateGpt2Memory(config, false).weights).toBe(4 * new Gpt2Model(config).numParameters());
  });

  it('reserves the model on its device and gives it back on dispose', async () => {
    const device = await useDevice('wasm');
    const before = device.ledger.reservedBytes();
    const model = new Gpt2Model(gpt2Archs.gpt2_tiny(), { device });
    const estimate = estimateGpt2Memory(gpt2Archs.gpt2_tiny(), true);

    expect(device.ledger.reservedBytes() - before).toBe(estimate.weights + estimate.packedWeights + estimate.activations);
    model.dispose();
    model.dispose();
    expect(device.ledger.reservedBytes()).toBe(before);
  });

  it('refuses GPT-2 XL on wasm before allocating anything (its heap would overflow silently)', async () => {
    const device = await useDevice('wasm');
    const error = caught(() => new Gpt2Model(gpt2Archs.gpt2_xl(), { device }));

    expect(error).toBeInstanceOf(HeapBudgetExceededError);
    expect(error.message).toBe(
      "The GPT-2 model needs 12.10 GiB (12996969472 bytes) of the `wasm` device's memory (weights 5.80 GiB (6230444800 bytes), " +
        'XNNPACK packed matMul weights 5.79 GiB (6219884800 bytes), activations 521.32 MiB (546639872 bytes)), ' +
        'but only 3.30 GiB (3543348019 bytes) of its 3.30 GiB (3543348019 bytes) budget is available. ' +
        'Use a smaller model or a shorter maximum cache length, split the model across workers with tensor parallelism (`tp`), ' +
        'or use another device (`cpu`, or `tensorflow` with @tensorflow/tfjs-node installed).',
    );
  });
});

describe('gpt2Gelu', () => {
  it("is GELU's tanh approximation, elementwise, within float32 rounding", async () => {
    const values = [-6, -3, -1.5, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 2.5, 6];
    await useDevice('cpu');
    const out = tf.tidy(() => gpt2Gelu(tf.tensor1d(values)).arraySync() as number[]);

    out.forEach((v, i) => expect(v).toBeCloseTo(geluTanh(values[i] as number), 6));
    // The approximation differs from the exact GELU (x Phi(x)): at x = 1, 0.841192 vs 0.841345.
    expect(out[8]).toBeCloseTo(0.841192, 5);
  });
});
