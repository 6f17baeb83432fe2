import {
  InvalidArgumentError,
  Module,
  ModelNotLoadedError,
  Parameter,
  loadModuleState,
  type Device,
  type HeapReservation,
  type MemoryBreakdown,
  type ParameterSlot,
  type SavableModel,
  type StateEntry,
  type StateSource,
} from '@fs2/core';
import * as tf from '@tensorflow/tfjs';

import { checkGpt2Config, type Gpt2Config } from './config.js';

/** `sqrt(2 / pi)`, the constant of GELU's tanh approximation (Hendrycks & Gimpel 2016, §2). */
const GELU_TANH_SCALE = Math.sqrt(2 / Math.PI);

/** The cubic coefficient of GELU's tanh approximation (Hendrycks & Gimpel 2016, §2). */
const GELU_TANH_CUBIC = 0.044715;

/**
 * A score that softmax turns into exactly 0 in float32 (`exp(-1e9)` underflows), for the future
 * positions of the causal mask. Finite, so that no backend meets `-inf - -inf`.
 */
const MASKED_SCORE = -1e9;

/**
 * GELU with the tanh approximation, GPT-2's activation (HF `gelu_new`, PyTorch
 * `gelu(approximate='tanh')`): `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`. TF.js has no GELU
 * op on the wasm backend, so it is written out. Call it inside `tf.tidy`.
 */
export function gpt2Gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), GELU_TANH_CUBIC)), GELU_TANH_SCALE);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** Transposes a row-major `[rows, cols]` matrix into a new array. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[c * rows + r] = data[r * cols + c] as number;
    }
  }
  return out;
}

/**
 * A {@link Parameter} that can be read back in fs2 layout (for `saveModel`): core's `Linear` and
 * `Embedding` keep their tensors private, so this family holds its own parameters.
 */
class Gpt2Parameter extends Parameter {
  constructor(
    name: string,
    shape: readonly number[],
    private readonly transposed = false,
  ) {
    const [rows = 0, cols = 0] = shape;
    super(
      name,
      shape,
      transposed
        ? { storedShape: [cols, rows], apply: (data) => transpose(data, rows, cols), invert: (stored) => transpose(stored, cols, rows) }
        : undefined,
    );
  }

  /** The values, in fs2 layout, copied from the device. */
  override read(): Float32Array {
    const stored = this.tensor().dataSync() as Float32Array;
    if (!this.transposed) {
      return Float32Array.from(stored);
    }
    const [rows = 0, cols = 0] = this.shape;
    return transpose(stored, cols, rows);
  }
}

/** LayerNorm with gain and bias (Ba et al. 2016): `<name>.weight`, `<name>.bias`, both `[dim]`. */
class Gpt2LayerNorm extends Module {
  private readonly weight: Gpt2Parameter;
  private readonly bias: Gpt2Parameter;

  constructor(
    name: string,
    dim: number,
    private readonly eps: number,
  ) {
    super(name);
    this.weight = new Gpt2Parameter(`${name}.weight`, [dim]);
    this.bias = new Gpt2Parameter(`${name}.bias`, [dim]);
  }

  protected override ownSlots(): ParameterSlot[] {
    return [this.weight, this.bias];
  }

  protected override unloadOwn(): void {
    this.weight.unload();
    this.bias.unload();
  }

  /** `x` `[n, dim]`, normalised over its last axis. Call inside `tf.tidy`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.square(centred), -1, true);
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, this.eps)));
    return tf.add(tf.mul(normed, this.weight.tensor()), this.bias.tensor()) as tf.Tensor2D;
  }
}

/**
 * An affine projection `x W + b` with `W` stored `[in, out]` (the layout of HF GPT-2's `Conv1D`,
 * and the one a plain matMul wants): `<name>.weight` `[in, out]`, `<name>.bias` `[out]`.
 */
class Gpt2Projection extends Module {
  private readonly weight: Gpt2Parameter;
  private readonly bias: Gpt2Parameter;

