import { InternalError } from '../../../errors/Fs2Error.js';
import {
  ATTENTION_COMBINE_SHADER,
  ARGMAX_FINAL_SHADER,
  ARGMAX_PARTIAL_SHADER,
  EMBED_SHADER,
  QKV_POST_SHADER,
  RMSNORM_SHADER,
  SWIGLU_SHADER,
  TRANSPOSE_SHADER,
  attentionPartialShader,
  attentionShader,
  gemmShader,
  gemvShader,
  type Epilogue,
} from './wgsl.js';

/** `GPUBufferUsage` flags (WebGPU spec §5.1), as numbers: the globals exist only once `webgpu` is loaded. */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

/** `GPUMapMode.READ` (WebGPU spec §5.1.4). */
export const MAP_READ = 0x0001;

/** A kernel of the decoder runtime, by name; variants are keyed by their options. */
export type KernelName =
  | 'embed'
  | 'rmsnorm'
  | 'qkvPost'
  | 'swiglu'
  | 'argmaxPartial'
  | 'argmaxFinal'
  | 'transpose'
  | `attention:${number}`
  | `attentionPartial:${number}`
  | 'attentionCombine'
  | `gemv:${'vec4' | 'scalar'}:${Epilogue | 'swiglu'}`
  | `gemm:${Epilogue}:${2 | 4}`;

function shaderSource(name: KernelName): string {
  const [kind, a, b] = name.split(':') as [string, string | undefined, string | undefined];
  switch (kind) {
    case 'embed':
      return EMBED_SHADER;
    case 'rmsnorm':
      return RMSNORM_SHADER;
    case 'qkvPost':
      return QKV_POST_SHADER;
    case 'swiglu':
      return SWIGLU_SHADER;
    case 'argmaxPartial':
      return ARGMAX_PARTIAL_SHADER;
    case 'argmaxFinal':
      return ARGMAX_FINAL_SHADER;
    case 'transpose':
      return TRANSPOSE_SHADER;
    case 'attention':
      return attentionShader(Number(a));
    case 'attentionPartial':
      return attentionPartialShader(Number(a));
    case 'attentionCombine':
      return ATTENTION_COMBINE_SHADER;
    case 'gemv':
      return gemvShader({ vec4: a === 'vec4', epilogue: b === 'swiglu' ? 'store' : (b as Epilogue), swiglu: b === 'swiglu' });
    case 'gemm':
      return gemmShader({ epilogue: a as Epilogue, rowsPerThread: Number(b) as 2 | 4 });
    default:
      throw new InternalError(`Unknown webgpu kernel ${name}.`);
  }
}

/** A binding of a kernel: a uniform buffer, a read-only storage buffer, or a read-write one. */
type BindingKind = 'u' | 'r' | 'w';

/**
 * The bindings of each kernel, in order (binding 0, 1, ...). Explicit layouts (rather than
 * `layout: 'auto'`, whose bind groups fit one pipeline only) let the variants of a kernel share
 * bind groups.
 */
function bindingKinds(name: KernelName): readonly BindingKind[] {
  const [kind, a, b] = name.split(':') as [string, string | undefined, string | undefined];
  switch (kind) {
    case 'gemv':
      return b === 'swiglu' ? ['u', 'r', 'r', 'r', 'w'] : b === 'bias' ? ['u', 'r', 'r', 'w', 'r'] : ['u', 'r', 'r', 'w'];
    case 'gemm':
      return a === 'bias' ? ['u', 'u', 'r', 'r', 'w', 'r'] : ['u', 'u', 'r', 'r', 'w'];
    case 'embed':
    case 'rmsnorm':
      return ['u', 'u', 'r', 'r', 'w'];
    case 'qkvPost':
      return ['u', 'u', 'w', 'w', 'w', 'r', 'r'];
    case 'attention':
    case 'attentionPartial':
      return ['u', 'u', 'r', 'r', 'r', 'w'];
    case 'attentionCombine':
    case 'swiglu':
      return ['u', 'u', 'r', 'w'];
    case 'argmaxPartial':
      return ['u', 'r', 'w', 'w'];
    case 'argmaxFinal':
      return ['u', 'r', 'r', 'w'];
    case 'transpose':
      return ['u', 'r', 'w'];
    default:
      throw new InternalError(`Unknown webgpu kernel ${name}.`);
  }
}

