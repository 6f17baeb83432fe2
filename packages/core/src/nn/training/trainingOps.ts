import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../../errors/Fs2Error.js';

/**
 * Differentiable building blocks for training on TF.js's `wasm` and `cpu` backends, each with a
 * hand-written gradient (`tf.customGrad`) where the built-in one is missing or slow there:
 *
 * - wasm has no kernel for `gather`'s gradient (`UnsortedSegmentSum`, js-ecosystem.md §2.7), so an
 *   embedding lookup cannot be trained with `tf.gather` there;
 * - every `matMul` with a transpose flag, which is what the built-in gradient of `matMul` uses,
 *   runs about 10x slower on wasm than a plain one (js-ecosystem.md §2.3), and batched (3-D, 4-D)
 *   `matMul`s are slower still: measured on one core, a 3.3M-parameter decoder step (16 x 128
 *   tokens) took 13.0 s with the built-in gradients, 2.8 s with {@link linear}'s, and attention
 *   as 2-D blocks ({@link causalAttention}) removed most of the rest.
 *
 * Each op runs its forward pass with ordinary kernels and, under `tf.grad` / `tf.variableGrads`,
 * its own backward pass. Results are deterministic: the same inputs give the same bits.
 */

/** The forward pass of a custom op: its value and the function of its gradients. */
interface CustomOpResult {
  readonly value: tf.Tensor;
  readonly gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * `tf.customGrad` with the inputs as an array: TF.js types the custom function as taking
 * tensors and the save function mixed in one rest parameter.
 */
function customOp(arity: number, body: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => CustomOpResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const result = body(args.slice(0, arity) as tf.Tensor[], args[arity] as tf.GradSaveFunc);
    return { value: result.value, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => result.gradFunc(dy as tf.Tensor, saved) };
  });
  return (...inputs: tf.Tensor[]) => op(...inputs);
}

/**
 * `x W` for `x` `[n, in]`, `W` `[in, out]` (fs2's layout), whose gradients are plain matMuls of
 * explicitly transposed operands: `dx = dy Wᵀ`, `dW = xᵀ dy`. The transposes are copies
 * (`[in, out]` and `[n, in]`), far cheaper than the flagged matMuls of the built-in gradient.
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  return linearOp(x, weight) as tf.Tensor2D;
}

const linearOp = customOp(2, ([x, weight], save) => {
  save([x as tf.Tensor, weight as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g)];
    },
  };
});

/**
 * Rows `ids` of `weight` `[vocab, dim]`: `[ids.length, dim]`. The gradient is accumulated on the
 * host: `dW[ids[r]] += dy[r]`, one pass over `dy` (`O(n · dim)`, whatever the vocabulary size),
 * because the wasm backend lacks the kernel of `gather`'s own gradient. A one-hot matMul
 * (`oneHot(ids)ᵀ dy`) would also avoid it, at `O(n · vocab · dim)` and an `[n, vocab]` matrix.
 * Additions happen in row order, so the result is deterministic.
 */
export function embeddingLookup(weight: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, dim] = weight.shape;
  const op = customOp(1, ([w]) => ({
    value: tf.gather(w as tf.Tensor2D, tf.tensor1d(ids, 'int32'), 0),
    gradFunc: (dy) => {
      const upstream = dy.dataSync();
      const grad = new Float32Array(vocab * dim);
      for (let r = 0; r < ids.length; r++) {
        const to = (ids[r] as number) * dim;
        const from = r * dim;
        for (let c = 0; c < dim; c++) {
          grad[to + c] = (grad[to + c] as number) + (upstream[from + c] as number);
        }
      }
      return [tf.tensor2d(grad, [vocab, dim])];
    },
  }));
  return op(weight) as tf.Tensor2D;
}

/** Options of {@link causalAttention}. */
export interface CausalAttentionOptions {
  /** Query heads per key/value head (grouped-query attention); `q` has `group` times `k`'s rows. */
  readonly group: number;
  /** The softmax scale, `1/sqrt(headDim)`. */
  readonly scale: number;
  /** The additive mask `[length, length]` (0 or `-Infinity`), row-major; `undefined` for none. */
  readonly mask: Float32Array | undefined;
}

/**
 * Scaled dot-product attention of `q` `[b·h, t, d]` over `k`, `v` `[b·kv, t, d]` (query head
 * `i = bi·h + hi` reads key/value head `bi·kv + floor(hi / group)`), with an additive mask:
 * `softmax(q kᵀ · scale + mask) v`, `[b·h, t, d]`.
 *
 * Computed head by head with 2-D matMuls on host-copied blocks: the wasm `Slice` kernel copies
 * its whole input for every slice, and batched matMuls run a scalar loop there. The backward
 * pass is the usual one, with `P` the saved softmax: `dV = Pᵀ dO`, `dP = dO Vᵀ`,
 * `dS = P ⊙ (dP − rowsum(dP ⊙ P))`, `dQ = dS K · scale`, `dK = dSᵀ Q · scale` (summed over the
 * query heads of a group).
 */
