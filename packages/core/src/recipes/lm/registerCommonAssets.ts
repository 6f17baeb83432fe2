import { registerFileAssets } from '../../composition/assets.js';
import type { DependencyContainer } from '../../runtime/DependencyContainer.js';
import { registerCheckpointModels } from '../registerCheckpointModels.js';
import type { CommonSection } from './configSections.js';

/**
 * Registers the card sources the `common.assets` section names (fairseq2's
 * `common.assets.extra_paths` and `common.assets.checkpoint_dir`): card files or folders, and a
 * training run's checkpoint folder, whose `last_checkpoint` and other cards a recipe can then load
 * by name.
 */
export function registerCommonAssets(container: DependencyContainer, common: CommonSection): void {
  for (const path of common.assets.extra_paths) {
    registerFileAssets(container, path);
  }
  if (common.assets.checkpoint_dir !== null) {
    registerCheckpointModels(container, common.assets.checkpoint_dir);
  }
}
