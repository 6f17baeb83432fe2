import { registerModelFamily, registerPackageAssets, type DependencyContainer } from '@fs2/core';

import { gpt2Archs } from './archs.js';
import { GPT2_FAMILY, Gpt2ConfigSchema } from './config.js';
import { createGpt2Model } from './factory.js';
import { gpt2HuggingFaceConverter, gpt2HuggingFaceInterop } from './interop.js';

/** The npm name of this package, whose `cards/` folder holds the family's cards. */
export const GPT2_PACKAGE = '@fs2-examples/custom-family';

// Begin-example: register
/**
 * Registers the GPT-2 model family under `gpt2` (config schema, architectures, factory, Hugging
 * Face converter and interop), and this package's `cards/` as the asset source
 * `package:@fs2-examples/custom-family`.
 */
export function registerGpt2Family(container: DependencyContainer): void {
  registerModelFamily(container, GPT2_FAMILY, {
    configSchema: Gpt2ConfigSchema,
    defaultConfig: () => gpt2Archs.gpt2_small(),
    archs: gpt2Archs,
    factory: createGpt2Model,
    converters: [gpt2HuggingFaceConverter],
    huggingFace: gpt2HuggingFaceInterop,
  });
  registerPackageAssets(container, GPT2_PACKAGE);
}
// End-example: register
