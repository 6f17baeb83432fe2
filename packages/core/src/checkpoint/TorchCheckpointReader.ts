import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';

import { NotSupportedError } from '../errors/Fs2Error.js';
import { CheckpointReaderBase, type CheckpointTensorInfo, type TensorSlice } from './CheckpointReader.js';
import { STORAGE_DTYPE_BYTES, type StorageDtype, type TensorArray } from './dtypes.js';
import { CheckpointError } from './errors.js';
import { openFile } from './safetensors.js';
import { numelOf, readFully, readStridedView, sliceView, type StridedView } from './stridedRead.js';
import { isPickleTuple, PickleGlobalRef, typeName, unpickle, type PickleGlobal, type UnpickleLimits } from './unpickle.js';
import { ZipArchive } from './ZipArchive.js';

/**
 * The largest `data.pkl` read (256 MiB). The pickle holds the structure only (names, shapes,
 * storage keys): about 90 bytes per tensor (the llama3_meta fixture: 2,748 bytes for 30 tensors),
 * so a 1,140-tensor Llama 3.1 405B shard's is about 100 KB.
 */
export const TORCH_MAX_PICKLE_BYTES = 256 * 1024 * 1024;

/**
 * The most elements a view may have when it has more elements than its storage (a stride-0,
 * `expand`ed tensor): 2^24 (64 MiB as float32). Without a cap, a hostile file could describe a
 * view of 2^50 elements over a one-element storage and make the reader allocate it.
 */
export const TORCH_MAX_REPEATED_VIEW_ELEMENTS = 2 ** 24;

/** torch's storage classes and the element type of each. */
const STORAGE_CLASSES: Readonly<Record<string, StorageDtype>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** torch dtypes (`torch.bfloat16`, ...) as pickled by `_rebuild_tensor_v3`, with their aliases. */
const TORCH_DTYPES: Readonly<Record<string, StorageDtype>> = {
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  double: 'F64',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** A storage of the archive, as a persistent id describes it. */
export class TorchStorage {
  constructor(
    /** The zip entry holding the bytes (`archive/data/3`). */
    readonly entry: string,
    /** The element type of a typed storage; `undefined` for `torch.UntypedStorage` (bytes). */
    readonly dtype: StorageDtype | undefined,
    readonly byteLength: number,
  ) {}
}

/** A tensor: a strided view of a storage (torch's `_rebuild_tensor_v2` arguments). */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly dtype: StorageDtype,
    /** In elements of `dtype`. */
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

function isSize(value: unknown): value is readonly number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

function rebuildTensor(args: readonly unknown[], dtypeOverride?: unknown): TorchTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) {
    throw new Error(`the storage is a ${typeName(storage)}, not a storage`);
  }
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
    throw new Error(`the storage offset ${String(offset)} is not a non-negative integer`);
  }
  if (!isSize(size) || !isSize(stride) || size.length !== stride.length) {
    throw new Error(`the size ${formatValue(size)} and stride ${formatValue(stride)} are not lists of non-negative integers of one length`);
  }
  let dtype = storage.dtype;
  if (dtypeOverride !== undefined) {
    // An own property only: another allowed `torch.` global (`torch.Size`) is not a dtype.
    const name = dtypeOverride instanceof PickleGlobalRef && dtypeOverride.name.startsWith('torch.') ? dtypeOverride.name.slice('torch.'.length) : undefined;
    if (name === undefined || !Object.hasOwn(TORCH_DTYPES, name)) {
      throw new Error(`the dtype is a ${typeName(dtypeOverride)}, not a torch dtype`);
    }
    dtype = TORCH_DTYPES[name];
  }
  if (dtype === undefined) {
    throw new Error('an untyped storage is used without a dtype');
  }
  return new TorchTensor(storage, dtype, offset as number, [...size], [...stride]);
}

