export { CheckpointError } from './errors.js';
export { STORAGE_DTYPE_BYTES, isFloatingDtype, isStorageDtype, widenToFloat32, narrowToInt32 } from './dtypes.js';
export type { StorageDtype } from './dtypes.js';
export { SafetensorsReader, SAFETENSORS_MAX_HEADER_BYTES } from './safetensors.js';
export type { SafetensorsTensorInfo } from './safetensors.js';
