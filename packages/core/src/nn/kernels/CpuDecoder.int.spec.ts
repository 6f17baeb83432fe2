import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { FIXTURE_TOKENS, type FixtureName } from '../../../../../test/support/fixtures.js';
import { loadHfFixtureModel, type HfFixtureOptions } from '../../../../../test/support/hf-fixture-model.js';
import type { Device } from '../devices/Device.js';
import { useDevice } from '../devices/DeviceRegistry.js';
import { argMax } from '../TokenSampler.js';
import type { TransformerDecoderModel } from '../TransformerDecoderModel.js';
import { configureCpuKernels, getCpuKernels, kernelMemoryBytes } from './cpuKernelsRegistry.js';

// The CPU forward pass (CpuDecoder) against TF.js's own ops on the same weights and device, in the
// configurations the reference fixtures do not reach (a sliding window shorter than the prompt),
// and its memory over many steps.

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** Logits of every position: a full forward pass, then the same positions through a cache in chunks of 5. */
function logits(model: TransformerDecoderModel): { full: Float32Array; cached: Float32Array } {
  const full = model.forward(FIXTURE_TOKENS);
  const cache = model.createCache({ capacity: FIXTURE_TOKENS.length });
  const parts: Float32Array[] = [];
  for (let start = 0; start < FIXTURE_TOKENS.length; start += 5) {
    const out = model.forward(FIXTURE_TOKENS.slice(start, start + 5), { cache });
    parts.push(out.dataSync() as Float32Array);
    out.dispose();
  }
  cache.dispose();
  const cached = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    cached.set(p, offset);
    offset += p.length;
  }
  const values = full.dataSync() as Float32Array;
  full.dispose();
  return { full: values, cached };
}

async function both(name: FixtureName, device: Device, options: HfFixtureOptions): Promise<{ kernels: Float32Array[]; tfjs: Float32Array[] }> {
  const run = async (enabled: boolean): Promise<Float32Array[]> => {
    configureCpuKernels({ enabled });
    const model = await loadHfFixtureModel(name, device, options);
    try {
      expect(model.runsOnCpuKernels).toBe(enabled);
      const { full, cached } = logits(model);
      return [full, cached];
    } finally {
      model.dispose();
      configureCpuKernels({ enabled: true });
    }
  };
  return { kernels: await run(true), tfjs: await run(false) };
}

describe('the CPU forward pass against TF.js ops on wasm', () => {
  let device: Device;
  beforeAll(async () => {
    device = await useDevice('wasm');
  });
  afterAll(() => configureCpuKernels({ enabled: true }));

  it.each([
    ['llama3', {}],
    ['qwen2', {}],
    ['qwen3', {}],
    ['mistral', { config: { slidingWindow: 4 } }],
    ['llama3', { config: { slidingWindow: 3 }, prefillChunkSize: 4 }],
  ] as [FixtureName, HfFixtureOptions][])('%s %j: same logits, full and through the cache', async (name, options) => {
    const { kernels, tfjs } = await both(name, device, options);
    for (let i = 0; i < 2; i++) {
      expect(maxAbsDiff(kernels[i] as Float32Array, tfjs[i] as Float32Array)).toBeLessThan(1e-4);
    }
    expect(maxAbsDiff(kernels[0] as Float32Array, kernels[1] as Float32Array)).toBeLessThan(1e-4);
  });

  it('decodes 1,000 steps without growing TF.js tensors, the TF.js heap or the kernel memory', async () => {
    const model = await loadHfFixtureModel('llama3', device, { config: { maxSeqLen: 2048 }, maxCacheLength: 1100 });
    try {
      expect(model.runsOnCpuKernels).toBe(true);
      const cache = model.createCache({ capacity: 1012 });
      const heap = (): number => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
      let token = FIXTURE_TOKENS[0] as number;
      const prefill = model.prefill(FIXTURE_TOKENS, cache);
      token = argMax(prefill.dataSync() as Float32Array);
      prefill.dispose();
      const tensors = tf.memory().numTensors;
      const heapBytes = heap();
      const kernelBytes = kernelMemoryBytes();
      const allocated = getCpuKernels().allocated;
      for (let step = 0; step < 1000; step++) {
        const out = model.forward([token], { cache, logits: 'last' });
        token = argMax(out.dataSync() as Float32Array);
        out.dispose();
      }
      expect(cache.length).toBe(1012);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(heap()).toBe(heapBytes);
      expect(kernelMemoryBytes()).toBe(kernelBytes);
      expect(getCpuKernels().allocated).toBe(allocated);
      cache.dispose();
      expect(getCpuKernels().allocated).toBeLessThan(allocated);
    } finally {
      model.dispose();
    }
  });
});
