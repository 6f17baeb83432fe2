import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import type { KVCache } from './KVCache.js';
import { Linear } from './Linear.js';
import { Module, Parameter, type ParameterSlot } from './Module.js';
import { linearProjection, type Projection, type ProjectionFactory } from './Projection.js';
import { rmsNorm } from './RMSNorm.js';
import type { RotaryEncoder, RotaryTables } from './RotaryEncoder.js';
import { tensorBlock } from './tensorBlock.js';

/** Options of {@link GroupedQueryAttention}. */
export interface GroupedQueryAttentionOptions {
  readonly modelDim: number;
  /** Query heads. */
  readonly numHeads: number;
  /** Key/value heads; must divide `numHeads`. */
  readonly numKvHeads: number;
  /** Width of a head (need not be `modelDim / numHeads`). */
  readonly headDim: number;
  /** Biases on the q, k and v projections. Default: `false`. */
  readonly qkvBias?: boolean;
  /** RMSNorm over `headDim` of q and k after the projections, before rotary. Default: `false`. */
  readonly qkNorm?: boolean;
  /** Epsilon of the q/k norms. Default: `1e-6` (Qwen 3). */
  readonly normEps?: number;
  /** The rotary encoder (shared by the layers of a model, which prepares it). */
  readonly rotary: RotaryEncoder;
  /**
   * Builds the output projection (and the feed-forward network's, in a decoder layer): a
   * row-sharded one under tensor parallelism, where `numHeads` and `numKvHeads` are one rank's.
   * Default: a bias-free `Linear`.
   */
  readonly outputProjection?: ProjectionFactory;
}

/**
 * Everything attention needs to know about the current chunk besides its input: where it sits,
 * which keys it sees, the shared rotary tables and mask, and the cache.
 */
export interface AttentionContext {
  /** Sequences in the batch. */
  readonly batchSize: number;
  /** Positions in the chunk (T). */
  readonly length: number;
  /** Absolute position of the chunk's first query. */
  readonly start: number;
  /** The first key position attended (`firstAttendedKey`). */
  readonly keyStart: number;
  /** Rotary tables of positions `start .. start + length - 1`. */
  readonly rotary: RotaryTables;
  /** Additive mask `[length, start + length - keyStart]` (`attentionMask`), or none. */
  readonly mask: tf.Tensor2D | undefined;
  /** The KV cache to append to and read from; without one the chunk must start at 0. */
  readonly cache: KVCache | undefined;
  /** This layer's index in the cache. */
  readonly layer: number;
  /** The device the model runs on. */
  readonly device: Device;
}

/**
 * Multi-head attention with grouped keys and values (Ainslie et al. 2023, arXiv:2305.13245): query
 * head `h` uses key/value head `floor(h / (numHeads / numKvHeads))`, as HF's `repeat_kv` does.
 *
 * Parameters (fs2 names under `<name>` = `decoder.layers.N.self_attn`): `q_proj`, `k_proj`,
 * `v_proj` (`.weight` `[modelDim, heads * headDim]`, `.bias` with `qkvBias`), `q_norm.weight`,
 * `k_norm.weight` `[headDim]` with `qkNorm`, `output_proj.weight` `[numHeads * headDim, modelDim]`.
 *
 * For speed on wasm (js-ecosystem.md §10): q, k and v are one fused matMul; the softmax scale
 * `1/sqrt(headDim)` is folded into the q weights (or the q norm's gain) at load; q and k are
 * normalised and rotated together; and attention runs as plain 2-D matMuls per key/value head
 * (the queries of a group stacked as rows), since batched or transposed matMuls fall back to a
 * scalar loop there.
 */
export class GroupedQueryAttention extends Module {
  readonly modelDim: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly qkNorm: boolean;
  readonly normEps: number;
  private readonly qkv: Linear;
  private readonly outputProj: Projection;
  private readonly qNorm: Parameter | undefined;
  private readonly kNorm: Parameter | undefined;
  private readonly rotary: RotaryEncoder;
  private qkNormWeight: tf.Tensor2D | undefined;

