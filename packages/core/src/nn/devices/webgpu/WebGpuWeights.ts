import { InternalError, InvalidArgumentError, NotSupportedError } from '../../../errors/Fs2Error.js';
import { formatBytes } from '../../errors.js';
import { Module, type ParameterSlot } from '../../Module.js';
import type { ResolvedTransformerDecoderConfig } from '../../TransformerDecoderConfig.js';
import { BufferUsage, type GpuContext } from './GpuContext.js';
import { WebGpuOutOfMemoryError } from './errors.js';
import { Uploader } from './Uploader.js';

/** One row range of a {@link ChunkedMatrix}, in its own buffer. */
export interface MatrixChunk {
  readonly buffer: GPUBuffer;
  readonly rowStart: number;
  readonly rows: number;
}

/**
 * A row-major float32 `[rows, cols]` matrix in GPU memory, split by rows into buffers that each fit
 * one storage binding (`maxStorageBufferBindingSize`: 2 GiB on NVIDIA's Vulkan driver, 128 MiB on
 * lavapipe). Kernels run once per chunk; an 8B model's f32 embedding (2.1 GB) takes two.
 */
export class ChunkedMatrix {
  readonly chunks: readonly MatrixChunk[];

  constructor(
    ctx: GpuContext,
    readonly rows: number,
    readonly cols: number,
    label: string,
  ) {
    const rowBytes = cols * 4;
    const perChunk = Math.floor(Math.min(ctx.limits.weightChunkBytes, ctx.limits.maxBufferBytes) / rowBytes);
    if (perChunk < 1) {
      throw new InvalidArgumentError(
        'config',
        `One row of ${label} (${cols} floats) is larger than the largest weight chunk (${formatBytes(ctx.limits.weightChunkBytes)}).`,
      );
    }
    const chunks: MatrixChunk[] = [];
    for (let rowStart = 0; rowStart < rows; rowStart += perChunk) {
      const count = Math.min(perChunk, rows - rowStart);
      chunks.push({ buffer: ctx.storage(count * rowBytes, `${label}[${rowStart}:${rowStart + count}]`), rowStart, rows: count });
    }
    this.chunks = chunks;
  }

  /** Bytes of GPU memory held. */
  get bytes(): number {
    return this.rows * this.cols * 4;
  }

  /** Writes whole rows `rowStart ..` from `data` (row-major, `cols` wide). */
  async writeRows(uploader: Uploader, data: Float32Array, rowStart: number): Promise<void> {
    const n = data.length / this.cols;
    for (const chunk of this.chunks) {
      const lo = Math.max(rowStart, chunk.rowStart);
      const hi = Math.min(rowStart + n, chunk.rowStart + chunk.rows);
      if (lo < hi) {
        await uploader.write(chunk.buffer, (lo - chunk.rowStart) * this.cols * 4, data.subarray((lo - rowStart) * this.cols, (hi - rowStart) * this.cols));
      }
    }
  }

  destroy(): void {
    for (const chunk of this.chunks) {
      chunk.buffer.destroy();
    }
  }
}

/** The weights of one decoder layer, in the runtime's layout (linear weights `[out, in]`). */
export interface LayerWeights {
  readonly attnNorm: GPUBuffer;
  /** q, k and v fused: `[(heads + 2 kvHeads) headDim, modelDim]`; q rows pre-scaled by `1/sqrt(headDim)` without q/k norms. */
  readonly qkv: ChunkedMatrix;
  readonly qkvBias: GPUBuffer | undefined;
  /** q then k RMSNorm gains, `[2 headDim]`; the q gains pre-scaled by `1/sqrt(headDim)`. */
  readonly qkNorm: GPUBuffer | undefined;
  readonly wo: ChunkedMatrix;
  readonly ffnNorm: GPUBuffer;
  readonly gate: ChunkedMatrix;
  readonly up: ChunkedMatrix;
  readonly down: ChunkedMatrix;
}

interface Allocated {
  readonly embed: ChunkedMatrix;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: GPUBuffer;
  /** The output projection `[vocab, modelDim]`: the embedding itself when tied. */
  readonly head: ChunkedMatrix;
}

/** Largest staging buffer for transposing a weight on the GPU. */
const STAGING_BYTES = 64 * 2 ** 20;

