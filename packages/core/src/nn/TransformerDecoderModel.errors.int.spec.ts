import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { FIXTURE_TOKENS, fixturePath } from '../../../../test/support/fixtures.js';
import { hfStateSource, loadHfFixtureModel, readHfFixtureConfig } from '../../../../test/support/hf-fixture-model.js';
import { WasmDeviceProvider } from './devices/builtinProviders.js';
import type { Device } from './devices/Device.js';
import { DeviceRegistry, useDevice } from './devices/DeviceRegistry.js';
import {
  DeviceNotActiveError,
  HeapBudgetExceededError,
  KVCacheOverflowError,
  ModelNotLoadedError,
  ParameterShapeMismatchError,
  StateKeyMismatchError,
} from './errors.js';
import { configureCpuKernels, cpuKernelsLedger } from './kernels/cpuKernelsRegistry.js';
import type { StateEntry } from './loadModuleState.js';
import type { TransformerDecoderConfig } from './TransformerDecoderConfig.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function* renamed(source: AsyncIterable<StateEntry>, edit: (e: StateEntry) => StateEntry | undefined): AsyncGenerator<StateEntry> {
  for await (const entry of source) {
    const out = edit(entry);
    if (out !== undefined) yield out;
  }
}

// From the public HF config.json of meta-llama/Llama-3.2-1B.
const LLAMA_3_2_1B: TransformerDecoderConfig = {
  vocabSize: 128_256,
  modelDim: 2048,
  numLayers: 16,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 64,
  ffnInnerDim: 8192,
  ropeTheta: 500_000,
  ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
  tiedEmbeddings: true,
  maxSeqLen: 131_072,
};

describe('the wasm heap guard (TF.js matMul, CPU kernels off)', () => {
  beforeAll(() => configureCpuKernels({ enabled: false }));
  afterAll(() => configureCpuKernels({ enabled: true }));

  it('refuses a model too big for the wasm heap, with the sizes, before allocating anything', async () => {
    const device = await useDevice('wasm');
    const memory = tf.memory();
    expect(device.ledger.reservedBytes()).toBe(0);
    const error = caught(() => new TransformerDecoderModel(LLAMA_3_2_1B, { device, maxCacheLength: 1024, prefillChunkSize: 128 }));
    expect(error).toBeInstanceOf(HeapBudgetExceededError);
    expect(error).toMatchObject({
      category: 'user',
      device: 'wasm',
      what: 'the model',
      neededBytes: 10_001_642_496,
      availableBytes: 3_543_348_019,
      breakdown: { weights: 4 * 1_235_814_400, packedWeights: 4_942_987_264, kvCache: 67_108_864, activations: 48_288_768 },
      message:
        "The model needs 9.31 GiB (10001642496 bytes) of the `wasm` device's memory (weights 4.60 GiB (4943257600 bytes), " +
        'XNNPACK packed matMul weights 4.60 GiB (4942987264 bytes), KV cache 64.00 MiB (67108864 bytes), activations 46.05 MiB (48288768 bytes)), ' +
        'but only 3.30 GiB (3543348019 bytes) of its 3.30 GiB (3543348019 bytes) budget is available. ' +
        'Use a smaller model or a shorter maximum cache length, split the model across workers with tensor parallelism (`tp`), ' +
        'or use another device (`cpu`, or `tensorflow` with @tensorflow/tfjs-node installed).',
    });
    expect(tf.memory().numTensors).toBe(memory.numTensors);
    expect(tf.memory().numBytes).toBe(memory.numBytes);
    expect(device.ledger.reservedBytes()).toBe(0);
  });

  it('builds the same model shape-only, or on cpu, where nothing limits it', async () => {
    expect(new TransformerDecoderModel(LLAMA_3_2_1B).numParameters()).toBe(1_235_814_400);
    const cpu = await useDevice('cpu');
    const model = new TransformerDecoderModel(LLAMA_3_2_1B, { device: cpu });
    expect(cpu.ledger.reservedBytes()).toBeGreaterThan(4 * 1_235_814_400);
    model.dispose();
    expect(cpu.ledger.reservedBytes()).toBe(0);
  });

  it('reserves what a model and its caches need, refuses a cache that does not fit, and releases on dispose', async () => {
    const registry = new DeviceRegistry([new WasmDeviceProvider({ memoryBudgetBytes: 3_000_000 })]);
    const device = await registry.use('wasm');
    const config = await readHfFixtureConfig('llama3');
    const model = new TransformerDecoderModel(config, { device, maxCacheLength: 64 });
    const estimate = model.memoryEstimate();
    expect(estimate.kvCache).toBe(2 * 3 * 2 * 16 * 64 * 4); // layers x kv heads x head dim x positions, K and V
    const reserved = estimate.weights + estimate.packedWeights + estimate.activations;
    expect(device.ledger.reservedBytes()).toBe(reserved);
    await model.loadState(hfStateSource(fixturePath('llama3'), { tiedEmbeddings: false }));
    const cache = model.createCache({ capacity: 64 });
    expect(device.ledger.reservedBytes()).toBe(reserved + 2 * 3 * 2 * 16 * 64 * 4);
    const available = 3_000_000 - device.ledger.reservedBytes();
    const error = caught(() => model.createCache({ capacity: 512, batchSize: 4 }));
    expect(error).toBeInstanceOf(HeapBudgetExceededError);
    expect((error as Error).message).toBe(
      `A KV cache of 512 positions for 4 sequence(s) needs 1.50 MiB (1572864 bytes) of the \`wasm\` device's memory (KV cache 1.50 MiB (1572864 bytes)), ` +
        `but only ${(available / 2 ** 20).toFixed(2)} MiB (${available} bytes) of its 2.86 MiB (3000000 bytes) budget is available. ` +
        'Use a smaller model or a shorter maximum cache length, split the model across workers with tensor parallelism (`tp`), ' +
        'or use another device (`cpu`, or `tensorflow` with @tensorflow/tfjs-node installed).',
    );
    cache.dispose();
    model.dispose();
    expect(device.ledger.reservedBytes()).toBe(0);
  });
});

