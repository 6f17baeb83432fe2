// fs2 CPU kernels: float32 matrix products over weights laid out in panels, and the rest of a
// decoder layer (RMSNorm, rotary, SwiGLU, KV cache, attention), in WebAssembly SIMD (128-bit).
// Compiled by build-kernels.mjs (clang --target=wasm32 -msimd128) into kernelsWasm.ts.
//
// Weight layout ("panels"): a [K, N] weight (fs2's [in, out]) is stored as ceil(N / 8) panels of
// [K, 8] floats, row-major, the last panel zero-padded: element (k, n) is at
// ((n / 8) * K + k) * 8 + n % 8. A panel is one contiguous stream, so a matrix-vector product reads
// the weight front to back at memory speed, and a matrix product reuses an [KC, 8] block of it from
// L1 for every row of the input (no packing per call, no transposed access).
//
// Outputs have a padded row stride (ldc = 8 * panels). The functions that threads share take a
// range of work units last (panels [p0, p1), heads, rows), so that several threads (instances
// sharing one memory) split the work; their other arguments are integers (floats as their bits).
//
// The functions use no stack and no static data: instances on several threads share the memory
// but each has its own globals, so nothing here may depend on __stack_pointer.

#include <wasm_simd128.h>

#define NR 8
// Depth of a block: an [KC, 8] weight block (8 KiB) stays in L1 while every input row passes.
#define KC 256

typedef float f32;

static inline v128_t splat(const f32* p) { return wasm_v128_load32_splat(p); }
static inline v128_t vld(const f32* p) { return wasm_v128_load(p); }
static inline void vst(f32* p, v128_t v) { wasm_v128_store(p, v); }
static inline v128_t fma4(v128_t acc, v128_t a, v128_t b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }

// y[p*8 .. p*8+8) = x . W[:, panel p] (+ bias), for panels [p0, p1). x: [K]; panel p starts at
// W + p * ws (ws = K * 8 for a weight; more for a KV cache laid out in panels of its capacity).
static void matvec_ws(const f32* x, int K, const f32* W, int ws, const f32* bias, f32* y, int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    const f32* w = W + (long)p * ws;
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    int k = 0;
    for (; k + 4 <= K; k += 4, w += 4 * NR) {
      v128_t x0 = splat(x + k), x1 = splat(x + k + 1), x2 = splat(x + k + 2), x3 = splat(x + k + 3);
      a0 = fma4(a0, x0, vld(w));
      a1 = fma4(a1, x0, vld(w + 4));
      a2 = fma4(a2, x1, vld(w + 8));
      a3 = fma4(a3, x1, vld(w + 12));
      a4 = fma4(a4, x2, vld(w + 16));
      a5 = fma4(a5, x2, vld(w + 20));
      a6 = fma4(a6, x3, vld(w + 24));
      a7 = fma4(a7, x3, vld(w + 28));
    }
    for (; k < K; k++, w += NR) {
      v128_t x0 = splat(x + k);
      a0 = fma4(a0, x0, vld(w));
      a1 = fma4(a1, x0, vld(w + 4));
    }
    v128_t r0 = wasm_f32x4_add(wasm_f32x4_add(a0, a2), wasm_f32x4_add(a4, a6));
    v128_t r1 = wasm_f32x4_add(wasm_f32x4_add(a1, a3), wasm_f32x4_add(a5, a7));
    if (bias) {
      r0 = wasm_f32x4_add(r0, vld(bias + p * NR));
      r1 = wasm_f32x4_add(r1, vld(bias + p * NR + 4));
    }
    vst(y + p * NR, r0);
    vst(y + p * NR + 4, r1);
  }
}

