import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildTorchStateDict, fixturePath, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import type { CheckpointReader } from './CheckpointReader.js';
import { openCheckpoint } from './CheckpointLoader.js';
import { CheckpointError } from './errors.js';
import { KeyMap } from './KeyMap.js';
import { narrowHostTensor, reshardTensor, type HostTensor } from './reshardTensor.js';
import { interleavedToRotateHalf } from './rotaryPermutation.js';
import { ShardedCheckpointReader } from './ShardedCheckpointReader.js';
import { TorchCheckpointReader } from './TorchCheckpointReader.js';
import { metaReferenceShardDims } from './openMetaCheckpoint.js';

// fairseq2's llama key maps (fairseq2-reference.md §3.1), verbatim with Python's `\1`.
const HF_KEYS = new KeyMap('llama HF', [
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.q_proj\.`, String.raw`decoder.layers.\1.self_attn.q_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.k_proj\.`, String.raw`decoder.layers.\1.self_attn.k_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.v_proj\.`, String.raw`decoder.layers.\1.self_attn.v_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.o_proj\.`, String.raw`decoder.layers.\1.self_attn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.post_attention_layernorm\.`, String.raw`decoder.layers.\1.ffn_layer_norm.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.gate_proj\.`, String.raw`decoder.layers.\1.ffn.gate_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.down_proj\.`, String.raw`decoder.layers.\1.ffn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.up_proj\.`, String.raw`decoder.layers.\1.ffn.inner_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.input_layernorm\.`, String.raw`decoder.layers.\1.self_attn_layer_norm.`],
  [String.raw`^model\.norm\.`, 'decoder.layer_norm.'],
  [String.raw`^model\.embed_tokens\.`, 'decoder_frontend.embed.'],
  [String.raw`^lm_head\.`, 'final_proj.'],
]);

const META_KEYS = new KeyMap(
  'llama Meta',
  [
    [String.raw`^layers\.([0-9]+)\.attention\.wq\.`, String.raw`decoder.layers.\1.self_attn.q_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention\.wk\.`, String.raw`decoder.layers.\1.self_attn.k_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention\.wv\.`, String.raw`decoder.layers.\1.self_attn.v_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention\.wo\.`, String.raw`decoder.layers.\1.self_attn.output_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention_norm\.`, String.raw`decoder.layers.\1.self_attn_layer_norm.`],
    [String.raw`^layers\.([0-9]+)\.feed_forward\.w1\.`, String.raw`decoder.layers.\1.ffn.gate_proj.`],
    [String.raw`^layers\.([0-9]+)\.feed_forward\.w2\.`, String.raw`decoder.layers.\1.ffn.output_proj.`],
    [String.raw`^layers\.([0-9]+)\.feed_forward\.w3\.`, String.raw`decoder.layers.\1.ffn.inner_proj.`],
    [String.raw`^layers\.([0-9]+)\.ffn_norm\.`, String.raw`decoder.layers.\1.ffn_layer_norm.`],
    [String.raw`^norm\.`, 'decoder.layer_norm.'],
    [String.raw`^tok_embeddings\.`, 'decoder_frontend.embed.'],
    [String.raw`^output\.`, 'final_proj.'],
  ],
  { ignore: [/rope\.freqs/] },
);

/** The llama3 fixture: 4 heads, 2 kv heads, head dim 16 (test/fixtures/README.md). */
const HEADS = 4;
const KV_HEADS = 2;
const HEAD_DIM = 16;

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Every tensor of `reader` under fs2 names, Meta q/k rows moved to the rotate-half layout. */
async function loadAsFs2(reader: CheckpointReader, keys: KeyMap, meta: boolean): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  const names = keys.convertAll(reader.keys(), reader.path);
  for await (const tensor of reader.iterTensors(names.keys())) {
    let data = tensor.data as Float32Array;
    const name = names.get(tensor.key) as string;
    if (meta && name.endsWith('self_attn.q_proj.weight')) {
      data = interleavedToRotateHalf(data, HEADS, HEAD_DIM);
    } else if (meta && name.endsWith('self_attn.k_proj.weight')) {
      data = interleavedToRotateHalf(data, KV_HEADS, HEAD_DIM);
    }
    out.set(name, { shape: tensor.shape, data });
  }
  return out;
}

describe('the llama3 fixtures hold the same weights in every format', () => {
  it('single F32 safetensors, BF16 shards through the index, and the Meta consolidated.00.pth', async () => {
    const hf = await openCheckpoint(fixturePath('llama3', 'model.safetensors'));
    const sharded = await openCheckpoint(fixturePath('llama3_bf16_sharded'));
    const meta = await openCheckpoint(fixturePath('llama3_meta', 'consolidated.00.pth'));
    try {
      const a = await loadAsFs2(hf, HF_KEYS, false);
      const b = await loadAsFs2(sharded, HF_KEYS, false);
      const c = await loadAsFs2(meta, META_KEYS, true);
      expect(a.size).toBe(30);
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      expect([...c.keys()].sort()).toEqual([...a.keys()].sort());
      for (const [name, tensor] of a) {
        const other = [b.get(name), c.get(name)] as HostTensor[];
        expect({ name, shapes: other.map((t) => t.shape), equal: other.map((t) => sameBytes(t.data, tensor.data)) }).toEqual({
          name,
          shapes: [tensor.shape, tensor.shape],
          equal: [true, true],
        });
      }
      // Without the permutation the Meta q rows differ: the test would catch a missing permutation.
      const rawQ = await meta.read('layers.0.attention.wq.weight');
      expect(sameBytes(rawQ, (a.get('decoder.layers.0.self_attn.q_proj.weight') as HostTensor).data)).toBe(false);
    } finally {
      await Promise.all([hf.close(), sharded.close(), meta.close()]);
    }
  });
});

describe('a Meta checkpoint split in two consolidated.NN.pth files', () => {
  let dir: TempDir;
  let original: TorchCheckpointReader;
  let folder: string;

  beforeAll(async () => {
    dir = makeTempDir();
    folder = dir.mkdir('llama3_tp2');
    original = await TorchCheckpointReader.open(fixturePath('llama3_meta', 'consolidated.00.pth'));
    copyFileSync(fixturePath('llama3_meta', 'params.json'), join(folder, 'params.json'));
    const dims = metaReferenceShardDims(folder, 64);
    for (const rank of [0, 1]) {
      const tensors = [];
      for (const key of original.keys()) {
        const shape = original.shape(key);
        const dim = dims(key, shape);
        const data = dim === undefined ? await original.read(key) : await original.readSlice(key, dim, (rank * (shape[dim] as number)) / 2, (shape[dim] as number) / 2);
        if (dim !== undefined) {
          shape[dim] = (shape[dim] as number) / 2;
        }
        tensors.push({ key, shape, dtype: 'BF16' as const, data });
      }
      dir.write(`llama3_tp2/consolidated.0${rank}.pth`, buildTorchStateDict(tensors, `consolidated.0${rank}`));
    }
  });

  afterAll(async () => {
    await original.close();
    dir.cleanup();
  });

  it('reads back the full tensors', async () => {
    const reader = await openCheckpoint(folder);
    try {
      expect(reader).toBeInstanceOf(ShardedCheckpointReader);
      expect((reader as ShardedCheckpointReader).shards).toHaveLength(2);
      expect((reader as ShardedCheckpointReader).shardDim('tok_embeddings.weight')).toBe(0);
      expect((reader as ShardedCheckpointReader).shardDim('layers.1.feed_forward.w2.weight')).toBe(1);
      expect(reader.keys()).toEqual(original.keys());
      for await (const tensor of reader.iterTensors()) {
        expect({ key: tensor.key, shape: tensor.shape, dtype: tensor.dtype }).toEqual({ key: tensor.key, shape: original.shape(tensor.key), dtype: 'BF16' });
        expect(sameBytes(tensor.data, await original.read(tensor.key))).toBe(true);
      }
    } finally {
      await reader.close();
    }
  });

  it('gives every target rank of tp 1, 2 and 4 its slice, as reshardTensor computes it', async () => {
    const reader = (await openCheckpoint(folder)) as ShardedCheckpointReader;
    try {
      for (const key of reader.keys()) {
        const dim = reader.shardDim(key);
        const full: HostTensor = { shape: original.shape(key), data: await original.read(key) };
        const splits = await Promise.all(reader.shards.map(async (s) => [{ shape: s.shape(key), data: await s.read(key) }]));
        for (const tp of [1, 2, 4]) {
          for (let rank = 0; rank < tp; rank++) {
            const want = dim === undefined ? full : narrowHostTensor(full, dim, (rank * (full.shape[dim] as number)) / tp, (full.shape[dim] as number) / tp);
            const resharded = reshardTensor({ key, splits, shardDim: dim, tpSize: tp, tpRank: rank }).data;
            const got = dim === undefined ? await reader.read(key) : await reader.readSlice(key, dim, (rank * (full.shape[dim] as number)) / tp, (full.shape[dim] as number) / tp);
            expect({ key, tp, rank, resharded: sameBytes(resharded, want.data), read: sameBytes(got, want.data) }).toEqual({ key, tp, rank, resharded: true, read: true });
          }
        }
      }
    } finally {
      await reader.close();
    }
  });

  it('needs params.json to tell how the embedding is split', async () => {
    const bare = dir.mkdir('bare');
    for (const rank of [0, 1]) {
      copyFileSync(join(folder, `consolidated.0${rank}.pth`), join(bare, `consolidated.0${rank}.pth`));
    }
    const error = await openCheckpoint(bare).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toBe(
      `Cannot tell whether tok_embeddings.weight of ${bare} is split along the vocabulary or the model dim: params.json has no \`dim\`. Pass \`shardDims\`.`,
    );
    const reader = await openCheckpoint(bare, { shardDims: metaReferenceShardDims(bare, 64) });
    expect(reader.shape('tok_embeddings.weight')).toEqual([512, 64]);
    await reader.close();
  });
});