/**
 * The decoder's parameters straight in GPU buffers: a module tree with the model's fs2 parameter
 * names and shapes, whose slots write each tensor as it arrives (through an {@link Uploader}),
 * nothing kept on the host. Linear weights arrive `[in, out]` and are transposed on the GPU into `[out, in]`
 * rows (the layout every kernel reads), fused (q/k/v) and scaled (the softmax scale) on the way.
 */
export class WebGpuWeights extends Module {
  private allocated: Allocated | undefined;
  private readonly received = new Set<string>();
  private readonly slotList: ParameterSlot[];
  private staging: GPUBuffer | undefined;
  private transposeParams: GPUBuffer | undefined;
  private uploader: Uploader | undefined;

  constructor(
    private readonly ctx: GpuContext,
    readonly config: ResolvedTransformerDecoderConfig,
  ) {
    super('');
    this.slotList = this.buildSlots();
  }

  protected override ownSlots(): ParameterSlot[] {
    return this.slotList;
  }

  protected override unloadOwn(): void {
    const a = this.allocated;
    this.allocated = undefined;
    this.received.clear();
    this.staging?.destroy();
    this.staging = undefined;
    this.transposeParams?.destroy();
    this.transposeParams = undefined;
    this.uploader?.destroy();
    this.uploader = undefined;
    if (a === undefined) {
      return;
    }
    a.embed.destroy();
    if (a.head !== a.embed) {
      a.head.destroy();
    }
    a.finalNorm.destroy();
    for (const l of a.layers) {
      for (const m of [l.qkv, l.wo, l.gate, l.up, l.down]) {
        m.destroy();
      }
      for (const b of [l.attnNorm, l.ffnNorm, l.qkvBias, l.qkNorm]) {
        b?.destroy();
      }
    }
  }

  protected override prepareOwn(): void {
    // Every slot has arrived (loadModuleState checked); the staging buffers are no longer needed.
    this.staging?.destroy();
    this.staging = undefined;
    this.uploader?.destroy();
    this.uploader = undefined;
  }

  /** The loaded weights; an internal error before a state was loaded. */
  get buffers(): Allocated {
    if (this.allocated === undefined || this.received.size !== this.slotList.length) {
      throw new InternalError('The webgpu weights are used before a state was loaded.');
    }
    return this.allocated;
  }

  /** Bytes of GPU memory the weights take. */
  get bytes(): number {
    const a = this.allocated;
    if (a === undefined) {
      return 0;
    }
    const c = this.config;
    const vectors = a.layers.length * (2 * c.modelDim + (c.qkvBias ? (c.numHeads + 2 * c.numKvHeads) * c.headDim : 0) + (c.qkNorm ? 2 * c.headDim : 0)) + c.modelDim;
    const matrices = a.layers.reduce((t, l) => t + l.qkv.bytes + l.wo.bytes + l.gate.bytes + l.up.bytes + l.down.bytes, 0);
    return matrices + a.embed.bytes + (a.head === a.embed ? 0 : a.head.bytes) + 4 * vectors;
  }

  /**
   * Every buffer of the weights, allocated on the first tensor of a load.
   *
   * @throws WebGpuOutOfMemoryError when the GPU cannot hold them.
   */
  private async allocate(): Promise<Allocated> {
    if (this.allocated !== undefined) {
      return this.allocated;
    }
    const device = this.ctx.device;
    device.pushErrorScope('out-of-memory');
    const allocated = this.allocateBuffers();
    const error = await device.popErrorScope();
    if (error !== null) {
      this.allocated = allocated;
      const bytes = this.bytes;
      this.unloadOwn();
      throw new WebGpuOutOfMemoryError("the model's weights", bytes, error.message);
    }
    this.allocated = allocated;
    return allocated;
  }