// C[4 rows, 8 cols] (+)= A[4 rows, kc] . B[kc, 8]. first: start from the bias (or 0), else from C.
static inline void block4(const f32* A, int lda, const f32* B, int kc, f32* C, int ldc, int first, const f32* bias) {
  v128_t c00, c01, c10, c11, c20, c21, c30, c31;
  if (first) {
    v128_t b0 = bias ? vld(bias) : wasm_f32x4_splat(0);
    v128_t b1 = bias ? vld(bias + 4) : wasm_f32x4_splat(0);
    c00 = c10 = c20 = c30 = b0;
    c01 = c11 = c21 = c31 = b1;
  } else {
    c00 = vld(C); c01 = vld(C + 4);
    c10 = vld(C + ldc); c11 = vld(C + ldc + 4);
    c20 = vld(C + 2 * ldc); c21 = vld(C + 2 * ldc + 4);
    c30 = vld(C + 3 * ldc); c31 = vld(C + 3 * ldc + 4);
  }
  const f32* a0 = A;
  const f32* a1 = A + lda;
  const f32* a2 = A + 2 * lda;
  const f32* a3 = A + 3 * lda;
  for (int k = 0; k < kc; k++, B += NR) {
    v128_t b0 = vld(B), b1 = vld(B + 4);
    v128_t x;
    x = splat(a0 + k); c00 = fma4(c00, x, b0); c01 = fma4(c01, x, b1);
    x = splat(a1 + k); c10 = fma4(c10, x, b0); c11 = fma4(c11, x, b1);
    x = splat(a2 + k); c20 = fma4(c20, x, b0); c21 = fma4(c21, x, b1);
    x = splat(a3 + k); c30 = fma4(c30, x, b0); c31 = fma4(c31, x, b1);
  }
  vst(C, c00); vst(C + 4, c01);
  vst(C + ldc, c10); vst(C + ldc + 4, c11);
  vst(C + 2 * ldc, c20); vst(C + 2 * ldc + 4, c21);
  vst(C + 3 * ldc, c30); vst(C + 3 * ldc + 4, c31);
}

// C[1 row, 8 cols] (+)= A[1, kc] . B[kc, 8].
static inline void block1(const f32* A, const f32* B, int kc, f32* C, int first, const f32* bias) {
  v128_t c0, c1, d0 = wasm_f32x4_splat(0), d1 = d0;
  if (first) {
    c0 = bias ? vld(bias) : wasm_f32x4_splat(0);
    c1 = bias ? vld(bias + 4) : wasm_f32x4_splat(0);
  } else {
    c0 = vld(C);
    c1 = vld(C + 4);
  }
  int k = 0;
  for (; k + 2 <= kc; k += 2, B += 2 * NR) {
    v128_t x0 = splat(A + k), x1 = splat(A + k + 1);
    c0 = fma4(c0, x0, vld(B)); c1 = fma4(c1, x0, vld(B + 4));
    d0 = fma4(d0, x1, vld(B + 8)); d1 = fma4(d1, x1, vld(B + 12));
  }
  for (; k < kc; k++, B += NR) {
    v128_t x0 = splat(A + k);
    c0 = fma4(c0, x0, vld(B)); c1 = fma4(c1, x0, vld(B + 4));
  }
  vst(C, wasm_f32x4_add(c0, d0));
  vst(C + 4, wasm_f32x4_add(c1, d1));
}

// C[M, panels p0..p1) = A[M, K] . W (+ bias): A's rows are lda floats apart, W's panels ws
// floats apart, C's rows ldc floats apart (panel p fills C's columns [8p, 8p + 8)).
static void gemm(const f32* A, int lda, int M, int K, const f32* W, int ws, const f32* bias, f32* C, int ldc, int p0, int p1) {
  if (M == 1) {
    matvec_ws(A, K, W, ws, bias, C, p0, p1);
    return;
  }
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    int first = k0 == 0;
    for (int p = p0; p < p1; p++) {
      const f32* B = W + (long)p * ws + (long)k0 * NR;
      const f32* pb = bias ? bias + p * NR : 0;
      f32* Cp = C + p * NR;
      int i = 0;
      for (; i + 4 <= M; i += 4) {
        block4(A + (long)i * lda + k0, lda, B, kc, Cp + (long)i * ldc, ldc, first, pb);
      }
      for (; i < M; i++) {
        block1(A + (long)i * lda + k0, B, kc, Cp + (long)i * ldc, first, pb);
      }
    }
  }
}

// C[M, panels p0..p1) = A[M, K] . W (+ bias) for a weight of K rows (panels K * 8 floats apart);
// C's row stride is ldc (8 * panels).
__attribute__((export_name("matmul")))
void matmul(const f32* A, int M, int K, const f32* W, const f32* bias, f32* C, int ldc, int p0, int p1) {
  gemm(A, K, M, K, W, K * NR, bias, C, ldc, p0, p1);
}

static inline f32 from_bits(int bits) { return __builtin_bit_cast(f32, bits); }

