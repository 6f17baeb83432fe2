import type { DependencyContainer } from '@fs2/core';

import { registerQwenFamily } from './register.js';

/**
 * The fs2 extension of `@fs2/qwen` (`"fs2": { "extension": "./dist/extension.js" }`):
 * `initFairseq2()` finds the installed package and calls it once, after the library.
 */
export default function setupQwenExtension(container: DependencyContainer): void {
  registerQwenFamily(container);
}
