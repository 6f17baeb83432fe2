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

export function isStorageDtype(value: unknown): value is StorageDtype {
  return typeof value === 'string' && Object.hasOwn(STORAGE_DTYPE_BYTES, value);
}

/** Whether a storage type widens to float32 (as opposed to an integer type read as int32). */
export function isFloatingDtype(dtype: StorageDtype): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
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
  for (let i = 0; i < count; i++) {
    let value: number | bigint;
    switch (dtype) {
      case 'I64':
        value = view.getBigInt64(i * 8, true);
        if (value > 2_147_483_647n || value < -2_147_483_648n) {
          return i;
        }
        value = Number(value);
        break;
      case 'I32':
        value = view.getInt32(i * 4, true);
        break;
      case 'I16':
        value = view.getInt16(i * 2, true);
        break;
      case 'I8':
        value = view.getInt8(i);
        break;
      case 'U8':
      case 'BOOL':
        value = view.getUint8(i);
        break;
      default:
        throw new TypeError(`${dtype} is not an integer storage type.`);
    }
    dst[dstOffset + i] = value;
  }
  return -1;
}