// Packs rows [k0, k1) of a row-major [K, cols] block (fs2 [in, out]) into the panels of a weight of
// K rows, at columns [col, col + cols), each value multiplied by scale (float bits). Row k is at
// src + (k - src_row) * cols: src holds rows from src_row on (a chunk read from a file).
__attribute__((export_name("pack_in_out")))
void pack_in_out(const f32* src, int src_row, int K, int cols, f32* W, int col, int scale_bits, int k0, int k1) {
  f32 scale = from_bits(scale_bits);
  for (int k = k0; k < k1; k++) {
    const f32* s = src + (long)(k - src_row) * cols;
    for (int c = 0; c < cols; c++) {
      int n = col + c;
      W[((long)(n / NR) * K + k) * NR + n % NR] = s[c] * scale;
    }
  }
}

// Packs rows [r0, r1) of a row-major [rows, K] block (PyTorch [out, in]) into the panels of a
// weight of K rows, as its columns col + r, each value multiplied by scale (float bits). Row r is
// at src + (r - src_row) * K. Eight rows that fill one panel go together: 8 x 4 blocks are
// transposed in registers and stored as whole panel rows.
__attribute__((export_name("pack_out_in")))
void pack_out_in(const f32* src, int src_row, int K, f32* W, int col, int scale_bits, int r0, int r1) {
  f32 scale = from_bits(scale_bits);
  v128_t vs = wasm_f32x4_splat(scale);
  int r = r0;
  while (r < r1) {
    int n = col + r;
    if (n % NR == 0 && r + NR <= r1 && (K & 3) == 0) {
      f32* dst = W + (long)(n / NR) * K * NR;
      const f32* s0 = src + (long)(r - src_row) * K;
      for (int k = 0; k < K; k += 4) {
        v128_t a0 = vld(s0 + k), a1 = vld(s0 + K + k), a2 = vld(s0 + 2 * K + k), a3 = vld(s0 + 3 * K + k);
        v128_t a4 = vld(s0 + 4 * K + k), a5 = vld(s0 + 5 * K + k), a6 = vld(s0 + 6 * K + k), a7 = vld(s0 + 7 * K + k);
        // 4x4 transposes of rows 0-3 and 4-7: column j of each becomes panel row k + j.
        v128_t t0 = wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7);
        v128_t t2 = wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7);
        v128_t u0 = wasm_i32x4_shuffle(a4, a5, 0, 4, 1, 5), u1 = wasm_i32x4_shuffle(a4, a5, 2, 6, 3, 7);
        v128_t u2 = wasm_i32x4_shuffle(a6, a7, 0, 4, 1, 5), u3 = wasm_i32x4_shuffle(a6, a7, 2, 6, 3, 7);
        f32* d = dst + (long)k * NR;
        vst(d, wasm_f32x4_mul(wasm_i64x2_shuffle(t0, t2, 0, 2), vs));
        vst(d + 4, wasm_f32x4_mul(wasm_i64x2_shuffle(u0, u2, 0, 2), vs));
        vst(d + 8, wasm_f32x4_mul(wasm_i64x2_shuffle(t0, t2, 1, 3), vs));
        vst(d + 12, wasm_f32x4_mul(wasm_i64x2_shuffle(u0, u2, 1, 3), vs));
        vst(d + 16, wasm_f32x4_mul(wasm_i64x2_shuffle(t1, t3, 0, 2), vs));
        vst(d + 20, wasm_f32x4_mul(wasm_i64x2_shuffle(u1, u3, 0, 2), vs));
        vst(d + 24, wasm_f32x4_mul(wasm_i64x2_shuffle(t1, t3, 1, 3), vs));
        vst(d + 28, wasm_f32x4_mul(wasm_i64x2_shuffle(u1, u3, 1, 3), vs));
      }
      r += NR;
      continue;
    }
    f32* dst = W + (long)(n / NR) * K * NR + n % NR;
    const f32* s = src + (long)(r - src_row) * K;
    for (int k = 0; k < K; k++) dst[k * NR] = s[k] * scale;
    r++;
  }
}

