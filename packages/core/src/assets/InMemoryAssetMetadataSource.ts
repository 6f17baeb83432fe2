import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { AssetMetadataEntry, AssetMetadataProvider, AssetValue } from './AssetMetadata.js';
import { deepFreeze, isPlainObject } from './AssetMetadata.js';
import type { AssetMetadataSource } from './AssetMetadataSource.js';
import { AssetMetadataError } from './errors.js';
import { makeAssetMetadataEntry } from './makeAssetMetadataEntry.js';
import { MAX_NESTING_DEPTH } from './parseAssetCards.js';

/**
 * Cards given as plain objects, each with a `name` (fairseq2's `InMemoryAssetMetadataSource`).
 * The entries are copied when the source is made, so the caller's objects are never changed
 * (fairseq2 pops their `name`). They have no file: a relative path in them cannot be resolved.
 */
export class InMemoryAssetMetadataSource implements AssetMetadataSource {
  private readonly entries: readonly unknown[];

  constructor(
    /** The source name, as given (shown in listings and errors). */
    readonly source: string,
    entries: readonly Readonly<Record<string, unknown>>[],
  ) {
    if (source.trim() === '') {
      throw new InvalidArgumentError('source', 'The name of an in-memory asset source must not be empty.');
    }
    try {
      this.entries = structuredClone(entries);
    } catch (error) {
      throw new InvalidArgumentError(
        'entries',
        `The entries of the ${source} asset source must be plain data (strings, numbers, booleans, null, lists, objects).`,
        { cause: error },
      );
    }
  }

  load(): Promise<readonly AssetMetadataProvider[]> {
    const entries: AssetMetadataEntry[] = [];
    const problems: AssetMetadataError[] = [];
    this.entries.forEach((raw, index) => {
      const result = this.read(raw, index);
      if (result instanceof AssetMetadataError) {
        problems.push(result);
      } else {
        entries.push(result);
      }
    });
    return Promise.resolve([{ source: this.source, entries, problems }]);
  }

  private read(raw: unknown, index: number): AssetMetadataEntry | AssetMetadataError {
    if (!isPlainObject(raw)) {
      return new AssetMetadataError(
        this.source,
        `The entry at index ${index} of the ${this.source} source is expected to be an object (one card).`,
      );
    }
    for (const [key, value] of Object.entries(raw)) {
      const bad = findNonPlainData(value, [key], 0);
      if (bad !== undefined) {
        return new AssetMetadataError(
          this.source,
          `The entry at index ${index} of the ${this.source} source holds ${bad.what} at \`${bad.path.join('.')}\`: card values are plain data, nested at most ${MAX_NESTING_DEPTH} levels.`,
        );
      }
    }
    const fields = Object.entries(raw).map(([key, value]) => ({ key, value: deepFreeze(value) as AssetValue }));
    return makeAssetMetadataEntry(fields, { source: this.source, index, unit: 'entry' });
  }
}

function findNonPlainData(
  value: unknown,
  path: (string | number)[],
  depth: number,
): { what: string; path: (string | number)[] } | undefined {
  if (depth > MAX_NESTING_DEPTH) {
    return { what: 'a value nested too deeply', path };
  }
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const bad = findNonPlainData(item, [...path, i], depth + 1);
      if (bad !== undefined) {
        return bad;
      }
    }
    return undefined;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const bad = findNonPlainData(item, [...path, key], depth + 1);
      if (bad !== undefined) {
        return bad;
      }
    }
    return undefined;
  }
  const what =
    typeof value === 'object' ? `a ${(value as object).constructor?.name ?? 'non-plain object'}` : `a value of type ${typeof value}`;
  return { what, path };
}
