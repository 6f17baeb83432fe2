import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../errors/Fs2Error.js';
import type { Device } from './devices/Device.js';
import type { StateEntry, StateRows } from './loadModuleState.js';

/**
 * One named parameter of a module, in fs2's layout (linear weights `[in, out]`), as a state gives
 * it. The module decides what to do with the data: upload it as is, transform it, or assemble it
 * with others into one fused tensor.
 */
export interface ParameterSlot {
  /** The fs2 name (`decoder.layers.0.self_attn.q_proj.weight`). */
  readonly name: string;
  /** The fs2 shape. */
  readonly shape: readonly number[];
  /** Whether data has been received since the last unload. */
  readonly received: boolean;
  /**
   * Takes the parameter's data (already checked against `shape`). The caller may reuse `data`
   * afterwards: a slot copies what it keeps. A slot may return a promise (a device runtime waiting
   * for its queue to drain), which the loader awaits before the next tensor.
   */
  receive(data: Float32Array, device: Device): void | Promise<void>;
  /**
   * Optional: takes a 2-D parameter's data transposed (`[shape[1], shape[0]]`, a `transposed` state
   * entry) without the loader transposing it first. Same contract as `receive` otherwise.
   */
  receiveTransposed?(data: Float32Array, device: Device): void | Promise<void>;
  /**
   * Takes the parameter's values as rows of a file (see `StateEntry.rows`, already checked against
   * `shape`), streaming them into place; returns `false`, having done nothing, when it cannot (the
   * caller then gives `data` to {@link ParameterSlot.receive}). Optional.
   */
  receiveRows?(rows: StateRows, device: Device): boolean;
  /**
   * The parameter's current data read back from the device, in fs2 layout and `shape` (undoing any
   * storage transform, fusion or folded scale), as a fresh array.
   *
   * @throws InternalError when no data has been received.
   */
  read(): Float32Array;
}

/** How a {@link Parameter} stores its data when not as received: a layout change and its inverse. */
export interface ParameterTransform {
  /** The shape of the stored tensor. */
  readonly storedShape: readonly number[];
  /** fs2 data → a fresh array of `storedShape`. */
  apply(data: Float32Array): Float32Array;
  /** Stored data → a fresh array in fs2 layout (the inverse of `apply`). */
  invert(stored: Float32Array): Float32Array;
}

/** The number of elements of `shape`. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * One parameter held as one tensor. `transform`, when given, turns the received fs2 data into a
 * fresh array of `storedShape` (a transposition, a scaling) before upload.
 */
export class Parameter implements ParameterSlot {
  private value: tf.Tensor | undefined;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    private readonly transform?: ParameterTransform,
  ) {}

  get received(): boolean {
    return this.value !== undefined;
  }

  receive(data: Float32Array, device: Device): void {
    this.value?.dispose();
    this.value =
      this.transform === undefined
        ? device.upload(data, this.shape)
        : device.uploadOwned(this.transform.apply(data), this.transform.storedShape);
  }

  read(): Float32Array {
    const stored = readTensor(this.tensor());
    return this.transform === undefined ? stored : this.transform.invert(stored);
  }

  /**
   * Without a transform, on a device whose storage can be written (wasm, cpu): allocates the tensor
   * on the device and reads the rows straight into it (no copy of the whole tensor in JS memory,
   * js-ecosystem.md §2.4).
   */
  receiveRows(rows: StateRows, device: Device): boolean {
    if (this.transform !== undefined || rows.layout !== 'fs2') {
      return false;
    }
    const tensor = writableTensor(this.shape);
    const view = device.provider.storageView(tensor);
    if (view === undefined) {
      tensor.dispose();
      return false;
    }
    try {
      rows.reader.read(0, rows.reader.rows, view);
    } catch (error) {
      tensor.dispose();
      throw error;
    }
    this.value?.dispose();
    this.value = tensor;
    return true;
  }

  /** The loaded tensor; an internal error when absent (the model checks loading first). */
  tensor(): tf.Tensor {
    if (this.value === undefined) {
      throw new InternalError(`The parameter ${this.name} is used before it was loaded.`);
    }
    return this.value;
  }

  unload(): void {
    this.value?.dispose();
    this.value = undefined;
  }
}

