import { isDeepStrictEqual } from 'node:util';

import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import { displayAssetName, splitCanonicalAssetName } from './assetNames.js';
import { AssetCard, type AssetCardFieldData } from './AssetCard.js';
import type { AssetMetadataEntry, AssetMetadataProvider } from './AssetMetadata.js';
import type { AssetMetadataSource } from './AssetMetadataSource.js';
import {
  AssetCardCycleError,
  AssetCardError,
  AssetMetadataError,
  AssetNotFoundError,
  AssetSourceNotFoundError,
  type AssetProblem,
} from './errors.js';
import { formatLocation } from './SourceLocation.js';

/**
 * Every card fs2 knows, from every registered source, looked up by name (fairseq2's
 * `AssetStore`). Built once by `initFairseq2()`; lookups are synchronous.
 *
 * Names: `foo` applies the environment overlays (`foo@user`, then `foo@<detected env>`) to `foo`;
 * `foo@env` applies only `foo@env`; `foo@` applies none. Base cards get the same overlays.
 */
export interface AssetStore {
  /** The card `name`; throws {@link AssetNotFoundError} when there is none. */
  retrieveCard(name: string): AssetCard;
  /** The card `name`, or `undefined` when there is none. Broken cards still throw {@link AssetCardError}. */
  maybeRetrieveCard(name: string): AssetCard | undefined;
  /**
   * The cards (with the default overlays) whose field `field`, own or inherited, equals `value`,
   * sorted by name. Hubs use `findCards('model_family', 'llama')`.
   */
  findCards(field: string, value: unknown): AssetCard[];
  /** Every canonical name (`foo@`, `foo@user`), sorted. */
  readonly assetNames: readonly string[];
  /** Every card name without environment (`foo`), env-only cards included, sorted. */
  readonly cardNames: readonly string[];
  /** The environments overlays come from, highest precedence first: `user`, then the detected one. */
  readonly environments: readonly string[];
  /** The sources, in the order they were loaded. */
  readonly sources: readonly string[];
  /** The entry with the canonical name `name` (`foo@`, `foo@user`), as its source holds it. */
  maybeGetEntry(name: string): AssetMetadataEntry | undefined;
  /**
   * What was left out while loading. Always empty for a strict store, which throws the first
   * problem instead; a lenient one (`fs2 assets validate`) keeps going and lists them here.
   */
  readonly problems: readonly AssetProblem[];
}

export const AssetStore: ServiceIdentifier<AssetStore> = createServiceIdentifier('AssetStore');

/** Options of {@link StandardAssetStore}. */
export interface StandardAssetStoreOptions {
  /** The detected environment, overlaid after `user`. Default: none (only `user`). */
  readonly environment?: string | undefined;
  /**
   * Keep loading past problems (bad documents, duplicate names, missing sources), recording them
   * in {@link AssetStore.problems}, instead of throwing the first. Default: `false`.
   */
  readonly lenient?: boolean;
}

/** The always-available environment, with precedence over the detected one (as in fairseq2). */
export const USER_ENVIRONMENT = 'user';

/**
 * The {@link AssetStore} over a list of providers, in source order.
 *
 * Differences from fairseq2, each a fix of a quirk it documents:
 * - a card defined only in an environment (`my_model@user` with no `my_model`) is retrievable as
 *   `my_model`;
 * - a `base` cycle (`foo@user` with `base: foo` included) is an {@link AssetCardError} showing
 *   the chain, not an endless recursion;
 * - both overlays apply, in layers: the detected environment's, then `user`'s on top (fairseq2
 *   applies only the first it finds);
 * - names and `findCards` results are sorted;
 * - the same file reached through two sources (the user folder also registered as a path) is read
 *   once, not reported as a duplicate.
 *
 * As in fairseq2, a name in two sources is an error (sources never shadow each other): overriding
 * is done with `@env` overlays only.
 */
export class StandardAssetStore implements AssetStore {
  readonly assetNames: readonly string[];
  readonly cardNames: readonly string[];
  readonly environments: readonly string[];
  readonly sources: readonly string[];
  readonly problems: readonly AssetProblem[];
  private readonly entries = new Map<string, AssetMetadataEntry>();
  private readonly cache = new Map<string, AssetCard | undefined>();

  constructor(providers: readonly AssetMetadataProvider[], options: StandardAssetStoreOptions = {}) {
    const problems: AssetProblem[] = [];
    const documents = new Set<string>();
    for (const provider of providers) {
      problems.push(...provider.problems);
      for (const entry of provider.entries) {
        if (entry.file !== undefined) {
          const document = `${entry.file}\u0000${entry.index}`;
          if (documents.has(document)) {
            continue;
          }
          documents.add(document);
        }
        const existing = this.entries.get(entry.name);
        if (existing !== undefined) {
          problems.push(duplicateProblem(existing, entry));
          continue;
        }
        this.entries.set(entry.name, entry);
      }
    }
    if (options.lenient !== true && problems[0] !== undefined) {
      throw problems[0];
    }
    this.problems = problems;
    this.sources = [...new Set(providers.map((p) => p.source))];
    this.assetNames = sortStrings([...this.entries.keys()]);
    this.cardNames = sortStrings([...new Set(this.assetNames.map((n) => splitCanonicalAssetName(n).name))]);
    const environment = options.environment?.trim();
    this.environments =
      environment === undefined || environment === '' || environment === USER_ENVIRONMENT
        ? [USER_ENVIRONMENT]
        : [USER_ENVIRONMENT, environment];
  }

