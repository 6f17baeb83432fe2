import type { DependencyContainer } from '../runtime/DependencyContainer.js';
import { registerAssets } from './assets.js';
import { registerCheckpointLoaders } from './checkpoint.js';
import { registerDatasetLibrary } from './datasets.js';
import { registerAssetDownloads } from './downloads.js';
import { registerModelLibrary } from './models.js';
import { registerRecipeLibrary } from './recipes.js';
import { registerTokenizerLibrary } from './tokenizers.js';

/** Options of {@link registerLibrary}. */
export interface LibraryOptions {
  /** Turn progress reporting off. */
  readonly noProgress: boolean;
}

/**
 * Registers fs2's own services: the asset store and its sources, download managers, checkpoint
 * readers, the model, tokenizer and dataset family lookups, the global loaders. Extensions and
 * `extras` run after it and may add to collections, never replace.
 */
export function registerLibrary(container: DependencyContainer, options: LibraryOptions): void {
  registerAssets(container);
  registerAssetDownloads(container, { noProgress: options.noProgress });
  registerCheckpointLoaders(container);
  registerModelLibrary(container);
  registerTokenizerLibrary(container);
  registerDatasetLibrary(container);
  registerRecipeLibrary(container);
}