export function causalAttention(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, options: CausalAttentionOptions): tf.Tensor3D {
  const [numQueries, t, d] = q.shape;
  const numKv = k.shape[0];
  const { group, scale } = options;
  if (numQueries !== numKv * group || k.shape[1] !== t || v.shape[1] !== t || k.shape[2] !== d || v.shape[2] !== d) {
    throw new InternalError(
      `Attention shapes do not fit: q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}], group ${group}.`,
    );
  }
  // Query head i = bi * h + hi reads kv head bi * kv + floor(hi / group); with h = kv * group this
  // is floor(i / group).
  const kvIndex = (i: number): number => Math.floor(i / group);
  const op = customOp(3, ([qIn, kIn, vIn], save) => {
    const qs = blocks(qIn as tf.Tensor3D);
    const ks = blocks(kIn as tf.Tensor3D);
    const vs = blocks(vIn as tf.Tensor3D);
    const mask = options.mask === undefined ? undefined : tf.tensor2d(options.mask, [t, t]);
    const keysT = ks.map((key) => tf.transpose(key));
    const probabilities: tf.Tensor2D[] = [];
    const outputs: tf.Tensor2D[] = [];
    for (let i = 0; i < numQueries; i++) {
      const j = kvIndex(i);
      let scores = tf.mul(tf.matMul(qs[i] as tf.Tensor2D, keysT[j] as tf.Tensor2D), scale) as tf.Tensor2D;
      if (mask !== undefined) {
        scores = tf.add(scores, mask);
      }
      const p = tf.softmax(scores);
      probabilities.push(p);
      outputs.push(tf.matMul(p, vs[j] as tf.Tensor2D));
    }
    save([qIn as tf.Tensor, kIn as tf.Tensor, vIn as tf.Tensor, ...probabilities]);
    return {
      value: tf.reshape(tf.concat(outputs, 0), [numQueries, t, d]),
      gradFunc: (dy, saved) => {
        const [sq, sk, sv, ...sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, ...tf.Tensor2D[]];
        const dos = blocks(dy as tf.Tensor3D);
        const qb = blocks(sq);
        const kb = blocks(sk);
        const vbT = blocks(sv).map((value) => tf.transpose(value));
        const dq: tf.Tensor2D[] = [];
        const dk: (tf.Tensor2D | undefined)[] = new Array(numKv).fill(undefined);
        const dv: (tf.Tensor2D | undefined)[] = new Array(numKv).fill(undefined);
        const accumulate = (list: (tf.Tensor2D | undefined)[], j: number, value: tf.Tensor2D): void => {
          const current = list[j];
          list[j] = current === undefined ? value : tf.add(current, value);
        };
        for (let i = 0; i < numQueries; i++) {
          const j = kvIndex(i);
          const p = sp[i] as tf.Tensor2D;
          const dO = dos[i] as tf.Tensor2D;
          accumulate(dv, j, tf.matMul(tf.transpose(p), dO));
          const dP = tf.matMul(dO, vbT[j] as tf.Tensor2D);
          const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), 1, true)));
          const dSScaled = tf.mul(dS, scale) as tf.Tensor2D;
          dq.push(tf.matMul(dSScaled, kb[j] as tf.Tensor2D));
          accumulate(dk, j, tf.matMul(tf.transpose(dSScaled), qb[i] as tf.Tensor2D));
        }
        const stack = (list: readonly (tf.Tensor2D | undefined)[], rows: number): tf.Tensor3D =>
          tf.reshape(tf.concat(list as tf.Tensor2D[], 0), [rows, t, d]);
        return [stack(dq, numQueries), stack(dk, numKv), stack(dv, numKv)];
      },
    };
  });
  return op(q, k, v) as tf.Tensor3D;
}

/**
 * The `[t, d]` blocks of `x` `[n, t, d]`, as new tensors copied through the host: one read of
 * `x` and `n` uploads, where `n` calls of the wasm `Slice` kernel would each copy all of `x`.
 */
function blocks(x: tf.Tensor3D): tf.Tensor2D[] {
  const [n, t, d] = x.shape;
  const data = x.dataSync() as Float32Array;
  const size = t * d;
  return Array.from({ length: n }, (_, i) => tf.tensor2d(data.slice(i * size, (i + 1) * size), [t, d]));
}

/**
 * The summed negative log-likelihood of `targets` under `logits` `[n, vocab]`, each position
 * weighted by `weights` (1 for a target, 0 for padding): `Σ wᵢ (logsumexp(logitsᵢ) − logitsᵢ[targetᵢ])`,
 * a scalar. Its gradient, `wᵢ (softmax(logitsᵢ) − onehot(targetᵢ))`, is built on the host from
 * the softmax (no one-hot matrix, no `gather` gradient).
 */
export function sequenceNll(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
  const [n, vocab] = logits.shape;
  if (targets.length !== n || weights.length !== n) {
    throw new InternalError(`sequenceNll: ${n} logit rows, ${targets.length} targets, ${weights.length} weights.`);
  }
  const flat = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const target = targets[i] as number;
    if (target < 0 || target >= vocab) {
      throw new InternalError(`sequenceNll: target ${target} at row ${i} is outside the vocabulary [0, ${vocab}).`);
    }
    flat[i] = i * vocab + target;
  }
  const op = customOp(1, ([x], save) => {
    save([x as tf.Tensor]);
    const lse = tf.logSumExp(x as tf.Tensor, 1);
    const picked = tf.gather(tf.reshape(x as tf.Tensor, [-1]), tf.tensor1d(flat, 'int32'));
    const w = tf.tensor1d(weights);
    return {
      value: tf.sum(tf.mul(tf.sub(lse, picked), w)),
      gradFunc: (dy, saved) => {
        const scale = dy.dataSync()[0] as number;
        const probabilities = tf.softmax(saved[0] as tf.Tensor2D).dataSync() as Float32Array;
        const grad = new Float32Array(probabilities.length);
        for (let i = 0; i < n; i++) {
          const weight = (weights[i] as number) * scale;
          if (weight === 0) {
            continue;
          }
          const row = i * vocab;
          for (let c = 0; c < vocab; c++) {
            grad[row + c] = (probabilities[row + c] as number) * weight;
          }
          grad[flat[i] as number] = (grad[flat[i] as number] as number) - weight;
        }
        return [tf.tensor2d(grad, [n, vocab])];
      },
    };
  });
  return op(logits) as tf.Scalar;
}
