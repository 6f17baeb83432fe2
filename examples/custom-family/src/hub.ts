import { createModelHubAccessor } from '@fs2/core';

import { GPT2_FAMILY, Gpt2ConfigSchema, type Gpt2Config } from './config.js';
import type { Gpt2Model } from './model.js';

// Begin-example: hub
/**
 * The GPT-2 family's hub: its cards, architectures, configs, new and loaded models, typed.
 *
 * ```ts
 * await initFairseq2();
 * const hub = getGpt2ModelHub();
 * const model = await hub.loadModel('gpt2_tiny_random');
 * ```
 *
 * @throws ModelFamilyNotKnownError when no GPT-2 family is registered (fs2 not initialised, or the
 *   package's extension not installed).
 * @throws InternalError when the family registered as `gpt2` is another package's, with another
 *   config schema.
 */
export const getGpt2ModelHub = createModelHubAccessor<Gpt2Model, Gpt2Config>(GPT2_FAMILY, {
  configSchema: Gpt2ConfigSchema,
});
// End-example: hub