  constructor(name: string, inDim: number, outDim: number) {
    super(name);
    this.weight = new Gpt2Parameter(`${name}.weight`, [inDim, outDim]);
    this.bias = new Gpt2Parameter(`${name}.bias`, [outDim]);
  }

  protected override ownSlots(): ParameterSlot[] {
    return [this.weight, this.bias];
  }

  protected override unloadOwn(): void {
    this.weight.unload();
    this.bias.unload();
  }

  /** `x` `[n, in]` -> `[n, out]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: x, b: this.weight.tensor() as tf.Tensor2D, bias: this.bias.tensor() }) as tf.Tensor2D;
  }
}

/** The shape of one forward pass, shared by the blocks. */
interface Gpt2Pass {
  readonly batchSize: number;
  readonly length: number;
  /** `[length, length]`: 0 where a position may attend, {@link MASKED_SCORE} after it. */
  readonly mask: tf.Tensor2D;
}

/**
 * Multi-head causal self-attention with q, k and v computed by one fused projection, as GPT-2's
 * checkpoints store them (`qkv_proj`: columns `[q | k | v]`, each head a contiguous block of
 * `model_dim / num_heads` columns), then `output_proj`.
 */
class Gpt2Attention extends Module {
  readonly qkvProj: Gpt2Projection;
  readonly outputProj: Gpt2Projection;
  private readonly headDim: number;

  constructor(
    name: string,
    private readonly modelDim: number,
    private readonly numHeads: number,
  ) {
    super(name);
    this.headDim = modelDim / numHeads;
    this.qkvProj = new Gpt2Projection(`${name}.qkv_proj`, modelDim, 3 * modelDim);
    this.outputProj = new Gpt2Projection(`${name}.output_proj`, modelDim, modelDim);
  }

  protected override children(): readonly Module[] {
    return [this.qkvProj, this.outputProj];
  }

  /** `x` `[batch * length, dim]` -> `[batch * length, dim]`. Call inside `tf.tidy`. */
  apply(x: tf.Tensor2D, pass: Gpt2Pass): tf.Tensor2D {
    const { batchSize, length, mask } = pass;
    const heads = (t: tf.Tensor2D): tf.Tensor4D =>
      tf.transpose(tf.reshape(t, [batchSize, length, this.numHeads, this.headDim]), [0, 2, 1, 3]); // [b, h, t, d]
    const [q, k, v] = tf.split(this.qkvProj.apply(x), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const scores = tf.add(tf.mul(tf.matMul(heads(q), heads(k), false, true), 1 / Math.sqrt(this.headDim)), mask); // [b, h, t, t]
    const context = tf.matMul(tf.softmax(scores), heads(v)); // [b, h, t, d]
    const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batchSize * length, this.modelDim]) as tf.Tensor2D;
    return this.outputProj.apply(merged);
  }
}

/** GPT-2's MLP: `output_proj(gelu(inner_proj(x)))`. */
class Gpt2FeedForward extends Module {
  readonly innerProj: Gpt2Projection;
  readonly outputProj: Gpt2Projection;

  constructor(name: string, modelDim: number, innerDim: number) {
    super(name);
    this.innerProj = new Gpt2Projection(`${name}.inner_proj`, modelDim, innerDim);
    this.outputProj = new Gpt2Projection(`${name}.output_proj`, innerDim, modelDim);
  }

  protected override children(): readonly Module[] {
    return [this.innerProj, this.outputProj];
  }

  /** Call inside `tf.tidy`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return this.outputProj.apply(gpt2Gelu(this.innerProj.apply(x)) as tf.Tensor2D);
  }
}

/**
 * One pre-LayerNorm block (GPT-2 paper, §2.3: "Layer normalization was moved to the input of each
 * sub-block"): `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
 */
class Gpt2Block extends Module {
  readonly selfAttnLayerNorm: Gpt2LayerNorm;
  readonly selfAttn: Gpt2Attention;
  readonly ffnLayerNorm: Gpt2LayerNorm;
  readonly ffn: Gpt2FeedForward;

