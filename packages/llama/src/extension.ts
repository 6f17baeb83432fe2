import type { DependencyContainer } from '@fs2/core';

import { registerLlamaFamily } from './register.js';

/**
 * The fs2 extension of `@fs2/llama` (`"fs2": { "extension": "./dist/extension.js" }`):
 * `initFairseq2()` finds the installed package and calls it once, after the library.
 */
export default function setupLlamaExtension(container: DependencyContainer): void {
  registerLlamaFamily(container);
}