  constructor(name: string, options: GroupedQueryAttentionOptions) {
    super(name);
    const { modelDim, numHeads, numKvHeads, headDim } = options;
    if (numHeads % numKvHeads !== 0) {
      throw new RangeError(`${name}: numKvHeads (${numKvHeads}) must divide numHeads (${numHeads}).`);
    }
    this.modelDim = modelDim;
    this.numHeads = numHeads;
    this.numKvHeads = numKvHeads;
    this.headDim = headDim;
    this.qkNorm = options.qkNorm ?? false;
    this.normEps = options.normEps ?? 1e-6;
    this.rotary = options.rotary;
    // Softmax scale 1/sqrt(d) (Vaswani et al. 2017, §3.2.1), folded into q. RMSNorm is not linear in
    // its input (eps), so with q/k norms it goes into the q norm's gain instead.
    const scale = 1 / Math.sqrt(headDim);
    this.qkv = new Linear(`${name}.qkv_proj`, modelDim, (numHeads + 2 * numKvHeads) * headDim, {
      bias: options.qkvBias ?? false,
      outputs: [
        { name: `${name}.q_proj`, dim: numHeads * headDim, ...(this.qkNorm ? {} : { scale }) },
        { name: `${name}.k_proj`, dim: numKvHeads * headDim },
        { name: `${name}.v_proj`, dim: numKvHeads * headDim },
      ],
    });
    if (this.qkNorm) {
      this.qNorm = new Parameter(`${name}.q_norm.weight`, [headDim]);
      this.kNorm = new Parameter(`${name}.k_norm.weight`, [headDim]);
    }
    this.outputProj = (options.outputProjection ?? linearProjection)(`${name}.output_proj`, numHeads * headDim, modelDim);
  }

  protected override ownSlots(): ParameterSlot[] {
    return [...this.qkv.parameterSlots(), ...(this.qNorm === undefined ? [] : [this.qNorm, this.kNorm as Parameter])];
  }

  protected override children(): readonly Module[] {
    return [this.outputProj];
  }

  protected override prepareOwn(_device: Device): void {
    this.qkNormWeight?.dispose();
    this.qkNormWeight = undefined;
    if (this.qNorm === undefined || this.kNorm === undefined) {
      return;
    }
    const q = this.qNorm.tensor();
    const k = this.kNorm.tensor();
    const d = this.headDim;
    const scale = 1 / Math.sqrt(d);
    // One [heads + kvHeads, d] gain, so q and k are normalised by a single RMSNorm.
    this.qkNormWeight = tf.keep(
      tf.tidy(() =>
        tf.concat([tf.tile(tf.reshape(tf.mul(q, scale), [1, d]), [this.numHeads, 1]), tf.tile(tf.reshape(k, [1, d]), [this.numKvHeads, 1])], 0),
      ) as tf.Tensor2D,
    );
  }

  protected override unloadOwn(): void {
    this.qkv.unload();
    this.qNorm?.unload();
    this.kNorm?.unload();
    this.qkNormWeight?.dispose();
    this.qkNormWeight = undefined;
  }

  /** The fused q/k/v projection (`[modelDim, (heads + 2 kvHeads) headDim]`, q scaled by `1/sqrt(headDim)` unless q/k norms fold it). */
  get qkvProjection(): Linear {
    return this.qkv;
  }

  /** The output projection: a {@link Linear}, or a row-sharded one under tensor parallelism. */
  get outputProjection(): Projection {
    return this.outputProj;
  }

  /** With q/k norms: the gains `[heads + kvHeads, headDim]` of one RMSNorm over q and k (q's scaled by `1/sqrt(headDim)`). */
  get qkNormGains(): tf.Tensor2D | undefined {
    return this.qkNormWeight;
  }