function formatValue(value: unknown): string {
  return Array.isArray(value) ? `(${value.map(String).join(', ')})` : typeName(value);
}

function tensorArgument(value: unknown, what: string): TorchTensor {
  if (!(value instanceof TorchTensor)) {
    throw new Error(`${what} is a ${typeName(value)}, not a tensor`);
  }
  return value;
}

function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new Error('the text has characters outside latin-1');
    }
    out[i] = code;
  }
  return out;
}

function pairsToMap(value: unknown): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  if (value === undefined) {
    return map;
  }
  if (value instanceof Map) {
    return new Map(value);
  }
  if (!Array.isArray(value)) {
    throw new Error(`expects key/value pairs, not a ${typeName(value)}`);
  }
  for (const pair of value as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new Error('expects key/value pairs');
    }
    map.set(pair[0], pair[1]);
  }
  return map;
}

function iterableItems(value: unknown): unknown[] {
  if (value === undefined) {
    return [];
  }
  if (Array.isArray(value)) {
    return [...(value as unknown[])];
  }
  if (value instanceof Set) {
    return [...value];
  }
  throw new Error(`expects a list, a tuple or a set, not a ${typeName(value)}`);
}

function buildGlobals(): Map<string, PickleGlobal> {
  const globals = new Map<string, PickleGlobal>();
  const value: PickleGlobal = {};
  const both = (name: string, spec: PickleGlobal): void => {
    // Protocol 2 pickles from Python 3 name builtins `__builtin__` (pickle's fix_imports).
    globals.set(`builtins.${name}`, spec);
    globals.set(`__builtin__.${name}`, spec);
  };
  globals.set('torch._utils._rebuild_tensor', { call: (args) => rebuildTensor(args) });
  globals.set('torch._utils._rebuild_tensor_v2', { call: (args) => rebuildTensor(args) });
  globals.set('torch._utils._rebuild_tensor_v3', { call: (args) => rebuildTensor(args, args[6]) });
  globals.set('torch._utils._rebuild_parameter', { call: (args) => tensorArgument(args[0], 'the parameter data') });
  globals.set('torch._utils._rebuild_parameter_with_state', { call: (args) => tensorArgument(args[0], 'the parameter data') });
  globals.set('torch.nn.parameter.Parameter', { call: (args) => tensorArgument(args[0], 'the parameter data') });
  globals.set('torch.Tensor', value);
  globals.set('torch._tensor._rebuild_from_type_v2', {
    call: (args) => {
      const [fn, type, fnArgs] = args;
      if (!(fn instanceof PickleGlobalRef) || fn.spec.call === undefined) {
        throw new Error(`the rebuild function is a ${typeName(fn)}, not an allowed function`);
      }
      if (!(type instanceof PickleGlobalRef) || (type.name !== 'torch.Tensor' && type.name !== 'torch.nn.parameter.Parameter')) {
        throw new Error(`the tensor type is ${typeName(type)}, not torch.Tensor or torch.nn.parameter.Parameter`);
      }
      if (!isPickleTuple(fnArgs)) {
        throw new Error('the rebuild arguments are not a tuple');
      }
      return tensorArgument(fn.spec.call(fnArgs), 'the rebuilt value');
    },
  });
  for (const name of [...Object.keys(STORAGE_CLASSES), 'UntypedStorage']) {
    globals.set(`torch.${name}`, value);
  }
  for (const name of Object.keys(TORCH_DTYPES)) {
    globals.set(`torch.${name}`, value);
  }
  globals.set('torch.Size', {
    call: (args) => {
      const items = iterableItems(args[0]);
      if (!isSize(items)) {
        throw new Error('expects non-negative integers');
      }
      return Object.freeze(items);
    },
  });
  globals.set('torch.device', {
    call: (args) => {
      if (typeof args[0] !== 'string') {
        throw new Error('expects a device name');
      }
      return args.length > 1 && args[1] !== null ? `${args[0]}:${String(args[1])}` : args[0];
    },
  });
  globals.set('collections.OrderedDict', { call: (args) => pairsToMap(args[0]) });
  both('set', { call: (args) => new Set(iterableItems(args[0])) });
  both('frozenset', { call: (args) => new Set(iterableItems(args[0])) });
  both('tuple', { call: (args) => Object.freeze(iterableItems(args[0])) });
  both('list', { call: (args) => iterableItems(args[0]) });
  both('bytearray', {
    call: (args) => {
      const [data, encoding] = args;
      if (data === undefined) {
        return new Uint8Array(0);
      }
      if (data instanceof Uint8Array) {
        return data.slice();
      }
      if (typeof data === 'string' && (encoding === 'latin-1' || encoding === 'latin1')) {
        return latin1Bytes(data);
      }
      throw new Error('expects bytes or a latin-1 string');
    },
  });
  // Protocol 2 pickles a Python 3 `bytes` as `_codecs.encode(text, 'latin1')`.
  globals.set('_codecs.encode', {
    call: (args) => {
      const [text, encoding] = args;
      if (typeof text !== 'string') {
        throw new Error('expects a string');
      }
      if (encoding === 'latin1' || encoding === 'latin-1') {
        return latin1Bytes(text);
      }
      if (encoding === 'utf-8' || encoding === 'utf8') {
        return new TextEncoder().encode(text);
      }
      throw new Error(`the encoding ${String(encoding)} is not supported`);
    },
  });
  return globals;
}

