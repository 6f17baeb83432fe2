import type { ModelFactoryContext } from '@fs2/core';

import type { Gpt2Config } from './config.js';
import { Gpt2Model } from './model.js';

// Begin-example: factory
/**
 * Builds a GPT-2 model from a config: the family's `ModelFactory`. fs2 calls it with the device
 * chosen by the caller (`undefined` for a shape-only model, `meta: true`), then loads random or
 * checkpoint weights into it. GPT-2 has no tensor-parallel sharder, so `context.gangs` is not
 * used: the whole model is built on every rank, as fairseq2 does for a family without one.
 *
 * @throws Gpt2ConfigError when `model_dim` does not split into `num_heads` heads.
 */
export function createGpt2Model(config: Gpt2Config, context: ModelFactoryContext): Gpt2Model {
  return new Gpt2Model(config, context.device === undefined ? {} : { device: context.device });
}
// End-example: factory
