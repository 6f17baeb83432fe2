import type { DependencyContainer } from '../runtime/DependencyContainer.js';
import {
  CheckpointLoader,
  DelegatingCheckpointLoader,
  MetaCheckpointLoader,
  NativeCheckpointLoader,
  SafetensorsCheckpointLoader,
  TorchCheckpointLoader,
} from '../checkpoint/CheckpointLoader.js';

/**
 * Registers the checkpoint formats as members of the `CheckpointLoader` collection, in fairseq2's
 * order (torch file, fairseq2 native folder, safetensors, Meta folder), and the
 * {@link DelegatingCheckpointLoader} over the whole collection (the library's and every format
 * an extension adds) as the single `CheckpointLoader`:
 *
 * ```ts
 * const checkpoint = await resolver.resolve(CheckpointLoader).open(path);
 * ```
 */
export function registerCheckpointLoaders(container: DependencyContainer): void {
  container.collection.register(CheckpointLoader, () => new TorchCheckpointLoader(), { singleton: true });
  container.collection.register(CheckpointLoader, () => new NativeCheckpointLoader(), { singleton: true });
  container.collection.register(CheckpointLoader, () => new SafetensorsCheckpointLoader(), { singleton: true });
  container.collection.register(CheckpointLoader, () => new MetaCheckpointLoader(), { singleton: true });
  // The collection is resolved on first use, not while this provider runs: its members share the
  // `CheckpointLoader` identifier, which the container would take for a cycle.
  container.register(CheckpointLoader, (resolver) => new DelegatingCheckpointLoader(() => resolver.resolveAll(CheckpointLoader)), {
    singleton: true,
  });
}
