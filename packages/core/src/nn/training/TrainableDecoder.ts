import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import { attentionMask } from '../attentionMask.js';
import type { Device } from '../devices/Device.js';
import type { HeapReservation } from '../devices/HeapLedger.js';
import { ModelNotLoadedError, ParameterShapeMismatchError, StateKeyMismatchError } from '../errors.js';
import type { StateEntry, StateSource } from '../loadModuleState.js';
import { numel } from '../Module.js';
import { RotaryEncoder, rotateHalfMatrix } from '../RotaryEncoder.js';
import {
  resolveTransformerDecoderConfig,
  type ResolvedTransformerDecoderConfig,
  type TransformerDecoderConfig,
} from '../TransformerDecoderConfig.js';
import { TransformerDecoderModel } from '../TransformerDecoderModel.js';
import { causalAttention, embeddingLookup, linear } from './trainingOps.js';

/** Options of {@link TrainableDecoder}. */
export interface TrainableDecoderOptions {
  /** The device the parameters live on (from `useDevice()`); it must be active when they load. */
  readonly device: Device;
}

/**
 * Bytes per parameter a training run holds: the float32 weight, its gradient and AdamW's two
 * moments.
 */
const TRAINING_BYTES_PER_PARAMETER = 4 * 4;

/**
 * The decoder of {@link TransformerDecoderModel}, differentiable: the same parameters under the
 * same fs2 names, shapes and layout (`parameterShapes()` is the inference model's), held as
 * `tf.Variable`s, and a forward pass that TF.js can differentiate: full causal attention over the
 * whole sequence (no KV cache), nothing fused or folded at load (the inference model concatenates
 * q/k/v and gate/inner weights and folds the softmax scale into q), and gradients that exist and
 * are fast on wasm (see `trainingOps`).
 *
 * A state saved from it (`stateEntries()`, or a family's `saveModel` with `format: 'fs2'`) loads
 * into the inference model unchanged, and the other way round.
 *
 * ```ts
 * const device = await useDevice('wasm');
 * const model = new TrainableDecoder(config, { device });
 * await model.loadState(randomState(model.parameterShapes(), { seed: 1 }));
 * const { value, grads } = tf.variableGrads(() => sequenceNll(model.forward(ids, 2, 64), targets, mask));
 * ```
 */
export class TrainableDecoder {
  readonly config: ResolvedTransformerDecoderConfig;
  readonly device: Device;
  private readonly shapes: Map<string, number[]>;
  private readonly rotary: RotaryEncoder;
  private readonly rotation: Float32Array;
  private readonly masks = new Map<number, Float32Array | undefined>();
  private readonly reservation: HeapReservation;
  private parameters: Map<string, tf.Variable> | undefined;
  private disposed = false;

  /**
   * @throws DecoderConfigError when a config field is invalid.
   * @throws HeapBudgetExceededError when the weights, gradients and optimizer state would not fit
   *   the device's memory budget.
   */
  constructor(config: TransformerDecoderConfig | ResolvedTransformerDecoderConfig, options: TrainableDecoderOptions) {
    this.config = resolveTransformerDecoderConfig(config);
    this.device = options.device;
    // The inference model's own parameter list: the names and shapes cannot drift apart.
    this.shapes = new TransformerDecoderModel(withoutUndefined(this.config)).parameterShapes();
    this.rotary = new RotaryEncoder(this.config.headDim, this.config.ropeTheta, this.config.ropeScaling);
    this.rotation = rotateHalfMatrix(this.config.headDim);
    this.reservation = this.device.ledger.reserve('the trainable model', {
      weights: this.numParameters() * TRAINING_BYTES_PER_PARAMETER,
    });
  }

  /** Parameter name -> shape, in fs2 names and layout (the inference model's). */
  parameterShapes(): Map<string, number[]> {
    return new Map([...this.shapes].map(([name, shape]) => [name, [...shape]]));
  }

  /** The number of parameters. */
  numParameters(): number {
    let total = 0;
    for (const shape of this.shapes.values()) {
      total += numel(shape);
    }
    return total;
  }

  /** Whether parameters are loaded. */
  get isLoaded(): boolean {
    return this.parameters !== undefined;
  }

