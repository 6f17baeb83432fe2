import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import type { Device } from '../devices/Device.js';
import { useDevice } from '../devices/DeviceRegistry.js';
import { HeapBudgetExceededError } from '../errors.js';
import { rotateHalfMatrix } from '../RotaryEncoder.js';
import { CpuKernels, KERNEL_MEMORY_MAX_BYTES, PANEL_WIDTH, judgeJob } from './CpuKernels.js';
import { PanelWeight } from './PanelWeight.js';

// Integration: the kernels run on worker threads. References are TF.js ops on the cpu backend.

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    worst = Math.max(worst, Math.abs(x - y) / Math.max(1, Math.abs(y)));
  }
  return worst;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  return out;
}

/** Copies `data` into a fresh block of `kernels`' memory; its address. */
function put(kernels: CpuKernels, data: Float32Array): number {
  const ptr = kernels.alloc(data.length * 4);
  kernels.f32(ptr, data.length).set(data);
  return ptr;
}

describe.each([1, 2])('fs2 CPU kernels on %i thread(s)', (threads) => {
  let kernels: CpuKernels;
  let device: Device;

  beforeAll(async () => {
    device = await useDevice('cpu');
    kernels = CpuKernels.create({ threads });
  });
  afterAll(() => kernels.close());

  it.each([
    [1, 1, 1],
    [1, 64, 13],
    [1, 300, 64],
    [3, 7, 5],
    [4, 64, 8],
    [5, 257, 24],
    [130, 300, 40],
  ])('multiplies [%i, %i] by a panel weight [%i columns] like tf.matMul, with and without a bias', (m, k, n) => {
    const a = values(m * k, 1);
    const w = values(k * n, 2);
    const b = values(n, 3);
    const expected = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(w, [k, n])), tf.tensor1d(b)).dataSync());
    const noBias = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(w, [k, n])).dataSync());
    for (const bias of [true, false]) {
      const weight = new PanelWeight(kernels, k, [{ columns: n }], bias);
      weight.receiveWeight(0, w);
      if (bias) weight.receiveBias(0, b);
      const x = tf.tensor2d(a, [m, k]);
      const y = weight.apply(x, device);
      expect(y.shape).toEqual([m, n]);
      expect(maxRelDiff(y.dataSync(), bias ? expected : noBias)).toBeLessThan(1e-5);
      tf.dispose([x, y]);
      weight.dispose();
    }
  });

  it('fuses parts into one weight, each with its own scale, and reads each part back exactly', () => {
    const k = 12;
    const parts = [{ columns: 5, scale: 0.25 }, { columns: 8 }, { columns: 3, scale: 2 }];
    const weights = parts.map((p, i) => values(k * p.columns, 10 + i));
    const biases = parts.map((p, i) => values(p.columns, 20 + i));
    const fused = new PanelWeight(kernels, k, parts, true);
    expect(fused.outDim).toBe(16);
    expect(fused.panels).toBe(2);
    expect(fused.complete).toBe(false);
    // Out of order, one streamed from PyTorch's [out, in] rows, one from fs2's [in, out] rows.
    fused.receiveWeight(2, weights[2] as Float32Array);
    fused.receiveWeightRows(0, rowReader(transpose(weights[0] as Float32Array, k, 5), 5, k), true);
    fused.receiveWeightRows(1, rowReader(weights[1] as Float32Array, k, 8), false);
    parts.forEach((_, i) => fused.receiveBias(i, biases[i] as Float32Array));
    expect(fused.complete).toBe(true);
    parts.forEach((_, i) => {
      expect(maxRelDiff(fused.readWeight(i), weights[i] as Float32Array)).toBeLessThan(1e-7);
      expect(maxRelDiff(fused.readBias(i), biases[i] as Float32Array)).toBeLessThan(1e-7);
    });
    const a = values(2 * k, 30);
    const x = tf.tensor2d(a, [2, k]);
    const y = fused.apply(x, device);
    const expected = tf.tidy(() =>
      tf
        .concat(
          parts.map((p, i) =>
            tf.mul(tf.add(tf.matMul(x, tf.tensor2d(weights[i] as Float32Array, [k, p.columns])), tf.tensor1d(biases[i] as Float32Array)), p.scale ?? 1),
          ),
          1,
        )
        .dataSync(),
    );
    expect(maxRelDiff(y.dataSync(), expected)).toBeLessThan(1e-5);
    tf.dispose([x, y]);
    fused.dispose();
  });

  it('lays out PyTorch rows a panel at a time (8 rows at a panel boundary) or one by one (any other offset)', () => {
    const k = 36;
    for (const parts of [[{ columns: 8 }, { columns: 40 }], [{ columns: 3 }, { columns: 45 }]]) {
      const weight = new PanelWeight(kernels, k, parts, false);
      const data = parts.map((p, i) => values(k * p.columns, 200 + i));
      parts.forEach((p, i) => {
        weight.receiveWeightRows(i, rowReader(transpose(data[i] as Float32Array, k, p.columns), p.columns, k), true);
      });
      parts.forEach((_, i) => expect(Array.from(weight.readWeight(i))).toEqual(Array.from(data[i] as Float32Array)));
      weight.dispose();
    }
  });

  it('runs thousands of small products in a row with the same results as one thread (the job protocol)', () => {
    const k = 32;
    const n = 8 * PANEL_WIDTH;
    const weight = new PanelWeight(kernels, k, [{ columns: n }], false);
    weight.receiveWeight(0, values(k * n, 40));
    const single = CpuKernels.create({ threads: 1 });
    const reference = new PanelWeight(single, k, [{ columns: n }], false);
    reference.receiveWeight(0, values(k * n, 40));
    try {
      for (let step = 0; step < 2000; step++) {
        const x = tf.tensor2d(values(k, 100 + step), [1, k]);
        const y = weight.apply(x, device);
        const z = reference.apply(x, device);
        expect(Array.from(y.dataSync())).toEqual(Array.from(z.dataSync()));
        tf.dispose([x, y, z]);
      }
    } finally {
      reference.dispose();
      single.close();
      weight.dispose();
    }
  });

  it('normalises rows and heads like RMSNorm in TF.js', () => {
    const rows = 3;
    const dim = 20;
    const x = values(rows * dim, 50);
    const w = values(dim, 51);
    const eps = 1e-5;
    const expected = tf.tidy(() => {
      const t = tf.tensor2d(x, [rows, dim]);
      return tf.mul(tf.mul(t, tf.rsqrt(tf.add(tf.mean(tf.square(t), -1, true), eps))), tf.tensor1d(w)).dataSync();
    });
    const px = put(kernels, x);
    const pw = put(kernels, w);
    const out = kernels.alloc(rows * dim * 4);
    kernels.fn.rmsnorm(px, dim, out, dim, pw, dim, eps, 0, rows);
    expect(maxRelDiff(kernels.f32(out, rows * dim), expected)).toBeLessThan(1e-6);
    // As 5 heads of 4 per row, in place, one gain row per head.
    const gains = values(5 * 4, 52);
    const pg = put(kernels, gains);
    kernels.fn.head_norm(px, dim, rows, 5, 4, pg, eps);
    const heads = tf.tidy(() => {
      const t = tf.tensor3d(x, [rows, 5, 4]);
      return tf.mul(tf.mul(t, tf.rsqrt(tf.add(tf.mean(tf.square(t), -1, true), eps))), tf.tensor2d(gains, [5, 4])).dataSync();
    });
    expect(maxRelDiff(kernels.f32(px, rows * dim), heads)).toBeLessThan(1e-6);
    [px, pw, out, pg].forEach((p) => kernels.free(p));
  });

  it('rotates heads like x cos + rotate_half(x) sin in TF.js, for head widths with and without a SIMD tail', () => {
    for (const hd of [8, 6]) {
      const rows = 3;
      const heads = 2;
      const x = values(rows * heads * hd, 60 + hd);
      const cos = values(rows * hd, 61);
      const sin = values(rows * hd, 62);
      const expected = tf.tidy(() => {
        const t = tf.tensor3d(x, [rows, heads, hd]);
        const rotated = tf.reshape(tf.matMul(tf.reshape(t, [-1, hd]), tf.tensor2d(rotateHalfMatrix(hd), [hd, hd])), [rows, heads, hd]);
        return tf.add(tf.mul(t, tf.tensor3d(cos, [rows, 1, hd])), tf.mul(rotated, tf.tensor3d(sin, [rows, 1, hd]))).dataSync();
      });
      const px = put(kernels, x);
      const pc = put(kernels, cos);
      const ps = put(kernels, sin);
      kernels.fn.rope(px, heads * hd, rows, heads, hd, pc, ps);
      expect(maxRelDiff(kernels.f32(px, x.length), expected)).toBeLessThan(1e-6);
      [px, pc, ps].forEach((p) => kernels.free(p));
    }
  });

  it('computes silu(gate) * inner like TF.js, exp included, over a wide range', () => {
    const rows = 2;
    const f = 11;
    const gu = values(rows * 2 * f, 70).map((v, i) => (i % 3 === 0 ? v * 90 : v * 8));
    const expected = tf.tidy(() => {
      const t = tf.tensor2d(gu, [rows, 2 * f]);
      const [g, u] = tf.split(t, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      return tf.mul(tf.mul(g, tf.sigmoid(g)), u).dataSync();
    });
    const pgu = put(kernels, gu);
    const out = kernels.alloc(rows * f * 4);
    kernels.fn.silu_mul(pgu, 2 * f, rows, f, out, f);
    expect(maxRelDiff(kernels.f32(out, rows * f), expected)).toBeLessThan(1e-5);
    [pgu, out].forEach((p) => kernels.free(p));
  });

  it.each([
    ['causal', 0],
    ['a sliding window of 3', 3],
  ])('attends with grouped keys and values like softmax(q kᵀ + mask) v in TF.js (%s)', (_, window) => {
    const h = 4;
    const kv = 2;
    const hd = 8;
    const group = h / kv;
    const start = 2;
    const rows = 4;
    const cap = 8;
    const ld = (h + 2 * kv) * hd;
    const qkv = values(rows * ld, 80);
    const keys = values(kv * cap * hd, 81);
    const vals = values(kv * cap * hd, 82);
    // The chunk's own keys and values go into the cache first, as the decoder does (positions
    // before `start` hold earlier keys: here, whatever the random fill put there).
    const pqkv = put(kernels, qkv);
    const pk = put(kernels, keys);
    const pv = put(kernels, vals);
    kernels.fn.kv_write(pqkv, ld, rows, h, kv, hd, pk, pv, cap, start);
    // Back to [kv, cap, hd] from the panel layouts (keys: panels of 8 positions, values: of 8 dims).
    const kp = kernels.f32(pk, keys.length);
    const vp = kernels.f32(pv, vals.length);
    const K = new Float32Array(keys.length);
    const V = new Float32Array(vals.length);
    for (let g = 0; g < kv; g++) {
      for (let j = 0; j < cap; j++) {
        for (let d = 0; d < hd; d++) {
          K[(g * cap + j) * hd + d] = kp[g * cap * hd + (Math.floor(j / 8) * hd + d) * 8 + (j % 8)] as number;
          V[(g * cap + j) * hd + d] = vp[g * cap * hd + (Math.floor(d / 8) * cap + j) * 8 + (d % 8)] as number;
        }
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g < kv; g++) {
        for (let d = 0; d < hd; d++) {
          expect(K[(g * cap + start + r) * hd + d]).toBe(qkv[r * ld + (h + g) * hd + d]);
          expect(V[(g * cap + start + r) * hd + d]).toBe(qkv[r * ld + (h + kv + g) * hd + d]);
        }
      }
    }
    const out = kernels.alloc(rows * h * hd * 4);
    const scratch = kernels.alloc(h * rows * cap * 4);
    kernels.parallel('attention', [pqkv, ld, rows, start, window, pk, pv, cap, hd, group, out, h * hd, scratch], h, h);
    const span = start + rows;
    const mask = new Float32Array(rows * span);
    for (let t = 0; t < rows; t++) {
      for (let j = 0; j < span; j++) {
        const p = start + t;
        if (j > p || (window > 0 && j <= p - window)) mask[t * span + j] = -Infinity;
      }
    }
    const expected = tf.tidy(() => {
      const heads: tf.Tensor[] = [];
      for (let i = 0; i < h; i++) {
        const g = Math.floor(i / group);
        const q = tf.slice(tf.tensor2d(qkv, [rows, ld]), [0, i * hd], [rows, hd]);
        const k = tf.slice(tf.tensor3d(K, [kv, cap, hd]), [g, 0, 0], [1, span, hd]).reshape([span, hd]);
        const v = tf.slice(tf.tensor3d(V, [kv, cap, hd]), [g, 0, 0], [1, span, hd]).reshape([span, hd]);
        heads.push(tf.matMul(tf.softmax(tf.add(tf.matMul(q, k, false, true), tf.tensor2d(mask, [rows, span]))), v));
      }
      return tf.concat(heads, 1).dataSync();
    });
    expect(maxRelDiff(kernels.f32(out, rows * h * hd), expected)).toBeLessThan(1e-5);
    [pqkv, pk, pv, out, scratch].forEach((p) => kernels.free(p));
  });
});

