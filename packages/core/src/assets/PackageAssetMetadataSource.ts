import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { AssetMetadataProvider } from './AssetMetadata.js';
import type { AssetMetadataSource } from './AssetMetadataSource.js';
import { AssetSourceNotFoundError } from './errors.js';
import { loadAssetCardFiles } from './loadAssetCardFiles.js';

/** npm's package name rule (lower case, optional scope), which also keeps `..` out of paths. */
const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/**
 * Throws {@link InvalidArgumentError} unless `name` is a valid npm package name (which also keeps
 * `..` and absolute paths out of the folder lookup).
 */
export function checkPackageName(name: string): void {
  if (!PACKAGE_NAME.test(name)) {
    throw new InvalidArgumentError('packageName', `${name} is not a valid npm package name.`);
  }
}

/**
 * The cards in the `cards/` folder of an installed npm package (fairseq2's
 * `PackageAssetMetadataSource`, which reads a Python package's resources). The source name is
 * `package:<name>`.
 */
export class PackageAssetMetadataSource implements AssetMetadataSource {
  readonly source: string;

  private readonly starts: readonly string[];

  constructor(
    readonly packageName: string,
    /** Where Node's resolution starts, tried in order (the working directory, `@fs2/core`'s folder). */
    starts: string | readonly string[],
  ) {
    checkPackageName(packageName);
    this.source = `package:${packageName}`;
    this.starts = typeof starts === 'string' ? [starts] : starts;
  }

  async load(): Promise<readonly AssetMetadataProvider[]> {
    let packageDir: string | undefined;
    for (const start of this.starts) {
      packageDir ??= await findPackageDir(this.packageName, start);
    }
    if (packageDir === undefined) {
      throw new AssetSourceNotFoundError(
        this.source,
        `no node_modules folder visible from ${this.starts.join(' or ')} has the ${this.packageName} package.`,
      );
    }
    const cards = join(packageDir, 'cards');
    const info = await stat(cards).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) {
      throw new AssetSourceNotFoundError(this.source, `the ${this.packageName} package (${packageDir}) has no cards folder.`);
    }
    return [await loadAssetCardFiles(cards, this.source)];
  }
}

/**
 * The folder of the installed package `name`, as Node's resolution of a bare specifier finds it
 * from `start`: the package itself when `start` is inside it (self-reference), else
 * `node_modules/<name>` in `start` or the nearest parent that has one. Symbolic links (npm
 * workspaces) are resolved. Node's `require.resolve` is not used because a package's `exports`
 * may hide `package.json`.
 */
export async function findPackageDir(name: string, start: string): Promise<string | undefined> {
  let dir = resolve(start);
  let checkedSelf = false;
  for (;;) {
    if (!checkedSelf) {
      const manifest = await readManifestName(join(dir, 'package.json'));
      if (manifest !== undefined) {
        checkedSelf = true; // Only the nearest package.json is the package `start` is in.
        if (manifest === name) {
          return realpath(dir);
        }
      }
    }
    const candidate = join(dir, 'node_modules', name);
    if ((await readManifestName(join(candidate, 'package.json'))) !== undefined) {
      return realpath(candidate);
    }
    const parent = dirname(dir);
    if (parent === dir) {
      return undefined;
    }
    dir = parent;
  }
}

async function readManifestName(file: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { name?: unknown };
    return typeof manifest.name === 'string' ? manifest.name : '';
  } catch {
    return undefined;
  }
}