  constructor(name: string, config: Gpt2Config) {
    super(name);
    this.selfAttnLayerNorm = new Gpt2LayerNorm(`${name}.self_attn_layer_norm`, config.model_dim, config.layer_norm_eps);
    this.selfAttn = new Gpt2Attention(`${name}.self_attn`, config.model_dim, config.num_heads);
    this.ffnLayerNorm = new Gpt2LayerNorm(`${name}.ffn_layer_norm`, config.model_dim, config.layer_norm_eps);
    this.ffn = new Gpt2FeedForward(`${name}.ffn`, config.model_dim, config.ffn_inner_dim);
  }

  protected override children(): readonly Module[] {
    return [this.selfAttnLayerNorm, this.selfAttn, this.ffnLayerNorm, this.ffn];
  }

  /** A new tensor; `x` is left to the caller. Its intermediates are freed before it returns. */
  apply(x: tf.Tensor2D, pass: Gpt2Pass): tf.Tensor2D {
    return tf.tidy(() => {
      const attended = tf.add(x, this.selfAttn.apply(this.selfAttnLayerNorm.apply(x), pass)) as tf.Tensor2D;
      return tf.add(attended, this.ffn.apply(this.ffnLayerNorm.apply(attended))) as tf.Tensor2D;
    });
  }
}

/** The token and position tables: `decoder_frontend.embed.weight`, `decoder_frontend.pos_encoder.weight`. */
class Gpt2Frontend extends Module {
  /** `[vocab, dim]` in fs2 layout, stored `[dim, vocab]` so the tied output projection is a plain matMul. */
  private readonly embed: Gpt2Parameter;
  private readonly positions: Gpt2Parameter;

  constructor(name: string, config: Gpt2Config) {
    super(name);
    // A transposed matMul is ~10x slower than a plain one on the wasm backend (the nn building
    // blocks' measurement), and the output projection is the largest matMul of the model.
    this.embed = new Gpt2Parameter(`${name}.embed.weight`, [config.vocab_size, config.model_dim], true);
    this.positions = new Gpt2Parameter(`${name}.pos_encoder.weight`, [config.max_seq_len, config.model_dim]);
  }

  protected override ownSlots(): ParameterSlot[] {
    return [this.embed, this.positions];
  }

  protected override unloadOwn(): void {
    this.embed.unload();
    this.positions.unload();
  }

  /** Token ids `[batch * length]` -> token + position embeddings `[batch * length, dim]`. */
  apply(ids: tf.Tensor1D, pass: Gpt2Pass): tf.Tensor2D {
    return tf.tidy(() => {
      const dim = this.positions.shape[1] as number;
      const tokens = tf.reshape(tf.transpose(tf.gather(this.embed.tensor(), ids, 1)), [pass.batchSize, pass.length, dim]);
      const positions = tf.slice(this.positions.tensor(), [0, 0], [pass.length, dim]);
      return tf.reshape(tf.add(tokens, positions), [pass.batchSize * pass.length, dim]);
    });
  }