// The inverse of pack_in_out for a whole block: panels columns [col, col + cols) -> [K, cols].
__attribute__((export_name("unpack_in_out")))
void unpack_in_out(const f32* W, int K, int cols, f32* dst, int col) {
  for (int k = 0; k < K; k++) {
    for (int c = 0; c < cols; c++) {
      int n = col + c;
      dst[(long)k * cols + c] = W[((long)(n / NR) * K + k) * NR + n % NR];
    }
  }
}

// ---- The rest of a decoder layer, so that a CPU forward pass never leaves this memory ----

static inline v128_t splatf(f32 v) { return wasm_f32x4_splat(v); }

static inline f32 hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

// exp(x), 4 lanes: x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two for exactness), exp(r) by
// Cephes' expf polynomial (relative error ~2e-7), 2^n assembled in the exponent bits. x is clamped
// to [-87.3, 88.7], so exp of anything smaller is ~1e-38 (0 for a softmax) and of anything larger
// is FLT_MAX-ish rather than inf.
static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_min(x, splatf(88.72283f));
  x = wasm_f32x4_max(x, splatf(-87.33654f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, splatf(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, splatf(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, splatf(-2.12194440e-4f)));
  v128_t p = splatf(1.9875691500E-4f);
  p = fma4(splatf(1.3981999507E-3f), p, r);
  p = fma4(splatf(8.3334519073E-3f), p, r);
  p = fma4(splatf(4.1665795894E-2f), p, r);
  p = fma4(splatf(1.6666665459E-1f), p, r);
  p = fma4(splatf(5.0000001201E-1f), p, r);
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), splatf(1.0f));
  v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, e);
}

static inline f32 exp1(f32 x) { return wasm_f32x4_extract_lane(exp4(splatf(x)), 0); }

// Sum of squares of n floats.
static inline f32 sumsq(const f32* x, int n) {
  v128_t a0 = splatf(0), a1 = a0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    v128_t u = vld(x + i), v = vld(x + i + 4);
    a0 = fma4(a0, u, u);
    a1 = fma4(a1, v, v);
  }
  f32 s = hsum(wasm_f32x4_add(a0, a1));
  for (; i < n; i++) s += x[i] * x[i];
  return s;
}

// out = x * (1 / sqrt(mean(x^2) + eps)) * w over n floats (x and out may be the same).
static inline void norm_row(const f32* x, f32* out, const f32* w, int n, f32 eps) {
  f32 inv = 1.0f / __builtin_sqrtf(sumsq(x, n) / (f32)n + eps);
  v128_t vi = splatf(inv);
  int i = 0;
  for (; i + 4 <= n; i += 4) vst(out + i, wasm_f32x4_mul(wasm_f32x4_mul(vld(x + i), vi), vld(w + i)));
  for (; i < n; i++) out[i] = x[i] * inv * w[i];
}

// RMSNorm of rows [r0, r1): out[r] = norm(x[r]) * w, rows of dim floats, strides ldx and ldo.
__attribute__((export_name("rmsnorm")))
void rmsnorm(const f32* x, int ldx, f32* out, int ldo, const f32* w, int dim, f32 eps, int r0, int r1) {
  for (int r = r0; r < r1; r++) norm_row(x + (long)r * ldx, out + (long)r * ldo, w, dim, eps);
}

// RMSNorm over each of the first `heads` heads (hd floats each) of rows [0, rows), in place, head h
// with the gains w[h * hd ..] (q and k norms, the softmax scale folded into the q gains).
__attribute__((export_name("head_norm")))
void head_norm(f32* x, int ldx, int rows, int heads, int hd, const f32* w, f32 eps) {
  for (int r = 0; r < rows; r++) {
    for (int h = 0; h < heads; h++) {
      f32* p = x + (long)r * ldx + h * hd;
      norm_row(p, p, w + h * hd, hd, eps);
    }
  }
}