describe.each([0, 5])('a decode step of attention (window %i)', (window) => {
  it('gives what the general attention gives for one row, for every head', () => {
    const kernels = CpuKernels.create({ threads: 2 });
    try {
      const h = 6;
      const kv = 2;
      const hd = 16;
      const cap = 24;
      const start = 13;
      const ld = (h + 2 * kv) * hd;
      const pqkv = put(kernels, values(ld, 90));
      const pk = put(kernels, values(kv * cap * hd, 91));
      const pv = put(kernels, values(kv * cap * hd, 92));
      kernels.fn.kv_write(pqkv, ld, 1, h, kv, hd, pk, pv, cap, start);
      const general = kernels.alloc(h * hd * 4);
      const step = kernels.alloc(h * hd * 4);
      const scratch = kernels.alloc(h * cap * 4);
      kernels.parallel('attention', [pqkv, ld, 1, start, window, pk, pv, cap, hd, h / kv, general, h * hd, scratch], h, h);
      kernels.parallel('attention_step', [pqkv, start, window, pk, pv, cap, hd, h / kv, step, scratch], kv, kv);
      expect(maxRelDiff(kernels.f32(step, h * hd), kernels.f32(general, h * hd))).toBeLessThan(1e-6);
    } finally {
      kernels.close();
    }
  });
});

