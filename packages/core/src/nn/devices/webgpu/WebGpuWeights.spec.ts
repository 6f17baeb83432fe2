import { describe, expect, it } from '@jest/globals';

import type { Device } from '../Device.js';
import { resolveTransformerDecoderConfig } from '../../TransformerDecoderConfig.js';
import { WebGpuOutOfMemoryError } from './errors.js';
import { GpuContext } from './GpuContext.js';
import { WebGpuWeights } from './WebGpuWeights.js';

interface FakeBuffer {
  readonly size: number;
  readonly label: string;
  destroyed: boolean;
}

/** Just enough of a GPUDevice for the weights' allocation and uploads; `oom` makes the allocation fail. */
function fakeDevice(oom: boolean): { device: GPUDevice; buffers: FakeBuffer[]; writes: { label: string; offset: number; values: number[] }[] } {
  const buffers: FakeBuffer[] = [];
  const writes: { label: string; offset: number; values: number[] }[] = [];
  const device = {
    limits: { maxStorageBufferBindingSize: 2 ** 31 - 4 },
    queue: {
      writeBuffer: (buffer: FakeBuffer, offset: number, data: ArrayBufferLike, dataOffset = 0, size?: number) =>
        writes.push({ label: buffer.label, offset, values: [...new Float32Array(data, dataOffset, (size ?? data.byteLength - dataOffset) / 4)] }),
      submit: () => undefined,
    },
    createBuffer: ({ size, label }: { size: number; label: string }) => {
      const buffer = { size, label, destroyed: false, destroy: () => (buffer.destroyed = true) };
      buffers.push(buffer);
      return buffer;
    },
    pushErrorScope: () => undefined,
    popErrorScope: async () => (oom ? { message: 'Allocation of 80 GiB failed: out of device memory.' } : null),
  };
  return { device: device as unknown as GPUDevice, buffers, writes };
}

const RAW = { vocabSize: 16, modelDim: 8, numLayers: 1, numHeads: 2, numKvHeads: 1, ffnInnerDim: 12, maxSeqLen: 32, tiedEmbeddings: true };
const CONFIG = resolveTransformerDecoderConfig(RAW);
const LIMITS = { maxBindingBytes: 2 ** 31 - 4, weightChunkBytes: 2 ** 31 - 4, maxBufferBytes: 2 ** 40, maxWorkgroupsPerDimension: 65535 };

describe(WebGpuWeights, () => {
  it('names the model and its size when the GPU cannot hold it, and frees what it allocated', async () => {
    const { device, buffers } = fakeDevice(true);
    const weights = new WebGpuWeights(new GpuContext(device, LIMITS), CONFIG);
    const norm = weights.parameterSlots().find((s) => s.name === 'decoder.layer_norm.weight')!;
    const error = await (async () => {
      try {
        await norm.receive(new Float32Array(8), {} as Device);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(WebGpuOutOfMemoryError);
    // 16 x 8 embedding (tied head) + q/k/v 16 x 8 + o 8 x 8 + gate, up 12 x 8 + down 8 x 12 + 3 norms of 8.
    const bytes = 4 * (16 * 8 + 16 * 8 + 8 * 8 + 3 * 12 * 8 + 3 * 8);
    expect(error).toMatchObject({
      category: 'operational',
      bytes,
      message: `The GPU could not allocate the model's weights (0.00 MiB (${bytes} bytes)): Allocation of 80 GiB failed: out of device memory. Use a smaller model, or free GPU memory (other models, other processes).`,
    });
    expect(buffers.length).toBeGreaterThan(0);
    expect(buffers.filter((b) => b.label !== 'fs2:params').every((b) => b.destroyed)).toBe(true);
    expect(norm.received).toBe(false);
  });

  it('writes vectors as they arrive, scaling the q norm gain by 1/sqrt(headDim)', async () => {
    const { device, writes } = fakeDevice(false);
    const weights = new WebGpuWeights(new GpuContext(device, LIMITS), resolveTransformerDecoderConfig({ ...RAW, qkNorm: true }));
    const slots = new Map(weights.parameterSlots().map((s) => [s.name, s]));
    await slots.get('decoder.layers.0.self_attn.q_norm.weight')!.receive(new Float32Array([1, 2, 3, 4]), {} as Device);
    await slots.get('decoder.layers.0.self_attn.k_norm.weight')!.receive(new Float32Array([1, 2, 3, 4]), {} as Device);
    expect(writes).toEqual([
      { label: 'fs2:layers.0.qk_norm', offset: 0, values: [0.5, 1, 1.5, 2] },
      { label: 'fs2:layers.0.qk_norm', offset: 16, values: [1, 2, 3, 4] },
    ]);
    expect(slots.get('decoder.layers.0.self_attn.q_norm.weight')!.received).toBe(true);
    expect(weights.bytes).toBe(4 * (16 * 8 + 16 * 8 + 8 * 8 + 3 * 12 * 8 + 3 * 8 + 2 * 4));
  });

  it('has the model\'s parameter names and shapes', async () => {
    const { TransformerDecoderModel } = await import('../../TransformerDecoderModel.js');
    for (const config of [RAW, { ...RAW, tiedEmbeddings: false, qkvBias: true, qkNorm: true }]) {
      const weights = new WebGpuWeights(new GpuContext(fakeDevice(false).device, LIMITS), resolveTransformerDecoderConfig(config));
      expect(weights.parameterShapes()).toEqual(new TransformerDecoderModel(config).parameterShapes());
    }
  });
});
