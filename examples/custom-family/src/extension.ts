// Begin-example: extension
import type { DependencyContainer } from '@fs2/core';

import { registerGpt2Family } from './register.js';

/**
 * The extension entry, named by `"fs2": { "extension": "./dist/extension.js" }` in package.json:
 * `initFairseq2()` finds the installed package and calls it once, after the library.
 */
export default function setupGpt2Extension(container: DependencyContainer): void {
  registerGpt2Family(container);
}
// End-example: extension
