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
export type { FusedPart, ParameterSlot } from './Module.js';
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