describe("the CPU kernels' memory guard", () => {
  it('refuses a model whose linear weights do not fit the kernel memory, before allocating anything', async () => {
    const device = await useDevice('wasm');
    const memory = tf.memory();
    const error = caught(() => new TransformerDecoderModel(LLAMA_3_2_1B, { device, maxCacheLength: 1024, prefillChunkSize: 128 }));
    expect(error).toBeInstanceOf(HeapBudgetExceededError);
    expect((error as Error).message).toBe(
      "The model needs 4.68 GiB (5029057536 bytes) of the `wasm (fs2 CPU kernels)` device's memory (weights 4.60 GiB (4942987264 bytes), " +
        'KV cache 64.00 MiB (67108864 bytes), activations 18.08 MiB (18961408 bytes)), ' +
        'but only 3.94 GiB (4227792896 bytes) of its 3.94 GiB (4227792896 bytes) budget is available. ' +
        'Use a smaller model or a shorter maximum cache length, split the model across workers with tensor parallelism (`tp`), ' +
        'or use another device (`cpu`, or `tensorflow` with @tensorflow/tfjs-node installed).',
    );
    expect(tf.memory().numTensors).toBe(memory.numTensors);
    expect(device.ledger.reservedBytes()).toBe(0);
    expect(cpuKernelsLedger.reservedBytes()).toBe(0);
  });

  it("holds the linear weights and a one-sequence cache in the kernels' memory, and releases both on dispose", async () => {
    const device = await useDevice('wasm');
    const config = await readHfFixtureConfig('llama3');
    const model = new TransformerDecoderModel(config, { device, maxCacheLength: 64 });
    const estimate = model.memoryEstimate();
    expect(estimate).toEqual({ weights: 4 * (512 * 64 + 3 * 2 * 64 + 64), packedWeights: 0, kvCache: 0, activations: 4 * 512 });
    expect(device.ledger.reservedBytes()).toBe(estimate.weights + estimate.activations);
    const linear = 3 * (64 * (4 + 2 * 2) * 16 + 4 * 16 * 64 + 3 * 64 * 160) + 64 * 512;
    const reserved = cpuKernelsLedger.reservedBytes();
    expect(reserved).toBeGreaterThan(4 * linear);
    await model.loadState(hfStateSource(fixturePath('llama3'), { tiedEmbeddings: false }));
    expect(model.runsOnCpuKernels).toBe(true);
    const cache = model.createCache({ capacity: 64 });
    expect(cache.kernels).toBeDefined();
    expect(cpuKernelsLedger.reservedBytes()).toBe(reserved + 2 * 3 * 2 * 16 * 64 * 4);
    const batch = model.createCache({ capacity: 8, batchSize: 2 });
    expect(batch.kernels).toBeUndefined();
    batch.dispose();
    cache.dispose();
    model.dispose();
    expect(cpuKernelsLedger.reservedBytes()).toBe(0);
    expect(device.ledger.reservedBytes()).toBe(0);
  });
});