  /**
   * Loads every source, in order, and builds the store. A source that throws stops the load
   * (strict) or becomes a problem (lenient).
   */
  static async load(
    sources: readonly AssetMetadataSource[],
    options: StandardAssetStoreOptions = {},
  ): Promise<StandardAssetStore> {
    const providers: AssetMetadataProvider[] = [];
    for (const source of sources) {
      try {
        providers.push(...(await source.load()));
      } catch (error) {
        if (options.lenient !== true || !(error instanceof AssetSourceNotFoundError)) {
          throw error;
        }
        providers.push({
          source: error.source,
          entries: [],
          problems: [new AssetMetadataError(error.source, error.message, { cause: error })],
        });
      }
    }
    return new StandardAssetStore(providers, options);
  }

  retrieveCard(name: string): AssetCard {
    const card = this.maybeRetrieveCard(name);
    if (card === undefined) {
      throw new AssetNotFoundError(name);
    }
    return card;
  }

  maybeRetrieveCard(name: string): AssetCard | undefined {
    const at = name.indexOf('@');
    const base = (at < 0 ? name : name.slice(0, at)).trim();
    const env = at < 0 ? undefined : name.slice(at + 1).trim();
    if (base === '' || env?.includes('@') === true) {
      return undefined;
    }
    // "name@" means no environment look-up; "name@env" only that one; "name" the defaults.
    const envs = env === undefined ? this.environments : env === '' ? [] : [env];
    return this.build(base, envs, []);
  }

  findCards(field: string, value: unknown): AssetCard[] {
    const cards: AssetCard[] = [];
    for (const name of this.cardNames) {
      const card = this.maybeRetrieveCard(name);
      const found = card?.maybeField(field);
      if (card !== undefined && found !== undefined && isDeepStrictEqual(found.value, value)) {
        cards.push(card);
      }
    }
    return cards;
  }

  maybeGetEntry(name: string): AssetMetadataEntry | undefined {
    return this.entries.get(name);
  }

  /**
   * Builds the card `name` with the overlays of `envs` (highest precedence first). `visiting`
   * holds the cards whose `base` chain led here, leaf first, for cycle detection.
   */
  private build(name: string, envs: readonly string[], visiting: readonly string[]): AssetCard | undefined {
    const cacheKey = `${name}\u0000${envs.join('\u0000')}`;
    if (this.cache.has(cacheKey)) {
      return this.cache.get(cacheKey);
    }
    const own = this.entries.get(`${name}@`);
    const overlays = envs
      .map((env) => this.entries.get(`${name}@${env}`))
      .filter((e): e is AssetMetadataEntry => e !== undefined)
      .reverse();
    const entries = own === undefined ? overlays : [own, ...overlays];
    if (entries.length === 0) {
      return undefined;
    }
    const fields = new Map<string, AssetCardFieldData>();
    for (const entry of entries) {
      for (const [key, data] of entry.fields) {
        fields.set(key, { data, entry });
      }
    }

    let base: AssetCard | undefined;
    const baseField = fields.get('base');
    if (baseField !== undefined) {
      const baseName = baseField.data.value as string;
      const chain = [...visiting, name];
      if (chain.includes(baseName)) {
        throw cycleError(chain, baseName, baseField);
      }
      base = this.build(baseName, envs, chain);
      if (base === undefined) {
        throw new AssetCardError(name, `\`${baseName}\` base asset of the \`${name}\` asset card does not exist.`, {
          field: 'base',
          location: baseField.data.location,
        });
      }
    }

    const card = new AssetCard({ name, fields, entries, base });
    this.cache.set(cacheKey, card);
    return card;
  }
}

function cycleError(chain: readonly string[], baseName: string, baseField: AssetCardFieldData): AssetCardCycleError {
  const start = chain.indexOf(baseName);
  const cycle = [...chain.slice(start), baseName].join(' -> ');
  const leaf = chain[chain.length - 1] as string;
  const overlay = baseField.entry.name.endsWith('@') ? undefined : displayAssetName(baseField.entry.name);
  const hint =
    overlay !== undefined && baseName === leaf
      ? ` \`${overlay}\` is an overlay of \`${leaf}\` and extends it already: it needs no \`base\` field.`
      : '';
  return new AssetCardCycleError(
    leaf,
    `The \`${chain[0] as string}\` asset card has a cycle in its \`base\` chain: ${cycle}.${hint}`,
    [...chain.slice(start), baseName],
    { field: 'base', location: baseField.data.location },
  );
}

function duplicateProblem(first: AssetMetadataEntry, second: AssetMetadataEntry): AssetMetadataError {
  const name = displayAssetName(second.name);
  const reason =
    first.source === second.source
      ? `\`${name}\` asset is defined twice in ${second.source}, first at ${describePlace(first)}.`
      : `\`${name}\` asset is defined in both ${first.source} (${describePlace(first)}) and ${second.source}.`;
  return new AssetMetadataError(second.source, reason, { location: second.location });
}

function describePlace(entry: AssetMetadataEntry): string {
  return entry.location === undefined ? `entry ${entry.index}` : formatLocation(entry.location);
}

function sortStrings(values: string[]): string[] {
  return values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * How the library builds its {@link AssetStore}. Optional: register an instance (from `extras`)
 * to change the defaults; `fs2 assets validate` registers `{ lenient: true }`.
 */
export interface AssetStoreOptions {
  /** See {@link StandardAssetStoreOptions.lenient}. Default: `false`. */
  readonly lenient?: boolean;
}

export const AssetStoreOptions: ServiceIdentifier<AssetStoreOptions> = createServiceIdentifier('AssetStoreOptions');
