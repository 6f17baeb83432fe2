import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

import { InternalError } from '../errors/Fs2Error.js';
import { splitCanonicalAssetName } from './assetNames.js';
import type { AssetCard } from './AssetCard.js';
import type { AssetCardValidator } from './AssetCardValidator.js';
import type { AssetStore } from './AssetStore.js';
import { AssetCardCycleError, AssetCardError, AssetMetadataError, type AssetProblem } from './errors.js';
import { formatLocation } from './SourceLocation.js';

/** Options of {@link validateAssetStore}. */
export interface ValidateAssetStoreOptions {
  /**
   * Report only what was written under these files or folders. Default: everything. Cards
   * elsewhere (the built-in ones a card's `base` names) are still read, but not reported on.
   */
  readonly paths?: readonly string[];
  /** Where relative `paths` resolve. Default: `process.cwd()`. */
  readonly cwd?: string;
}

/** What {@link validateAssetStore} found. */
export interface AssetValidationReport {
  /** The problems, sorted by file, line and column (unlocated ones last), each reported once. */
  readonly problems: readonly AssetProblem[];
  /** How many entries (cards and overlays) were checked. */
  readonly checked: number;
}

/**
 * Checks every card of a store (best built lenient, so that loading problems are listed rather
 * than thrown): the loading problems (YAML syntax, names, duplicates), then every entry retrieved
 * by its canonical name (missing bases, base cycles), then every registered validator on each.
 */
export async function validateAssetStore(
  store: AssetStore,
  validators: readonly AssetCardValidator[],
  options: ValidateAssetStoreOptions = {},
): Promise<AssetValidationReport> {
  const scope = options.paths === undefined ? undefined : await realPaths(options.paths, options.cwd ?? process.cwd());
  const inScope = (file: string | undefined): boolean =>
    scope === undefined || (file !== undefined && scope.some((dir) => file === dir || file.startsWith(`${dir}${sep}`)));

  const problems: AssetProblem[] = store.problems.filter((p) => inScope(p.file));
  let checked = 0;
  for (const name of store.assetNames) {
    const entry = store.maybeGetEntry(name);
    if (entry === undefined || !inScope(entry.file)) {
      continue;
    }
    checked += 1;
    let card: AssetCard | undefined;
    try {
      card = store.maybeRetrieveCard(name);
    } catch (error) {
      problems.push(asProblem(error, splitCanonicalAssetName(name).name));
      continue;
    }
    if (card === undefined) {
      throw new InternalError(`The store lists ${name} but cannot retrieve it.`);
    }
    for (const validator of validators) {
      try {
        problems.push(...validator.validate(card, { store }));
      } catch (error) {
        problems.push(asProblem(error, card.name, validator.name));
      }
    }
  }
  return { problems: sortProblems(dedupe(problems)), checked };
}

function asProblem(error: unknown, cardName: string, validator?: string): AssetProblem {
  if (error instanceof AssetCardError || error instanceof AssetMetadataError) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AssetCardError(
    cardName,
    validator === undefined
      ? `The \`${cardName}\` asset card cannot be checked: ${message}`
      : `The ${validator} validator failed on the \`${cardName}\` asset card: ${message}`,
    { cause: error },
  );
}

async function realPaths(paths: readonly string[], cwd: string): Promise<string[]> {
  return Promise.all(
    paths.map(async (path) => {
      const absolute = resolve(cwd, path);
      return realpath(absolute).catch(() => absolute);
    }),
  );
}

/**
 * Each problem once: the same message at the same place (a missing base seen from every card
 * below it), and one report per loop (a cycle seen from each of its cards and from the cards
 * below it).
 */
function dedupe(problems: readonly AssetProblem[]): AssetProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key =
      p instanceof AssetCardCycleError
        ? `cycle\u0000${p.field ?? ''}\u0000${[...new Set(p.cycle)].sort().join('\u0000')}`
        : `${p.location === undefined ? '' : formatLocation(p.location)}\u0000${p.reason}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

function sortProblems(problems: AssetProblem[]): AssetProblem[] {
  const key = (p: AssetProblem): [number, string, number, number] =>
    p.location === undefined ? [1, '', 0, 0] : [0, p.location.file, p.location.line, p.location.column];
  return problems
    .map((problem, index) => ({ problem, index, key: key(problem) }))
    .sort((a, b) => {
      for (let i = 0; i < 4; i += 1) {
        const x = a.key[i] as string | number;
        const y = b.key[i] as string | number;
        if (x !== y) {
          return x < y ? -1 : 1;
        }
      }
      return a.index - b.index;
    })
    .map((item) => item.problem);
}
