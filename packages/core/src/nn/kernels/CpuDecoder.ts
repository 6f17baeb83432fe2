import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../../errors/Fs2Error.js';
import type { Device } from '../devices/Device.js';
import type { Embedding } from '../Embedding.js';
import { paddedKernelCapacity, type KVCache } from '../KVCache.js';
import { Linear } from '../Linear.js';
import type { Projection } from '../Projection.js';
import type { RMSNorm } from '../RMSNorm.js';
import type { RotaryEncoder } from '../RotaryEncoder.js';
import type { ResolvedTransformerDecoderConfig } from '../TransformerDecoderConfig.js';
import type { TransformerDecoderLayer } from '../TransformerDecoderLayer.js';
import type { CpuKernels } from './CpuKernels.js';
import { PanelWeight } from './PanelWeight.js';

/** Query rows per attention tile in kernels.c (`TB`): the scores scratch is this many rows per query head. */
const ATTENTION_TILE_ROWS = 64;

/** The parts of a decoder the CPU forward pass reads (all loaded). */
export interface CpuDecoderParts {
  readonly config: ResolvedTransformerDecoderConfig;
  readonly embed: Embedding;
  readonly layers: readonly TransformerDecoderLayer[];
  readonly layerNorm: RMSNorm;
  /** The output projection; absent with tied embeddings (the embedding is projected then). */
  readonly finalProj: Linear | undefined;
  readonly rotary: RotaryEncoder;
}

interface LayerWeights {
  readonly attnNorm: number;
  readonly qkv: PanelWeight;
  readonly qkNorm: number;
  readonly output: PanelWeight;
  readonly ffnNorm: number;
  readonly gateInner: PanelWeight;
  readonly down: PanelWeight;
}

/** Where the scratch buffers of one pass start (byte addresses) and their row strides (floats). */
interface Scratch {
  readonly x: number;
  readonly h: number;
  readonly qkv: number;
  readonly attn: number;
  readonly proj: number;
  readonly gateInner: number;
  readonly act: number;
  readonly scores: number;
  readonly cos: number;
  readonly sin: number;
}

/**
 * A whole forward pass of a decoder of one sequence on fs2's CPU kernels: the residual stream, the
 * norms, rotary encoding, the KV cache, attention, SwiGLU and the products all stay in the kernels'
 * memory, so a decode step is ~5 kernel calls per layer instead of ~45 TF.js kernels (whose
 * per-call cost, ~10 ms a step on the ~125M benchmark model, was as large as the products'). The
 * products and attention run on every kernel thread; the rest, which is tiny, on this one. Only the
 * embedding rows come from TF.js (the table stays a tensor), and the logits go back as a tensor.
 *
 * Numerically it is the TF.js path's computation in float32 (same fused weights, same folded
 * softmax scale, exp by a polynomial good to ~2e-7), so logits agree to ~1e-5.
 */
export class CpuDecoder {
  private readonly layers: LayerWeights[];
  private readonly finalNorm: number;
  private readonly head: PanelWeight;
  private readonly ownHead: boolean;
  private readonly small: number[] = [];
  private disposed = false;

