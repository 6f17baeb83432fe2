/**
 * Element types a checkpoint may store, with safetensors' names. TF.js holds `float32` and `int32`
 * only (js-ecosystem.md §2.4), so floating types widen to float32 and integer types narrow to int32
 * when every value fits.
 */
export type StorageDtype =
  | 'F64'
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'BOOL';

/** Bytes per element of each storage type. */
export const STORAGE_DTYPE_BYTES: Readonly<Record<StorageDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The array a tensor is read into: float32 for floating types, int32 for integer and bool types. */
export type TensorArray = Float32Array | Int32Array;

/** Whether `value` is one of the {@link StorageDtype} names. */
export function isStorageDtype(value: unknown): value is StorageDtype {
  return typeof value === 'string' && Object.hasOwn(STORAGE_DTYPE_BYTES, value);
}

/** Whether a storage type widens to float32 (as opposed to an integer type read as int32). */
export function isFloatingDtype(dtype: StorageDtype): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** A new array of `length` elements of the kind `dtype` is read into (see {@link TensorArray}). */
export function allocateTensorArray(dtype: StorageDtype, length: number): TensorArray {
  return isFloatingDtype(dtype) ? new Float32Array(length) : new Int32Array(length);
}

let f16Table: Float32Array | undefined;

/** float16 bit pattern -> float32 value, all 65,536 of them (256 KiB, built on first use). */
function halfTable(): Float32Array {
  if (f16Table === undefined) {
    const table = new Float32Array(65_536);
    for (let h = 0; h < 65_536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >> 10) & 0x1f;
      const fraction = h & 0x3ff;
      if (exponent === 0) {
        table[h] = sign * fraction * 2 ** -24; // subnormal: 2^-14 * fraction / 2^10
      } else if (exponent === 0x1f) {
        table[h] = fraction === 0 ? sign * Infinity : NaN;
      } else {
        table[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
      }
    }
    f16Table = table;
  }
  return f16Table;
}

/**
 * Widens `count` elements of `dtype` from `src` (raw little-endian bytes) into `dst[dstOffset...]`.
 * bf16 is the top half of a float32, so widening is a shift (2.4 G elements/s in plain JS,
 * js-ecosystem.md §5).
 */
export function widenToFloat32(
  dtype: StorageDtype,
  src: Uint8Array,
  dst: Float32Array,
  dstOffset: number,
  count: number,
): void {
  switch (dtype) {
    case 'F32': {
      new Uint8Array(dst.buffer, dst.byteOffset + dstOffset * 4, count * 4).set(src.subarray(0, count * 4));
      return;
    }
    case 'BF16': {
      const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOffset * 4, count);
      const inp = aligned16(src, count);
      for (let i = 0; i < count; i++) {
        out[i] = (inp[i] as number) << 16;
      }
      return;
    }
    case 'F16': {
      const table = halfTable();
      const inp = aligned16(src, count);
      for (let i = 0; i < count; i++) {
        dst[dstOffset + i] = table[inp[i] as number] as number;
      }
      return;
    }
    case 'F64': {
      const view = new DataView(src.buffer, src.byteOffset, count * 8);
      for (let i = 0; i < count; i++) {
        dst[dstOffset + i] = view.getFloat64(i * 8, true);
      }
      return;
    }
    default:
      throw new TypeError(`${dtype} is not a floating-point storage type.`);
  }
}

function aligned16(src: Uint8Array, count: number): Uint16Array {
  if (src.byteOffset % 2 === 0) {
    return new Uint16Array(src.buffer, src.byteOffset, count);
  }
  return new Uint16Array(src.slice(0, count * 2).buffer);
}

/**
 * Converts `count` integer elements of `dtype` into int32. Returns the index of the first element
 * that does not fit in int32, or -1 when all do.
 */
