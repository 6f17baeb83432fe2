// Begin-example: extension
import type { DependencyContainer } from '@fs2/core';

import { Greeter, StandardGreeter } from './greeter.js';

/**
 * The extension entry, named by `"fs2": { "extension": "./dist/extension.js" }` in package.json.
 * `initFairseq2()` finds the package in node_modules and calls this once, after the library.
 */
export default function setupHelloExtension(container: DependencyContainer): void {
  container.register(Greeter, () => new StandardGreeter('Hello'), { singleton: true });
}
// End-example: extension