/**
 * The allow-list of the restricted unpickler for torch files: tensor rebuilding
 * (`torch._utils._rebuild_tensor`, `_v2`, `_v3`, `_rebuild_parameter`, `_with_state`,
 * `torch._tensor._rebuild_from_type_v2` on `torch.Tensor` / `Parameter`), the storage classes
 * (`torch.FloatStorage`, `HalfStorage`, `BFloat16Storage`, `DoubleStorage`, `LongStorage`,
 * `IntStorage`, `ShortStorage`, `CharStorage`, `ByteStorage`, `BoolStorage`, `UntypedStorage`),
 * the dtypes, `torch.Size`, `torch.device`, `collections.OrderedDict`, `builtins` (and Python 2's
 * `__builtin__`) `set`, `frozenset`, `tuple`, `list`, `bytearray`, and `_codecs.encode` (protocol 2's
 * encoding of `bytes`). The same ground as torch's `weights_only=True` loader covers for state dicts.
 */
export const TORCH_PICKLE_GLOBALS: ReadonlyMap<string, PickleGlobal> = buildGlobals();

/** Options of {@link TorchCheckpointReader.open}. */
export interface TorchCheckpointOptions extends UnpickleLimits {
  /** The largest `data.pkl` read. Default: {@link TORCH_MAX_PICKLE_BYTES}. */
  readonly maxPickleBytes?: number;
}

/**
 * A PyTorch checkpoint (`.pt`, `.pth`, `.bin` written by `torch.save` since torch 1.6): a zip
 * archive with `<prefix>/data.pkl` (the pickled state dict) and one entry `<prefix>/data/<key>`
 * per storage. The pickle goes through the restricted unpickler ({@link TORCH_PICKLE_GLOBALS});
 * persistent ids `('storage', storage_type, key, location, numel)` become storages, checked against
 * their entries' sizes; tensors are strided views of them (contiguous or permuted strides,
 * a storage offset) and are read lazily from the archive, STORED entries with positioned reads.
 *
 * The state dict is the pickle's top-level dict; a dict without tensors but with a `model` dict
 * (fairseq2's and many trainers' `{"model": state_dict, ...}`) is unwrapped. Entries that are not
 * tensors (step counters, configs) are not exposed.
 */