/** One part of a {@link FusedParameter}: a named fs2 parameter and the columns it fills. */
export interface FusedPart {
  /** The fs2 name. */
  readonly name: string;
  /** Its number of columns (the last dimension). */
  readonly columns: number;
  /** A factor every value is multiplied by on load (default 1). */
  readonly scale?: number;
}

/**
 * Several fs2 parameters with the same leading dimension, concatenated along their last one into a
 * single tensor (`q_proj`, `k_proj`, `v_proj` → one `[in, q+k+v]` weight), so one matMul replaces
 * several (js-ecosystem.md §10). Parts may arrive in any order; they are assembled in a JS buffer
 * (not on the device, whose heap is the scarce memory) and uploaded once all have arrived.
 */
export class FusedParameter {
  private value: tf.Tensor | undefined;
  private buffer: Float32Array | undefined;
  private readonly arrived: boolean[];
  private readonly offsets: number[];
  readonly columns: number;

  constructor(
    /** Rows of every part, or `undefined` for 1-D parts (biases). */
    readonly rows: number | undefined,
    readonly parts: readonly FusedPart[],
  ) {
    this.arrived = parts.map(() => false);
    let offset = 0;
    this.offsets = parts.map((p) => {
      const start = offset;
      offset += p.columns;
      return start;
    });
    this.columns = offset;
  }

  /** The shape of the fused tensor. */
  get storedShape(): number[] {
    return this.rows === undefined ? [this.columns] : [this.rows, this.columns];
  }

  /** One slot per part. */
  slots(): ParameterSlot[] {
    return this.parts.map((part, index) => {
      const shape = this.rows === undefined ? [part.columns] : [this.rows, part.columns];
      const self = this;
      return {
        name: part.name,
        shape,
        get received() {
          return self.value !== undefined || self.arrived[index] === true;
        },
        receive: (data: Float32Array, device: Device) => this.receivePart(index, data, device),
        read: () => this.readPart(index),
      };
    });
  }

  private receivePart(index: number, data: Float32Array, device: Device): void {
    const part = this.parts[index] as FusedPart;
    const scale = part.scale ?? 1;
    if (this.parts.length === 1 && scale === 1) {
      this.value?.dispose();
      this.value = device.upload(data, this.storedShape);
      this.arrived[0] = true;
      return;
    }
    if (this.value !== undefined) {
      // A new state is arriving over a loaded one: start over.
      this.unload();
    }
    const rows = this.rows ?? 1;
    const buffer = (this.buffer ??= new Float32Array(rows * this.columns));
    const offset = this.offsets[index] as number;
    const width = part.columns;
    for (let r = 0; r < rows; r++) {
      const src = r * width;
      const dst = r * this.columns + offset;
      if (scale === 1) {
        buffer.set(data.subarray(src, src + width), dst);
      } else {
        for (let c = 0; c < width; c++) {
          buffer[dst + c] = (data[src + c] as number) * scale;
        }
      }
    }
    this.arrived[index] = true;
    if (this.arrived.every(Boolean)) {
      this.value = device.uploadOwned(buffer, this.storedShape);
      this.buffer = undefined;
    }
  }

  /**
   * One part's data read back from the device (its columns of the fused tensor, the folded scale
   * divided out), as a fresh array.
   */
  private readPart(index: number): Float32Array {
    const part = this.parts[index] as FusedPart;
    const fused = this.tensor();
    const offset = this.offsets[index] as number;
    const data =
      this.parts.length === 1
        ? readTensor(fused)
        : readTensor(
            tf.tidy(() =>
              this.rows === undefined ? tf.slice(fused, [offset], [part.columns]) : tf.slice(fused, [0, offset], [this.rows, part.columns]),
            ),
            true,
          );
    const scale = part.scale ?? 1;
    if (scale !== 1) {
      for (let i = 0; i < data.length; i++) {
        data[i] = (data[i] as number) / scale;
      }
    }
    return data;
  }

  /** The fused tensor; an internal error when some part is missing. */
  tensor(): tf.Tensor {
    if (this.value === undefined) {
      throw new InternalError(`The fused parameter ${this.parts.map((p) => p.name).join(' + ')} is used before it was loaded.`);
    }
    return this.value;
  }

