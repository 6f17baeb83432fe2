/**
 * The parameter count of a pre-norm decoder (LLaMA, Qwen, Mistral) in closed form, written
 * independently of the TF.js modules so that the family tests can check each architecture preset
 * against it: embedding (and an untied output projection), per layer q/k/v/o projections (with
 * optional q/k/v biases and q/k norms), a SwiGLU network and two norms, plus the final norm.
 */
export interface DecoderShape {
  readonly vocab: number;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffn: number;
  readonly tied: boolean;
  readonly qkvBias?: boolean;
  readonly qkNorm?: boolean;
}

export function decoderParameterCount(s: DecoderShape): number {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  let attention = s.dim * q + 2 * s.dim * kv + q * s.dim;
  if (s.qkvBias === true) {
    attention += q + 2 * kv;
  }
  if (s.qkNorm === true) {
    attention += 2 * s.headDim;
  }
  const layer = attention + 3 * s.dim * s.ffn + 2 * s.dim;
  return s.vocab * s.dim * (s.tied ? 1 : 2) + s.layers * layer + s.dim;
}