  private allocateBuffers(): Allocated {
    const c = this.config;
    const ctx = this.ctx;
    const qkvRows = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
    const embed = new ChunkedMatrix(ctx, c.vocabSize, c.modelDim, 'embed');
    const layers = Array.from({ length: c.numLayers }, (_, i): LayerWeights => ({
      attnNorm: ctx.storage(c.modelDim * 4, `layers.${i}.attn_norm`),
      qkv: new ChunkedMatrix(ctx, qkvRows, c.modelDim, `layers.${i}.qkv`),
      qkvBias: c.qkvBias ? ctx.storage(qkvRows * 4, `layers.${i}.qkv_bias`) : undefined,
      qkNorm: c.qkNorm ? ctx.storage(2 * c.headDim * 4, `layers.${i}.qk_norm`) : undefined,
      wo: new ChunkedMatrix(ctx, c.modelDim, c.numHeads * c.headDim, `layers.${i}.output_proj`),
      ffnNorm: ctx.storage(c.modelDim * 4, `layers.${i}.ffn_norm`),
      gate: new ChunkedMatrix(ctx, c.ffnInnerDim, c.modelDim, `layers.${i}.gate_proj`),
      up: new ChunkedMatrix(ctx, c.ffnInnerDim, c.modelDim, `layers.${i}.inner_proj`),
      down: new ChunkedMatrix(ctx, c.modelDim, c.ffnInnerDim, `layers.${i}.down_proj`),
    }));
    const finalNorm = ctx.storage(c.modelDim * 4, 'final_norm');
    const head = c.tiedEmbeddings ? embed : new ChunkedMatrix(ctx, c.vocabSize, c.modelDim, 'final_proj');
    return { embed, layers, finalNorm, head };
  }

  private buildSlots(): ParameterSlot[] {
    const c = this.config;
    const d = c.headDim;
    const scale = 1 / Math.sqrt(d);
    const slots: ParameterSlot[] = [];
    const self = this;
    const slot = (
      name: string,
      shape: readonly number[],
      write: (data: Float32Array, a: Allocated) => void | Promise<void>,
      writeTransposed?: (data: Float32Array, a: Allocated) => Promise<void>,
    ): void => {
      const receiver = (fn: (data: Float32Array, a: Allocated) => void | Promise<void>) => async (data: Float32Array) => {
        await fn(data, await this.allocate());
        this.received.add(name);
      };
      slots.push({
        name,
        shape,
        get received() {
          return self.received.has(name);
        },
        receive: receiver(write),
        ...(writeTransposed === undefined ? {} : { receiveTransposed: receiver(writeTransposed) }),
        read: () => {
          throw new NotSupportedError(
            `The parameter ${name} lives in GPU buffers of the webgpu device and cannot be read back: load the model on wasm or cpu to save or export it.`,
          );
        },
      });
    };
    /**
     * A linear weight (fs2 `[in, out]`) filling rows `partOffset ..` of `matrix`: transposed on the
     * GPU, or written as is when it arrives `[out, in]` (a `transposed` state entry).
     */
    const linearSlot = (name: string, inDim: number, outDim: number, matrix: (a: Allocated) => ChunkedMatrix, partOffset: number, factor: number): void =>
      slot(
        name,
        [inDim, outDim],
        (data, a) => this.transposeInto(matrix(a), data, outDim, partOffset, factor),
        (data, a) => matrix(a).writeRows(this.upload(), factor === 1 ? data : data.map((v) => v * factor), partOffset),
      );
    const queue = this.ctx.device.queue;
    const vector = (buffer: (a: Allocated) => GPUBuffer, offset = 0, factor = 1) => (data: Float32Array, a: Allocated) => {
      const values = factor === 1 ? data : data.map((v) => v * factor);
      queue.writeBuffer(buffer(a), offset * 4, values.buffer, values.byteOffset, values.byteLength);
    };
    const layer = (a: Allocated, i: number): LayerWeights => a.layers[i] as LayerWeights;

    slot('decoder_frontend.embed.weight', [c.vocabSize, c.modelDim], (data, a) => a.embed.writeRows(this.upload(), data, 0));
    for (let i = 0; i < c.numLayers; i++) {
      const p = `decoder.layers.${i}`;
      const qDim = c.numHeads * d;
      const kvDim = c.numKvHeads * d;
      slot(`${p}.self_attn_layer_norm.weight`, [c.modelDim], vector((a) => layer(a, i).attnNorm));
      const qScale = c.qkNorm ? 1 : scale;
      linearSlot(`${p}.self_attn.q_proj.weight`, c.modelDim, qDim, (a) => layer(a, i).qkv, 0, qScale);
      linearSlot(`${p}.self_attn.k_proj.weight`, c.modelDim, kvDim, (a) => layer(a, i).qkv, qDim, 1);
      linearSlot(`${p}.self_attn.v_proj.weight`, c.modelDim, kvDim, (a) => layer(a, i).qkv, qDim + kvDim, 1);
      if (c.qkvBias) {
        const bias = (a: Allocated): GPUBuffer => layer(a, i).qkvBias as GPUBuffer;
        slot(`${p}.self_attn.q_proj.bias`, [qDim], vector(bias, 0, qScale));
        slot(`${p}.self_attn.k_proj.bias`, [kvDim], vector(bias, qDim));
        slot(`${p}.self_attn.v_proj.bias`, [kvDim], vector(bias, qDim + kvDim));
      }
      if (c.qkNorm) {
        const norm = (a: Allocated): GPUBuffer => layer(a, i).qkNorm as GPUBuffer;
        slot(`${p}.self_attn.q_norm.weight`, [d], vector(norm, 0, scale));
        slot(`${p}.self_attn.k_norm.weight`, [d], vector(norm, d));
      }
      linearSlot(`${p}.self_attn.output_proj.weight`, qDim, c.modelDim, (a) => layer(a, i).wo, 0, 1);
      slot(`${p}.ffn_layer_norm.weight`, [c.modelDim], vector((a) => layer(a, i).ffnNorm));
      linearSlot(`${p}.ffn.gate_proj.weight`, c.modelDim, c.ffnInnerDim, (a) => layer(a, i).gate, 0, 1);
      linearSlot(`${p}.ffn.inner_proj.weight`, c.modelDim, c.ffnInnerDim, (a) => layer(a, i).up, 0, 1);
      linearSlot(`${p}.ffn.output_proj.weight`, c.ffnInnerDim, c.modelDim, (a) => layer(a, i).down, 0, 1);
    }
    slot('decoder.layer_norm.weight', [c.modelDim], vector((a) => a.finalNorm));
    if (!c.tiedEmbeddings) {
      linearSlot('final_proj.weight', c.modelDim, c.vocabSize, (a) => a.head, 0, 1);
    }
    return slots;
  }

