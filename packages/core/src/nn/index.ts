/**
 * TF.js building blocks for decoder-only transformer language models (LLaMA, Qwen 2/2.5/3,
 * Mistral and their kin), shared by the model families.
 *
 * How a family uses them:
 *
 * 1. Map its config onto {@link TransformerDecoderConfig} (`vocabSize`, `modelDim`, `numLayers`,
 *    `numHeads`, `numKvHeads`, `headDim`, `ffnInnerDim`, `normEps`, `ropeTheta`, `ropeScaling`,
 *    `tiedEmbeddings`, `qkvBias`, `qkNorm`, `slidingWindow`, `maxSeqLen`), e.g. Qwen 3:
 *    `{ ..., headDim: 128, qkNorm: true, normEps: 1e-6, ropeTheta: 1e6 }`.
 * 2. `const device = await useDevice(name)` (`wasm` by default, `cpu`, `tensorflow`, `webgpu` (the GPU,
 *    docs/gpu.md), or a registered provider) before creating any tensor; then `new TransformerDecoderModel(config, { device })`,
 *    which refuses (`HeapBudgetExceededError`) a model that would not fit the device's memory.
 *    `countParameters(config)` and a model built without a device give shapes and counts only.
 * 3. Convert the checkpoint to a {@link StateSource}: an (async) iterable of
 *    `{ name, data: Float32Array, shape }` in fairseq2 names and layout (linear weights `[in, out]`,
 *    i.e. HF `[out, in]` transposed; HF `up_proj` = `inner_proj`, `down_proj` = `output_proj`,
 *    `o_proj` = `output_proj`; rotary in HF rotate-half order, so Meta / fairseq2 interleaved q/k
 *    rows must be permuted; no `final_proj.weight` when tied), one tensor at a time, and
 *    `await model.loadState(source)`. `model.parameterShapes()` lists what is expected.
 *    {@link convertDecoderTensor} does one tensor (shape check against
 *    {@link decoderParameterShapes}, transposition, Meta's q/k permutation with
 *    {@link interleavedRotaryRows}); {@link readHuggingFaceDecoderConfig} and
 *    {@link ConfigFileReader} read `config.json` / `params.json` with located errors.
 * 4. Run: `model.forward(ids)` (logits), `model.generate(prompt, options)` (streaming tokens),
 *    `model.generateAll(...)`, or `createCache()` + `prefill()` + `forward(..., { cache })` for a
 *    custom loop. `model.dispose()` frees everything.
 * 5. Save: `model.stateEntries()` reads the weights back in fs2 names and layout (fusion, the
 *    folded softmax scale and storage transpositions undone); {@link exportDecoderTensor} turns
 *    one into PyTorch's layout under a foreign name.
 * 6. Split over a tensor-parallel gang: `new TransformerDecoderModel(config, { tensorParallel })`
 *    with a {@link DecoderTensorParallelism} (a gang and a {@link DecoderTensorParallelLayout}, which
 *    a family's sharder states): this rank holds its heads, its feed-forward columns and its part of
 *    the embedding and head ({@link ColumnShardedLinear}, {@link RowShardedLinear},
 *    {@link VocabShardedEmbedding}, {@link ShardedEmbedding}), and meets the other ranks in
 *    collectives; `model.tensorParallel` (a {@link ParameterSharding}) tells a loader which slice of
 *    each tensor to read ({@link planDecoderTensor} states how a checkpoint tensor converts).
 *
 * On the `wasm` device, linear layers live in fs2's CPU kernels (WebAssembly SIMD products over
 * weights laid out once in panels, run by this thread and worker threads on a shared memory; see
 * {@link CpuKernels}), and one sequence at a time runs as a whole forward pass there
 * (`TransformerDecoderModel.runsOnCpuKernels`). {@link configureCpuKernels} turns them off or sets
 * their threads (a tensor-parallel worker should use 1); `fs2 bench` measures them against
 * llama.cpp (docs/benchmarks.md).
 *
 * A family with a different block can compose the modules ({@link Linear}, {@link Embedding},
 * {@link RMSNorm}, {@link RotaryEncoder}, {@link GroupedQueryAttention},
 * {@link SwiGLUFeedForward}, {@link TransformerDecoderLayer}) under a {@link Module} root and load
 * it with {@link loadModuleState}.
 *
 * @module
 */
export { Device } from './devices/Device.js';
export type { DeviceProvider } from './devices/DeviceProvider.js';
export { HeapLedger } from './devices/HeapLedger.js';
export type { HeapReservation } from './devices/HeapLedger.js';
export {
  CpuDeviceProvider,
  TENSORFLOW_BACKEND_PACKAGES,
  TensorflowDeviceProvider,
  WASM_HEAP_BUDGET_BYTES,
  WasmDeviceProvider,
} from './devices/builtinProviders.js';
export { DEFAULT_DEVICE, DeviceRegistry, defaultDeviceRegistry, registerDeviceProvider, useDevice } from './devices/DeviceRegistry.js';
export { WEBGPU_PACKAGES, WebGpuDeviceProvider } from './devices/webgpu/WebGpuDeviceProvider.js';
export type { WebGpuDeviceOptions } from './devices/webgpu/WebGpuDeviceProvider.js';
export { WebGpuOutOfMemoryError, WebGpuUnavailableError } from './devices/webgpu/errors.js';
export type { WebGpuUnavailableReason } from './devices/webgpu/errors.js';
export { NVIDIA_ICD_CANDIDATES, VULKAN_LOADER, diagnoseVulkan, explainNoAdapter, privateVulkanDir, privateVulkanEnv, processVulkanProbe } from './devices/webgpu/vulkan.js';
export type { VulkanDiagnosis, VulkanProbe } from './devices/webgpu/vulkan.js';
export { WebGpuDecoder } from './devices/webgpu/WebGpuDecoder.js';
export type { WebGpuKernelProfile, WebGpuRuntimeStats } from './devices/webgpu/WebGpuDecoder.js';
export { WebGpuKVCache } from './devices/webgpu/WebGpuKVCache.js';
export type { DecoderRuntime, TokenStream } from './DecoderRuntime.js';

