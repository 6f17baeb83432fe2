import type { MemoryBreakdown } from './errors.js';
import { kvCacheBytes } from './KVCache.js';
import type { ResolvedTransformerDecoderConfig } from './TransformerDecoderConfig.js';

/** What {@link estimateDecoderMemory} sizes. */
export interface DecoderMemoryOptions {
  /** Whether the device keeps a packed copy of every matMul weight (XNNPACK on wasm). */
  readonly packsMatMulWeights: boolean;
  /** KV cache capacity in positions. */
  readonly cacheLength: number;
  /** Sequences per batch. Default: 1. */
  readonly batchSize?: number;
  /** Positions per prefill chunk. */
  readonly prefillChunkSize: number;
  /**
   * Whether the linear weights and the KV cache live in fs2's CPU kernels' memory rather than on the
   * device (see `configureCpuKernels`): the device then holds the embedding and the norms only.
   * Default: `false`.
   */
  readonly cpuKernels?: boolean;
}

/** Float32 bytes per element. */
const F32 = 4;

/** Parameters of the matMul weights: q/k/v/output, gate/inner/output, and the head (the embedding when tied). */
export function matMulParameters(config: ResolvedTransformerDecoderConfig): number {
  const { modelDim: m, numHeads: h, numKvHeads: kv, headDim: d, ffnInnerDim: f, vocabSize: v, numLayers: n } = config;
  const attention = m * (h + 2 * kv) * d + h * d * m;
  const ffn = 3 * m * f;
  return n * (attention + ffn) + m * v;
}

/** Parameters of the whole model (tied embeddings counted once). */
export function decoderParameters(config: ResolvedTransformerDecoderConfig): number {
  const { modelDim: m, numHeads: h, numKvHeads: kv, headDim: d, vocabSize: v, numLayers: n } = config;
  const biases = config.qkvBias ? (h + 2 * kv) * d : 0;
  const qkNorms = config.qkNorm ? 2 * d : 0;
  const norms = 2 * m;
  const embedding = v * m;
  const head = config.tiedEmbeddings ? 0 : m * v;
  return matMulParameters(config) - m * v + n * (biases + qkNorms + norms) + m + embedding + head;
}

/**
 * The device memory a decoder needs, by part (see `MemoryBreakdown`):
 * - weights: every parameter as float32;
 * - packed weights: on wasm, XNNPACK keeps a packed copy of each matMul weight it has multiplied by,
 *   measured as "each weight is held twice" (js-ecosystem.md §10);
 * - KV cache: `kvCacheBytes` for `cacheLength` positions;
 * - with `cpuKernels`, only the embedding and norms (see {@link cpuKernelsMemory} for the rest);
 * - activations: one layer's working set for a prefill chunk of `min(prefillChunkSize, cacheLength)`
 *   positions attending to `cacheLength` keys, plus one row of logits per sequence. Layers run in
 *   their own `tf.tidy`, so only one layer's intermediates are alive at a time. An estimate: it
 *   counts every intermediate tensor of the layer once.
 */
export function estimateDecoderMemory(
  config: ResolvedTransformerDecoderConfig,
  options: DecoderMemoryOptions,
): MemoryBreakdown {
  const batch = options.batchSize ?? 1;
  const { modelDim: m, numHeads: h, numKvHeads: kv, headDim: d, ffnInnerDim: f, vocabSize: v } = config;
  const chunk = Math.min(options.prefillChunkSize, options.cacheLength);
  const keys = options.cacheLength;
  const rows = batch * chunk;
  const perRow =
    6 * m + // residual in and out, norm, attention and ffn outputs
    4 * (h + 2 * kv) * d + // fused qkv, split, normalised and rotated q/k, head-major copies
    3 * h * d + // attention outputs, merged and transposed
    6 * f + // fused gate/inner, split, silu, product
    2 * d; // rotary tables
  const scores = 3 * (h / kv) * chunk * keys; // one group's scores, mask sum and softmax at a time
  if (options.cpuKernels === true) {
    // The embedding (also the head when tied, then copied to the kernels too) and the norms.
    return {
      weights: F32 * (decoderParameters(config) - matMulParameters(config) + (config.tiedEmbeddings ? m * v : 0)),
      packedWeights: 0,
      kvCache: 0,
      activations: F32 * batch * v,
    };
  }
  return {
    weights: F32 * decoderParameters(config),
    packedWeights: options.packsMatMulWeights ? F32 * matMulParameters(config) : 0,
    kvCache: kvCacheBytes(config, options.cacheLength, batch),
    activations: F32 * (rows * perRow + scores + chunk * keys + batch * v),
  };
}

/**
 * What a decoder needs in fs2's CPU kernels' memory when it runs there: the linear weights (the
 * output projection too; a tied one is a copy of the embedding), the KV cache of `cacheLength`
 * positions, and one prefill chunk's working set.
 */
export function cpuKernelsMemory(
  config: ResolvedTransformerDecoderConfig,
  options: Pick<DecoderMemoryOptions, 'cacheLength' | 'prefillChunkSize'>,
): MemoryBreakdown {
  const { modelDim: m, numHeads: h, numKvHeads: kv, headDim: d, ffnInnerDim: f, vocabSize: v } = config;
  const chunk = Math.min(options.prefillChunkSize, options.cacheLength);
  const perRow = 3 * m + (h + 2 * kv) * d + h * d + 3 * f + 2 * d;
  return {
    weights: F32 * matMulParameters(config),
    packedWeights: 0,
    kvCache: kvCacheBytes(config, options.cacheLength, 1),
    activations: F32 * (chunk * perRow + kv * options.cacheLength + v),
  };
}