  /** Hidden states `[n, dim]` -> logits `[n, vocab]`, with the token table (GPT-2 ties them). */
  project(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.embed.tensor() as tf.Tensor2D);
  }
}

/** Bytes of a float32. */
const F32 = 4;

/**
 * What a GPT-2 model needs on a device, for one sequence of `max_seq_len` positions: its weights;
 * the packed copy XNNPACK keeps of every matMul weight on wasm (`packsMatMulWeights`); and the
 * largest working set of a forward pass, one block's (the `[heads, t, t]` scores and their softmax,
 * q/k/v, the MLP's inner activations) plus the residual stream and the logits.
 */
export function estimateGpt2Memory(config: Gpt2Config, packsMatMulWeights: boolean): MemoryBreakdown {
  const { model_dim: d, num_layers: layers, num_heads: heads, max_seq_len: t, vocab_size: vocab, ffn_inner_dim: ffn } = config;
  const matMulWeights = layers * (d * 3 * d + d * d + 2 * d * ffn) + vocab * d;
  const parameters = matMulWeights + t * d + layers * (3 * d + d + ffn + d + 4 * d) + 2 * d;
  return {
    weights: F32 * parameters,
    packedWeights: packsMatMulWeights ? F32 * matMulWeights : 0,
    kvCache: 0,
    activations: F32 * (2 * heads * t * t + t * (4 * 3 * d + 2 * ffn + vocab)),
  };
}

/** Options of {@link Gpt2Model}. */
export interface Gpt2ModelOptions {
  /**
   * The device the weights will live on (from `useDevice()`). Without one the model is shape-only:
   * it lists and counts its parameters but cannot load them. Default: none.
   */
  readonly device?: Device;
}

/** Token ids: one sequence, or a batch of sequences of equal length. */
export type Gpt2TokenInput = readonly number[] | Int32Array | readonly (readonly number[] | Int32Array)[];

/**
 * A GPT-2 causal language model (Radford et al. 2019) on TF.js: learned token and position
 * embeddings, pre-LayerNorm blocks of multi-head causal self-attention and a GELU MLP, a final
 * LayerNorm, and an output projection tied to the token embeddings.
 *
 * Parameters have fs2 names (see {@link parameterShapes}), linear weights `[in, out]`:
 * `decoder_frontend.{embed,pos_encoder}.weight`, `decoder.layers.N.{self_attn_layer_norm,
 * self_attn.qkv_proj, self_attn.output_proj, ffn_layer_norm, ffn.inner_proj, ffn.output_proj}.*`,
 * `decoder.layer_norm.*`.
 *
 * ```ts
 * const model = new Gpt2Model(config, { device: await useDevice() });
 * await model.loadState(entries);           // { name, data, shape } in fs2 names and layout
 * const logits = model.forward([464, 3290]); // [1, 2, vocab]
 * logits.dispose();
 * model.dispose();
 * ```
 */
export class Gpt2Model extends Module implements SavableModel {
  readonly config: Gpt2Config;
  readonly device: Device | undefined;
  /** `decoder_frontend`. */
  readonly frontend: Gpt2Frontend;
  /** `decoder.layers.N`. */
  readonly layers: readonly Gpt2Block[];
  /** `decoder.layer_norm`. */
  readonly layerNorm: Gpt2LayerNorm;
  private readonly reservation: HeapReservation | undefined;
  private state: 'empty' | 'loaded' | 'disposed' = 'empty';

  /**
   * Building allocates nothing; on a device with a memory budget (wasm, whose heap overflows
   * silently) it first reserves what the model will need ({@link estimateGpt2Memory}).
   *
   * @throws Gpt2ConfigError when `model_dim` does not split into `num_heads` heads.
   * @throws HeapBudgetExceededError when the model would not fit the device's memory.
   */
  constructor(config: Gpt2Config, options: Gpt2ModelOptions = {}) {
    super('');
    checkGpt2Config(config);
    this.config = { ...config };
    this.device = options.device;
    this.frontend = new Gpt2Frontend('decoder_frontend', config);
    this.layers = Array.from({ length: config.num_layers }, (_, i) => new Gpt2Block(`decoder.layers.${i}`, config));
    this.layerNorm = new Gpt2LayerNorm('decoder.layer_norm', config.model_dim, config.layer_norm_eps);
    this.reservation = this.device?.ledger.reserve('the GPT-2 model', estimateGpt2Memory(config, this.device.provider.packsMatMulWeights));
  }

  protected override children(): readonly Module[] {
    return [this.frontend, ...this.layers, this.layerNorm];
  }

  /** Whether weights are loaded (and the model not disposed). */
  get isLoaded(): boolean {
    return this.state === 'loaded';
  }

  /**
   * Loads the weights, one tensor at a time, in fs2 names and layout; the model's device must be
   * active. On error the model is left without weights.
   *
   * @throws ParameterShapeMismatchError, StateKeyMismatchError (see `loadModuleState`).
   */
  async loadState(source: StateSource): Promise<void> {
    const device = this.requireDevice();
    this.state = 'empty';
    await loadModuleState(this, source, device);
    this.state = 'loaded';
  }