export class TorchCheckpointReader extends CheckpointReaderBase {
  readonly format = 'torch';

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly archive: ZipArchive,
    private readonly tensors: ReadonlyMap<string, TorchTensor>,
  ) {
    super();
  }

  /**
   * Opens `path`, reads the zip central directory and the pickle, and checks every tensor against
   * its storage.
   *
   * @throws CheckpointError (or its subclasses {@link UnsafePickleGlobalError}, {@link PickleError})
   *   naming the file and, when known, the tensor.
   */
  static async open(path: string, options: TorchCheckpointOptions = {}): Promise<TorchCheckpointReader> {
    if (endianness() !== 'LE') {
      throw new NotSupportedError('Reading torch checkpoints needs a little-endian machine.');
    }
    const handle = await openFile(path);
    let archive: ZipArchive | undefined;
    try {
      const magic = new Uint8Array(4);
      const got = await readFully(handle, magic, 0);
      if (got >= 2 && magic[0] === 0x80 && (magic[1] as number) <= 5) {
        throw new CheckpointError(
          path,
          `${path} is in the legacy torch format (a bare pickle, before torch 1.6), which is not supported; save it again with \`torch.save\` from torch 1.6 or later.`,
        );
      }
      archive = await ZipArchive.open(path, handle);
      const tensors = await readStateDict(path, archive, options);
      return new TorchCheckpointReader(path, handle, archive, tensors);
    } catch (error) {
      archive?.close();
      await handle.close();
      throw error;
    }
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  override has(key: string): boolean {
    return this.tensors.has(key);
  }

  info(key: string): CheckpointTensorInfo {
    const tensor = this.tensors.get(key);
    if (tensor === undefined) {
      throw new CheckpointError(this.path, `${this.path} has no tensor named ${key}.`, key);
    }
    return { key, shape: tensor.shape, dtype: tensor.dtype, path: this.path };
  }

  /** The storage view behind `key` (entry, offset, strides), for tools and tests. */
  tensor(key: string): TorchTensor {
    this.info(key);
    return this.tensors.get(key) as TorchTensor;
  }

  async close(): Promise<void> {
    this.archive.close();
    await this.handle.close();
  }

  protected async readInto(info: CheckpointTensorInfo, slice: TensorSlice | undefined, out: TensorArray): Promise<void> {
    const tensor = this.tensors.get(info.key) as TorchTensor;
    let view: StridedView = { dtype: tensor.dtype, offset: tensor.offset, shape: tensor.shape, stride: tensor.stride };
    if (slice !== undefined) {
      view = sliceView(view, slice.dim, slice.start, slice.length);
    }
    const context = { path: this.path, key: info.key };
    const source = await this.archive.source(tensor.storage.entry, context);
    try {
      await readStridedView(source, view, out, context);
    } finally {
      source.close?.();
    }
  }
}