  private constructor(
    readonly kernels: CpuKernels,
    private readonly device: Device,
    private readonly parts: CpuDecoderParts,
  ) {
    const c = parts.config;
    try {
      this.layers = parts.layers.map((layer) => {
        const attention = layer.selfAttn;
        const gains = attention.qkNormGains;
        return {
          attnNorm: this.copy(layer.selfAttnLayerNorm.weightTensor()),
          qkv: panelOf(attention.qkvProjection),
          qkNorm: gains === undefined ? 0 : this.copy(gains),
          output: panelOf(attention.outputProjection),
          ffnNorm: this.copy(layer.ffnLayerNorm.weightTensor()),
          gateInner: panelOf(layer.ffn.gateInnerProjection),
          down: panelOf(layer.ffn.outputProjection),
        };
      });
      this.finalNorm = this.copy(parts.layerNorm.weightTensor());
      if (parts.finalProj === undefined) {
        // Tied: the table is stored [dim, vocab], which is the projection's [in, out].
        const head = new PanelWeight(kernels, c.modelDim, [{ columns: c.vocabSize }], false);
        head.receiveWeight(0, parts.embed.weightTensor().dataSync() as Float32Array);
        this.head = head;
        this.ownHead = true;
      } else {
        this.head = panelOf(parts.finalProj);
        this.ownHead = false;
      }
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /**
   * The CPU forward pass of a loaded decoder whose linear layers live in `kernels`' memory, or
   * `undefined` when the model has something it does not run (a head width that is not a multiple
   * of 8, a linear layer held by TF.js).
   */
  static maybeCreate(kernels: CpuKernels, device: Device, parts: CpuDecoderParts): CpuDecoder | undefined {
    const c = parts.config;
    if (c.headDim % 8 !== 0) {
      return undefined;
    }
    const linears = parts.layers.flatMap((l) => [
      l.selfAttn.qkvProjection,
      l.selfAttn.outputProjection,
      l.ffn.gateInnerProjection,
      l.ffn.outputProjection,
    ]);
    if (parts.finalProj !== undefined) {
      linears.push(parts.finalProj);
    }
    if (!linears.every((l) => l instanceof Linear && l.panelWeight?.kernels === kernels && l.panelWeight.complete)) {
      return undefined;
    }
    return new CpuDecoder(kernels, device, parts);
  }

  /**
   * Runs `ids` (one sequence, positions `cache.length ..`, or `0 ..` without a cache, which then
   * lives only for this call) and appends to the cache. `logits`: `'last'` gives `[1, vocab]`,
   * `'all'` `[1, length, vocab]`, `'none'` nothing.
   */
  run(ids: Int32Array, cache: KVCache | undefined, logits: 'all' | 'last' | 'none'): tf.Tensor | undefined {
    if (this.disposed) {
      throw new InternalError('The CPU decoder is used after dispose().');
    }
    const kernels = this.kernels;
    const fn = kernels.fn;
    const c = this.parts.config;
    const t = ids.length;
    const d = c.modelDim;
    const h = c.numHeads;
    const kv = c.numKvHeads;
    const hd = c.headDim;
    const f = c.ffnInnerDim;
    const start = cache?.length ?? 0;
    const capacity = paddedKernelCapacity(cache?.capacity ?? t);
    const first = this.layers[0] as LayerWeights;
    const qkvStride = first.qkv.stride;
    const projStride = first.output.stride;
    const gateInnerStride = first.gateInner.stride;
    const downStride = first.down.stride;
    const outStride = Math.max(projStride, downStride);

    const allocations: number[] = [];
    const alloc = (floats: number): number => {
      const ptr = kernels.alloc(floats * 4);
      allocations.push(ptr);
      return ptr;
    };
    const zeroed = (floats: number): number => {
      const ptr = kernels.allocZeroed(floats * 4);
      allocations.push(ptr);
      return ptr;
    };
    let temporary: { keys: number; values: number }[] | undefined;
    try {
      const s: Scratch = {
        x: alloc(t * d),
        h: alloc(t * d),
        qkv: alloc(t * qkvStride),
        attn: alloc(t * h * hd),
        proj: alloc(t * outStride),
        gateInner: alloc(t * gateInnerStride),
        act: alloc(t * f),
        scores: alloc(h * Math.min(ATTENTION_TILE_ROWS, t) * capacity),
        cos: alloc(t * hd),
        sin: alloc(t * hd),
      };
      if (cache === undefined) {
        temporary = this.layers.map(() => ({ keys: zeroed(kv * capacity * hd), values: zeroed(kv * capacity * hd) }));
      }
      this.embed(ids, s.x);
      const tables = this.parts.rotary.tableValues(start, t);
      kernels.f32(s.cos, t * hd).set(tables.cos);
      kernels.f32(s.sin, t * hd).set(tables.sin);
      const window = c.slidingWindow ?? 0;
      const group = h / kv;
      for (let l = 0; l < this.layers.length; l++) {
        const w = this.layers[l] as LayerWeights;
        const blocks = temporary === undefined ? (cache as KVCache).kernelBlocks(l) : (temporary[l] as { keys: number; values: number });
        fn.rmsnorm(s.x, d, s.h, d, w.attnNorm, d, c.normEps, 0, t);
        kernels.matmul(s.h, t, d, w.qkv.weightAddress, w.qkv.biasAddress, s.qkv, w.qkv.panels);
        if (w.qkNorm !== 0) {
          fn.head_norm(s.qkv, qkvStride, t, h + kv, hd, w.qkNorm, c.normEps);
        }
        fn.rope(s.qkv, qkvStride, t, h + kv, hd, s.cos, s.sin);
        fn.kv_write(s.qkv, qkvStride, t, h, kv, hd, blocks.keys, blocks.values, capacity, start);
        if (t === 1) {
          // A decode step: the query heads of a key/value head as the rows of one product.
          kernels.parallel('attention_step', [s.qkv, start, window, blocks.keys, blocks.values, capacity, hd, group, s.attn, s.scores], kv, kv);
        } else {
          kernels.parallel(
            'attention',
            [s.qkv, qkvStride, t, start, window, blocks.keys, blocks.values, capacity, hd, group, s.attn, h * hd, s.scores],
            h,
            h,
          );
        }
        kernels.matmul(s.attn, t, h * hd, w.output.weightAddress, 0, s.proj, w.output.panels);
        fn.add_rows(s.x, d, s.proj, projStride, t, d);
        fn.rmsnorm(s.x, d, s.h, d, w.ffnNorm, d, c.normEps, 0, t);
        kernels.matmul(s.h, t, d, w.gateInner.weightAddress, 0, s.gateInner, w.gateInner.panels);
        fn.silu_mul(s.gateInner, gateInnerStride, t, f, s.act, f);
        kernels.matmul(s.act, t, f, w.down.weightAddress, 0, s.proj, w.down.panels);
        fn.add_rows(s.x, d, s.proj, downStride, t, d);
      }
      if (cache !== undefined) {
        cache.length = start + t;
      }
      if (logits === 'none') {
        return undefined;
      }
      const rows = logits === 'last' ? 1 : t;
      const from = s.x + (t - rows) * d * 4;
      fn.rmsnorm(from, d, s.h, d, this.finalNorm, d, c.normEps, 0, rows);
      const out = this.head.matmulToTensor(s.h, rows, this.device);
      if (logits === 'last') {
        return out;
      }
      const reshaped = tf.reshape(out, [1, t, c.vocabSize]);
      out.dispose();
      return reshaped;
    } finally {
      for (let i = allocations.length - 1; i >= 0; i--) {
        kernels.free(allocations[i] as number);
      }
    }
  }

  /** Frees what the decoder copied into the kernels' memory (the layers' weights belong to the model). */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    for (const ptr of this.small) {
      this.kernels.free(ptr);
    }
    this.small.length = 0;
    if (this.ownHead) {
      this.head?.dispose();
    }
  }

  /** The embedding rows of `ids` into `x` (`[t, modelDim]`), straight from the table's storage. */
  private embed(ids: Int32Array, x: number): void {
    const c = this.parts.config;
    const d = c.modelDim;
    const table = this.parts.embed.weightTensor();
    const values = this.device.provider.storageView(table) ?? (table.dataSync() as Float32Array);
    const out = this.kernels.f32(x, ids.length * d);
    if (!this.parts.embed.tiedProjection) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as number;
        out.set(values.subarray(id * d, (id + 1) * d), i * d);
      }
      return;
    }
    const v = c.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      for (let j = 0; j < d; j++) {
        out[i * d + j] = values[j * v + id] as number;
      }
    }
  }

  /** A copy of a small tensor (norm gains) in the kernels' memory, freed with the decoder. */
  private copy(tensor: tf.Tensor): number {
    const values = tensor.dataSync() as Float32Array;
    const ptr = this.kernels.alloc(values.length * 4);
    this.small.push(ptr);
    this.kernels.f32(ptr, values.length).set(values);
    return ptr;
  }
}

function panelOf(projection: Projection): PanelWeight {
  const panel = projection instanceof Linear ? projection.panelWeight : undefined;
  if (panel === undefined) {
    throw new InternalError(`The linear layer ${projection.name} is not in the CPU kernels' memory.`);
  }
  return panel;
}
