import type { Dirent } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { OperationalError } from '../errors/Fs2Error.js';
import type { AssetMetadataEntry, AssetMetadataProvider } from './AssetMetadata.js';
import { AssetMetadataError } from './errors.js';
import { MAX_CARD_FILE_BYTES, parseAssetCards } from './parseAssetCards.js';

const CARD_FILE = /\.ya?ml$/i;

/**
 * Reads the cards at `path`: one YAML file, or every `*.yaml` / `*.yml` file under a folder,
 * recursively (symbolic links followed, each real folder visited once), in sorted path order, as
 * fairseq2's `StandardFileAssetMetadataLoader` does. Files that vanish during the walk are
 * skipped. `path` must exist; the caller checks that first.
 */
export async function loadAssetCardFiles(path: string, source: string): Promise<AssetMetadataProvider> {
  const entries: AssetMetadataEntry[] = [];
  const problems: AssetMetadataError[] = [];
  for (const file of await listCardFiles(path)) {
    const result = await loadAssetCardFile(file, source);
    if (result !== undefined) {
      entries.push(...result.entries);
      problems.push(...result.problems);
    }
  }
  return { source, entries, problems };
}

/**
 * Reads one card file, refusing one larger than {@link MAX_CARD_FILE_BYTES} before reading it.
 * `undefined` when the file vanished.
 */
export async function loadAssetCardFile(
  file: string,
  source: string,
): Promise<{ entries: readonly AssetMetadataEntry[]; problems: readonly AssetMetadataError[] } | undefined> {
  let real: string;
  try {
    real = await realpath(file);
  } catch (error) {
    if (isNotFound(error)) {
      return undefined;
    }
    throw new OperationalError(`${file} asset card file cannot be read.`, { cause: error });
  }
  let text: string;
  try {
    const handle = await open(real, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_CARD_FILE_BYTES) {
        return {
          entries: [],
          problems: [
            new AssetMetadataError(
              source,
              `The file has ${size} bytes, more than the ${MAX_CARD_FILE_BYTES}-byte (${MAX_CARD_FILE_BYTES / (1024 * 1024)} MiB) limit for asset card files.`,
              { location: { file: real, line: 1, column: 1 } },
            ),
          ],
        };
      }
      text = await handle.readFile({ encoding: 'utf8' });
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (isNotFound(error)) {
      return undefined;
    }
    throw new OperationalError(`${real} asset card file cannot be read.`, { cause: error });
  }
  return parseAssetCards(text, { file: real, source });
}

/** The card files at `path` (a file, or a folder walked recursively), sorted. */
async function listCardFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) {
    return [path];
  }
  const files: string[] = [];
  const visited = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let real: string;
    let children: Dirent[];
    try {
      real = await realpath(dir);
      if (visited.has(real)) {
        return; // A symbolic link back to a folder already walked.
      }
      visited.add(real);
      children = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) {
        return;
      }
      throw new OperationalError(`${dir} asset card folder cannot be read.`, { cause: error });
    }
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const childPath = join(dir, child.name);
      let isDir = child.isDirectory();
      let isFile = child.isFile();
      if (child.isSymbolicLink()) {
        try {
          const target = await stat(childPath);
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch {
          continue; // A dangling link.
        }
      }
      if (isDir) {
        await walk(childPath);
      } else if (isFile && CARD_FILE.test(child.name)) {
        files.push(childPath);
      }
    }
  };
  await walk(path);
  return files;
}

/** Whether `error` is a "no such file" error (the file vanished or never existed). */
export function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
