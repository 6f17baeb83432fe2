import type { TransformerDecoderConfig } from './TransformerDecoderConfig.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

/**
 * The number of parameters of the decoder `config` describes, as published (tied embeddings counted
 * once), from a shape-only model: nothing is allocated and no device is needed.
 */
export function countParameters(config: TransformerDecoderConfig): number {
  return new TransformerDecoderModel(config).numParameters();
}
