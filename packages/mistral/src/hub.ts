import { createModelHubAccessor, type TransformerDecoderModel } from '@fs2/core';

import { MISTRAL_FAMILY, MistralConfigSchema, type MistralConfig } from './config.js';

/**
 * The mistral model hub (fairseq2's `get_mistral_model_hub`), from the process-global resolver
 * (after `initFairseq2()`) or the one given:
 *
 * ```ts
 * const hub = getMistralModelHub();
 * const model = await hub.loadModel('mistral_7b_instruct_v03');
 * ```
 *
 * @throws ModelFamilyNotKnownError when the mistral family is not registered.
 */
export const getMistralModelHub = createModelHubAccessor<TransformerDecoderModel, MistralConfig>(MISTRAL_FAMILY, {
  configSchema: MistralConfigSchema,
});
