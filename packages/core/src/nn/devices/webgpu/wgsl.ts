/**
 * The WGSL compute shaders of the `webgpu` decoder runtime. float32 throughout (WebGPU's only
 * storage float type without the optional `shader-f16` feature).
 *
 * Layouts: activations are row-major `[rows, width]` with rows batch-major (`b * seqLen + t`);
 * linear weights are `[out, in]` ("NT": every output feature is one contiguous row, so a
 * matrix-vector product streams each row once and reduces it inside a workgroup); the KV cache is
 * `[batch * kvHeads, capacity, headDim]` per layer. Every kernel that depends on where a run sits
 * reads the `Step` uniform, written once per submitted run.
 *
 * @module
 */

/** The per-run uniform every position-dependent kernel reads. */
const STEP = /* wgsl */ `
struct Step {
  rows: u32,    // batch * seqLen
  seqLen: u32,  // positions per sequence in this run
  batch: u32,   // sequences
  start: u32,   // position of the run's first token
}`;

/** Threads per row of the matrix-vector kernel, and rows per workgroup. */
export const GEMV_THREADS_PER_ROW = 64;
export const GEMV_ROWS_PER_WORKGROUP = 4;

/** What a linear kernel does with its result. */
export type Epilogue = 'store' | 'bias' | 'accumulate';

function epilogue(kind: Epilogue, index: string, value: string, biasIndex: string): string {
  switch (kind) {
    case 'store':
      return `y[${index}] = ${value};`;
    case 'bias':
      return `y[${index}] = ${value} + bias[${biasIndex}];`;
    case 'accumulate':
      return `y[${index}] = y[${index}] + ${value};`;
  }
}

/**
 * `y[outOffset + n] (=, +=, = ... + bias) x · W[n, :]` for the rows `n` of one weight chunk, one
 * input row: decode's matrix-vector products. Each workgroup reduces {@link GEMV_ROWS_PER_WORKGROUP}
 * rows, {@link GEMV_THREADS_PER_ROW} threads per row striding over `K` (vec4 loads when `K % 4 == 0`),
 * then a tree reduction in workgroup memory. Workgroups are laid out 2-D (x fastest) to stay within
 * `maxComputeWorkgroupsPerDimension`.
 *
 * With `swiglu`, `y[outOffset + n] = silu(x · G[n, :]) * (x · U[n, :])` from two weights (gate, up).
 */
