import * as tf from '@tensorflow/tfjs';

import { InternalError, InvalidArgumentError } from '../../../errors/Fs2Error.js';
import type { DecoderRuntime, TokenStream } from '../../DecoderRuntime.js';
import { formatBytes } from '../../errors.js';
import type { KVCache } from '../../KVCache.js';
import type { TokenSampler } from '../../TokenSampler.js';
import type { TransformerDecoderModel } from '../../TransformerDecoderModel.js';
import type { ResolvedTransformerDecoderConfig } from '../../TransformerDecoderConfig.js';
import type { Device } from '../Device.js';
import type { HeapReservation } from '../HeapLedger.js';
import { BufferUsage, MAP_READ, type GpuContext, type KernelName } from './GpuContext.js';
import { WebGpuKVCache } from './WebGpuKVCache.js';
import { WebGpuWeights, type ChunkedMatrix } from './WebGpuWeights.js';
import { ARGMAX_CHUNK, ATTENTION_SPLIT, GEMM_TILE, GEMV_ROWS_PER_WORKGROUP } from './wgsl.js';

/** What the runtime did, for benchmarks and diagnostics (`WebGpuDecoder.stats`). */
export interface WebGpuRuntimeStats {
  /** Passes over the model submitted (forward calls, prefill chunks, decode steps). */
  runs: number;
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Command buffers submitted. */
  submits: number;
  /** Buffers read back to the host, and their bytes. */
  readbacks: number;
  readbackBytes: number;
  /** Host milliseconds spent encoding and submitting work. */
  encodeMs: number;
  /** Host milliseconds spent waiting for read-backs (the GPU finishing the work before them). */
  waitMs: number;
}

/**
 * Where dispatches go: one compute pass for a whole run, or, when profiling, one pass per dispatch
 * with GPU timestamps at its start and end.
 */
class PassWriter {
  private pass: GPUComputePassEncoder | undefined;
  /** The role of each timed dispatch, in order. */
  readonly roles: string[] = [];

  constructor(
    readonly encoder: GPUCommandEncoder,
    private readonly timing?: { readonly querySet: GPUQuerySet; readonly capacity: number },
  ) {}