  /**
   * Writes an fs2 linear weight `[K, n]` (`K = matrix.cols`) transposed into rows
   * `partOffset .. partOffset + n` of `matrix`, times `scale`: its rows go to a staging buffer a
   * piece at a time and a kernel writes their transposition into each chunk they touch.
   */
  private async transposeInto(matrix: ChunkedMatrix, data: Float32Array, n: number, partOffset: number, scale: number): Promise<void> {
    const ctx = this.ctx;
    const K = matrix.cols;
    const device = ctx.device;
    const realMax = Math.min(STAGING_BYTES, device.limits.maxStorageBufferBindingSize);
    const rowsPerPiece = Math.floor(realMax / (n * 4));
    if (rowsPerPiece < 1) {
      throw new InternalError(`A weight row of ${n} floats does not fit the staging buffer (${realMax} bytes).`);
    }
    this.staging ??= ctx.storage(realMax, 'staging');
    this.transposeParams ??= device.createBuffer({ size: 48, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: 'fs2:transpose' });
    const pipeline = ctx.pipeline('transpose');
    const params = new ArrayBuffer(48);
    const u32 = new Uint32Array(params);
    const f32 = new Float32Array(params);
    for (let k0 = 0; k0 < K; k0 += rowsPerPiece) {
      const kCount = Math.min(rowsPerPiece, K - k0);
      await this.upload().write(this.staging, 0, data.subarray(k0 * n, (k0 + kCount) * n));
      for (const chunk of matrix.chunks) {
        const nLo = Math.max(0, chunk.rowStart - partOffset);
        const nHi = Math.min(n, chunk.rowStart + chunk.rows - partOffset);
        if (nLo >= nHi) {
          continue;
        }
        u32.set([K, nLo, nHi - nLo, chunk.rowStart, partOffset, k0, kCount, n]);
        f32[8] = scale;
        device.queue.writeBuffer(this.transposeParams, 0, params);
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, ctx.bindGroup(pipeline, [this.transposeParams, this.staging, chunk.buffer]));
        pass.dispatchWorkgroups(Math.ceil((nHi - nLo) / 16), Math.ceil(kCount / 16));
        pass.end();
        device.queue.submit([encoder.finish()]);
      }
    }
  }

  private upload(): Uploader {
    return (this.uploader ??= new Uploader(this.ctx.device));
  }
}
