import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../../errors/Fs2Error.js';
import type { TensorRowReader } from '../../checkpoint/CheckpointReader.js';
import type { Device } from '../devices/Device.js';
import { PANEL_WIDTH, type CpuKernels } from './CpuKernels.js';

/** One output block of a {@link PanelWeight}: its columns and a factor folded in at load. */
export interface PanelPart {
  readonly columns: number;
  /** Default 1. */
  readonly scale?: number;
}

/** Floats copied into kernel memory per packing call while loading: bounds the staging block to 4 MiB. */
const PACK_CHUNK_FLOATS = 1 << 20;

/** Rows of `rowLength` floats per loading chunk: a multiple of 8 (whole panels) when more than 8 fit. */
function chunkRows(rowLength: number): number {
  const rows = Math.max(1, Math.floor(PACK_CHUNK_FLOATS / Math.max(1, rowLength)));
  return rows >= 8 ? rows - (rows % 8) : rows;
}

/**
 * A linear layer's weight `[in, out]` (and bias `[out]`) in the CPU kernels' memory, laid out in
 * panels (see kernels.c), assembled from one or more column blocks (fused q/k/v, gate/inner) as
 * they arrive: the weight is held once, in the layout the product streams.
 */
export class PanelWeight {
  readonly outDim: number;
  readonly panels: number;
  private readonly offsets: number[];
  private weightPtr = 0;
  private biasPtr = 0;
  private readonly weightArrived: boolean[];
  private readonly biasArrived: boolean[];
  private disposed = false;

  constructor(
    readonly kernels: CpuKernels,
    readonly inDim: number,
    readonly parts: readonly PanelPart[],
    readonly hasBias: boolean,
  ) {
    let offset = 0;
    this.offsets = parts.map((p) => {
      const start = offset;
      offset += p.columns;
      return start;
    });
    this.outDim = offset;
    this.panels = Math.ceil(offset / PANEL_WIDTH);
    this.weightArrived = parts.map(() => false);
    this.biasArrived = parts.map(() => !hasBias);
  }

  /** Floats per output row in the kernels' layout (the out dimension rounded up to whole panels). */
  get stride(): number {
    return this.panels * PANEL_WIDTH;
  }

  /** Whether every part's weight (and bias) has arrived. */
  get complete(): boolean {
    return this.weightArrived.every(Boolean) && this.biasArrived.every(Boolean);
  }

  /** Whether part `index`'s weight has arrived. */
  weightReceived(index: number): boolean {
    return this.weightArrived[index] === true;
  }

  /** Whether part `index`'s bias has arrived. */
  biasReceived(index: number): boolean {
    return this.biasArrived[index] === true && this.hasBias;
  }

  /** Part `index`'s weight, row-major `[in, columns]` (fs2's layout). */
  receiveWeight(index: number, data: Float32Array): void {
    const part = this.part(index);
    const k = this.inDim;
    const cols = part.columns;
    this.allocate();
    const rowsPerChunk = chunkRows(cols);
    const scratch = this.kernels.staging(Math.min(k, rowsPerChunk) * cols * 4);
    for (let k0 = 0; k0 < k; k0 += rowsPerChunk) {
      const k1 = Math.min(k, k0 + rowsPerChunk);
      this.kernels.f32(scratch, (k1 - k0) * cols).set(data.subarray(k0 * cols, k1 * cols));
      this.kernels.packInOut(scratch, k, cols, this.weightPtr, this.offsets[index] as number, part.scale ?? 1, k0, k1);
    }
    this.weightArrived[index] = true;
  }

