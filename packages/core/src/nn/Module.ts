import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../errors/Fs2Error.js';
import type { Device } from './devices/Device.js';

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
    private readonly transform?: { readonly storedShape: readonly number[]; apply(data: Float32Array): Float32Array },
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