  dispatch(pipeline: GPUComputePipeline, group: GPUBindGroup, x: number, y: number, z: number, role: string): void {
    let pass: GPUComputePassEncoder;
    const timing = this.timing;
    if (timing !== undefined && 2 * this.roles.length + 2 <= timing.capacity) {
      const i = this.roles.length;
      this.roles.push(role);
      pass = this.encoder.beginComputePass({ timestampWrites: { querySet: timing.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
    } else {
      pass = this.pass ??= this.encoder.beginComputePass();
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    if (pass !== this.pass) {
      pass.end();
    }
  }

  end(): void {
    this.pass?.end();
    this.pass = undefined;
  }
}

/** GPU time per dispatch role of one profiled run (`WebGpuDecoder.profile`). */
export interface WebGpuKernelProfile {
  /** Role (`gemv:qkv`, `attention`, ...) -> dispatches and total GPU nanoseconds. */
  readonly roles: Readonly<Record<string, { readonly dispatches: number; readonly ns: number }>>;
  /** Sum of every dispatch's GPU time, in nanoseconds. */
  readonly totalNs: number;
}

/**
 * Below this many 64x64 tiles a matrix product uses 32-row tiles: about two per multiprocessor of
 * an H100 (132), where a 2048-wide product of 128 positions (64 tiles) ran at ~5.5 TFLOP/s against
 * ~13 for 512 tiles (bench/webgpu/results).
 */
const GEMM_SMALL_GRID = 256;

/** Timestamp slots of a profile (two per dispatch). */
const PROFILE_QUERIES = 4096;

/** The bit pattern of float32 -Infinity (a runtime value: WGSL constants cannot be infinite). */
const NEG_INF_BITS = 0xff800000;

/** Working buffers of one run shape, grown on demand. */
interface Scratch {
  readonly generation: number;
  readonly rows: number;
  readonly batch: number;
  readonly x: GPUBuffer;
  readonly xn: GPUBuffer;
  readonly qkv: GPUBuffer;
  readonly attn: GPUBuffer;
  readonly gu: GPUBuffer;
  readonly act: GPUBuffer;
  readonly ids: GPUBuffer;
  readonly logits: GPUBuffer;
  readonly token: GPUBuffer;
  readonly partVal: GPUBuffer;
  readonly partIdx: GPUBuffer;
}

interface Linear {
  /** One group per chunk of the weight, matrix-vector kernel (one row). */
  readonly vector: readonly GPUBindGroup[];
  /** One group per chunk, matrix-matrix kernel. */
  readonly matrix: readonly GPUBindGroup[];
}

interface LayerGroups {
  readonly norm1: GPUBindGroup;
  readonly qkv: Linear;
  readonly post: GPUBindGroup;
  readonly attention: GPUBindGroup;
  /** Split-K attention of single-position runs (decode): partial results, then their combination. */
  readonly attentionPartial: GPUBindGroup | undefined;
  readonly attentionCombine: GPUBindGroup | undefined;
  readonly output: Linear;
  readonly norm2: GPUBindGroup;
  /** Matrix-vector: gate and up fused with SwiGLU, per chunk. */
  readonly ffnVector: readonly GPUBindGroup[];
  readonly gate: readonly GPUBindGroup[];
  readonly up: readonly GPUBindGroup[];
  readonly swiglu: GPUBindGroup;
  readonly down: Linear;
}

interface RunGroups {
  readonly embed: readonly GPUBindGroup[];
  readonly layers: readonly LayerGroups[];
  /** Key blocks the split attention has room for (`ceil(capacity / 64)`), when it is used. */
  readonly maxSplits: number;
}

interface HeadGroups {
  readonly norm: GPUBindGroup;
  readonly lastOnly: boolean;
  /** Matrix-vector groups (one sequence, last position) or matrix-matrix ones. */
  readonly vector: boolean;
  readonly groups: readonly GPUBindGroup[];
}

/**
 * The `webgpu` device's implementation of a `TransformerDecoderModel` (see `DecoderRuntime`): the
 * weights in GPU buffers ({@link WebGpuWeights}), a KV cache in GPU buffers ({@link WebGpuKVCache}),
 * and a whole pass over the model encoded as one compute pass of WGSL kernels (9 dispatches per
 * layer for a decode step) with bind groups built once per cache. Logits reach TF.js as a tensor on
 * the `webgpu` backend; greedy generation picks tokens on the GPU, feeds them back without leaving
 * it, keeps one step queued ahead, and reads back only the 4-byte token ids.
 */
export class WebGpuDecoder implements DecoderRuntime {
  readonly weights: WebGpuWeights;
  readonly config: ResolvedTransformerDecoderConfig;
  /**
   * Whether greedy generation submits the step for the next token before reading back the current
   * one (default). Turning it off serialises GPU work and read-backs: for measurements only.
   */
  lookahead = true;
  /** Counters of the work done so far. */
  readonly stats: WebGpuRuntimeStats = { runs: 0, dispatches: 0, submits: 0, readbacks: 0, readbackBytes: 0, encodeMs: 0, waitMs: 0 };
  private readonly step: GPUBuffer;
  private readonly dummy: GPUBuffer;
  private scratch: Scratch | undefined;
  private scratchGeneration = 0;
  private rope: { buffer: GPUBuffer; positions: number; version: number } | undefined;
  private disposed = false;

  constructor(
    readonly ctx: GpuContext,
    private readonly model: TransformerDecoderModel,
  ) {
    this.config = model.config;
    this.weights = new WebGpuWeights(ctx, model.config);
    this.step = ctx.device.createBuffer({ size: 16, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: 'fs2:step' });
    this.dummy = ctx.storage(16, 'dummy');
  }

  createCache(capacity: number, batchSize: number, reservation: HeapReservation): KVCache {
    return new WebGpuKVCache(this.ctx, this.device, this.config, capacity, batchSize, reservation);
  }

  run(ids: Int32Array, batchSize: number, length: number, cache: KVCache | undefined, logits: 'all' | 'last' | 'none'): tf.Tensor | undefined {
    this.ctx.throwIfFailed();
    const gpuCache = cache === undefined ? new WebGpuKVCache(this.ctx, this.device, this.config, length, batchSize) : this.gpuCache(cache);
    try {
      const rows = batchSize * length;
      const start = gpuCache.length;
      const V = this.config.vocabSize;
      const outRows = logits === 'all' ? rows : batchSize;
      if (logits !== 'none' && outRows * V * 4 > this.ctx.limits.maxBindingBytes) {
        throw new InvalidArgumentError(
          'logits',
          `Logits for ${outRows} position(s) over a vocabulary of ${V} take ${formatBytes(outRows * V * 4)}, more than the GPU's largest ` +
            `storage binding (${formatBytes(this.ctx.limits.maxBindingBytes)}). Ask for the last position's logits only, or for fewer positions at a time.`,
        );
      }
      const t0 = performance.now();
      const scratch = this.ensureScratch(rows, batchSize);
      const groups = this.runGroups(gpuCache, 'ids');
      const queue = this.ctx.device.queue;
      queue.writeBuffer(scratch.ids, 0, new Uint32Array(ids));
      queue.writeBuffer(this.step, 0, new Uint32Array([rows, length, batchSize, start]));
      const pass = new PassWriter(this.ctx.device.createCommandEncoder());
      this.encodeLayers(pass, groups, rows, length, start);
      let out: GPUBuffer | undefined;
      if (logits !== 'none') {
        out = this.ctx.storage(outRows * V * 4, 'logits');
        this.encodeHead(pass, this.headGroups(out, logits === 'last', batchSize), rows, batchSize);
      }
      pass.end();
      this.submit(pass.encoder);
      this.stats.encodeMs += performance.now() - t0;
      gpuCache.length = start + length;
      if (out === undefined) {
        return undefined;
      }
      // TF.js copies the buffer into one of its own (queued after this run), so ours can go.
      const tensor = tf.tensor({ buffer: out }, logits === 'all' ? [batchSize, length, V] : [batchSize, V], 'float32');
      out.destroy();
      return tensor;
    } finally {
      if (cache === undefined) {
        gpuCache.dispose();
      }
    }
  }

  openTokenStream(prompt: Int32Array, cache: KVCache, sampler: TokenSampler, maxTokens: number): TokenStream {
    return new WebGpuTokenStream(this, prompt, this.gpuCache(cache), sampler, maxTokens, this.model.prefillChunkSize);
  }

  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.weights.unload();
    this.releaseScratch();
    this.rope?.buffer.destroy();
    this.rope = undefined;
    this.step.destroy();
    this.dummy.destroy();
  }

  /** The model's device. */
  get device(): Device {
    return this.model.device as Device;
  }

  // ---- pieces used by the token stream -------------------------------------------------------

  /**
   * Submits one pass over `ids` (`scratch.ids` from the host, or `token` from the previous
   * greedy step) at `start`, and with `head`, the last position's logits into `scratch.logits`,
   * then the greedy pick into `scratch.token` and its copy into `readback` (`argmax`), or the
   * logits' copy into `readback`.
   */
  submitGenerationStep(
    cache: WebGpuKVCache,
    source: { readonly ids: Int32Array } | 'token',
    start: number,
    head: { readonly argmax: boolean; readonly readback: GPUBuffer } | undefined,
  ): void {
    const t0 = performance.now();
    const pass = this.encodeGenerationStep(cache, source, start, head);
    this.submit(pass.encoder);
    this.stats.encodeMs += performance.now() - t0;
  }

  /**
   * Runs one generation step as {@link WebGpuDecoder.submitGenerationStep} does (the head and the
   * greedy pick included), each dispatch in its own pass between two GPU timestamps, and returns
   * the GPU time per role. Needs the device feature `timestamp-query`; Dawn quantizes timestamps
   * unless created with the option `disable-dawn-features=timestamp_quantization`. For
   * measurements: the per-pass split adds barriers a normal run does not have.
   */
  async profile(cache: KVCache, source: { readonly ids: Int32Array } | 'token', start: number): Promise<WebGpuKernelProfile> {
    const device = this.ctx.device;
    if (!device.features.has('timestamp-query')) {
      throw new InvalidArgumentError('device', "The GPU adapter has no 'timestamp-query' feature: kernels cannot be timed.");
    }
    const gpuCache = this.gpuCache(cache);
    const querySet = device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES });
    const resolve = device.createBuffer({ size: PROFILE_QUERIES * 8, usage: 0x0200 /* QUERY_RESOLVE */ | BufferUsage.COPY_SRC });
    const readback = device.createBuffer({ size: PROFILE_QUERIES * 8, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const tokenReadback = device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    try {
      const pass = this.encodeGenerationStep(gpuCache, source, start, { argmax: true, readback: tokenReadback }, { querySet, capacity: PROFILE_QUERIES });
      const n = pass.roles.length;
      pass.encoder.resolveQuerySet(querySet, 0, 2 * n, resolve, 0);
      pass.encoder.copyBufferToBuffer(resolve, 0, readback, 0, 2 * n * 8);
      this.submit(pass.encoder);
      const times = new BigInt64Array(await this.readBack(readback, 2 * n * 8));
      const roles: Record<string, { dispatches: number; ns: number }> = {};
      let totalNs = 0;
      pass.roles.forEach((role, i) => {
        const ns = Number((times[2 * i + 1] as bigint) - (times[2 * i] as bigint));
        const entry = (roles[role] ??= { dispatches: 0, ns: 0 });
        entry.dispatches += 1;
        entry.ns += ns;
        totalNs += ns;
      });
      gpuCache.length = Math.max(gpuCache.length, start + (source === 'token' ? 1 : source.ids.length));
      return { roles, totalNs };
    } finally {
      querySet.destroy();
      for (const buffer of [resolve, readback, tokenReadback]) {
        buffer.destroy();
      }
    }
  }

  private encodeGenerationStep(
    cache: WebGpuKVCache,
    source: { readonly ids: Int32Array } | 'token',
    start: number,
    head: { readonly argmax: boolean; readonly readback: GPUBuffer } | undefined,
    timing?: { readonly querySet: GPUQuerySet; readonly capacity: number },
  ): PassWriter {
    this.ctx.throwIfFailed();
    const rows = source === 'token' ? 1 : source.ids.length;
    const scratch = this.ensureScratch(rows, 1);
    const queue = this.ctx.device.queue;
    if (source !== 'token') {
      queue.writeBuffer(scratch.ids, 0, new Uint32Array(source.ids));
    }
    queue.writeBuffer(this.step, 0, new Uint32Array([rows, rows, 1, start]));
    const pass = new PassWriter(this.ctx.device.createCommandEncoder(), timing);
    this.encodeLayers(pass, this.runGroups(cache, source === 'token' ? 'token' : 'ids'), rows, rows, start);
    if (head !== undefined) {
      this.encodeHead(pass, this.memo(cache, 'head', () => this.headGroups(scratch.logits, true, 1)), rows, 1);
      if (head.argmax) {
        this.encodeArgmax(pass, cache, scratch);
      }
    }
    pass.end();
    if (head !== undefined) {
      if (head.argmax) {
        pass.encoder.copyBufferToBuffer(scratch.token, 0, head.readback, 0, 4);
      } else {
        pass.encoder.copyBufferToBuffer(scratch.logits, 0, head.readback, 0, this.config.vocabSize * 4);
      }
    }
    return pass;
  }

  /** Writes a token picked on the host where the next step reads its input. */
  writeToken(token: number): void {
    this.ctx.device.queue.writeBuffer(this.ensureScratch(1, 1).token, 0, new Uint32Array([token]));
  }

  /** Maps `buffer`, copies out its first `bytes`, unmaps it. */
  async readBack(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const t0 = performance.now();
    await buffer.mapAsync(MAP_READ, 0, bytes);
    const data = buffer.getMappedRange(0, bytes).slice(0);
    buffer.unmap();
    this.stats.waitMs += performance.now() - t0;
    this.stats.readbacks += 1;
    this.stats.readbackBytes += bytes;
    this.ctx.throwIfFailed();
    return data;
  }

  // ---- encoding -------------------------------------------------------------------------------

  private submit(encoder: GPUCommandEncoder): void {
    this.ctx.device.queue.submit([encoder.finish()]);
    this.stats.submits += 1;
    this.stats.runs += 1;
  }

  private dispatch(pass: PassWriter, kernel: KernelName, group: GPUBindGroup, x: number, y = 1, role: string = kernel, z = 1): void {
    pass.dispatch(this.ctx.pipeline(kernel), group, x, y, z, role);
    this.stats.dispatches += 1;
  }

  /** A matrix-vector dispatch over `rows` weight rows, laid out 2-D within the per-dimension limit. */
  private dispatchVector(pass: PassWriter, kernel: KernelName, group: GPUBindGroup, rows: number, role: string): void {
    const workgroups = Math.ceil(rows / GEMV_ROWS_PER_WORKGROUP);
    const x = Math.min(workgroups, this.ctx.limits.maxWorkgroupsPerDimension);
    this.dispatch(pass, kernel, group, x, Math.ceil(workgroups / x), role);
  }

  /**
   * A matrix-matrix dispatch over `n` weight rows and `m` input rows: 64-row tiles, or 32-row ones
   * when 64-row tiles would leave the GPU half idle (fewer than `GEMM_SMALL_GRID` workgroups).
   */
  private dispatchMatrix(pass: PassWriter, epilogue: 'store' | 'bias' | 'accumulate', group: GPUBindGroup, n: number, m: number, role: string): void {
    const columns = Math.ceil(n / GEMM_TILE);
    const tileRows = this.ctx.limits.matrixTileRows ?? (columns * Math.ceil(m / 64) < GEMM_SMALL_GRID ? 32 : 64);
    const rowsPerThread = tileRows === 32 ? 2 : 4;
    this.dispatch(pass, `gemm:${epilogue}:${rowsPerThread}`, group, columns, Math.ceil(m / (16 * rowsPerThread)), role);
  }

  private linear(pass: PassWriter, matrix: ChunkedMatrix, groups: Linear, epilogue: 'store' | 'bias' | 'accumulate', rows: number, role: string): void {
    const vec = matrix.cols % 4 === 0 ? 'vec4' : 'scalar';
    matrix.chunks.forEach((chunk, i) => {
      if (rows === 1) {
        this.dispatchVector(pass, `gemv:${vec}:${epilogue}`, groups.vector[i] as GPUBindGroup, chunk.rows, `gemv ${role}`);
      } else {
        this.dispatchMatrix(pass, epilogue, groups.matrix[i] as GPUBindGroup, chunk.rows, rows, `gemm ${role}`);
      }
    });
  }

  /** The layers over `rows` rows of `seqLen` positions each, the first at `start`. */
  private encodeLayers(pass: PassWriter, groups: RunGroups, rows: number, seqLen: number, start: number): void {
    const c = this.config;
    const w = this.weights.buffers;
    // One position per sequence (decode): split the keys over workgroups of 64.
    const keyEnd = start + 1;
    const keyStart = c.slidingWindow === undefined ? 0 : Math.max(0, keyEnd - c.slidingWindow);
    const splits = seqLen === 1 && groups.maxSplits > 0 ? Math.ceil((keyEnd - keyStart) / ATTENTION_SPLIT) : 0;
    const dimsPerThread = Math.ceil(c.headDim / 64);
    w.embed.chunks.forEach((_, i) => this.dispatch(pass, 'embed', groups.embed[i] as GPUBindGroup, Math.ceil(c.modelDim / 64), rows));
    const qkvEpilogue = c.qkvBias ? 'bias' : 'store';
    const attentionKernel: KernelName = `attention:${Math.ceil(c.headDim / 64)}`;
    groups.layers.forEach((g, l) => {
      const lw = w.layers[l]!;
      this.dispatch(pass, 'rmsnorm', g.norm1, rows);
      this.linear(pass, lw.qkv, g.qkv, qkvEpilogue, rows, 'qkv');
      this.dispatch(pass, 'qkvPost', g.post, c.numHeads + 2 * c.numKvHeads, rows);
      if (splits > 0) {
        this.dispatch(pass, `attentionPartial:${dimsPerThread}`, g.attentionPartial as GPUBindGroup, c.numHeads, splits, 'attention', rows);
        this.dispatch(pass, 'attentionCombine', g.attentionCombine as GPUBindGroup, c.numHeads, rows, 'attention');
      } else {
        this.dispatch(pass, attentionKernel, g.attention, c.numHeads, rows, 'attention');
      }
      this.linear(pass, lw.wo, g.output, 'accumulate', rows, 'output');
      this.dispatch(pass, 'rmsnorm', g.norm2, rows);
      if (rows === 1) {
        const vec = c.modelDim % 4 === 0 ? 'vec4' : 'scalar';
        lw.gate.chunks.forEach((chunk, i) => this.dispatchVector(pass, `gemv:${vec}:swiglu`, g.ffnVector[i] as GPUBindGroup, chunk.rows, 'gemv gate+up'));
      } else {
        lw.gate.chunks.forEach((chunk, i) =>
          this.dispatchMatrix(pass, 'store', g.gate[i] as GPUBindGroup, chunk.rows, rows, 'gemm gate'),
        );
        lw.up.chunks.forEach((chunk, i) =>
          this.dispatchMatrix(pass, 'store', g.up[i] as GPUBindGroup, chunk.rows, rows, 'gemm up'),
        );
        this.dispatch(pass, 'swiglu', g.swiglu, Math.ceil(c.ffnInnerDim / 256), rows);
      }
      this.linear(pass, lw.down, g.down, 'accumulate', rows, 'down');
    });
  }

  private encodeHead(pass: PassWriter, head: HeadGroups, rows: number, batch: number): void {
    const c = this.config;
    const headMatrix = this.weights.buffers.head;
    this.dispatch(pass, 'rmsnorm', head.norm, head.lastOnly ? batch : rows, 1, 'rmsnorm head');
    const outRows = head.lastOnly ? batch : rows;
    const vec = c.modelDim % 4 === 0 ? 'vec4' : 'scalar';
    headMatrix.chunks.forEach((chunk, i) => {
      const group = head.groups[i] as GPUBindGroup;
      if (head.vector) {
        this.dispatchVector(pass, `gemv:${vec}:store`, group, chunk.rows, 'gemv head');
      } else {
        this.dispatchMatrix(pass, 'store', group, chunk.rows, outRows, 'gemm head');
      }
    });
  }

  private encodeArgmax(pass: PassWriter, cache: WebGpuKVCache, scratch: Scratch): void {
    const chunks = Math.ceil(this.config.vocabSize / ARGMAX_CHUNK);
    const groups = this.memo(cache, 'argmax', () => {
      const params = this.ctx.constant([this.config.vocabSize, chunks, NEG_INF_BITS, 0]);
      return [
        this.ctx.bindGroup(this.ctx.pipeline('argmaxPartial'), [params, scratch.logits, scratch.partVal, scratch.partIdx]),
        this.ctx.bindGroup(this.ctx.pipeline('argmaxFinal'), [params, scratch.partVal, scratch.partIdx, scratch.token]),
      ] as const;
    });
    this.dispatch(pass, 'argmaxPartial', groups[0], chunks, 1);
    this.dispatch(pass, 'argmaxFinal', groups[1], 1, 1);
  }

  // ---- bind groups ----------------------------------------------------------------------------

  /** Something built for `cache` from the current scratch buffers and rotary table, rebuilt when they change. */
  private memo<T>(cache: WebGpuKVCache, name: string, build: () => T): T {
    const key = `${name}:${this.scratchGeneration}:${this.rope?.version ?? 0}`;
    let value = cache.memo.get(key) as T | undefined;
    if (value === undefined) {
      for (const old of cache.memo.keys()) {
        if (old.startsWith(`${name}:`)) {
          cache.memo.delete(old);
        }
      }
      value = build();
      cache.memo.set(key, value);
    }
    return value;
  }

  private runGroups(cache: WebGpuKVCache, ids: 'ids' | 'token'): RunGroups {
    this.ensureRope(cache.capacity);
    return this.memo(cache, `run-${ids}`, () => this.buildRunGroups(cache, ids));
  }

  private buildRunGroups(cache: WebGpuKVCache, idsSource: 'ids' | 'token'): RunGroups {
    const c = this.config;
    const ctx = this.ctx;
    const s = this.scratch as Scratch;
    const w = this.weights.buffers;
    const rope = (this.rope as { buffer: GPUBuffer }).buffer;
    const qkvWidth = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
    const vecName = (k: number): 'vec4' | 'scalar' => (k % 4 === 0 ? 'vec4' : 'scalar');
    const linear = (matrix: ChunkedMatrix, x: GPUBuffer, y: GPUBuffer, ldy: number, epilogue: 'store' | 'bias' | 'accumulate', bias?: GPUBuffer): Linear => {
      const vector = matrix.chunks.map((chunk) => {
        const pipeline = ctx.pipeline(`gemv:${vecName(matrix.cols)}:${epilogue}`);
        const params = ctx.constant([matrix.cols, chunk.rows, chunk.rowStart, 0]);
        return ctx.bindGroup(pipeline, [params, x, chunk.buffer, y, ...(bias === undefined ? [] : [bias])]);
      });
      const mat = matrix.chunks.map((chunk) => {
        const pipeline = ctx.pipeline(`gemm:${epilogue}:4`);
        const params = ctx.constant([matrix.cols, chunk.rows, chunk.rowStart, ldy, 0, 0, 0, 0]);
        return ctx.bindGroup(pipeline, [this.step, params, x, chunk.buffer, y, ...(bias === undefined ? [] : [bias])]);
      });
      return { vector, matrix: mat };
    };
    const norm = (x: GPUBuffer, weight: GPUBuffer, y: GPUBuffer): GPUBindGroup =>
      ctx.bindGroup(ctx.pipeline('rmsnorm'), [this.step, ctx.constant([c.modelDim, c.normEps, 0, 0], [1]), x, weight, y]);
    const idsBuffer = idsSource === 'ids' ? s.ids : s.token;
    const embed = w.embed.chunks.map((chunk) =>
      ctx.bindGroup(ctx.pipeline('embed'), [this.step, ctx.constant([c.modelDim, chunk.rowStart, chunk.rows, 0]), idsBuffer, chunk.buffer, s.x]),
    );
    const attentionParams = ctx.constant([
      c.numHeads,
      c.numKvHeads,
      c.headDim,
      qkvWidth,
      cache.capacity,
      c.slidingWindow ?? 0,
      c.numHeads / c.numKvHeads,
      0,
    ]);
    const postParams = ctx.constant([c.numHeads, c.numKvHeads, c.headDim, qkvWidth, cache.capacity, c.qkNorm ? 1 : 0, c.normEps, 0], [6]);
    // Split attention (vec4 key loads): the partial results of every (sequence, head, key block).
    const maxSplits = c.headDim % 4 === 0 ? Math.ceil(cache.capacity / ATTENTION_SPLIT) : 0;
    const splitParams = ctx.constant([c.numHeads, c.numKvHeads, c.headDim, qkvWidth, cache.capacity, c.slidingWindow ?? 0, c.numHeads / c.numKvHeads, maxSplits]);
    const partials =
      maxSplits === 0
        ? undefined
        : cache.extraBuffer(ctx, 'attention.partials', cache.batchSize * c.numHeads * maxSplits * (c.headDim + 2) * 4);
    const dimsPerThread = Math.ceil(c.headDim / 64);
    const layers = w.layers.map((lw, l): LayerGroups => {
      const kc = cache.keyBuffers[l] as GPUBuffer;
      const vc = cache.valueBuffers[l] as GPUBuffer;
      const gemmStore = ctx.pipeline('gemm:store:4');
      return {
        norm1: norm(s.x, lw.attnNorm, s.xn),
        qkv: linear(lw.qkv, s.xn, s.qkv, qkvWidth, c.qkvBias ? 'bias' : 'store', lw.qkvBias),
        post: ctx.bindGroup(ctx.pipeline('qkvPost'), [this.step, postParams, s.qkv, kc, vc, rope, lw.qkNorm ?? this.dummy]),
        attention: ctx.bindGroup(ctx.pipeline(`attention:${dimsPerThread}`), [this.step, attentionParams, s.qkv, kc, vc, s.attn]),
        attentionPartial:
          partials === undefined ? undefined : ctx.bindGroup(ctx.pipeline(`attentionPartial:${dimsPerThread}`), [this.step, splitParams, s.qkv, kc, vc, partials]),
        attentionCombine: partials === undefined ? undefined : ctx.bindGroup(ctx.pipeline('attentionCombine'), [this.step, splitParams, partials, s.attn]),
        output: linear(lw.wo, s.attn, s.x, c.modelDim, 'accumulate'),
        norm2: norm(s.x, lw.ffnNorm, s.xn),
        ffnVector: lw.gate.chunks.map((chunk, i) =>
          ctx.bindGroup(ctx.pipeline(`gemv:${vecName(c.modelDim)}:swiglu`), [
            ctx.constant([c.modelDim, chunk.rows, chunk.rowStart, 0]),
            s.xn,
            chunk.buffer,
            (lw.up.chunks[i] as { buffer: GPUBuffer }).buffer,
            s.act,
          ]),
        ),
        gate: lw.gate.chunks.map((chunk) =>
          ctx.bindGroup(gemmStore, [this.step, ctx.constant([c.modelDim, chunk.rows, chunk.rowStart, 2 * c.ffnInnerDim, 0, 0, 0, 0]), s.xn, chunk.buffer, s.gu]),
        ),
        up: lw.up.chunks.map((chunk) =>
          ctx.bindGroup(gemmStore, [
            this.step,
            ctx.constant([c.modelDim, chunk.rows, c.ffnInnerDim + chunk.rowStart, 2 * c.ffnInnerDim, 0, 0, 0, 0]),
            s.xn,
            chunk.buffer,
            s.gu,
          ]),
        ),
        swiglu: ctx.bindGroup(ctx.pipeline('swiglu'), [this.step, ctx.constant([c.ffnInnerDim, 0, 0, 0]), s.gu, s.act]),
        down: linear(lw.down, s.act, s.x, c.modelDim, 'accumulate'),
      };
    });
    return { embed, layers, maxSplits };
  }

  /**
   * The final norm and output projection into `out`: of the last position of each sequence
   * (`lastOnly`; matrix-vector with one sequence), or of every row.
   */
  private headGroups(out: GPUBuffer, lastOnly: boolean, batch: number): HeadGroups {
    const c = this.config;
    const ctx = this.ctx;
    const s = this.scratch as Scratch;
    const w = this.weights.buffers;
    const vector = lastOnly && batch === 1;
    const groups = w.head.chunks.map((chunk) =>
      vector
        ? ctx.bindGroup(ctx.pipeline(`gemv:${c.modelDim % 4 === 0 ? 'vec4' : 'scalar'}:store`), [
            ctx.constant([c.modelDim, chunk.rows, chunk.rowStart, 0]),
            s.xn,
            chunk.buffer,
            out,
          ])
        : ctx.bindGroup(ctx.pipeline('gemm:store:4'), [
            this.step,
            ctx.constant([c.modelDim, chunk.rows, chunk.rowStart, c.vocabSize, lastOnly ? 1 : 0, 0, 0, 0]),
            s.xn,
            chunk.buffer,
            out,
          ]),
    );
    const norm = ctx.bindGroup(ctx.pipeline('rmsnorm'), [this.step, ctx.constant([c.modelDim, c.normEps, lastOnly ? 1 : 0, 0], [1]), s.x, w.finalNorm, s.xn]);
    return { norm, lastOnly, vector, groups };
  }

  // ---- memory ---------------------------------------------------------------------------------

  private gpuCache(cache: KVCache): WebGpuKVCache {
    if (!(cache instanceof WebGpuKVCache) || cache.isDisposed) {
      throw new InvalidArgumentError('cache', 'The KV cache was not made by this webgpu model (use `model.createCache()`), or it was disposed.');
    }
    return cache;
  }

  private ensureScratch(rows: number, batch: number): Scratch {
    const current = this.scratch;
    if (current !== undefined && current.rows >= rows && current.batch >= batch) {
      return current;
    }
    const c = this.config;
    const R = Math.max(rows, current?.rows ?? 1);
    const B = Math.max(batch, current?.batch ?? 1);
    const sizes = {
      x: R * c.modelDim,
      qkv: R * (c.numHeads + 2 * c.numKvHeads) * c.headDim,
      attn: R * c.numHeads * c.headDim,
      gu: R * 2 * c.ffnInnerDim,
      logits: B * c.vocabSize,
    };
    for (const [name, floats] of Object.entries(sizes)) {
      if (floats * 4 > this.ctx.limits.maxBindingBytes) {
        throw new InvalidArgumentError(
          'tokens',
          `A run of ${R} positions needs a ${name} buffer of ${formatBytes(floats * 4)}, more than the GPU's largest storage binding ` +
            `(${formatBytes(this.ctx.limits.maxBindingBytes)}). Feed fewer positions at a time (a KV cache and prefill chunks).`,
        );
      }
    }
    this.releaseScratch();
    const ctx = this.ctx;
    const chunks = Math.ceil(c.vocabSize / ARGMAX_CHUNK);
    this.scratchGeneration += 1;
    this.scratch = {
      generation: this.scratchGeneration,
      rows: R,
      batch: B,
      x: ctx.storage(sizes.x * 4, 'x'),
      xn: ctx.storage(sizes.x * 4, 'xn'),
      qkv: ctx.storage(sizes.qkv * 4, 'qkv'),
      attn: ctx.storage(sizes.attn * 4, 'attn'),
      gu: ctx.storage(sizes.gu * 4, 'gu'),
      act: ctx.storage(R * c.ffnInnerDim * 4, 'act'),
      ids: ctx.storage(R * 4, 'ids'),
      logits: ctx.storage(sizes.logits * 4, 'logits'),
      token: ctx.storage(B * 4, 'token'),
      partVal: ctx.storage(B * chunks * 4, 'argmax.values'),
      partIdx: ctx.storage(B * chunks * 4, 'argmax.indices'),
    };
    return this.scratch;
  }

  private releaseScratch(): void {
    const s = this.scratch;
    this.scratch = undefined;
    if (s !== undefined) {
      for (const buffer of [s.x, s.xn, s.qkv, s.attn, s.gu, s.act, s.ids, s.logits, s.token, s.partVal, s.partIdx]) {
        buffer.destroy();
      }
    }
  }

  /**
   * The rotary table `[positions, headDim / 2]` of `(cos, sin)` pairs, computed in float64 on the
   * host as `RotaryEncoder.tableValues` does, for at least `positions` positions (and the model's
   * `maxCacheLength`); grown when a longer cache comes.
   */
  private ensureRope(positions: number): void {
    if (this.rope !== undefined && this.rope.positions >= positions) {
      return;
    }
    const count = Math.max(positions, this.model.maxCacheLength, this.rope?.positions ?? 0);
    const half = this.config.headDim / 2;
    const frequencies = this.model.rotary.frequencies;
    const data = new Float32Array(count * half * 2);
    for (let p = 0; p < count; p++) {
      for (let j = 0; j < half; j++) {
        const angle = p * (frequencies[j] as number);
        data[(p * half + j) * 2] = Math.cos(angle);
        data[(p * half + j) * 2 + 1] = Math.sin(angle);
      }
    }
    if (data.byteLength > this.ctx.limits.maxBindingBytes) {
      throw new InternalError(`The rotary table of ${count} positions exceeds the GPU's largest storage binding.`);
    }
    const buffer = this.ctx.storage(data.byteLength, 'rope');
    this.ctx.device.queue.writeBuffer(buffer, 0, data);
    this.rope?.buffer.destroy();
    this.rope = { buffer, positions: count, version: (this.rope?.version ?? 0) + 1 };
  }
}

/** Read-back buffers of token ids in flight (one being read, one computed ahead, spares). */
const TOKEN_SLOTS = 4;

/**
 * One generation on the GPU. Greedy: every step ends with the GPU's argmax, which the next step's
 * embedding reads directly; the step for token `k + 1` is submitted before token `k` is read back,
 * so the GPU always has work queued while the host waits. Sampling: the last logits row is read
 * back and the sampler picks on the host (one step at a time).
 */
class WebGpuTokenStream implements TokenStream {
  private produced = 0;
  private submitted = 0;
  private readonly slots: GPUBuffer[] = [];
  private logitsReadback: GPUBuffer | undefined;
  private last = 0;

  constructor(
    private readonly runtime: WebGpuDecoder,
    private readonly prompt: Int32Array,
    private readonly cache: WebGpuKVCache,
    private readonly sampler: TokenSampler,
    private readonly maxTokens: number,
    private readonly chunkSize: number,
  ) {}

  get remaining(): number {
    return this.cache.capacity - (this.prompt.length + Math.max(0, this.produced - 1));
  }

  async next(): Promise<number> {
    const device = this.runtime.ctx.device;
    if (this.sampler.greedy) {
      if (this.produced === 0) {
        this.slots.push(
          ...Array.from({ length: TOKEN_SLOTS }, () => device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'fs2:token-readback' })),
        );
        this.prefill({ argmax: true, readback: this.slots[0] as GPUBuffer });
        this.submitted = 1;
      }
      const ahead = this.runtime.lookahead ? 1 : 0;
      while (this.submitted <= this.produced + ahead && this.canCompute(this.submitted)) {
        const k = this.submitted;
        this.runtime.submitGenerationStep(this.cache, 'token', this.prompt.length + k - 1, { argmax: true, readback: this.slots[k % TOKEN_SLOTS] as GPUBuffer });
        this.submitted += 1;
      }
      const data = await this.runtime.readBack(this.slots[this.produced % TOKEN_SLOTS] as GPUBuffer, 4);
      return this.advance(new Uint32Array(data)[0] as number);
    }
    const bytes = this.runtime.config.vocabSize * 4;
    this.logitsReadback ??= device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'fs2:logits-readback' });
    if (this.produced === 0) {
      this.prefill({ argmax: false, readback: this.logitsReadback });
    } else {
      this.runtime.writeToken(this.last);
      this.runtime.submitGenerationStep(this.cache, 'token', this.prompt.length + this.produced - 1, { argmax: false, readback: this.logitsReadback });
    }
    const row = new Float32Array(await this.runtime.readBack(this.logitsReadback, bytes));
    return this.advance(this.sampler.sample(row));
  }

  /** Whether the step producing token `k` may run: wanted, and its input position fits the cache. */
  private canCompute(k: number): boolean {
    return k < this.maxTokens && this.prompt.length + k - 1 < this.cache.capacity;
  }

  private prefill(head: { readonly argmax: boolean; readonly readback: GPUBuffer }): void {
    const n = this.prompt.length;
    for (let start = 0; start < n; start += this.chunkSize) {
      const end = Math.min(n, start + this.chunkSize);
      this.runtime.submitGenerationStep(this.cache, { ids: this.prompt.subarray(start, end) }, start, end === n ? head : undefined);
    }
  }

  private advance(token: number): number {
    this.produced += 1;
    this.last = token;
    this.cache.length = this.prompt.length + this.produced - 1;
    return token;
  }

  close(): void {
    for (const slot of this.slots) {
      slot.destroy();
    }
    this.slots.length = 0;
    this.logitsReadback?.destroy();
    this.logitsReadback = undefined;
  }
}
