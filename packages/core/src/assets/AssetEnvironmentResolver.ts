import type { DependencyResolver } from '../runtime/DependencyContainer.js';
import { Environment } from '../runtime/Environment.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';

/**
 * Names the environment fs2 runs in (a cluster, a site), or returns `undefined` when it does not
 * recognise it. Cards named `foo@<that environment>` then overlay `foo`. A collection: the first
 * resolver that returns a name wins. fs2 registers none (as fairseq2); extensions add theirs
 * with `registerAssetEnvironmentResolver(container, fn)`.
 */
export type AssetEnvironmentResolver = (resolver: DependencyResolver) => string | undefined;

export const AssetEnvironmentResolver: ServiceIdentifier<AssetEnvironmentResolver> =
  createServiceIdentifier('AssetEnvironmentResolver');

/** The variable that names the environment, before any resolver is asked (fs2's addition). */
export const ASSET_ENV_VARIABLE = 'FAIRSEQ2_ASSET_ENV';

/**
 * The detected environment: `FAIRSEQ2_ASSET_ENV` when set and not empty, else the first name a
 * registered {@link AssetEnvironmentResolver} returns, else `undefined`. Names are trimmed; an
 * empty name counts as none.
 */
export function detectAssetEnvironment(resolver: DependencyResolver): string | undefined {
  const fromVariable = resolver.maybeResolve(Environment)?.get(ASSET_ENV_VARIABLE)?.trim();
  if (fromVariable !== undefined && fromVariable !== '') {
    return fromVariable;
  }
  for (const detect of resolver.resolveAll(AssetEnvironmentResolver)) {
    const name = detect(resolver)?.trim();
    if (name !== undefined && name !== '') {
      return name;
    }
  }
  return undefined;
}