describe('judging whether the workers helped with a job', () => {
  it.each([
    [8, 16, 1, 0.01, 'helped'], // half the chunks each, no wait
    [13, 16, 1, 0.01, 'delayed'], // this thread did 81 %
    [13, 7, 1, 0.01, 'helped'], // too few chunks to judge the share
    [4, 16, 1, 0.5, 'helped'], // a wait of 2 of its chunks
    [4, 16, 1, 0.9, 'delayed'], // a wait of 3.6 of its chunks
    [16, 16, 0.1, 0.05, 'unjudged'], // too short a job
  ] as const)('%i of %i chunks, %f ms of work, %f ms waiting: %s', (own, chunks, worked, waited, verdict) => {
    expect(judgeJob(own, chunks, worked, waited)).toBe(verdict);
  });
});

describe("the CPU kernels' memory", () => {
  it('reuses freed blocks, merging neighbours, so that a steady workload does not grow it', () => {
    const kernels = CpuKernels.create({ threads: 1 });
    try {
      const a = kernels.alloc(1000);
      const b = kernels.alloc(5000);
      const c = kernels.alloc(100);
      expect(a % 64).toBe(0);
      expect(b % 64).toBe(0);
      expect(kernels.allocated).toBe(1024 + 5056 + 128);
      const size = kernels.memoryBytes;
      kernels.free(a);
      kernels.free(b);
      // a and b merged: a block of their joint size fits where they were.
      expect(kernels.alloc(6080)).toBe(a);
      kernels.free(a);
      kernels.free(c);
      expect(kernels.allocated).toBe(0);
      for (let i = 0; i < 1000; i++) {
        const x = kernels.alloc(3000 + (i % 7) * 100);
        const y = kernels.alloc(200);
        kernels.free(x);
        kernels.free(y);
      }
      expect(kernels.memoryBytes).toBe(size);
      expect(kernels.allocated).toBe(0);
      expect(() => kernels.free(12345)).toThrow('The CPU kernel memory has no block at 12345.');
    } finally {
      kernels.close();
    }
  });

  it('refuses a block past the wasm32 limit with the sizes, instead of corrupting memory', () => {
    const kernels = CpuKernels.create({ threads: 1 });
    try {
      const error = (() => {
        try {
          kernels.alloc(KERNEL_MEMORY_MAX_BYTES);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(HeapBudgetExceededError);
      expect(error).toMatchObject({ device: 'wasm (fs2 CPU kernels)', what: 'a block of the CPU kernels', neededBytes: KERNEL_MEMORY_MAX_BYTES });
      expect(kernels.allocated).toBe(0);
    } finally {
      kernels.close();
    }
  });

  it('turns a trap in a kernel (a bad address) into an error, on any thread, and keeps working', () => {
    const kernels = CpuKernels.create({ threads: 2 });
    try {
      const w = kernels.alloc(4 * 8 * 64);
      const c = kernels.alloc(4 * 8 * 64);
      kernels.f32(w, 8 * 64).fill(1);
      // 64 panels read from an input past the end of the memory: every chunk traps.
      expect(() => kernels.matmul(KERNEL_MEMORY_MAX_BYTES - 64, 1, 4, w, 0, c, 64)).toThrow(
        'The CPU kernel matmul failed: memory access out of bounds',
      );
      const a = put(kernels, new Float32Array([1, 2, 3, 4]));
      kernels.matmul(a, 1, 4, w, 0, c, 16);
      expect(kernels.f32(c, 128).every((v) => v === 10)).toBe(true);
    } finally {
      kernels.close();
    }
  });

  it('refuses work after close()', () => {
    const kernels = CpuKernels.create({ threads: 2 });
    kernels.close();
    expect(() => kernels.matmul(0, 1, 1, 0, 0, 0, 1)).toThrow('The CPU kernels are used after close().');
  });
});

/** A row reader over an in-memory row-major [rows, rowLength] array. */
function rowReader(data: Float32Array, rows: number, rowLength: number) {
  return {
    rows,
    rowLength,
    read(start: number, count: number, into: Float32Array) {
      into.set(data.subarray(start * rowLength, (start + count) * rowLength));
    },
  };
}
