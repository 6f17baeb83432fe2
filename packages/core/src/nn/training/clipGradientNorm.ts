import * as tf from '@tensorflow/tfjs';

/**
 * The global L2 norm of `gradients` and, when `maxNorm` is given and the norm exceeds it, the
 * gradients scaled by `maxNorm / (norm + 1e-6)` (PyTorch's `clip_grad_norm_`, whose `1e-6` this
 * keeps). Returns new tensors (the caller disposes the old ones) and the norm before clipping.
 */
export function clipGradientNorm(
  gradients: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number | undefined,
): { gradients: Map<string, tf.Tensor>; norm: number } {
  const norm = tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const gradient of gradients.values()) {
      total = tf.add(total, tf.sum(tf.square(gradient)));
    }
    return Math.sqrt(total.dataSync()[0] as number);
  });
  const scale = maxNorm !== undefined && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  const clipped = new Map<string, tf.Tensor>();
  for (const [name, gradient] of gradients) {
    clipped.set(name, scale === 1 ? tf.clone(gradient) : tf.mul(gradient, scale));
  }
  return { gradients: clipped, norm };
}