async function readStateDict(
  path: string,
  archive: ZipArchive,
  options: TorchCheckpointOptions,
): Promise<Map<string, TorchTensor>> {
  const pickles = archive.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new CheckpointError(
      path,
      pickles.length === 0
        ? `${path} is not a torch checkpoint: the archive has no <name>/data.pkl entry.`
        : `${path} is not a torch checkpoint: the archive has several pickles (${pickles.join(', ')}).`,
    );
  }
  const entry = pickles[0] as string;
  const prefix = entry.slice(0, -'/data.pkl'.length);
  const byteorder = archive.maybeEntry(`${prefix}/byteorder`);
  if (byteorder !== undefined) {
    const order = new TextDecoder().decode(await archive.readEntry(`${prefix}/byteorder`, 16)).trim();
    if (order !== 'little') {
      throw new CheckpointError(path, `${path} stores its tensors in ${JSON.stringify(order)} byte order (its byteorder entry); only "little" is read.`);
    }
  }
  const pickle = await archive.readEntry(entry, options.maxPickleBytes ?? TORCH_MAX_PICKLE_BYTES);
  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    if (!isPickleTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new Error(`${formatValue(pid)} is not a ('storage', type, key, location, numel) id`);
    }
    const [, cls, key, , numel] = pid;
    if (!(cls instanceof PickleGlobalRef) || !(cls.name.startsWith('torch.') && cls.name.endsWith('Storage'))) {
      throw new Error(`the storage type ${typeName(cls)} is not a torch storage class`);
    }
    if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) {
      throw new Error('the storage key is not a string or its size not a non-negative integer');
    }
    const known = storages.get(key);
    if (known !== undefined) {
      return known;
    }
    const className = cls.name.slice('torch.'.length);
    const dtype = STORAGE_CLASSES[className];
    const byteLength = (numel as number) * (dtype === undefined ? 1 : STORAGE_DTYPE_BYTES[dtype]);
    const name = `${prefix}/data/${key}`;
    const data = archive.maybeEntry(name);
    if (data === undefined) {
      throw new CheckpointError(path, `${path} refers to the storage ${key}, but the archive has no entry ${name}.`);
    }
    if (data.uncompressedSize !== byteLength) {
      throw new CheckpointError(
        path,
        `The entry ${name} of ${path} has ${data.uncompressedSize} bytes, but its storage declares ${numel as number} elements of ${className} (${byteLength} bytes).`,
      );
    }
    const storage = new TorchStorage(name, dtype, byteLength);
    storages.set(key, storage);
    return storage;
  };
  const root = unpickle(pickle, { ...options, globals: TORCH_PICKLE_GLOBALS, persistentLoad, path, entry });
  if (!(root instanceof Map)) {
    throw new CheckpointError(path, `${path} holds a ${typeName(root)}, not a dict of tensors.`);
  }
  let dict: Map<unknown, unknown> = root;
  const hasTensors = (m: Map<unknown, unknown>): boolean => [...m.values()].some((v) => v instanceof TorchTensor);
  const model = root.get('model');
  if (!hasTensors(root) && model instanceof Map) {
    dict = model;
  }
  const tensors = new Map<string, TorchTensor>();
  for (const [key, value] of dict) {
    if (typeof key !== 'string' || !(value instanceof TorchTensor)) {
      continue;
    }
    checkExtent(path, key, value);
    tensors.set(key, value);
  }
  return tensors;
}

/** Checks that the view of `tensor` stays inside its storage. */
function checkExtent(path: string, key: string, tensor: TorchTensor): void {
  const eb = STORAGE_DTYPE_BYTES[tensor.dtype];
  const numel = numelOf(tensor.shape);
  if (numel === undefined) {
    throw new CheckpointError(path, `The shape of ${key} [${tensor.shape.join(', ')}] in ${path} has more elements than can be counted.`, key);
  }
  if (tensor.storage.byteLength % eb !== 0) {
    throw new CheckpointError(path, `${key} in ${path} reads ${tensor.dtype} from ${tensor.storage.entry}, whose ${tensor.storage.byteLength} bytes are not a whole number of elements.`, key);
  }
  if (numel === 0) {
    return;
  }
  let last = tensor.offset;
  for (let d = 0; d < tensor.shape.length; d++) {
    last += ((tensor.shape[d] as number) - 1) * (tensor.stride[d] as number);
  }
  const elements = tensor.storage.byteLength / eb;
  if (numel > elements && numel > TORCH_MAX_REPEATED_VIEW_ELEMENTS) {
    throw new CheckpointError(
      path,
      `${key} in ${path} is a view of ${numel} elements over the ${elements} elements of ${tensor.storage.entry}; a view that repeats elements is read up to ${TORCH_MAX_REPEATED_VIEW_ELEMENTS} elements.`,
      key,
    );
  }
  if (!Number.isSafeInteger(last) || last >= elements) {
    throw new CheckpointError(
      path,
      `${key} in ${path} reaches element ${last} of ${tensor.storage.entry}, which holds ${elements} elements.`,
      key,
    );
  }
}
