export {
  CheckpointError,
  CheckpointNotFoundError,
  PickleError,
  TensorShapeError,
  UnknownCheckpointFormatError,
  UnmappedKeyError,
  UnsafePickleGlobalError,
} from './errors.js';
export {
  STORAGE_DTYPE_BYTES,
  allocateTensorArray,
  encodeElements,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  isFloatingDtype,
  isStorageDtype,
  narrowToInt32,
  widenToFloat32,
} from './dtypes.js';
export type { StorageDtype, TensorArray } from './dtypes.js';
export { CheckpointReaderBase } from './CheckpointReader.js';
export type { CheckpointReader, CheckpointTensor, CheckpointTensorInfo, TensorRowReader, TensorSlice } from './CheckpointReader.js';
export { READ_CHUNK_BYTES } from './stridedRead.js';
export { SafetensorsReader, SAFETENSORS_MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsTensorInfo } from './safetensors.js';
export { SafetensorsFolderReader, SAFETENSORS_INDEX_FILE, SAFETENSORS_MAX_INDEX_BYTES } from './SafetensorsFolderReader.js';
export { writeSafetensors, writeShardedSafetensors } from './writeSafetensors.js';
export type { ShardedSafetensorsOptions, ShardedSafetensorsResult, TensorToWrite } from './writeSafetensors.js';
export { ZipArchive, ZIP_MAX_ENTRIES, DEFLATE_MAX_RATIO } from './ZipArchive.js';
export type { ZipEntryInfo } from './ZipArchive.js';
export {
  PICKLE_MAX_MARKS,
  PICKLE_MAX_MEMO,
  PICKLE_MAX_STACK,
  PickleGlobalRef,
  isPickleTuple,
  pickleAttributes,
  unpickle,
} from './unpickle.js';
export type { PickleGlobal, PickleGlobals, UnpickleLimits, UnpickleOptions } from './unpickle.js';
export {
  TORCH_MAX_PICKLE_BYTES,
  TORCH_MAX_REPEATED_VIEW_ELEMENTS,
  TORCH_PICKLE_GLOBALS,
  TorchCheckpointReader,
  TorchStorage,
  TorchTensor,
} from './TorchCheckpointReader.js';
export type { TorchCheckpointOptions } from './TorchCheckpointReader.js';
export { ShardedCheckpointReader } from './ShardedCheckpointReader.js';
export type { ShardDimFunction, ShardDims, ShardedCheckpointOptions } from './ShardedCheckpointReader.js';
export { META_REFERENCE_SHARD_DIMS, metaReferenceShardDims, metaShardFileName, openMetaCheckpoint } from './openMetaCheckpoint.js';
export type { MetaCheckpointOptions } from './openMetaCheckpoint.js';
export { openNativeCheckpoint } from './openNativeCheckpoint.js';
export type { NativeCheckpointOptions } from './openNativeCheckpoint.js';
export {
  CheckpointLoader,
  DelegatingCheckpointLoader,
  MetaCheckpointLoader,
  NativeCheckpointLoader,
  SafetensorsCheckpointLoader,
  TorchCheckpointLoader,
  createStandardCheckpointLoaders,
  openCheckpoint,
} from './CheckpointLoader.js';
export type { CheckpointOpenOptions } from './CheckpointLoader.js';
export { KeyMap } from './KeyMap.js';
export type { KeyMapEntry, KeyMapOptions } from './KeyMap.js';
export { checkTensorShape } from './checkTensorShape.js';
export { interleavedToRotateHalf, rotateHalfToInterleaved } from './rotaryPermutation.js';
export { concatHostTensors, copyAlongDim, narrowHostTensor, planShardSlice, reshardTensor } from './reshardTensor.js';
export type { HostTensor, ReshardOptions, ShardPiece } from './reshardTensor.js';
