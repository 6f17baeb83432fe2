import { resolve } from 'node:path';

import { AssetConfigLoader, StandardAssetConfigLoader } from '../assets/AssetConfigLoader.js';
import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetEnvironmentResolver, detectAssetEnvironment } from '../assets/AssetEnvironmentResolver.js';
import { AssetMetadataSource } from '../assets/AssetMetadataSource.js';
import { AssetStore, AssetStoreOptions, StandardAssetStore } from '../assets/AssetStore.js';
import { assetWarner } from '../assets/AssetWarningListener.js';
import { BUILTIN_CARDS_SOURCE, builtinCardsDir } from '../assets/builtinCards.js';
import { FileAssetMetadataSource } from '../assets/FileAssetMetadataSource.js';
import { InMemoryAssetMetadataSource } from '../assets/InMemoryAssetMetadataSource.js';
import { checkPackageName, PackageAssetMetadataSource } from '../assets/PackageAssetMetadataSource.js';
import { WellKnownAssetMetadataSource } from '../assets/WellKnownAssetMetadataSource.js';
import type { DependencyContainer } from '../runtime/DependencyContainer.js';
import { Environment } from '../runtime/Environment.js';
import { packageSearchRoots } from '../runtime/extensions.js';

/**
 * The library's asset services (called by `registerLibrary`): the built-in, system and user card
 * sources (the first three members of the {@link AssetMetadataSource} collection), the
 * {@link AssetStore} (built asynchronously by `initFairseq2()`, which loads every source once,
 * so that lookups are synchronous) and the {@link AssetConfigLoader}.
 */
export function registerAssets(container: DependencyContainer): void {
  container.collection.register(
    AssetMetadataSource,
    () => new FileAssetMetadataSource(builtinCardsDir(), { source: BUILTIN_CARDS_SOURCE }),
  );
  container.collection.register(
    AssetMetadataSource,
    (r) => new WellKnownAssetMetadataSource('system', r.resolve(Environment), assetWarner(r)),
  );
  container.collection.register(
    AssetMetadataSource,
    (r) => new WellKnownAssetMetadataSource('user', r.resolve(Environment), assetWarner(r)),
  );
  container.registerAsync(AssetStore, async (r) =>
    StandardAssetStore.load(r.resolveAll(AssetMetadataSource), {
      environment: detectAssetEnvironment(r),
      lenient: r.maybeResolve(AssetStoreOptions)?.lenient ?? false,
    }),
  );
  container.register(AssetConfigLoader, (r) => new StandardAssetConfigLoader(r.resolve(Environment), assetWarner(r)), {
    singleton: true,
  });
}

/** Options of {@link registerFileAssets}. */
export interface RegisterFileAssetsOptions {
  /** A path that does not exist yields no cards instead of an error. Default: `false`. */
  readonly notExistOk?: boolean;
}

/**
 * Adds the cards in a YAML file, or under a folder (recursively), as a source named
 * `path:<absolute path>` (fairseq2's `register_file_assets`). A relative path resolves against
 * the environment's working directory. Nothing is read until `initFairseq2()` builds the store;
 * a missing path then throws `AssetSourceNotFoundError` unless `notExistOk`.
 */
export function registerFileAssets(
  container: DependencyContainer,
  path: string,
  options: RegisterFileAssetsOptions = {},
): void {
  container.collection.register(
    AssetMetadataSource,
    (r) =>
      new FileAssetMetadataSource(resolve(r.resolve(Environment).cwd, path), {
        ...(options.notExistOk === undefined ? {} : { notExistOk: options.notExistOk }),
      }),
  );
}

/**
 * Adds cards given as objects, each with a `name` (fairseq2's `register_in_memory_assets`). The
 * entries are copied now: later changes to them, by the caller or by fs2, do not cross over.
 *
 * ```ts
 * registerInMemoryAssets(container, 'my_source', [{ name: 'foo1', model_family: 'foo' }]);
 * ```
 */
export function registerInMemoryAssets(
  container: DependencyContainer,
  source: string,
  entries: readonly Readonly<Record<string, unknown>>[],
): void {
  container.collection.registerInstance(AssetMetadataSource, new InMemoryAssetMetadataSource(source, entries));
}

/**
 * Adds the cards in the `cards/` folder of the installed package `packageName`, found with Node's
 * resolution from the working directory, as the source `package:<name>` (fairseq2's
 * `register_package_assets`). An extension calls it for its own package:
 *
 * ```ts
 * export default (container) => registerPackageAssets(container, '@acme/fs2-models');
 * ```
 *
 * A package that is not installed, or has no `cards/` folder, makes `initFairseq2()` throw
 * `AssetSourceNotFoundError` naming it.
 */
export function registerPackageAssets(container: DependencyContainer, packageName: string): void {
  checkPackageName(packageName); // Fails at the call, not when the store is built.
  container.collection.register(
    AssetMetadataSource,
    (r) => new PackageAssetMetadataSource(packageName, packageSearchRoots(r.resolve(Environment).cwd)),
  );
}

/**
 * Adds a function that names the environment fs2 runs in (a cluster), so that `foo@<name>`
 * cards overlay `foo`. The first resolver to return a name wins; `FAIRSEQ2_ASSET_ENV` takes
 * precedence over all of them.
 */
export function registerAssetEnvironmentResolver(container: DependencyContainer, resolver: AssetEnvironmentResolver): void {
  container.collection.registerInstance(AssetEnvironmentResolver, resolver);
}

/** Adds a card validator, run by `fs2 assets validate` on every card. */
export function registerAssetCardValidator(container: DependencyContainer, validator: AssetCardValidator): void {
  container.collection.registerInstance(AssetCardValidator, validator);
}