  /** The weights in fs2 names and layout, one tensor at a time, copied from the device. */
  override *stateEntries(): Generator<StateEntry> {
    this.assertReady();
    for (const slot of this.parameterSlots()) {
      yield { name: slot.name, shape: [...slot.shape], data: (slot as Gpt2Parameter).read() };
    }
  }

  /**
   * The logits of every position, `[batch, length, vocab]`: position `t` predicts token `t + 1`.
   * The caller disposes the result; nothing else survives the call.
   *
   * @throws InvalidArgumentError for an empty or ragged batch, an id outside the vocabulary, or a
   *   sequence longer than `max_seq_len`.
   */
  forward(tokens: Gpt2TokenInput): tf.Tensor3D {
    this.assertReady();
    const { ids, batchSize, length } = this.tokenIds(tokens);
    const maskValues = new Float32Array(length * length);
    for (let t = 0; t < length; t++) {
      maskValues.fill(MASKED_SCORE, t * length + t + 1, (t + 1) * length);
    }
    const pass: Gpt2Pass = { batchSize, length, mask: tf.tensor2d(maskValues, [length, length]) };
    let x: tf.Tensor2D | undefined;
    try {
      x = tf.tidy(() => this.frontend.apply(tf.tensor1d(ids, 'int32'), pass));
      for (const layer of this.layers) {
        // One tidy per block: a long sequence never holds two blocks' intermediates.
        const next = layer.apply(x, pass);
        x.dispose();
        x = next;
      }
      const hidden = x;
      return tf.tidy(() =>
        tf.reshape(this.frontend.project(this.layerNorm.apply(hidden)), [batchSize, length, this.config.vocab_size]),
      );
    } finally {
      x?.dispose();
      pass.mask.dispose();
    }
  }

  /** Frees every tensor; the model cannot be used afterwards. */
  dispose(): void {
    this.unload();
    this.reservation?.release();
    this.state = 'disposed';
  }

  private requireDevice(): Device {
    if (this.state === 'disposed') {
      throw new ModelNotLoadedError('disposed');
    }
    if (this.device === undefined) {
      throw new ModelNotLoadedError('shape_only');
    }
    return this.device;
  }

  private assertReady(): void {
    const device = this.requireDevice();
    if (this.state !== 'loaded') {
      throw new ModelNotLoadedError('not_loaded');
    }
    device.assertActive();
  }

  private tokenIds(tokens: Gpt2TokenInput): { ids: Int32Array; batchSize: number; length: number } {
    const rows: readonly (readonly number[] | Int32Array)[] =
      tokens instanceof Int32Array || typeof tokens[0] === 'number' || tokens.length === 0
        ? [tokens as readonly number[] | Int32Array]
        : (tokens as readonly (readonly number[] | Int32Array)[]);
    const length = rows[0]?.length ?? 0;
    if (length === 0) {
      throw new InvalidArgumentError('tokens', 'The GPT-2 model needs at least one token.');
    }
    if (length > this.config.max_seq_len) {
      throw new InvalidArgumentError(
        'tokens',
        `The GPT-2 model reads at most ${this.config.max_seq_len} positions (\`max_seq_len\`), but ${length} tokens were given.`,
      );
    }
    const ids = new Int32Array(rows.length * length);
    rows.forEach((row, b) => {
      if (row.length !== length) {
        throw new InvalidArgumentError(
          'tokens',
          `Every sequence of a batch must have the same length: sequence 0 has ${length} tokens, sequence ${b} has ${row.length}.`,
        );
      }
      for (let t = 0; t < length; t++) {
        const id = row[t] as number;
        if (!Number.isInteger(id) || id < 0 || id >= this.config.vocab_size) {
          throw new InvalidArgumentError(
            'tokens',
            `The token id ${id} at position ${t} of sequence ${b} is outside the vocabulary [0, ${this.config.vocab_size}).`,
          );
        }
        ids[b * length + t] = id;
      }
    });
    return { ids, batchSize: rows.length, length };
  }
}