describe('TransformerDecoderModel lifecycle and errors', () => {
  let device: Device;
  beforeAll(async () => {
    device = await useDevice('cpu');
  });

  it('names the key, the expected and the actual shape of a mismatched tensor, and keeps nothing', async () => {
    const config = await readHfFixtureConfig('llama3');
    const model = new TransformerDecoderModel(config, { device });
    const before = tf.memory().numTensors;
    const source = renamed(hfStateSource(fixturePath('llama3'), { tiedEmbeddings: false }), (e) =>
      e.name === 'decoder.layers.1.self_attn.k_proj.weight' ? { ...e, shape: [32, 64] } : e,
    );
    const error = await rejection(model.loadState(source));
    expect(error).toBeInstanceOf(ParameterShapeMismatchError);
    expect(error).toMatchObject({
      key: 'decoder.layers.1.self_attn.k_proj.weight',
      expected: [64, 32],
      actual: [32, 64],
      message:
        'The parameter `decoder.layers.1.self_attn.k_proj.weight` is expected to have the shape [64, 32], but the state has the shape [32, 64] instead.',
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(model.isLoaded).toBe(false);
    model.dispose();
  });

  it('lists missing, unexpected and duplicated keys', async () => {
    const config = await readHfFixtureConfig('llama3');
    const model = new TransformerDecoderModel(config, { device });
    const before = tf.memory().numTensors;
    const source = renamed(hfStateSource(fixturePath('llama3'), { tiedEmbeddings: false }), (e) => {
      if (e.name === 'decoder.layer_norm.weight' || e.name === 'decoder.layers.2.ffn.gate_proj.weight') return undefined;
      if (e.name === 'final_proj.weight') return { ...e, name: 'lm_head.weight' };
      return e;
    });
    async function* withDuplicate(): AsyncGenerator<StateEntry> {
      yield* source;
      yield { name: 'decoder.layers.0.ffn_layer_norm.weight', data: new Float32Array(64), shape: [64] };
    }
    const error = await rejection(model.loadState(withDuplicate()));
    expect(error).toBeInstanceOf(StateKeyMismatchError);
    expect(error).toMatchObject({
      missing: ['decoder.layers.2.ffn.gate_proj.weight', 'decoder.layer_norm.weight', 'final_proj.weight'],
      unexpected: ['lm_head.weight'],
      duplicated: ['decoder.layers.0.ffn_layer_norm.weight'],
      message:
        "The state does not match the model's parameters: 3 missing (decoder.layers.2.ffn.gate_proj.weight, decoder.layer_norm.weight, final_proj.weight); " +
        '1 unexpected (lm_head.weight); 1 given more than once (decoder.layers.0.ffn_layer_norm.weight).',
    });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('wants final_proj when the config is untied but the checkpoint is tied (qwen2)', async () => {
    const error = await rejection(loadHfFixtureModel('qwen2', device, { config: { tiedEmbeddings: false } }));
    expect((error as Error).message).toBe("The state does not match the model's parameters: 1 missing (final_proj.weight).");
  });

  it('refuses to compute before loading, without a device, after dispose, and on another backend', async () => {
    const config = await readHfFixtureConfig('qwen3');
    expect(caught(() => new TransformerDecoderModel(config, { device }).forward([1]))).toEqual(new ModelNotLoadedError('not_loaded'));
    expect((caught(() => new TransformerDecoderModel(config, { device }).forward([1])) as Error).message).toBe(
      'The model has no weights yet; call `loadState()` first.',
    );
    const shapeOnly = new TransformerDecoderModel(config);
    expect(((await rejection(shapeOnly.loadState([]))) as Error).message).toBe(
      'The model was built without a device (shape only); pass `{ device }` to build one that can load weights.',
    );

    const before = tf.memory().numTensors;
    const model = await loadHfFixtureModel('qwen3', device);
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    await useDevice('wasm');
    const wrongBackend = caught(() => model.forward(FIXTURE_TOKENS));
    expect(wrongBackend).toBeInstanceOf(DeviceNotActiveError);
    expect((wrongBackend as Error).message).toBe(
      "The model lives on the `cpu` device, but the active TF.js backend is `wasm`. Call `await useDevice('cpu')` before using it.",
    );
    await useDevice('cpu');
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect((caught(() => model.forward([1])) as Error).message).toBe('The model has been disposed; build and load a new one.');
  });

  it('runs a batch of equal-length sequences like each one alone, with and without a cache', async () => {
    const model = await loadHfFixtureModel('qwen2', device);
    const a = FIXTURE_TOKENS.slice(0, 6);
    const b = FIXTURE_TOKENS.slice(6);
    const batch = model.forward([a, b]);
    const alone = [model.forward(a), model.forward(b)];
    expect(batch.shape).toEqual([2, 6, 576]);
    const diff = tf.max(tf.abs(tf.sub(batch, tf.concat(alone, 0)))).dataSync()[0];
    expect(diff).toBeLessThan(1e-5);
    const cache = model.createCache({ capacity: 6, batchSize: 2 });
    const first = model.prefill([a.slice(0, 4), b.slice(0, 4)], cache);
    const next = model.forward([a.slice(4), b.slice(4)], { cache, logits: 'last' });
    const lastDiff = tf.max(tf.abs(tf.sub(next, tf.reshape(tf.slice(batch, [0, 5, 0], [2, 1, 576]), [2, 576])))).dataSync()[0];
    expect(lastDiff).toBeLessThan(1e-4);
    expect(first.shape).toEqual([2, 576]);
    const overflow = caught(() => model.forward([[1], [2]], { cache }));
    expect(overflow).toBeInstanceOf(KVCacheOverflowError);
    expect((overflow as Error).message).toBe('The KV cache holds 6 of its 6 positions and cannot take 1 more; create a cache with a larger capacity.');
    expect((caught(() => model.forward([[1, 2], [3]])) as Error).message).toBe(
      'Every sequence of a batch must have the same length: sequence 0 has 2 tokens, sequence 1 has 1.',
    );
    tf.dispose([batch, ...alone, first, next]);
    cache.dispose();
    model.dispose();
  });
});
