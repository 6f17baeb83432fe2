import {
  STORAGE_DTYPE_BYTES,
  encodeElements,
  type StorageDtype,
  type TensorArray,
} from '../../packages/core/src/checkpoint/dtypes.js';
import { PickleBuilder } from './pickle.js';
import { buildZip, type ArchiveEntry } from './archives.js';

const STORAGE_CLASS: Readonly<Record<StorageDtype, string>> = {
  F32: 'FloatStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
  F64: 'DoubleStorage',
  I64: 'LongStorage',
  I32: 'IntStorage',
  I16: 'ShortStorage',
  I8: 'CharStorage',
  U8: 'ByteStorage',
  BOOL: 'BoolStorage',
};

/** One tensor of {@link buildTorchCheckpoint}: a view of a storage. */
export interface TorchTensorSpec {
  readonly key: string;
  /** The storage's key (its entry is `<prefix>/data/<storage>`); tensors may share one. */
  readonly storage: string;
  readonly shape: readonly number[];
  /** Default: row-major. */
  readonly stride?: readonly number[];
  /** In elements. Default: 0. */
  readonly offset?: number;
}

/** One storage of {@link buildTorchCheckpoint}: its dtype and its elements. */
export interface TorchStorageSpec {
  readonly dtype: StorageDtype;
  readonly data: TensorArray;
}

/** Options of {@link buildTorchCheckpoint}. */
export interface TorchCheckpointSpec {
  readonly tensors: readonly TorchTensorSpec[];
  readonly storages: Readonly<Record<string, TorchStorageSpec>>;
  /** The archive's folder name. Default: `archive` (torch.save uses the file's stem). */
  readonly prefix?: string;
  /** DEFLATE the storages. Default: false (torch writes STORED entries). */
  readonly deflate?: boolean;
  /** Extra or replacement entries (malformed archives). */
  readonly extraEntries?: readonly ArchiveEntry[];
  /** Entries left out (malformed archives). */
  readonly omitEntries?: readonly string[];
  /** Replaces the pickle (hostile checkpoints). */
  readonly pickle?: Uint8Array;
}

function contiguous(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = step;
    step *= shape[d] as number;
  }
  return stride;
}

/**
 * The bytes of a torch zip checkpoint as `torch.save(state_dict, path)` lays it out: a protocol 2
 * pickle `<prefix>/data.pkl` of a dict of `_rebuild_tensor_v2` calls with persistent ids
 * `('storage', torch.<Type>Storage, key, 'cpu', numel)`, one `<prefix>/data/<key>` per storage,
 * `<prefix>/version` and `<prefix>/byteorder`.
 */
export function buildTorchCheckpoint(spec: TorchCheckpointSpec): Uint8Array {
  const prefix = spec.prefix ?? 'archive';
  const p = new PickleBuilder().proto(2).emptyDict().binput(0).mark();
  for (const tensor of spec.tensors) {
    const storage = spec.storages[tensor.storage];
    if (storage === undefined) {
      throw new Error(`no storage ${tensor.storage}`);
    }
    p.str(tensor.key);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark();
    p.mark().str('storage').global('torch', STORAGE_CLASS[storage.dtype]).str(tensor.storage).str('cpu').int(storage.data.length).tuple().binpersid();
    p.int(tensor.offset ?? 0);
    p.mark();
    tensor.shape.forEach((d) => p.int(d));
    p.tuple();
    p.mark();
    (tensor.stride ?? contiguous(tensor.shape)).forEach((d) => p.int(d));
    p.tuple();
    p.bool(false);
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
  }
  p.setitems().stop();
  const entries: ArchiveEntry[] = [{ path: `${prefix}/data.pkl`, body: spec.pickle ?? p.toBytes() }];
  for (const [key, storage] of Object.entries(spec.storages)) {
    const raw = new Uint8Array(storage.data.length * STORAGE_DTYPE_BYTES[storage.dtype]);
    const bad = encodeElements(storage.dtype, storage.data, 0, raw, storage.data.length);
    if (bad >= 0) {
      throw new Error(`storage ${key} does not fit ${storage.dtype}`);
    }
    entries.push({ path: `${prefix}/data/${key}`, body: raw, method: spec.deflate === true ? 8 : 0 });
  }
  entries.push({ path: `${prefix}/version`, body: new TextEncoder().encode('3\n') });
  entries.push({ path: `${prefix}/byteorder`, body: new TextEncoder().encode('little') });
  const replaced = new Set([...(spec.extraEntries ?? []).map((e) => e.path), ...(spec.omitEntries ?? [])]);
  return buildZip([...entries.filter((e) => !replaced.has(e.path)), ...(spec.extraEntries ?? [])]);
}

/** A state dict of dense tensors (one storage each) as a torch checkpoint. */
export function buildTorchStateDict(
  tensors: readonly { readonly key: string; readonly shape: readonly number[]; readonly dtype: StorageDtype; readonly data: TensorArray }[],
  prefix = 'archive',
): Uint8Array {
  const storages: Record<string, TorchStorageSpec> = {};
  tensors.forEach((t, i) => {
    storages[String(i)] = { dtype: t.dtype, data: t.data };
  });
  return buildTorchCheckpoint({
    prefix,
    storages,
    tensors: tensors.map((t, i) => ({ key: t.key, storage: String(i), shape: t.shape })),
  });
}
