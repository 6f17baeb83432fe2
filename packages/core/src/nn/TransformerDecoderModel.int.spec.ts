import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { FIXTURE_TOKENS, fixturePath, readExpectedLogits, type ExpectedLogits, type FixtureName } from '../../../../test/support/fixtures.js';
import {
  hfStateSource,
  loadHfFixtureModel,
  readHfFixtureConfig,
  type HfFixtureOptions,
} from '../../../../test/support/hf-fixture-model.js';
import type { Device } from './devices/Device.js';
import { CpuDeviceProvider } from './devices/builtinProviders.js';
import { DeviceRegistry, useDevice } from './devices/DeviceRegistry.js';
import type { StateEntry } from './loadModuleState.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

/** Tolerance on logits against the float64 reference (harness README: 1e-4 is achievable in f32). */
const TOLERANCE = 1e-4;
/** How far a deliberately broken convention must move the logits (the harness measured 1.9 to 14). */
const BROKEN = 0.5;

const VARIANTS = ['llama3', 'qwen2', 'qwen3', 'mistral'] as const;

function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let max = 0;
  a.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - (b[i]?.[j] ?? NaN))))));
  return Number.isNaN(max) ? Infinity : max;
}

/** Full-forward logits of the fixed prompt, `[12, vocab]`. */
function promptLogits(model: TransformerDecoderModel, tokens: readonly number[] = FIXTURE_TOKENS): number[][] {
  const logits = model.forward(tokens);
  const rows = (logits.arraySync() as number[][][])[0]!;
  logits.dispose();
  return rows;
}

function argmaxRows(rows: readonly (readonly number[])[]): number[] {
  return rows.map((row) => row.indexOf(Math.max(...row)));
}

/** Logits of each position fed through a KV cache in chunks of `chunk` positions, `[tokens, vocab]`. */
function incrementalLogits(model: TransformerDecoderModel, tokens: readonly number[], chunk: number): number[][] {
  const cache = model.createCache({ capacity: tokens.length });
  const rows: number[][] = [];
  try {
    for (let start = 0; start < tokens.length; start += chunk) {
      const logits = model.forward(tokens.slice(start, start + chunk), { cache });
      rows.push(...(logits.arraySync() as number[][][])[0]!);
      logits.dispose();
    }
    expect(cache.length).toBe(tokens.length);
  } finally {
    cache.dispose();
  }
  return rows;
}

async function movedBy(name: FixtureName, device: Device, options: HfFixtureOptions, expected: ExpectedLogits): Promise<number> {
  const model = await loadHfFixtureModel(name, device, options);
  try {
    return maxAbsDiff(promptLogits(model), expected.logits);
  } finally {
    model.dispose();
  }
}

describe.each(['cpu', 'wasm'])('TransformerDecoderModel on the %s device', (deviceName) => {
  let device: Device;
  beforeAll(async () => {
    device = await useDevice(deviceName);
  });

  describe.each(VARIANTS)('with the %s fixture', (name) => {
    let model: TransformerDecoderModel;
    const expected = readExpectedLogits(name);
    beforeAll(async () => {
      model = await loadHfFixtureModel(name, device);
    });
    afterAll(() => model.dispose());

    it('matches the reference logits of a full forward pass within 1e-4, every argmax exact', () => {
      const before = tf.memory().numTensors;
      const rows = promptLogits(model);
      expect(tf.memory().numTensors).toBe(before);
      expect(maxAbsDiff(rows, expected.logits)).toBeLessThan(TOLERANCE);
      expect(argmaxRows(rows)).toEqual(expected.argmax);
    });

    it('continues the prompt greedily with the reference tokens, leaking nothing', async () => {
      const before = tf.memory().numTensors;
      const result = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8 });
      expect(result).toEqual({ tokens: expected.greedy_next_tokens, stopReason: 'max_new_tokens' });
      expect(tf.memory().numTensors).toBe(before);
    });

    it('gives the full-forward logits when decoding incrementally through the KV cache', () => {
      const sequence = [...FIXTURE_TOKENS, ...expected.greedy_next_tokens];
      const full = promptLogits(model, sequence);
      const before = tf.memory().numTensors;
      for (const chunk of [1, 5]) {
        expect(maxAbsDiff(incrementalLogits(model, sequence, chunk), full)).toBeLessThan(TOLERANCE);
      }
      expect(tf.memory().numTensors).toBe(before);
    });

    it('computes the last position only when asked, equal to the last row of the full logits', () => {
      const full = promptLogits(model);
      const last = model.forward(FIXTURE_TOKENS, { logits: 'last' });
      expect(last.shape).toEqual([1, expected.shape[1]]);
      expect(maxAbsDiff(last.arraySync() as number[][], [full[full.length - 1]!])).toBeLessThan(1e-5);
      last.dispose();
    });
  });

  describe('with a sliding window smaller than the sequence (mistral, window 4)', () => {
    const expected = readExpectedLogits('mistral', 'expected_logits_window4.json');
    let model: TransformerDecoderModel;
    beforeAll(async () => {
      // Chunks of 3 make prefill chunks continue the cache with keys partly out of the window.
      model = await loadHfFixtureModel('mistral', device, { config: { slidingWindow: 4 }, prefillChunkSize: 3 });
    });
    afterAll(() => model.dispose());

    it('matches the window-4 reference: full forward, greedy continuation, incremental decoding', async () => {
      const rows = promptLogits(model);
      expect(maxAbsDiff(rows, expected.logits)).toBeLessThan(TOLERANCE);
      expect(argmaxRows(rows)).toEqual(expected.argmax);
      expect((await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8 })).tokens).toEqual(expected.greedy_next_tokens);
      const sequence = [...FIXTURE_TOKENS, ...expected.greedy_next_tokens];
      const full = promptLogits(model, sequence);
      for (const chunk of [1, 3]) {
        expect(maxAbsDiff(incrementalLogits(model, sequence, chunk), full)).toBeLessThan(TOLERANCE);
      }
    });

    it('differs from W + 1 keys (older transformers and Mistral reference) and from no window', async () => {
      expect(await movedBy('mistral', device, { config: { slidingWindow: 5 } }, expected)).toBeGreaterThan(BROKEN);
      expect(await movedBy('mistral', device, {}, expected)).toBeGreaterThan(BROKEN);
    });
  });
});

