import type { DependencyContainer } from '@fs2/core';

import { registerRecipeExtension } from './register.js';

/** The extension entry (`"fs2": { "extension": "./dist/extension.js" }` in package.json). */
export default function setupRecipeExtension(container: DependencyContainer): void {
  registerRecipeExtension(container);
}