  /**
   * Loads the parameters from `source`, one tensor at a time (fs2 names and layout), as trainable
   * variables; the device must be active. Loading again assigns the new values to the same
   * variables (an optimizer built on them keeps working). On error the model is left without
   * parameters.
   *
   * @throws ParameterShapeMismatchError, StateKeyMismatchError as `loadModuleState` does.
   */
  async loadState(source: StateSource): Promise<void> {
    this.assertUsable();
    this.device.assertActive();
    const staged = new Map<string, tf.Tensor>();
    const unexpected: string[] = [];
    const duplicated: string[] = [];
    try {
      for await (const entry of source) {
        const shape = this.shapes.get(entry.name);
        if (shape === undefined) {
          unexpected.push(entry.name);
          continue;
        }
        if (staged.has(entry.name)) {
          duplicated.push(entry.name);
          continue;
        }
        if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
          throw new ParameterShapeMismatchError(entry.name, shape, entry.shape);
        }
        if (entry.data.length !== numel(shape)) {
          throw new InvalidArgumentError(
            'source',
            `The state entry \`${entry.name}\` has the shape [${shape.join(', ')}] (${numel(shape)} elements), but ${entry.data.length} values.`,
          );
        }
        this.device.assertActive();
        staged.set(entry.name, this.device.upload(entry.data, shape));
      }
      const missing = [...this.shapes.keys()].filter((name) => !staged.has(name));
      if (missing.length > 0 || unexpected.length > 0 || duplicated.length > 0) {
        throw new StateKeyMismatchError(missing, unexpected, duplicated);
      }
      if (this.parameters === undefined) {
        // In the order of parameterShapes(), whatever the order the state came in.
        this.parameters = new Map([...this.shapes.keys()].map((name) => [name, tf.variable(staged.get(name) as tf.Tensor, true)]));
      } else {
        // The same variables take the new values: an optimizer holding them keeps working.
        for (const [name, variable] of this.parameters) {
          variable.assign(staged.get(name) as tf.Tensor);
        }
      }
    } catch (error) {
      this.release();
      throw error;
    } finally {
      for (const tensor of staged.values()) {
        tensor.dispose();
      }
    }
  }

  /** The trainable variables by fs2 name, in `parameterShapes()` order. */
  variables(): ReadonlyMap<string, tf.Variable> {
    return this.requireParameters();
  }

  /** The parameters read back, one tensor at a time, in fs2 names, shapes and layout (fresh arrays). */
  *stateEntries(): Generator<StateEntry> {
    for (const [name, variable] of this.requireParameters()) {
      yield { name, shape: [...variable.shape], data: (variable.dataSync() as Float32Array).slice() };
    }
  }

  /**
   * Logits `[batchSize * seqLen, vocab]` (rows batch-major) for `ids` `[batchSize * seqLen]`: each
   * row a sequence from position 0, every position attending to itself and those before it (and
   * within the sliding window, when the config has one). Call it inside `tf.tidy` or a gradient
   * function: it leaves its intermediates to the caller's scope.
   */
  forward(ids: Int32Array, batchSize: number, seqLen: number): tf.Tensor2D {
    const p = this.requireParameters();
    const c = this.config;
    if (ids.length !== batchSize * seqLen) {
      throw new InvalidArgumentError('ids', `The batch holds ${ids.length} token ids, not ${batchSize} x ${seqLen}.`);
    }
    if (seqLen > c.maxSeqLen) {
      throw new InvalidArgumentError('ids', `Sequences of ${seqLen} tokens exceed the model's \`maxSeqLen\` (${c.maxSeqLen}).`);
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id < 0 || id >= c.vocabSize) {
        throw new InvalidArgumentError('ids', `The token id ${id} at index ${i} is outside the vocabulary [0, ${c.vocabSize}).`);
      }
    }
    const param = (name: string): tf.Variable => p.get(name) as tf.Variable;
    const { numHeads: h, numKvHeads: kv, headDim: d } = c;
    const n = batchSize * seqLen;
    const { cos, sin } = this.rotary.tableValues(0, seqLen);
    const cosT = tf.tensor3d(cos, [seqLen, 1, d]);
    const sinT = tf.tensor3d(sin, [seqLen, 1, d]);
    const rotation = tf.tensor2d(this.rotation, [d, d]);
    const mask = this.mask(seqLen);

    const rms = (x: tf.Tensor, weight: tf.Tensor): tf.Tensor2D =>
      tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), c.normEps))), weight) as tf.Tensor2D;
    const project = (x: tf.Tensor2D, prefix: string): tf.Tensor2D => {
      const y = linear(x, param(`${prefix}.weight`) as tf.Tensor2D);
      return c.qkvBias && p.has(`${prefix}.bias`) ? tf.add(y, param(`${prefix}.bias`)) : y;
    };
    // [n, heads * d] -> rotary-encoded [batch * heads, seqLen, d] (rotate-half layout, as the inference model).
    const rotate = (x: tf.Tensor2D, heads: number, normName: string | undefined): tf.Tensor3D => {
      let flat: tf.Tensor2D = tf.reshape(x, [n * heads, d]);
      if (normName !== undefined) {
        flat = rms(flat, param(normName));
      }
      const turned = tf.reshape(linear(flat, rotation), [batchSize, seqLen, heads, d]);
      const x4 = tf.reshape(flat, [batchSize, seqLen, heads, d]);
      const encoded = tf.add(tf.mul(x4, cosT), tf.mul(turned, sinT));
      return tf.reshape(tf.transpose(encoded, [0, 2, 1, 3]), [batchSize * heads, seqLen, d]);
    };

    let x: tf.Tensor2D = embeddingLookup(param('decoder_frontend.embed.weight') as tf.Tensor2D, ids);
    for (let layer = 0; layer < c.numLayers; layer++) {
      const prefix = `decoder.layers.${layer}`;
      const attn = `${prefix}.self_attn`;
      const hIn = rms(x, param(`${prefix}.self_attn_layer_norm.weight`));
      const q = rotate(project(hIn, `${attn}.q_proj`), h, c.qkNorm ? `${attn}.q_norm.weight` : undefined);
      const k = rotate(project(hIn, `${attn}.k_proj`), kv, c.qkNorm ? `${attn}.k_norm.weight` : undefined);
      const v = tf.reshape(tf.transpose(tf.reshape(project(hIn, `${attn}.v_proj`), [batchSize, seqLen, kv, d]), [0, 2, 1, 3]), [
        batchSize * kv,
        seqLen,
        d,
      ]);
      const attended = causalAttention(q, k, v as tf.Tensor3D, { group: h / kv, scale: 1 / Math.sqrt(d), mask });
      const merged: tf.Tensor2D = tf.reshape(tf.transpose(tf.reshape(attended, [batchSize, h, seqLen, d]), [0, 2, 1, 3]), [n, h * d]);
      x = tf.add(x, linear(merged, param(`${attn}.output_proj.weight`) as tf.Tensor2D));

      const ffn = `${prefix}.ffn`;
      const hFfn = rms(x, param(`${prefix}.ffn_layer_norm.weight`));
      const gate = linear(hFfn, param(`${ffn}.gate_proj.weight`) as tf.Tensor2D);
      const inner = linear(hFfn, param(`${ffn}.inner_proj.weight`) as tf.Tensor2D);
      const activated = tf.mul(tf.mul(gate, tf.sigmoid(gate)), inner) as tf.Tensor2D;
      x = tf.add(x, linear(activated, param(`${ffn}.output_proj.weight`) as tf.Tensor2D));
    }
    const normed = rms(x, param('decoder.layer_norm.weight'));
    const head = c.tiedEmbeddings ? tf.transpose(param('decoder_frontend.embed.weight')) : param('final_proj.weight');
    return linear(normed, head as tf.Tensor2D);
  }

  /** Frees the parameters and the memory reservation; the model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.release();
    this.reservation.release();
    this.disposed = true;
  }

  private mask(seqLen: number): Float32Array | undefined {
    if (!this.masks.has(seqLen)) {
      this.masks.set(seqLen, attentionMask(0, seqLen, 0, this.config.slidingWindow));
    }
    return this.masks.get(seqLen);
  }

  private release(): void {
    for (const variable of this.parameters?.values() ?? []) {
      variable.dispose();
    }
    this.parameters = undefined;
  }

  private assertUsable(): void {
    if (this.disposed) {
      throw new ModelNotLoadedError('disposed');
    }
  }

  private requireParameters(): ReadonlyMap<string, tf.Variable> {
    this.assertUsable();
    if (this.parameters === undefined) {
      throw new ModelNotLoadedError('not_loaded');
    }
    return this.parameters;
  }
}

/** A resolved config as a plain {@link TransformerDecoderConfig} (optional fields left out rather than `undefined`). */
function withoutUndefined(config: ResolvedTransformerDecoderConfig): TransformerDecoderConfig {
  const { ropeScaling, slidingWindow, ...rest } = config;
  return { ...rest, ...(ropeScaling === undefined ? {} : { ropeScaling }), ...(slidingWindow === undefined ? {} : { slidingWindow }) };
}