export function narrowToInt32(dtype: StorageDtype, src: Uint8Array, dst: Int32Array, dstOffset: number, count: number): number {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (dtype) {
    case 'I64':
      for (let i = 0; i < count; i++) {
        // Two 32-bit halves: fits in int32 when the high half is the sign extension of the low.
        const low = view.getInt32(i * 8, true);
        const high = view.getInt32(i * 8 + 4, true);
        if (high !== (low < 0 ? -1 : 0)) {
          return i;
        }
        dst[dstOffset + i] = low;
      }
      return -1;
    case 'I32':
      new Uint8Array(dst.buffer, dst.byteOffset + dstOffset * 4, count * 4).set(src.subarray(0, count * 4));
      return -1;
    case 'I16':
      for (let i = 0; i < count; i++) {
        dst[dstOffset + i] = view.getInt16(i * 2, true);
      }
      return -1;
    case 'I8':
      for (let i = 0; i < count; i++) {
        dst[dstOffset + i] = view.getInt8(i);
      }
      return -1;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < count; i++) {
        dst[dstOffset + i] = src[i] as number;
      }
      return -1;
    default:
      throw new TypeError(`${dtype} is not an integer storage type.`);
  }
}

/** float32 -> bfloat16 bits, rounding to nearest even; NaN stays a (quiet) NaN. */
export function float32ToBfloat16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0] as number;
  if (Number.isNaN(value)) {
    return ((bits >>> 16) & 0x8000) | 0x7fc0;
  }
  const lsb = (bits >>> 16) & 1;
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** float32 -> float16 bits, rounding to nearest even; overflow gives infinity, NaN a quiet NaN. */
export function float32ToFloat16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    return sign | (mantissa === 0 ? 0x7c00 : 0x7e00);
  }
  // Unbiased exponent, re-biased for half (bias 15).
  const e = exponent - 127 + 15;
  if (e >= 0x1f) {
    return sign | 0x7c00;
  }
  if (e <= 0) {
    if (e < -10) {
      return sign; // rounds to zero
    }
    // Subnormal half: shift the implicit 1 in and round to nearest even.
    mantissa |= 0x800000;
    const shift = 14 - e;
    const halfMantissa = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1) ? halfMantissa + 1 : halfMantissa;
    return sign | rounded;
  }
  const halfMantissa = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  let result = sign | (e << 10) | halfMantissa;
  if (remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1) === 1)) {
    result += 1; // may carry into the exponent, up to infinity: the right result
  }
  return result;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * Encodes `count` elements of `src[srcOffset...]` as `dtype` into `dst` (raw little-endian bytes):
 * the inverse of {@link widenToFloat32} / {@link narrowToInt32}, used by the writers. Float data
 * encodes to a floating type (F32, F16 and BF16 round to nearest even), int32 data to an integer
 * type (I64 sign-extends; I16, I8, U8 and BOOL must fit, else this returns the index of the first
 * value that does not, -1 otherwise).
 */
export function encodeElements(
  dtype: StorageDtype,
  src: TensorArray,
  srcOffset: number,
  dst: Uint8Array,
  count: number,
): number {
  const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  switch (dtype) {
    case 'F32':
    case 'I32':
      dst.set(new Uint8Array(src.buffer, src.byteOffset + srcOffset * 4, count * 4));
      return -1;
    case 'BF16':
      for (let i = 0; i < count; i++) {
        view.setUint16(i * 2, float32ToBfloat16Bits(src[srcOffset + i] as number), true);
      }
      return -1;
    case 'F16':
      for (let i = 0; i < count; i++) {
        view.setUint16(i * 2, float32ToFloat16Bits(src[srcOffset + i] as number), true);
      }
      return -1;
    case 'F64':
      for (let i = 0; i < count; i++) {
        view.setFloat64(i * 8, src[srcOffset + i] as number, true);
      }
      return -1;
    case 'I64':
      for (let i = 0; i < count; i++) {
        const value = src[srcOffset + i] as number;
        view.setInt32(i * 8, value, true);
        view.setInt32(i * 8 + 4, value < 0 ? -1 : 0, true);
      }
      return -1;
    case 'I16':
      for (let i = 0; i < count; i++) {
        const value = src[srcOffset + i] as number;
        if (value < -32_768 || value > 32_767) {
          return i;
        }
        view.setInt16(i * 2, value, true);
      }
      return -1;
    case 'I8':
      for (let i = 0; i < count; i++) {
        const value = src[srcOffset + i] as number;
        if (value < -128 || value > 127) {
          return i;
        }
        view.setInt8(i, value);
      }
      return -1;
    case 'U8':
    case 'BOOL': {
      const max = dtype === 'BOOL' ? 1 : 255;
      for (let i = 0; i < count; i++) {
        const value = src[srcOffset + i] as number;
        if (value < 0 || value > max) {
          return i;
        }
        dst[i] = value;
      }
      return -1;
    }
  }
}