export {
  DecoderConfigError,
  DeviceNotActiveError,
  DeviceUnavailableError,
  HeapBudgetExceededError,
  KVCacheOverflowError,
  ModelNotLoadedError,
  ParameterShapeMismatchError,
  StateKeyMismatchError,
  UnknownDeviceError,
} from './errors.js';
export type { MemoryBreakdown } from './errors.js';

export { TRANSFORMER_DECODER_DEFAULTS, resolveTransformerDecoderConfig } from './TransformerDecoderConfig.js';
export type {
  LinearRopeScaling,
  Llama3RopeScaling,
  ResolvedTransformerDecoderConfig,
  RopeScaling,
  TransformerDecoderConfig,
} from './TransformerDecoderConfig.js';

export { FusedParameter, Module, Parameter, numel } from './Module.js';
export type { FusedPart, ParameterSlot, ParameterTransform } from './Module.js';
export { Linear } from './Linear.js';
export type { LinearOptions, LinearOutput } from './Linear.js';
export { Embedding } from './Embedding.js';
export type { EmbeddingOptions } from './Embedding.js';
export { RMSNorm, rmsNorm } from './RMSNorm.js';
export { RotaryEncoder, computeRotaryFrequencies, rotateHalfMatrix } from './RotaryEncoder.js';
export type { RotaryTables } from './RotaryEncoder.js';
export { attentionMask, firstAttendedKey } from './attentionMask.js';
export { GroupedQueryAttention } from './GroupedQueryAttention.js';
export type { AttentionContext, GroupedQueryAttentionOptions } from './GroupedQueryAttention.js';
export { SwiGLUFeedForward } from './SwiGLUFeedForward.js';
export type { SwiGLUFeedForwardOptions } from './SwiGLUFeedForward.js';
export { linearProjection } from './Projection.js';
export type { Projection, ProjectionFactory } from './Projection.js';
export { TransformerDecoderLayer } from './TransformerDecoderLayer.js';
export type { TransformerDecoderLayerOptions } from './TransformerDecoderLayer.js';
export { KVCache, kvCacheBytes } from './KVCache.js';
export type { KVCacheShape } from './KVCache.js';
export {
  DEFAULT_MAX_CACHE_LENGTH,
  DEFAULT_PREFILL_CHUNK_SIZE,
  TransformerDecoderModel,
} from './TransformerDecoderModel.js';
export type {
  CacheOptions,
  ForwardOptions,
  TokenInput,
  TransformerDecoderModelOptions,
} from './TransformerDecoderModel.js';
export { loadModuleState } from './loadModuleState.js';
export type { StateEntry, StateSource } from './loadModuleState.js';
export { decoderParameters, estimateDecoderMemory, matMulParameters } from './estimateDecoderMemory.js';
export type { DecoderMemoryOptions } from './estimateDecoderMemory.js';
export { countParameters } from './countParameters.js';
export { TokenSampler, argMax, topIndices } from './TokenSampler.js';
export type { SamplingOptions } from './TokenSampler.js';
export { DEFAULT_MAX_NEW_TOKENS, generate } from './generate.js';
export type { GeneratedToken, GenerationOptions, GenerationResult, StopReason } from './generate.js';
export { randomState } from './randomState.js';
export type { RandomStateOptions } from './randomState.js';
export { transpose2d } from './Embedding.js';
export {
  applyTensorConversionPlan,
  convertDecoderTensor,
  planDecoderTensor,
  decoderParameterShapes,
  exportDecoderTensor,
  interleavedRotaryRows,
  isDecoderLinearWeight,
} from './decoderCheckpoint.js';
export type {
  ConvertDecoderTensorOptions,
  DecoderCheckpointTensor,
  ExportDecoderTensorOptions,
  TensorConversionPlan,
} from './decoderCheckpoint.js';
export { ConfigFileReader, describeJson } from './ConfigFileReader.js';
export * from './parallel/index.js';
export { readHuggingFaceDecoderConfig } from './huggingFaceDecoderConfig.js';
export type { HuggingFaceDecoderConfig } from './huggingFaceDecoderConfig.js';
export * from './training/index.js';
export { CPU_KERNELS_MEMORY_NAME, CpuKernels, KERNEL_MEMORY_MAX_BYTES, PANEL_WIDTH } from './kernels/CpuKernels.js';
export type { CpuKernelsOptions, KernelExports, KernelTiming, ParallelKernel } from './kernels/CpuKernels.js';
export {
  configureCpuKernels,
  cpuKernelsEnabledFor,
  cpuKernelsFor,
  cpuKernelsLedger,
  getCpuKernels,
  kernelMemoryBytes,
} from './kernels/cpuKernelsRegistry.js';
export type { CpuKernelsConfig } from './kernels/cpuKernelsRegistry.js';
export { PanelWeight } from './kernels/PanelWeight.js';
export type { PanelPart } from './kernels/PanelWeight.js';
