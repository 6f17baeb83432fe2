import { describe, expect, it } from '@jest/globals';

import { MemoryCheckpointReader } from '../../../../../test/support/memoryCheckpoint.js';
import type { HostTensor, TensorArray } from '../../checkpoint/index.js';
import { CheckpointError } from '../../checkpoint/errors.js';
import { FakeGang } from '../../gang/FakeGang.js';
import { applyTensorConversionPlan, type TensorConversionPlan } from '../../nn/decoderCheckpoint.js';
import { DecoderTensorParallelism } from '../../nn/parallel/DecoderTensorParallelism.js';
import { shardStateEntry } from '../../nn/parallel/ParameterSharding.js';
import { readPlannedTensor } from './readPlannedTensor.js';

/** A reader that records what it is asked to read. */
class RecordingReader extends MemoryCheckpointReader {
  readonly calls: string[] = [];

  override read(key: string, into?: TensorArray): Promise<TensorArray> {
    this.calls.push(`read ${key}`);
    return super.read(key, into);
  }

  override readSlice(key: string, dim: number, start: number, length: number, into?: TensorArray): Promise<TensorArray> {
    this.calls.push(`readSlice ${key} dim ${dim} [${start}, ${start + length})`);
    return super.readSlice(key, dim, start, length, into);
  }
}

function tensor(shape: number[]): HostTensor {
  return { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3) };
}

// A layer in PyTorch layout: Meta's interleaved q rows (4 heads of 2), an output projection, an
// embedding, a norm.
const TENSORS = new Map<string, HostTensor>([
  ['wq', tensor([8, 3])],
  ['wo', tensor([3, 8])],
  ['emb', tensor([6, 3])],
  ['norm', tensor([3])],
]);

const PLANS: Readonly<Record<string, TensorConversionPlan>> = {
  wq: { name: 'decoder.layers.0.self_attn.q_proj.weight', shape: [3, 8], transpose: true, interleavedRotary: { heads: 4, headDim: 2 } },
  wo: { name: 'decoder.layers.0.self_attn.output_proj.weight', shape: [8, 3], transpose: true },
  emb: { name: 'decoder_frontend.embed.weight', shape: [6, 3], transpose: false },
  norm: { name: 'decoder.layer_norm.weight', shape: [3], transpose: false },
};

describe('readPlannedTensor', () => {
  it.each([0, 1])("reads only rank %i's slice of each sharded tensor, and converts it as the whole tensor's part", async (rank) => {
    const reader = new RecordingReader('/mem', TENSORS);
    const sharding = new DecoderTensorParallelism(new FakeGang({ rank, size: 2 }), { embedding: 'vocab', finalProjection: 'vocab' });
    for (const [key, plan] of Object.entries(PLANS)) {
      const entry = await readPlannedTensor(reader, key, plan, sharding);
      const whole = applyTensorConversionPlan(plan, TENSORS.get(key)?.data as Float32Array);
      expect(entry).toEqual(shardStateEntry(whole, sharding));
    }
    expect(reader.calls).toEqual([
      // q: fs2 columns [4r, 4r + 4) are PyTorch rows: two whole heads, permuted on their own.
      `readSlice wq dim 0 [${4 * rank}, ${4 * rank + 4})`,
      // output_proj: fs2 rows [4r, 4r + 4) are PyTorch columns.
      `readSlice wo dim 1 [${4 * rank}, ${4 * rank + 4})`,
      `readSlice emb dim 0 [${3 * rank}, ${3 * rank + 3})`,
      'read norm',
    ]);
  });

  it('reads whole tensors without sharding', async () => {
    const reader = new RecordingReader('/mem', TENSORS);
    const entry = await readPlannedTensor(reader, 'wq', PLANS['wq'] as TensorConversionPlan, undefined);
    expect(entry).toEqual(applyTensorConversionPlan(PLANS['wq'] as TensorConversionPlan, TENSORS.get('wq')?.data as Float32Array));
    expect(reader.calls).toEqual(['read wq']);
  });

  it('refuses a slice that cuts a rotary head in two', async () => {
    const reader = new RecordingReader('/mem', TENSORS);
    const sharding = new DecoderTensorParallelism(new FakeGang({ rank: 1, size: 8 }), { embedding: 'replicated', finalProjection: 'replicated' });
    const error = await readPlannedTensor(reader, 'wq', PLANS['wq'] as TensorConversionPlan, sharding).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toBe("wq in /mem cannot be split over 8 tensor-parallel ranks: rank 1's rows [1, 2) cut a rotary head of 2 rows.");
  });
});
