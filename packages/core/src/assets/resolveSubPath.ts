import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

import type { AssetCard } from './AssetCard.js';
import { AssetCardError } from './errors.js';
import { isNotFound } from './loadAssetCardFiles.js';

/**
 * The path `subPath` (a card's `checkpoint_path` or `tokenizer_path`) inside `downloadDir`,
 * refused when it leaves the folder: an absolute path, `..` steps that climb out, or a symbolic
 * link inside the folder that points outside it (fairseq2 checks only the lexical path).
 *
 * @param field The card field `subPath` came from, for the message and its location.
 * @throws AssetCardError "`checkpoint_path` field of the `x` asset card points to a path that is
 *   not relative to the download directory."
 */
export async function resolveSubPath(downloadDir: string, subPath: string, card: AssetCard, field: string): Promise<string> {
  const refuse = (): AssetCardError =>
    new AssetCardError(
      card.name,
      `\`${field}\` field of the \`${card.name}\` asset card points to a path that is not relative to the download directory.`,
      { field, location: card.maybeField(field)?.location },
    );
  if (isAbsolute(subPath)) {
    throw refuse();
  }
  const base = resolve(downloadDir);
  const target = resolve(base, subPath);
  if (!isInside(base, target)) {
    throw refuse();
  }
  const realBase = await realpath(base);
  const realTarget = await realpathOfNearestExisting(target);
  if (!isInside(realBase, realTarget)) {
    throw refuse();
  }
  return target;
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** The real path of `path`, or of its nearest existing parent when it does not exist (yet). */
async function realpathOfNearestExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    const parent = dirname(path);
    if (!isNotFound(error) || parent === path) {
      throw error;
    }
    return realpathOfNearestExisting(parent);
  }
}