  /** `x` `[batch * length, modelDim]` (rows batch-major) → `[batch * length, modelDim]`. */
  apply(x: tf.Tensor2D, ctx: AttentionContext): tf.Tensor2D {
    return tf.tidy(() => {
      const { batchSize: b, length: t } = ctx;
      const h = this.numHeads;
      const kv = this.numKvHeads;
      const d = this.headDim;
      const group = h / kv;

      const [qkFlat, vFlat] = tf.split(this.qkv.apply(x), [(h + kv) * d, kv * d], 1) as [tf.Tensor2D, tf.Tensor2D];
      let qk: tf.Tensor4D = tf.reshape(qkFlat, [b, t, h + kv, d]);
      if (this.qkNormWeight !== undefined) {
        qk = rmsNorm(qk, this.qkNormWeight, this.normEps);
      }
      qk = this.rotary.apply(qk, ctx.rotary);
      const [q, k] = tf.split(qk, [h, kv], 2) as [tf.Tensor4D, tf.Tensor4D];

      // Head-major layouts: queries [b*h*t, d] (rows b, h, t), keys transposed [b*kv, d, t],
      // values [b*kv, t, d]. With one position these are plain reshapes.
      const queries: tf.Tensor2D = t === 1 ? tf.reshape(q, [b * h, d]) : tf.reshape(tf.transpose(q, [0, 2, 1, 3]), [b * h * t, d]);
      const keysT: tf.Tensor3D =
        t === 1 ? tf.reshape(k, [b * kv, d, 1]) : tf.reshape(tf.transpose(k, [0, 2, 3, 1]), [b * kv, d, t]);
      const v4: tf.Tensor4D = tf.reshape(vFlat, [b, t, kv, d]);
      const values: tf.Tensor3D = t === 1 ? tf.reshape(v4, [b * kv, 1, d]) : tf.reshape(tf.transpose(v4, [0, 2, 1, 3]), [b * kv, t, d]);

      let keySource = keysT;
      let valueSource = values;
      if (ctx.cache !== undefined) {
        ctx.cache.write(ctx.layer, keysT, values, ctx.start);
        keySource = ctx.cache.keys(ctx.layer);
        valueSource = ctx.cache.values(ctx.layer);
      }
      const offset = ctx.cache === undefined ? ctx.keyStart - ctx.start : ctx.keyStart;
      const span = ctx.start + t - ctx.keyStart;

      const queryGroups: tf.Tensor3D = tf.reshape(queries, [b * kv, group * t, d]);
      const outputs: tf.Tensor2D[] = [];
      for (let bi = 0; bi < b; bi++) {
        for (let g = 0; g < kv; g++) {
          const headGroup = (): tf.Tensor2D => {
            const row = bi * kv + g;
            const kt = tensorBlock(ctx.device, keySource, row, 0, d, offset, span);
            const vv = tensorBlock(ctx.device, valueSource, row, offset, span, 0, d);
            // The queries of the heads sharing kv head g, stacked as rows (h, t).
            const qg = tensorBlock(ctx.device, queryGroups, row, 0, group * t, 0, d);
            let scores: tf.Tensor2D = tf.matMul(qg, kt);
            if (ctx.mask !== undefined) {
              scores = tf.reshape(tf.add(tf.reshape(scores, [group, t, span]), ctx.mask), [group * t, span]);
            }
            return tf.matMul(tf.softmax(scores), vv);
          };
          // A prefill's scores are [group * t, span]: free each group's before the next.
          outputs.push(t === 1 ? headGroup() : tf.tidy(headGroup));
        }
      }
      const heads = outputs.length === 1 ? (outputs[0] as tf.Tensor2D) : tf.concat(outputs, 0);
      const merged: tf.Tensor2D =
        t === 1 ? tf.reshape(heads, [b, h * d]) : tf.reshape(tf.transpose(tf.reshape(heads, [b, h, t, d]), [0, 2, 1, 3]), [b * t, h * d]);
      return this.outputProj.apply(merged);
    });
  }
}