export function gemvShader(options: { vec4: boolean; epilogue: Epilogue; swiglu: boolean }): string {
  const { vec4, swiglu } = options;
  const t = vec4 ? 'vec4<f32>' : 'f32';
  const mul = (a: string, b: string): string => (vec4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
  const width = vec4 ? 'p.K / 4u' : 'p.K';
  const T = GEMV_THREADS_PER_ROW;
  const R = GEMV_ROWS_PER_WORKGROUP;
  const bindings = swiglu
    ? `@group(0) @binding(2) var<storage, read> w: array<${t}>;
@group(0) @binding(3) var<storage, read> w2: array<${t}>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;`
    : `@group(0) @binding(2) var<storage, read> w: array<${t}>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;${options.epilogue === 'bias' ? `\n@group(0) @binding(4) var<storage, read> bias: array<f32>;` : ''}`;
  return /* wgsl */ `
struct P { K: u32, N: u32, outOffset: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
${bindings}
var<workgroup> red: array<f32, ${T * R}>;
${swiglu ? `var<workgroup> red2: array<f32, ${T * R}>;` : ''}

@compute @workgroup_size(${T}, ${R})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = (wid.x + wid.y * nwg.x) * ${R}u;
  if (row0 >= p.N) { return; }
  let n = row0 + lid.y;
  let k = ${width};
  var acc = 0.0;
  ${swiglu ? 'var acc2 = 0.0;' : ''}
  if (n < p.N) {
    let base = n * k;
    for (var i = lid.x; i < k; i += ${T}u) {
      let xv = x[i];
      acc += ${mul('w[base + i]', 'xv')};
      ${swiglu ? `acc2 += ${mul('w2[base + i]', 'xv')};` : ''}
    }
  }
  let slot = lid.y * ${T}u + lid.x;
  red[slot] = acc;
  ${swiglu ? 'red2[slot] = acc2;' : ''}
  workgroupBarrier();
  for (var s = ${T / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      red[slot] += red[slot + s];
      ${swiglu ? 'red2[slot] += red2[slot + s];' : ''}
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && n < p.N) {
    ${
      swiglu
        ? `let g = red[slot];
    y[p.outOffset + n] = g / (1.0 + exp(-g)) * red2[slot];`
        : epilogue(options.epilogue, 'p.outOffset + n', 'red[slot]', 'p.outOffset + n')
    }
  }
}`;
}

/** Output tile of the matrix-matrix kernel: columns, and rows per thread row (tiles of `16 * rowsPerThread` rows). */
export const GEMM_TILE = 64;
const GEMM_DEPTH = 16;

/**
 * `y[m, outOffset + n] (=, +=, = ... + bias) A[m, :] · W[n, :]` for every row `m` of the run (or of
 * the batch, `mSel = 1`) and the rows `n` of one weight chunk: prefill's matrix products. Tiles of
 * `16 * rowsPerThread` rows by 64 columns, 16 deep, 256 threads computing `rowsPerThread x 4` each
 * from vector tiles in workgroup memory. `rowsPerThread` 2 (32-row tiles) doubles the workgroups
 * of a small product (a 2048-wide projection of 128 positions) so that it fills the GPU.
 */
export function gemmShader(options: { epilogue: Epilogue; rowsPerThread: 2 | 4 }): string {
  const T = GEMM_TILE;
  const D = GEMM_DEPTH;
  const R = options.rowsPerThread;
  const BM = 16 * R;
  const vec = `vec${R}<f32>`;
  return /* wgsl */ `
${STEP}
struct P { K: u32, N: u32, outOffset: u32, ldy: u32, mSel: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${options.epilogue === 'bias' ? '@group(0) @binding(5) var<storage, read> bias: array<f32>;' : ''}
// A: [depth][${BM} / ${R}] vectors, element (k, r) at [k * 16 + r / ${R}][r % ${R}]; W likewise with 4.
var<workgroup> As: array<${vec}, ${D * 16}>;
var<workgroup> Ws: array<vec4<f32>, ${D * (T / 4)}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = select(step.rows, step.batch, p.mSel == 1u);
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${T}u;
  if (m0 >= M || n0 >= p.N) { return; }
  let tid = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, ${R}>;
  for (var k0 = 0u; k0 < p.K; k0 += ${D}u) {
    for (var i = 0u; i < ${(BM * D) / 256}u; i++) {
      let e = tid + i * 256u;
      let r = e / ${D}u;
      let c = e % ${D}u;
      let k = k0 + c;
      var av = 0.0;
      let m = m0 + r;
      if (m < M && k < p.K) { av = a[m * p.K + k]; }
      As[c * 16u + r / ${R}u][r % ${R}u] = av;
    }
    for (var i = 0u; i < ${(T * D) / 256}u; i++) {
      let e = tid + i * 256u;
      let r = e / ${D}u;
      let c = e % ${D}u;
      let k = k0 + c;
      var wv = 0.0;
      let n = n0 + r;
      if (n < p.N && k < p.K) { wv = w[n * p.K + k]; }
      Ws[c * ${T / 4}u + r / 4u][r % 4u] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${D}u; kk++) {
      let av = As[kk * 16u + lid.y];
      let wv = Ws[kk * ${T / 4}u + lid.x];
${Array.from({ length: R }, (_, i) => `      acc[${i}] += av[${i}] * wv;`).join('\n')}
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${R}u; i++) {
    let m = m0 + lid.y * ${R}u + i;
    if (m < M) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + lid.x * 4u + j;
        if (n < p.N) {
          ${epilogue(options.epilogue, 'm * p.ldy + p.outOffset + n', 'acc[i][j]', 'p.outOffset + n')}
        }
      }
    }
  }
}`;
}

/**
 * Token embedding: `x[r, :] = table[ids[r] - vocabStart, :]` for the ids that fall in this chunk of
 * the table (a table larger than one binding is split by rows, one dispatch per chunk).
 */
export const EMBED_SHADER = /* wgsl */ `
${STEP}
struct P { dim: u32, vocabStart: u32, vocabCount: u32, pad: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let r = g.y;
  let c = g.x;
  if (r >= step.rows || c >= p.dim) { return; }
  let id = ids[r];
  if (id < p.vocabStart || id >= p.vocabStart + p.vocabCount) { return; }
  x[r * p.dim + c] = table[(id - p.vocabStart) * p.dim + c];
}`;

/**
 * RMSNorm of rows: `y[r] = x[s] / sqrt(mean(x[s]²) + eps) * w`, one workgroup per row, where `s = r`
 * (`lastOnly = 0`, every row of the run) or the last position of sequence `r` (`lastOnly = 1`).
 */
export const RMSNORM_SHADER = /* wgsl */ `
${STEP}
struct P { dim: u32, eps: f32, lastOnly: u32, pad: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wid.x;
  let rows = select(step.rows, step.batch, p.lastOnly == 1u);
  if (r >= rows) { return; }
  let src = select(r, r * step.seqLen + step.seqLen - 1u, p.lastOnly == 1u) * p.dim;
  var ss = 0.0;
  for (var i = lid.x; i < p.dim; i += 256u) {
    let v = x[src + i];
    ss += v * v;
  }
  red[lid.x] = ss;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) { red[lid.x] += red[lid.x + s]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(red[0] / f32(p.dim) + p.eps);
  for (var i = lid.x; i < p.dim; i += 256u) {
    y[r * p.dim + i] = x[src + i] * inv * w[i];
  }
}`;

/**
 * After the fused q/k/v projection, per row and head slot (`[0, heads)`: q; then k; then v): the
 * optional q/k RMSNorm over the head (gains `norms[0 .. d)` for q, pre-multiplied by the softmax
 * scale, `norms[d .. 2d)` for k), rotary encoding in the rotate-half layout from the host-computed
 * `rope[position][j] = (cos, sin)`, then q written back in place and k, v written into the cache at
 * the row's position.
 */
export const QKV_POST_SHADER = /* wgsl */ `
${STEP}
struct P { heads: u32, kvHeads: u32, headDim: u32, qkvWidth: u32, capacity: u32, hasNorm: u32, eps: f32, pad: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> kc: array<f32>;
@group(0) @binding(4) var<storage, read_write> vc: array<f32>;
@group(0) @binding(5) var<storage, read> rope: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> norms: array<f32>;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let s = wid.x;
  let m = wid.y;
  if (m >= step.rows) { return; }
  let b = m / step.seqLen;
  let pos = step.start + m % step.seqLen;
  let d = p.headDim;
  let half = d / 2u;
  let base = m * p.qkvWidth + s * d;
  if (s >= p.heads + p.kvHeads) {
    let dst = ((b * p.kvHeads + s - p.heads - p.kvHeads) * p.capacity + pos) * d;
    for (var j = lid.x; j < d; j += 64u) { vc[dst + j] = qkv[base + j]; }
    return;
  }
  let isQ = s < p.heads;
  var inv = 1.0;
  if (p.hasNorm == 1u) {
    var ss = 0.0;
    for (var j = lid.x; j < d; j += 64u) {
      let v = qkv[base + j];
      ss += v * v;
    }
    red[lid.x] = ss;
    workgroupBarrier();
    for (var r = 32u; r > 0u; r >>= 1u) {
      if (lid.x < r) { red[lid.x] += red[lid.x + r]; }
      workgroupBarrier();
    }
    inv = inverseSqrt(red[0] / f32(d) + p.eps);
  }
  let gainBase = select(d, 0u, isQ);
  let kdst = ((b * p.kvHeads + s - p.heads) * p.capacity + pos) * d;
  for (var j = lid.x; j < half; j += 64u) {
    var a = qkv[base + j];
    var c = qkv[base + j + half];
    if (p.hasNorm == 1u) {
      a = a * inv * norms[gainBase + j];
      c = c * inv * norms[gainBase + j + half];
    }
    let cs = rope[pos * half + j];
    let a2 = a * cs.x - c * cs.y;
    let c2 = c * cs.x + a * cs.y;
    if (isQ) {
      qkv[base + j] = a2;
      qkv[base + j + half] = c2;
    } else {
      kc[kdst + j] = a2;
      kc[kdst + j + half] = c2;
    }
  }
}`;

/** Keys per block of the attention kernel (= its threads). */
const ATTENTION_BLOCK = 64;

/**
 * Causal grouped-query attention with an optional sliding window, one workgroup per (query head,
 * row): the row's query (scaled and rotated in place by {@link QKV_POST_SHADER}) against the cached
 * keys `max(0, pos - window + 1) ..= pos` of its kv head (`h / group`), in blocks of 64 keys with an
 * online softmax (running max and sum, Milakov & Gimelshein 2018, arXiv:1805.02867), accumulating
 * the values. `dimsPerThread = ceil(headDim / 64)`.
 */
export function attentionShader(dimsPerThread: number): string {
  const B = ATTENTION_BLOCK;
  return /* wgsl */ `
${STEP}
struct P { heads: u32, kvHeads: u32, headDim: u32, qkvWidth: u32, capacity: u32, window: u32, group: u32, pad: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<f32>;
@group(0) @binding(4) var<storage, read> vc: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
var<workgroup> qs: array<f32, ${64 * dimsPerThread}>;
var<workgroup> ps: array<f32, ${B}>;
var<workgroup> red: array<f32, ${B}>;

@compute @workgroup_size(${B})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.x;
  let m = wid.y;
  if (m >= step.rows) { return; }
  let d = p.headDim;
  let b = m / step.seqLen;
  let pos = step.start + m % step.seqLen;
  let kvRow = (b * p.kvHeads + h / p.group) * p.capacity;
  let kEnd = pos + 1u;
  var kStart = 0u;
  if (p.window > 0u && kEnd > p.window) { kStart = kEnd - p.window; }
  for (var j = lid.x; j < d; j += ${B}u) { qs[j] = qkv[m * p.qkvWidth + h * d + j]; }
  workgroupBarrier();
  var runMax = -3.0e38;
  var runSum = 0.0;
  var acc: array<f32, ${dimsPerThread}>;
  for (var j0 = kStart; j0 < kEnd; j0 += ${B}u) {
    let j = j0 + lid.x;
    var score = -3.0e38;
    if (j < kEnd) {
      let kb = (kvRow + j) * d;
      var s = 0.0;
      for (var i = 0u; i < d; i++) { s += qs[i] * kc[kb + i]; }
      score = s;
    }
    red[lid.x] = score;
    workgroupBarrier();
    for (var r = ${B / 2}u; r > 0u; r >>= 1u) {
      if (lid.x < r) { red[lid.x] = max(red[lid.x], red[lid.x + r]); }
      workgroupBarrier();
    }
    let newMax = max(runMax, red[0]);
    workgroupBarrier();
    var pj = 0.0;
    if (j < kEnd) { pj = exp(score - newMax); }
    ps[lid.x] = pj;
    red[lid.x] = pj;
    workgroupBarrier();
    for (var r = ${B / 2}u; r > 0u; r >>= 1u) {
      if (lid.x < r) { red[lid.x] += red[lid.x + r]; }
      workgroupBarrier();
    }
    let correction = exp(runMax - newMax);
    runSum = runSum * correction + red[0];
    runMax = newMax;
    let count = min(${B}u, kEnd - j0);
    for (var t = 0u; t < ${dimsPerThread}u; t++) {
      let dim = lid.x + t * ${B}u;
      if (dim < d) {
        var v = acc[t] * correction;
        for (var jj = 0u; jj < count; jj++) { v += ps[jj] * vc[(kvRow + j0 + jj) * d + dim]; }
        acc[t] = v;
      }
    }
    workgroupBarrier();
  }
  for (var t = 0u; t < ${dimsPerThread}u; t++) {
    let dim = lid.x + t * ${B}u;
    if (dim < d) { out[m * p.heads * d + h * d + dim] = acc[t] / runSum; }
  }
}`;
}

/** Keys per workgroup of the split attention kernels: one block of {@link attentionShader}. */
export const ATTENTION_SPLIT = 64;

/**
 * Decode attention, first pass (split-K over the keys, "flash-decoding"): one workgroup per (query
 * head, block of 64 keys, row), so that a step over a long cache runs on many workgroups instead
 * of one per head. Each writes its block's max score, sum of exponentials and un-normalised
 * weighted values to `partials[((m * heads + h) * maxSplits + s) * (headDim + 2)]`; blocks past the
 * row's last key write nothing. Scores use vec4 loads (`headDim % 4 == 0`).
 */
export function attentionPartialShader(dimsPerThread: number): string {
  const B = ATTENTION_SPLIT;
  return /* wgsl */ `
${STEP}
struct P { heads: u32, kvHeads: u32, headDim: u32, qkvWidth: u32, capacity: u32, window: u32, group: u32, maxSplits: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> vc: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
var<workgroup> qs: array<vec4<f32>, ${(64 * dimsPerThread) / 4}>;
var<workgroup> ps: array<f32, ${B}>;
var<workgroup> red: array<f32, ${B}>;

@compute @workgroup_size(${B})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.x;
  let split = wid.y;
  let m = wid.z;
  if (m >= step.rows) { return; }
  let d = p.headDim;
  let d4 = d / 4u;
  let pos = step.start + m % step.seqLen;
  let b = m / step.seqLen;
  let kvRow = (b * p.kvHeads + h / p.group) * p.capacity;
  let kEnd = pos + 1u;
  var kStart = 0u;
  if (p.window > 0u && kEnd > p.window) { kStart = kEnd - p.window; }
  let j0 = kStart + split * ${B}u;
  if (j0 >= kEnd) { return; }
  for (var i = lid.x; i < d4; i += ${B}u) {
    let base = m * p.qkvWidth + h * d + i * 4u;
    qs[i] = vec4<f32>(qkv[base], qkv[base + 1u], qkv[base + 2u], qkv[base + 3u]);
  }
  workgroupBarrier();
  let j = j0 + lid.x;
  var score = -3.0e38;
  if (j < kEnd) {
    let kb = (kvRow + j) * d4;
    var s = 0.0;
    for (var i = 0u; i < d4; i++) { s += dot(qs[i], kc[kb + i]); }
    score = s;
  }
  red[lid.x] = score;
  workgroupBarrier();
  for (var r = ${B / 2}u; r > 0u; r >>= 1u) {
    if (lid.x < r) { red[lid.x] = max(red[lid.x], red[lid.x + r]); }
    workgroupBarrier();
  }
  let blockMax = red[0];
  workgroupBarrier();
  var pj = 0.0;
  if (j < kEnd) { pj = exp(score - blockMax); }
  ps[lid.x] = pj;
  red[lid.x] = pj;
  workgroupBarrier();
  for (var r = ${B / 2}u; r > 0u; r >>= 1u) {
    if (lid.x < r) { red[lid.x] += red[lid.x + r]; }
    workgroupBarrier();
  }
  let out = ((m * p.heads + h) * p.maxSplits + split) * (d + 2u);
  let count = min(${B}u, kEnd - j0);
  for (var t = 0u; t < ${dimsPerThread}u; t++) {
    let dim = lid.x + t * ${B}u;
    if (dim < d) {
      var v = 0.0;
      for (var jj = 0u; jj < count; jj++) { v += ps[jj] * vc[(kvRow + j0 + jj) * d + dim]; }
      partials[out + dim] = v;
    }
  }
  if (lid.x == 0u) {
    partials[out + d] = blockMax;
    partials[out + d + 1u] = red[0];
  }
}`;
}

/**
 * Decode attention, second pass: per (query head, row), combines the blocks' partial results,
 * `out = Σ exp(m_s - M) acc_s / Σ exp(m_s - M) l_s` with `M = max m_s`.
 */
export const ATTENTION_COMBINE_SHADER = /* wgsl */ `
${STEP}
struct P { heads: u32, kvHeads: u32, headDim: u32, qkvWidth: u32, capacity: u32, window: u32, group: u32, maxSplits: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let h = wid.x;
  let m = wid.y;
  if (m >= step.rows) { return; }
  let d = p.headDim;
  let kEnd = step.start + m % step.seqLen + 1u;
  var kStart = 0u;
  if (p.window > 0u && kEnd > p.window) { kStart = kEnd - p.window; }
  let splits = (kEnd - kStart + ${ATTENTION_SPLIT - 1}u) / ${ATTENTION_SPLIT}u;
  let base = (m * p.heads + h) * p.maxSplits * (d + 2u);
  var top = -3.0e38;
  for (var s = 0u; s < splits; s++) { top = max(top, partials[base + s * (d + 2u) + d]); }
  var total = 0.0;
  for (var s = 0u; s < splits; s++) {
    let o = base + s * (d + 2u);
    total += exp(partials[o + d] - top) * partials[o + d + 1u];
  }
  for (var dim = lid.x; dim < d; dim += 64u) {
    var v = 0.0;
    for (var s = 0u; s < splits; s++) {
      let o = base + s * (d + 2u);
      v += exp(partials[o + d] - top) * partials[o + dim];
    }
    out[m * p.heads * d + h * d + dim] = v / total;
  }
}`;

/** `act[m, n] = silu(gu[m, n]) * gu[m, inter + n]` for prefill's gate/up products. */
export const SWIGLU_SHADER = /* wgsl */ `
${STEP}
struct P { inter: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<uniform> p: P;
@group(0) @binding(2) var<storage, read> gu: array<f32>;
@group(0) @binding(3) var<storage, read_write> act: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let n = g.x;
  let m = g.y;
  if (m >= step.rows || n >= p.inter) { return; }
  let gate = gu[m * 2u * p.inter + n];
  act[m * p.inter + n] = gate / (1.0 + exp(-gate)) * gu[m * 2u * p.inter + p.inter + n];
}`;

/** Logits per workgroup of the first argmax pass (256 threads x 16). */
export const ARGMAX_CHUNK = 4096;

/**
 * Greedy pick, first pass: per row and chunk of {@link ARGMAX_CHUNK} logits, the largest value and
 * its lowest index (NaN never wins; none found leaves index `0xffffffff`), as the host's `argMax`.
 */
export const ARGMAX_PARTIAL_SHADER = /* wgsl */ `
struct P { n: u32, chunks: u32, negInfBits: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> partVal: array<f32>;
@group(0) @binding(3) var<storage, read_write> partIdx: array<u32>;
var<workgroup> rv: array<f32, 256>;
var<workgroup> ri: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wid.x;
  let row = wid.y;
  var best = bitcast<f32>(p.negInfBits);
  var bi = 0xffffffffu;
  let start = c * ${ARGMAX_CHUNK}u;
  let end = min(start + ${ARGMAX_CHUNK}u, p.n);
  for (var i = start + lid.x; i < end; i += 256u) {
    let v = logits[row * p.n + i];
    if (v > best) { best = v; bi = i; }
  }
  rv[lid.x] = best;
  ri[lid.x] = bi;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      let v = rv[lid.x + s];
      let i = ri[lid.x + s];
      if (i != 0xffffffffu && (ri[lid.x] == 0xffffffffu || v > rv[lid.x] || (v == rv[lid.x] && i < ri[lid.x]))) {
        rv[lid.x] = v;
        ri[lid.x] = i;
      }
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    partVal[row * p.chunks + c] = rv[0];
    partIdx[row * p.chunks + c] = ri[0];
  }
}`;

/** Greedy pick, second pass: one workgroup per row combines the chunks into `tokens[row]`. */
export const ARGMAX_FINAL_SHADER = /* wgsl */ `
struct P { n: u32, chunks: u32, negInfBits: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> partVal: array<f32>;
@group(0) @binding(2) var<storage, read> partIdx: array<u32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<u32>;
var<workgroup> rv: array<f32, 64>;
var<workgroup> ri: array<u32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.x;
  var best = bitcast<f32>(p.negInfBits);
  var bi = 0xffffffffu;
  for (var c = lid.x; c < p.chunks; c += 64u) {
    let v = partVal[row * p.chunks + c];
    let i = partIdx[row * p.chunks + c];
    if (i != 0xffffffffu && (bi == 0xffffffffu || v > best)) { best = v; bi = i; }
  }
  rv[lid.x] = best;
  ri[lid.x] = bi;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      let v = rv[lid.x + s];
      let i = ri[lid.x + s];
      if (i != 0xffffffffu && (ri[lid.x] == 0xffffffffu || v > rv[lid.x] || (v == rv[lid.x] && i < ri[lid.x]))) {
        rv[lid.x] = v;
        ri[lid.x] = i;
      }
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { tokens[row] = select(ri[0], 0u, ri[0] == 0xffffffffu); }
}`;

/**
 * Load-time transposition of a piece of an fs2 linear weight (`[in, out]`, rows `k0 .. k0 + kCount`
 * of it, uploaded to a staging buffer) into a chunk of the `[out, in]` weight: for the columns
 * `n` in `nLo .. nLo + nCount`, `dst[(partOffset + n - dstRow0) * K + k0 + k] = scale * src[k * srcCols + n]`.
 * 16x16 tiles through workgroup memory so that reads and writes are both contiguous.
 */
export const TRANSPOSE_SHADER = /* wgsl */ `
struct P { K: u32, nLo: u32, nCount: u32, dstRow0: u32, partOffset: u32, k0: u32, kCount: u32, srcCols: u32, scale: f32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> tile: array<array<f32, 17>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let nr = wid.x * 16u + lid.x;
  let kr = wid.y * 16u + lid.y;
  if (nr < p.nCount && kr < p.kCount) {
    tile[lid.y][lid.x] = src[kr * p.srcCols + p.nLo + nr] * p.scale;
  }
  workgroupBarrier();
  let nw = wid.x * 16u + lid.y;
  let kw = wid.y * 16u + lid.x;
  if (nw < p.nCount && kw < p.kCount) {
    dst[(p.partOffset + p.nLo + nw - p.dstRow0) * p.K + p.k0 + kw] = tile[lid.x][lid.y];
  }
}`;
