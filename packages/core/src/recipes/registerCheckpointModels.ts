import { resolve } from 'node:path';

import { AssetMetadataSource } from '../assets/AssetMetadataSource.js';
import type { DependencyContainer } from '../runtime/DependencyContainer.js';
import { Environment } from '../runtime/Environment.js';
import { CheckpointAssetMetadataSource } from './CheckpointAssetMetadataSource.js';

/**
 * Adds the cards of a training run's checkpoint folder (fairseq2's checkpoint metadata, see
 * `CheckpointAssetMetadataSource`): `checkpoint_step_N`, `last_checkpoint`, `best_checkpoint`,
 * `best_checkpoint_N`, all based on the folder's `model.yaml`. A relative `dir` is resolved
 * against the environment's working directory. Nothing is read until `initFairseq2()` builds the
 * store; a folder without `model.yaml` then throws `AssetSourceNotFoundError`.
 *
 * ```ts
 * await initFairseq2({ extras: (c) => registerCheckpointModels(c, 'runs/tiny/checkpoints') });
 * const model = await loadModel('last_checkpoint');
 * ```
 */
export function registerCheckpointModels(container: DependencyContainer, dir: string): void {
  container.collection.register(AssetMetadataSource, (r) => new CheckpointAssetMetadataSource(resolve(r.resolve(Environment).cwd, dir)));
}