/** `GPUShaderStage.COMPUTE` (WebGPU spec §8.1.1). */
const COMPUTE_STAGE = 0x4;

/** The limits the runtime sizes its buffers by. */
export interface GpuLimits {
  /** The largest storage binding, in bytes (`maxStorageBufferBindingSize`). */
  readonly maxBindingBytes: number;
  /** The largest weight chunk, in bytes: weights above it are split by rows (at most `maxBindingBytes`). */
  readonly weightChunkBytes: number;
  /** The largest buffer, in bytes. */
  readonly maxBufferBytes: number;
  /** The most workgroups along one dispatch dimension. */
  readonly maxWorkgroupsPerDimension: number;
  /** Rows of the matrix-matrix kernel's tiles (32 or 64), or `undefined`: chosen per product. */
  readonly matrixTileRows?: 32 | 64 | undefined;
}

/**
 * The GPU device shared by every model on the `webgpu` device: its limits, the compiled pipelines
 * (one per kernel variant, compiled on first use) and small constant uniform buffers (one per
 * distinct content), plus the first uncaptured GPU error, which the runtime turns into an exception.
 */
export class GpuContext {
  private readonly pipelines = new Map<KernelName, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUPipelineLayout>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private uncaptured: string | undefined;

  constructor(
    readonly device: GPUDevice,
    readonly limits: GpuLimits,
  ) {
    device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
      this.uncaptured ??= event.error.message;
    };
  }

  /** The compute pipeline of `name` (entry point `main`, layout from the shader). */
  pipeline(name: KernelName): GPUComputePipeline {
    let pipeline = this.pipelines.get(name);
    if (pipeline === undefined) {
      const module = this.device.createShaderModule({ label: `fs2:${name}`, code: shaderSource(name) });
      pipeline = this.device.createComputePipeline({ label: `fs2:${name}`, layout: this.layout(bindingKinds(name)), compute: { module, entryPoint: 'main' } });
      this.pipelines.set(name, pipeline);
    }
    return pipeline;
  }

  private layout(kinds: readonly BindingKind[]): GPUPipelineLayout {
    const key = kinds.join('');
    let layout = this.layouts.get(key);
    if (layout === undefined) {
      const group = this.device.createBindGroupLayout({
        label: `fs2:${key}`,
        entries: kinds.map((kind, binding) => ({
          binding,
          visibility: COMPUTE_STAGE,
          buffer: { type: kind === 'u' ? 'uniform' : kind === 'r' ? 'read-only-storage' : 'storage' },
        })),
      });
      layout = this.device.createPipelineLayout({ label: `fs2:${key}`, bindGroupLayouts: [group] });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /**
   * A uniform buffer holding `values` (u32, or f32 where `floats` marks the index), padded to 16
   * bytes; one per distinct content, kept for the device's lifetime (they are a few bytes each).
   */
  constant(values: readonly number[], floats: readonly number[] = []): GPUBuffer {
    const key = `${values.join(',')}|${floats.join(',')}`;
    let buffer = this.uniforms.get(key);
    if (buffer === undefined) {
      const words = Math.max(4, Math.ceil(values.length / 4) * 4);
      const data = new ArrayBuffer(words * 4);
      const u32 = new Uint32Array(data);
      const f32 = new Float32Array(data);
      values.forEach((v, i) => {
        if (floats.includes(i)) {
          f32[i] = v;
        } else {
          u32[i] = v;
        }
      });
      buffer = this.device.createBuffer({ size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: 'fs2:params' });
      this.device.queue.writeBuffer(buffer, 0, data);
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  /** A storage buffer of at least `bytes` (rounded up to 16), zero-filled by WebGPU. */
  storage(bytes: number, label: string, extraUsage = 0): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC | extraUsage,
      label: `fs2:${label}`,
    });
  }

  /** A bind group of `pipeline`'s group 0 over `buffers`, bound in order from binding 0. */
  bindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  /** Throws the first GPU error nobody captured since the last call (a bug in fs2's kernels or a lost device). */
  throwIfFailed(): void {
    const message = this.uncaptured;
    if (message !== undefined) {
      this.uncaptured = undefined;
      throw new InternalError(`The GPU reported an error in fs2's webgpu kernels: ${message}`);
    }
  }
}
