import { describe, expect, it } from '@jest/globals';

import {
  encodeElements,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  narrowToInt32,
  widenToFloat32,
  type StorageDtype,
} from './dtypes.js';

function bitsToFloat(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0] as number;
}

function widenHalf(bits: number): number {
  const out = new Float32Array(1);
  widenToFloat32('F16', new Uint8Array(new Uint16Array([bits]).buffer), out, 0, 1);
  return out[0] as number;
}

describe('float32 -> bfloat16', () => {
  it('rounds to nearest, ties to even', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(bitsToFloat(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(float32ToBfloat16Bits(bitsToFloat(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(float32ToBfloat16Bits(bitsToFloat(0x3f808001))).toBe(0x3f81); // above the tie
    expect(float32ToBfloat16Bits(-2.25)).toBe(0xc010);
    expect(float32ToBfloat16Bits(Infinity)).toBe(0x7f80);
    expect(float32ToBfloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });
});

describe('float32 -> float16', () => {
  it('round-trips every finite half and both infinities', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65_536; h++) {
      const nan = ((h >> 10) & 0x1f) === 0x1f && (h & 0x3ff) !== 0; // NaN payloads are not kept
      if (!nan && float32ToFloat16Bits(widenHalf(h)) !== h) {
        wrong.push(h);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest even, overflows to infinity and underflows to zero', () => {
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1 + 2^-10: even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd rounds up
    expect(float32ToFloat16Bits(65_520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e6)).toBe(0xfc00);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // half of the smallest subnormal: ties to even 0
    expect(float32ToFloat16Bits(3 * 2 ** -26)).toBe(1); // above half rounds up to 2^-24
    expect(float32ToFloat16Bits(2 ** -30)).toBe(0);
    expect(float32ToFloat16Bits(NaN)).toBe(0x7e00);
  });
});

describe(narrowToInt32, () => {
  it('narrows int64 values that fit and stops at the first that does not', () => {
    const longs = new BigInt64Array([2n ** 31n - 1n, -(2n ** 31n), -1n, 0n, 2n ** 31n]);
    const out = new Int32Array(5);
    expect(narrowToInt32('I64', new Uint8Array(longs.buffer), out, 0, 4)).toBe(-1);
    expect(Array.from(out.subarray(0, 4))).toEqual([2 ** 31 - 1, -(2 ** 31), -1, 0]);
    expect(narrowToInt32('I64', new Uint8Array(longs.buffer), out, 0, 5)).toBe(4);
    const low = new BigInt64Array([-(2n ** 31n) - 1n]);
    expect(narrowToInt32('I64', new Uint8Array(low.buffer), out, 0, 1)).toBe(0);
  });

  it('reads the small integer types and bool', () => {
    const out = new Int32Array(2);
    narrowToInt32('I16', new Uint8Array(new Int16Array([-300, 300]).buffer), out, 0, 2);
    expect(Array.from(out)).toEqual([-300, 300]);
    narrowToInt32('I8', new Uint8Array([0xff, 0x7f]), out, 0, 2);
    expect(Array.from(out)).toEqual([-1, 127]);
    narrowToInt32('U8', new Uint8Array([0xff, 1]), out, 0, 2);
    expect(Array.from(out)).toEqual([255, 1]);
  });
});

describe(encodeElements, () => {
  it.each<[StorageDtype, number[]]>([
    ['F32', [1.5, -2, 1e-30]],
    ['BF16', [1.5, -2.25, 0.09375]],
    ['F16', [0.5, -1, 65_504]],
    ['F64', [0.25, -3]],
  ])('encodes %s so that widening gives the values back', (dtype, values) => {
    const src = new Float32Array(values);
    const raw = new Uint8Array(values.length * 8);
    expect(encodeElements(dtype, src, 0, raw, values.length)).toBe(-1);
    const back = new Float32Array(values.length);
    widenToFloat32(dtype, raw, back, 0, values.length);
    expect(Array.from(back)).toEqual(Array.from(src));
  });

  it.each<[StorageDtype, number[]]>([
    ['I64', [-5, 2 ** 31 - 1, -(2 ** 31)]],
    ['I32', [7, -7]],
    ['I16', [-32_768, 32_767]],
    ['I8', [-128, 127]],
    ['U8', [0, 255]],
    ['BOOL', [0, 1]],
  ])('encodes %s so that narrowing gives the values back', (dtype, values) => {
    const src = new Int32Array(values);
    const raw = new Uint8Array(values.length * 8);
    expect(encodeElements(dtype, src, 0, raw, values.length)).toBe(-1);
    const back = new Int32Array(values.length);
    expect(narrowToInt32(dtype, raw, back, 0, values.length)).toBe(-1);
    expect(Array.from(back)).toEqual(values);
  });

  it.each<[StorageDtype, number]>([
    ['I16', 40_000],
    ['I8', -129],
    ['U8', -1],
    ['BOOL', 2],
  ])('reports the first %s value that does not fit', (dtype, value) => {
    expect(encodeElements(dtype, new Int32Array([0, value]), 0, new Uint8Array(16), 2)).toBe(1);
  });
});