// Rotary encoding in the rotate-half layout, in place on the first `heads` heads of rows [0, rows):
// x'[j] = x[j] cos[j] - x[j + h] sin[j], x'[j + h] = x[j + h] cos[j + h] + x[j] sin[j + h], with
// the tables [rows, hd] of the rows' positions.
__attribute__((export_name("rope")))
void rope(f32* x, int ldx, int rows, int heads, int hd, const f32* cos, const f32* sin) {
  int half = hd / 2;
  for (int r = 0; r < rows; r++) {
    const f32* c = cos + (long)r * hd;
    const f32* s = sin + (long)r * hd;
    for (int h = 0; h < heads; h++) {
      f32* p = x + (long)r * ldx + h * hd;
      int j = 0;
      if ((half & 3) == 0) {
        for (; j < half; j += 4) {
          v128_t a = vld(p + j), b = vld(p + j + half);
          vst(p + j, wasm_f32x4_sub(wasm_f32x4_mul(a, vld(c + j)), wasm_f32x4_mul(b, vld(s + j))));
          vst(p + j + half, wasm_f32x4_add(wasm_f32x4_mul(b, vld(c + j + half)), wasm_f32x4_mul(a, vld(s + j + half))));
        }
      }
      for (; j < half; j++) {
        f32 a = p[j], b = p[j + half];
        p[j] = a * c[j] - b * s[j];
        p[j + half] = b * c[j + half] + a * s[j + half];
      }
    }
  }
}

// out[r, :F] = silu(gu[r, :F]) * gu[r, F:2F] (SwiGLU), silu(g) = g / (1 + exp(-g)).
__attribute__((export_name("silu_mul")))
void silu_mul(const f32* gu, int ld, int rows, int F, f32* out, int ldo) {
  for (int r = 0; r < rows; r++) {
    const f32* g = gu + (long)r * ld;
    const f32* u = g + F;
    f32* o = out + (long)r * ldo;
    int i = 0;
    for (; i + 4 <= F; i += 4) {
      v128_t gv = vld(g + i);
      v128_t sig = wasm_f32x4_div(splatf(1.0f), wasm_f32x4_add(splatf(1.0f), exp4(wasm_f32x4_neg(gv))));
      vst(o + i, wasm_f32x4_mul(wasm_f32x4_mul(gv, sig), vld(u + i)));
    }
    for (; i < F; i++) o[i] = g[i] / (1.0f + exp1(-g[i])) * u[i];
  }
}

// x[r, :cols] += y[r, :cols] for rows [0, rows).
__attribute__((export_name("add_rows")))
void add_rows(f32* x, int ldx, const f32* y, int ldy, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    f32* a = x + (long)r * ldx;
    const f32* b = y + (long)r * ldy;
    int i = 0;
    for (; i + 4 <= cols; i += 4) vst(a + i, wasm_f32x4_add(vld(a + i), vld(b + i)));
    for (; i < cols; i++) a[i] += b[i];
  }
}

// The KV cache of one layer and key/value head, laid out for the product kernels (cap: the
// capacity rounded up to a multiple of 8):
//   keys   [cap / 8][hd][8]: panels of 8 positions, so the scores q . K^T are a product by a
//          weight of hd rows (position j is column j);
//   values [hd / 8][cap][8]: panels of 8 head dims, so p . V is a product by a weight of cap
//          rows (rows beyond the positions in use have probability 0).

// Writes the keys and values of rows [0, rows) (positions start ..) from the fused q/k/v rows
// (q: heads H, then k and v: KV heads each, hd floats per head) into the cache of one layer (K and
// V: KV heads, each kvs floats apart).
__attribute__((export_name("kv_write")))
void kv_write(const f32* qkv, int ld, int rows, int H, int KV, int hd, f32* K, f32* V, int cap, int start) {
  long kvs = (long)cap * hd;
  for (int r = 0; r < rows; r++) {
    const f32* k = qkv + (long)r * ld + H * hd;
    const f32* v = k + KV * hd;
    int j = start + r;
    for (int g = 0; g < KV; g++) {
      f32* kd = K + g * kvs + (long)(j / NR) * hd * NR + j % NR;
      const f32* ks = k + g * hd;
      for (int d = 0; d < hd; d++) kd[d * NR] = ks[d];
      f32* vd = V + g * kvs + (long)j * NR;
      const f32* vs = v + g * hd;
      for (int d = 0; d < hd; d += NR) __builtin_memcpy(vd + (long)(d / NR) * cap * NR, vs + d, NR * 4);
    }
  }
}