  /**
   * Part `index`'s weight streamed from a file, in chunks through the kernels' memory: rows of
   * PyTorch's `[columns, in]` (`transposed`, laid out by `pack_out_in`) or of fs2's `[in, columns]`.
   */
  receiveWeightRows(index: number, reader: TensorRowReader, transposed: boolean): void {
    const part = this.part(index);
    const k = this.inDim;
    const cols = part.columns;
    this.allocate();
    const rowLength = transposed ? k : cols;
    const rows = transposed ? cols : k;
    const rowsPerChunk = chunkRows(rowLength);
    const scratch = this.kernels.staging(Math.min(rows, rowsPerChunk) * rowLength * 4);
    const offset = this.offsets[index] as number;
    const scale = part.scale ?? 1;
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r1 = Math.min(rows, r0 + rowsPerChunk);
      reader.read(r0, r1 - r0, this.kernels.f32(scratch, (r1 - r0) * rowLength));
      if (transposed) {
        this.kernels.packOutIn(scratch, k, this.weightPtr, offset, scale, r0, r1);
      } else {
        this.kernels.packInOut(scratch, k, cols, this.weightPtr, offset, scale, r0, r1);
      }
    }
    this.weightArrived[index] = true;
  }

  /** Part `index`'s bias, `[columns]`. */
  receiveBias(index: number, data: Float32Array): void {
    const part = this.part(index);
    if (!this.hasBias) {
      throw new InternalError('A bias arrived for a panel weight without one.');
    }
    this.allocate();
    const scale = part.scale ?? 1;
    const view = this.kernels.f32(this.biasPtr + (this.offsets[index] as number) * 4, part.columns);
    for (let i = 0; i < part.columns; i++) {
      view[i] = (data[i] as number) * scale;
    }
    this.biasArrived[index] = true;
  }

  /** Part `index`'s weight read back, `[in, columns]`, the scale divided out (a fresh array). */
  readWeight(index: number): Float32Array {
    const part = this.part(index);
    this.assertComplete();
    const k = this.inDim;
    const cols = part.columns;
    const out = new Float32Array(k * cols);
    const scratch = this.kernels.alloc(k * cols * 4);
    try {
      this.kernels.unpackInOut(this.weightPtr, k, cols, scratch, this.offsets[index] as number);
      out.set(this.kernels.f32(scratch, k * cols));
    } finally {
      this.kernels.free(scratch);
    }
    return divide(out, part.scale ?? 1);
  }

  /** Part `index`'s bias read back, the scale divided out (a fresh array). */
  readBias(index: number): Float32Array {
    const part = this.part(index);
    this.assertComplete();
    const offset = this.offsets[index] as number;
    return divide(this.kernels.f32(this.biasPtr + offset * 4, part.columns).slice(), part.scale ?? 1);
  }

  /** The address of the panels in the kernels' memory (0 before any part arrived). */
  get weightAddress(): number {
    return this.weightPtr;
  }

  /** The address of the bias (`stride` floats), or 0 without one. */
  get biasAddress(): number {
    return this.biasPtr;
  }

  /** `x` `[n, in]` → `[n, out]`, a new tensor on the active backend. */
  apply(x: tf.Tensor2D, device: Device): tf.Tensor2D {
    this.assertComplete();
    const kernels = this.kernels;
    const [n] = x.shape;
    const k = this.inDim;
    const a = kernels.alloc(n * k * 4);
    try {
      const input = device.provider.storageView(x) ?? (x.dataSync() as Float32Array);
      kernels.f32(a, n * k).set(input);
      return this.matmulToTensor(a, n, device);
    } finally {
      kernels.free(a);
    }
  }

  /** The rows `[n, in]` at `a` in the kernels' memory times this weight, as a new `[n, out]` tensor. */
  matmulToTensor(a: number, n: number, device: Device): tf.Tensor2D {
    this.assertComplete();
    const kernels = this.kernels;
    const stride = this.stride;
    const c = kernels.alloc(n * stride * 4);
    try {
      kernels.matmul(a, n, this.inDim, this.weightPtr, this.biasPtr, c, this.panels);
      let values = kernels.f32(c, n * stride);
      if (stride !== this.outDim) {
        const compact = new Float32Array(n * this.outDim);
        for (let r = 0; r < n; r++) {
          compact.set(values.subarray(r * stride, r * stride + this.outDim), r * this.outDim);
        }
        values = compact;
      } else if (device.provider.uploadAliasesData) {
        values = values.slice();
      }
      return tf.tensor2d(values, [n, this.outDim]);
    } finally {
      kernels.free(c);
    }
  }

  /** Frees the kernel memory; the weight must be received again before use. */
  dispose(): void {
    if (this.weightPtr !== 0) {
      this.kernels.free(this.weightPtr);
      this.weightPtr = 0;
    }
    if (this.biasPtr !== 0) {
      this.kernels.free(this.biasPtr);
      this.biasPtr = 0;
    }
    this.weightArrived.fill(false);
    this.biasArrived.fill(!this.hasBias);
    this.disposed = true;
  }

  /** Whether {@link PanelWeight.dispose} has run since the last receive. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  private part(index: number): PanelPart {
    const part = this.parts[index];
    if (part === undefined) {
      throw new InternalError(`A panel weight has no part ${index}.`);
    }
    return part;
  }

  private allocate(): void {
    this.disposed = false;
    if (this.weightPtr === 0) {
      // Every value is written by the parts but the padding columns of the last panel, which must
      // hold numbers (they are multiplied, then dropped).
      const bytes = this.inDim * this.stride * 4;
      this.weightPtr = this.stride === this.outDim ? this.kernels.alloc(bytes) : this.kernels.allocZeroed(bytes);
    }
    if (this.hasBias && this.biasPtr === 0) {
      this.biasPtr = this.kernels.allocZeroed(this.stride * 4);
    }
  }

  private assertComplete(): void {
    if (!this.complete) {
      throw new InternalError('A panel weight is used before all of its parts were loaded.');
    }
  }
}

function divide(values: Float32Array, scale: number): Float32Array {
  if (scale !== 1) {
    for (let i = 0; i < values.length; i++) {
      values[i] = (values[i] as number) / scale;
    }
  }
  return values;
}