  unload(): void {
    this.value?.dispose();
    this.value = undefined;
    this.buffer = undefined;
    this.arrived.fill(false);
  }
}

/**
 * A float32 tensor whose values are about to be written through the device's storage view. On
 * wasm it is only allocated (tfjs-backend-wasm's `makeOutput`, an internal API of the pinned
 * 4.22.0: the values are not written twice, nor faulted in twice on a first load); elsewhere
 * `tf.fill` (which runs on the device; `tf.zeros` would build the zeros in a JS array first).
 */
function writableTensor(shape: readonly number[]): tf.Tensor {
  const backend = tf.backend() as unknown as { makeOutput?: (shape: number[], dtype: 'float32') => tf.TensorInfo };
  if (tf.getBackend() === 'wasm' && typeof backend.makeOutput === 'function') {
    return tf.engine().makeTensorFromTensorInfo(backend.makeOutput([...shape], 'float32'));
  }
  return tf.fill([...shape], 0, 'float32');
}

/** A float32 copy of `tensor`'s values (row-major); `dispose` frees the tensor afterwards. */
function readTensor(tensor: tf.Tensor, dispose = false): Float32Array {
  try {
    const values = tensor.dataSync();
    if (!(values instanceof Float32Array)) {
      throw new InternalError(`A parameter tensor holds ${tensor.dtype} values, not float32.`);
    }
    return values.slice();
  } finally {
    if (dispose) {
      tensor.dispose();
    }
  }
}

/**
 * The base of fs2's TF.js modules: a tree of modules, each owning parameters named in fairseq2's
 * vocabulary. Constructing a module allocates nothing: tensors exist only after a state is loaded
 * (see `loadModuleState`), so a model can be built shape-only to count its parameters.
 */
export abstract class Module {
  protected constructor(
    /** The fs2 name prefix of this module (`decoder.layers.0.self_attn`; `''` for a root). */
    readonly name: string,
  ) {}

  /** The parameters this module owns itself, in a stable order. */
  protected ownSlots(): ParameterSlot[] {
    return [];
  }

  /** The sub-modules, in a stable order. */
  protected children(): readonly Module[] {
    return [];
  }

  /** Drops this module's own tensors and partly assembled buffers. */
  protected unloadOwn(): void {}

  /** Builds constants (tables, matrices) once every parameter has arrived. */
  protected prepareOwn(_device: Device): void {}

  /** Every parameter slot of the tree, depth first. */
  parameterSlots(): ParameterSlot[] {
    return [...this.ownSlots(), ...this.children().flatMap((c) => c.parameterSlots())];
  }

  /** Parameter name → shape, in fs2's layout (linear weights `[in, out]`). */
  parameterShapes(): Map<string, number[]> {
    return new Map(this.parameterSlots().map((s) => [s.name, [...s.shape]]));
  }

  /** The number of parameters (elements), as published for models (tied weights counted once). */
  numParameters(): number {
    return this.parameterSlots().reduce((total, s) => total + numel(s.shape), 0);
  }

  /**
   * The weights read back from the device, one tensor at a time, in fs2 names, shapes and layout
   * (as a state loads them: linear weights `[in, out]`, q/k rows in rotate-half order, fused
   * projections split again, the folded softmax scale divided out; a tied matrix once, under the
   * embedding's name). For saving and exporting a loaded model; each entry's array is fresh.
   *
   * @throws InternalError when a parameter has no data (the module is not loaded).
   */
  *stateEntries(): Generator<StateEntry> {
    for (const slot of this.parameterSlots()) {
      yield { name: slot.name, shape: [...slot.shape], data: slot.read() };
    }
  }

  /** Calls `prepareOwn` on the whole tree. */
  prepare(device: Device): void {
    this.prepareOwn(device);
    for (const child of this.children()) {
      child.prepare(device);
    }
  }

  /** Frees every tensor of the tree; the module can load a state again afterwards. */
  unload(): void {
    this.unloadOwn();
    for (const child of this.children()) {
      child.unload();
    }
  }
}