// softmax over row[a, b) in place, 0 elsewhere in [0, n).
static void softmax_range(f32* row, int a, int b, int n) {
  f32 mx = -3.4e38f;
  for (int j = a; j < b; j++) mx = row[j] > mx ? row[j] : mx;
  for (int j = 0; j < a; j++) row[j] = 0;
  v128_t vmx = splatf(mx), vs = splatf(0);
  int j = a;
  for (; j + 4 <= b; j += 4) {
    v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(row + j), vmx));
    wasm_v128_store(row + j, e);
    vs = wasm_f32x4_add(vs, e);
  }
  f32 sum = hsum(vs);
  for (; j < b; j++) {
    f32 e = exp1(row[j] - mx);
    row[j] = e;
    sum += e;
  }
  f32 inv = 1.0f / sum;
  v128_t vinv = splatf(inv);
  for (j = a; j + 4 <= b; j += 4) wasm_v128_store(row + j, wasm_f32x4_mul(wasm_v128_load(row + j), vinv));
  for (; j < b; j++) row[j] *= inv;
  for (j = b; j < n; j++) row[j] = 0;
}

// Query rows per attention tile: bounds the scores scratch at TB * cap floats per query head.
#define TB 64

// Causal attention of query heads [h0, h1) over rows [0, rows) (positions start ..): for row t
// (position p = start + t) and head h (key/value head g = h / group), out[t, h] =
// softmax(q . K[g, lo..p]^T) V[g, lo..p], lo = max(0, p - window + 1) (window 0: lo = 0). q comes
// from the fused rows (already normalised, rotated and scaled); K and V are the layer's cache (see
// kv_write). Scores and their product by V are panel products, tile by tile of TB rows; scratch
// holds min(rows, TB) * cap floats per query head. hd is a multiple of 8.
__attribute__((export_name("attention")))
void attention(const f32* qkv, int ld, int rows, int start, int window, const f32* K, const f32* V, int cap, int hd,
               int group, f32* out, int ldo, f32* scratch, int h0, int h1) {
  long kvs = (long)cap * hd;
  for (int h = h0; h < h1; h++) {
    int g = h / group;
    const f32* Kg = K + g * kvs;
    const f32* Vg = V + g * kvs;
    f32* S = scratch + (long)h * (rows < TB ? rows : TB) * cap;
    for (int t0 = 0; t0 < rows; t0 += TB) {
      int tb = rows - t0 < TB ? rows - t0 : TB;
      int first = start + t0;
      int lo0 = window > 0 && first - window + 1 > 0 ? first - window + 1 : 0;
      int k0 = lo0 / NR * NR;                  // first key of the tile's panels
      int end = start + t0 + tb;               // one past the last key of the tile
      int np = (end - k0 + NR - 1) / NR;       // key panels
      int span = np * NR;
      // S[tb, span] = Q . K[k0 ..]^T
      gemm(qkv + (long)t0 * ld + h * hd, ld, tb, hd, Kg + (long)(k0 / NR) * hd * NR, hd * NR, 0, S, span, 0, np);
      for (int t = 0; t < tb; t++) {
        int p = first + t;
        int lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
        softmax_range(S + (long)t * span, lo - k0, p - k0 + 1, span);
      }
      // out[t0 .., h] = P[tb, span] . V[k0 .., :]
      gemm(S, span, tb, span, Vg + (long)k0 * NR, cap * NR, 0, out + (long)t0 * ldo + h * hd, ldo, 0, hd / NR);
    }
  }
}

// attention for one row (a decode step at position p = start) and key/value heads [g0, g1): the
// `group` query heads of a key/value head are consecutive in the row, so they are the rows of one
// product and the head's keys and values are read once for all of them. scratch holds
// group * cap floats per key/value head.
__attribute__((export_name("attention_step")))
void attention_step(const f32* qkv, int start, int window, const f32* K, const f32* V, int cap, int hd, int group,
                    f32* out, f32* scratch, int g0, int g1) {
  long kvs = (long)cap * hd;
  int p = start;
  int lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
  int k0 = lo / NR * NR;
  int np = (p + 1 - k0 + NR - 1) / NR;
  int span = np * NR;
  for (int g = g0; g < g1; g++) {
    f32* S = scratch + (long)g * group * cap;
    gemm(qkv + (long)g * group * hd, hd, group, hd, K + g * kvs + (long)(k0 / NR) * hd * NR, hd * NR, 0, S, span, 0, np);
    for (int i = 0; i < group; i++) softmax_range(S + (long)i * span, lo - k0, p - k0 + 1, span);
    gemm(S, span, group, span, V + g * kvs + (long)k0 * NR, cap * NR, 0, out + (long)g * group * hd, hd, 0, hd / NR);
  }
}