describe('TransformerDecoderModel on a device without storage views (functional cache updates, tf.slice)', () => {
  it('gives the same logits, incrementally too', async () => {
    // A provider like a future webgpu or the tensorflow one: no in-place access to tensors.
    const cpu = new CpuDeviceProvider();
    const registry = new DeviceRegistry([
      {
        name: 'opaque',
        backendName: 'cpu',
        description: 'cpu without storage views',
        memoryBudgetBytes: undefined,
        packsMatMulWeights: false,
        uploadAliasesData: true,
        load: () => cpu.load(),
        storageView: () => undefined,
      },
    ]);
    const device = await registry.use('opaque');
    const expected = readExpectedLogits('mistral', 'expected_logits_window4.json');
    const model = await loadHfFixtureModel('mistral', device, { config: { slidingWindow: 4 }, prefillChunkSize: 5 });
    const before = tf.memory().numTensors;
    expect(maxAbsDiff(promptLogits(model), expected.logits)).toBeLessThan(TOLERANCE);
    const sequence = [...FIXTURE_TOKENS, ...expected.greedy_next_tokens];
    expect(maxAbsDiff(incrementalLogits(model, sequence, 3), promptLogits(model, sequence))).toBeLessThan(TOLERANCE);
    expect((await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8 })).tokens).toEqual(expected.greedy_next_tokens);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('TransformerDecoderModel conventions (cpu): breaking one moves the logits', () => {
  let device: Device;
  beforeAll(async () => {
    device = await useDevice('cpu');
  });

  it('reads the same model from bf16 shards', async () => {
    const model = await loadHfFixtureModel('llama3_bf16_sharded', device);
    expect(maxAbsDiff(promptLogits(model), readExpectedLogits('llama3').logits)).toBeLessThan(TOLERANCE);
    model.dispose();
  });

  it('rotary layout: HF weights rotated as interleaved pairs are wrong', async () => {
    // Moving q/k output features from the HF order (j, j + d/2) to adjacent pairs (2j, 2j + 1)
    // makes this rotate-half model behave as an interleaved-pair one does on HF weights.
    const d = 16;
    const permute = (data: Float32Array, shape: readonly number[]): Float32Array => {
      const [rows, cols] = shape as [number, number];
      const out = new Float32Array(data.length);
      for (let r = 0; r < rows; r++) {
        for (let head = 0; head < cols / d; head++) {
          for (let j = 0; j < d / 2; j++) {
            for (let c = 0; c < 2; c++) {
              out[r * cols + head * d + c * (d / 2) + j] = data[r * cols + head * d + 2 * j + c] as number;
            }
          }
        }
      }
      return out;
    };
    const moved = await movedBy(
      'llama3',
      device,
      { mapEntry: (e) => (/self_attn\.[qk]_proj\.weight$/.test(e.name) ? { ...e, data: permute(e.data, e.shape) } : e) },
      readExpectedLogits('llama3'),
    );
    expect(moved).toBeGreaterThan(BROKEN);
  });

  it('llama3 rope scaling: ignoring it, or taking the original context from elsewhere, is wrong', async () => {
    const expected = readExpectedLogits('llama3');
    expect(await movedBy('llama3', device, { config: { ropeScaling: undefined } }, expected)).toBeGreaterThan(BROKEN);
    expect(
      await movedBy(
        'llama3',
        device,
        { config: { ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } } },
        expected,
      ),
    ).toBeGreaterThan(BROKEN);
    expect(await movedBy('llama3', device, { config: { ropeTheta: 10_000 } }, expected)).toBeGreaterThan(BROKEN);
  });

  it('GQA grouping: treating the kv heads as repeated per query head modulo the kv count is wrong', async () => {
    // Reordering the query heads [0, 1, 2, 3] -> [0, 2, 1, 3] (and the output projection's rows with
    // them) turns this model's h // 2 grouping into the h % 2 one on the original heads.
    const d = 16;
    const order = [0, 2, 1, 3];
    const mapEntry = (e: StateEntry): StateEntry => {
      const [rows, cols] = e.shape as [number, number];
      const out = new Float32Array(e.data.length);
      if (/self_attn\.q_proj\.weight$/.test(e.name)) {
        for (let r = 0; r < rows; r++)
          order.forEach((src, dst) => out.set(e.data.subarray(r * cols + src * d, r * cols + src * d + d), r * cols + dst * d));
        return { ...e, data: out };
      }
      if (/self_attn\.output_proj\.weight$/.test(e.name)) {
        order.forEach((src, dst) => out.set(e.data.subarray(src * d * cols, (src + 1) * d * cols), dst * d * cols));
        return { ...e, data: out };
      }
      return e;
    };
    expect(await movedBy('llama3', device, { mapEntry }, readExpectedLogits('llama3'))).toBeGreaterThan(BROKEN);
  });

  it('q/k/v biases (qwen2): dropping them, or only the k bias, is wrong', async () => {
    const expected = readExpectedLogits('qwen2');
    expect(await movedBy('qwen2', device, { config: { qkvBias: false }, omit: (n) => n.endsWith('.bias') }, expected)).toBeGreaterThan(BROKEN);
    expect(
      await movedBy('qwen2', device, { mapEntry: (e) => (e.name.endsWith('k_proj.bias') ? { ...e, data: new Float32Array(e.data.length) } : e) }, expected),
    ).toBeGreaterThan(BROKEN);
  });

  it('q/k norm (qwen3): skipping it is wrong', async () => {
    expect(
      await movedBy('qwen3', device, { config: { qkNorm: false }, omit: (n) => /[qk]_norm/.test(n) }, readExpectedLogits('qwen3')),
    ).toBeGreaterThan(BROKEN);
  });

  it('norm eps: 1e-5 instead of qwen3 1e-6, and 1e-6 instead of llama3 1e-5, is wrong', async () => {
    expect(await movedBy('qwen3', device, { config: { normEps: 1e-5 } }, readExpectedLogits('qwen3'))).toBeGreaterThan(BROKEN);
    expect(await movedBy('llama3', device, { config: { normEps: 1e-6 } }, readExpectedLogits('llama3'))).toBeGreaterThan(0.05);
  });

  it('tied head (qwen2): the embedding is the head; an untied copy of it agrees, another matrix does not', async () => {
    const expected = readExpectedLogits('qwen2');
    const embedT = (e: StateEntry, shuffle: boolean): StateEntry => {
      const [vocab, dim] = e.shape as [number, number];
      const out = new Float32Array(e.data.length);
      for (let v = 0; v < vocab; v++) {
        const src = shuffle ? (v + 1) % vocab : v;
        for (let c = 0; c < dim; c++) out[c * vocab + v] = e.data[src * dim + c] as number;
      }
      return { name: 'final_proj.weight', data: out, shape: [dim, vocab] };
    };
    async function* withHead(shuffle: boolean): AsyncGenerator<StateEntry> {
      for await (const entry of hfStateSource(fixturePath('qwen2'), { tiedEmbeddings: true })) {
        yield entry;
        if (entry.name === 'decoder_frontend.embed.weight') yield embedT(entry, shuffle);
      }
    }
    const config = { ...(await readHfFixtureConfig('qwen2')), tiedEmbeddings: false };
    for (const shuffle of [false, true]) {
      const untied = new TransformerDecoderModel(config, { device });
      await untied.loadState(withHead(shuffle));
      const diff = maxAbsDiff(promptLogits(untied), expected.logits);
      if (shuffle) expect(diff).toBeGreaterThan(BROKEN);
      else expect(diff).toBeLessThan(TOLERANCE);
      untied.dispose();
    }
  });
});
