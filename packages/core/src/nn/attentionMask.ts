/**
 * The first key position any query of a chunk may attend to. Queries `start .. start + length - 1`
 * attend causally; with a sliding window W, query i sees keys j with `i - W < j <= i`, so the
 * earliest key anyone needs is `start - W + 1`.
 */
export function firstAttendedKey(start: number, window: number | undefined): number {
  return window === undefined ? 0 : Math.max(0, start - window + 1);
}

/**
 * The additive attention mask of queries `start .. start + length - 1` over keys
 * `keyStart .. start + length - 1`, row-major `[length, start + length - keyStart]`: 0 where the
 * query may attend (`j <= i`, and `i - W < j` with a sliding window W), `-Infinity` elsewhere.
 * `undefined` when nothing is masked (one query with every key in reach), so no kernel is spent.
 */
export function attentionMask(
  start: number,
  length: number,
  keyStart: number,
  window: number | undefined,
): Float32Array | undefined {
  const keys = start + length - keyStart;
  const mask = new Float32Array(length * keys);
  let masked = false;
  for (let t = 0; t < length; t++) {
    const i = start + t;
    for (let s = 0; s < keys; s++) {
      const j = keyStart + s;
      if (j > i || (window !== undefined && j <= i - window)) {
        mask[t * keys + s] = Number.NEGATIVE_INFINITY;
        masked = true;
      }
    }
  }
  return masked ? mask : undefined;
}
