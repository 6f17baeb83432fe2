import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { Environment } from '../runtime/Environment.js';
import type { AssetMetadataProvider } from './AssetMetadata.js';
import type { AssetMetadataSource } from './AssetMetadataSource.js';
import { loadAssetCardFiles } from './loadAssetCardFiles.js';

/** Which well-known folder: the system's (shared by every user) or the user's. */
export type WellKnownAssetDirKind = 'system' | 'user';

/** The variable that names the system card folder (fairseq2's). */
export const SYSTEM_ASSET_DIR_VARIABLE = 'FAIRSEQ2_ASSET_DIR';
/** The variable that names the user card folder (fairseq2's). */
export const USER_ASSET_DIR_VARIABLE = 'FAIRSEQ2_USER_ASSET_DIR';
/** The system card folder when `FAIRSEQ2_ASSET_DIR` is not set (fairseq2's). */
export const DEFAULT_SYSTEM_ASSET_DIR = '/etc/fairseq2/assets';

/**
 * The folder of a well-known card source, resolved as fairseq2's `StandardAssetDirectoryAccessor`
 * does:
 * - system: `$FAIRSEQ2_ASSET_DIR`, else `/etc/fairseq2/assets`;
 * - user: `$FAIRSEQ2_USER_ASSET_DIR`, else `$XDG_CONFIG_HOME/fairseq2/assets`, else
 *   `~/.config/fairseq2/assets`.
 *
 * A variable that names a folder that does not exist gets a warning, and the default is used. A
 * default that does not exist means no folder (`undefined`). Relative values resolve against the
 * environment's working directory.
 */
export async function resolveWellKnownAssetDir(
  kind: WellKnownAssetDirKind,
  environment: Environment,
  warn: (message: string) => void,
): Promise<string | undefined> {
  const variable = kind === 'system' ? SYSTEM_ASSET_DIR_VARIABLE : USER_ASSET_DIR_VARIABLE;
  const fallback = kind === 'system' ? DEFAULT_SYSTEM_ASSET_DIR : defaultUserAssetDir(environment);
  const value = environment.get(variable);
  if (value !== undefined && value !== '') {
    const dir = resolve(environment.cwd, value);
    if (await isDirectory(dir)) {
      return dir;
    }
    warn(
      `${dir} path pointed to by the ${variable} environment variable is not found; the ${kind} asset cards are read from ${fallback} instead.`,
    );
  }
  return (await isDirectory(fallback)) ? fallback : undefined;
}

function defaultUserAssetDir(environment: Environment): string {
  const xdg = environment.get('XDG_CONFIG_HOME');
  const config = xdg !== undefined && xdg !== '' ? resolve(environment.cwd, xdg) : join(environment.home, '.config');
  return join(config, 'fairseq2', 'assets');
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * The system or user card folder (fairseq2's `WellKnownAssetMetadataSource`, split in two so that
 * each is its own member of the source collection). The source name is `path:<folder>`; a
 * missing folder yields nothing.
 */
export class WellKnownAssetMetadataSource implements AssetMetadataSource {
  constructor(
    readonly kind: WellKnownAssetDirKind,
    private readonly environment: Environment,
    private readonly warn: (message: string) => void,
  ) {}

  async load(): Promise<readonly AssetMetadataProvider[]> {
    const dir = await resolveWellKnownAssetDir(this.kind, this.environment, this.warn);
    return dir === undefined ? [] : [await loadAssetCardFiles(dir, `path:${dir}`)];
  }
}
