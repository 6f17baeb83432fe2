import type { Static, TSchema } from '@sinclair/typebox';

import type { Environment } from '../runtime/Environment.js';
import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import type { AssetCard } from './AssetCard.js';
import type { AssetCardField } from './AssetCardField.js';
import { isPlainObject } from './AssetMetadata.js';
import { AssetCardError, ConfigMergeError, type ConfigPath, type ConfigProblem } from './errors.js';
import { interpolateEnvVariables } from './interpolateEnvVariables.js';
import { mergeConfig, SET_DIRECTIVE } from './mergeConfig.js';
import type { SourceLocation } from './SourceLocation.js';
import { checkConfig } from './structureConfig.js';

/** Which configuration a card overrides: `model_config`, `tokenizer_config` or `dataset_config`. */
export type AssetConfigKind = 'model' | 'tokenizer' | 'dataset';

/**
 * The field names of each kind's overrides, fairseq2's `_CONFIG_KEYS` in its priority order:
 * the legacy `*_config_overrides` and `*_config_override` spellings, then `*_config`.
 */
export function assetConfigKeys(kind: AssetConfigKind): readonly string[] {
  return [`${kind}_config_overrides`, `${kind}_config_override`, `${kind}_config`];
}

/**
 * Builds a typed configuration from a base object (an architecture preset, a tokenizer's
 * defaults) and the overrides a card and its base cards write (fairseq2's `AssetConfigLoader`).
 */
export interface AssetConfigLoader {
  /**
   * `baseConfig` itself when no card of the chain overrides it (callers may compare identity);
   * otherwise a new object: the overrides merged root to leaf (`_set_`, `_del_`), `${env:VAR}`
   * replaced in strings, then checked against `schema` with unknown keys refused.
   *
   * @throws AssetCardError located at the offending key or value in the card file.
   */
  load<S extends TSchema>(card: AssetCard, baseConfig: Static<S>, kind: AssetConfigKind, schema: S): Static<S>;

  /** Every problem {@link load} would throw the first of (for `fs2 assets validate`); empty when it would succeed. */
  check<S extends TSchema>(card: AssetCard, baseConfig: Static<S>, kind: AssetConfigKind, schema: S): AssetCardError[];
}

export const AssetConfigLoader: ServiceIdentifier<AssetConfigLoader> = createServiceIdentifier('AssetConfigLoader');

/** One override found along a card's chain. */
interface Override {
  readonly key: string;
  readonly field: AssetCardField;
  readonly holder: string;
}

/**
 * The {@link AssetConfigLoader}. Unlike fairseq2, which uses only the highest-priority spelling
 * found anywhere in the chain and silently drops the others, every spelling is applied (root to
 * leaf; within one card, legacy spellings first), with a warning when a chain mixes them.
 */
export class StandardAssetConfigLoader implements AssetConfigLoader {
  private readonly warned = new Set<string>();

  constructor(
    private readonly environment: Pick<Environment, 'get'>,
    private readonly warn: (message: string) => void,
  ) {}

  load<S extends TSchema>(card: AssetCard, baseConfig: Static<S>, kind: AssetConfigKind, schema: S): Static<S> {
    const result = this.build(card, baseConfig, kind, schema);
    const first = result.problems[0];
    if (first !== undefined) {
      const more = result.problems.length - 1;
      if (more === 0) {
        throw first;
      }
      throw new AssetCardError(first.cardName, `${first.reason} (${more} more ${more === 1 ? 'problem' : 'problems'})`, {
        field: first.field,
        location: first.location,
      });
    }
    return result.config as Static<S>;
  }

  check<S extends TSchema>(card: AssetCard, baseConfig: Static<S>, kind: AssetConfigKind, schema: S): AssetCardError[] {
    return this.build(card, baseConfig, kind, schema).problems;
  }

  private build(
    card: AssetCard,
    baseConfig: unknown,
    kind: AssetConfigKind,
    schema: TSchema,
  ): { config: unknown; problems: AssetCardError[] } {
    const overrides = collectOverrides(card, kind);
    if (overrides.length === 0) {
      return { config: baseConfig, problems: [] };
    }
    this.warnMixedSpellings(card, kind, overrides);

    let config: unknown = baseConfig;
    for (const override of overrides) {
      try {
        override.field.asObject();
        config = mergeConfig(config, override.field.value);
      } catch (error) {
        if (error instanceof AssetCardError) {
          return { config, problems: [error] };
        }
        if (!(error instanceof ConfigMergeError)) {
          throw error;
        }
        const place = override.field.locate(error.path);
        return {
          config,
          problems: [
            new AssetCardError(
              card.name,
              `\`${override.key}\` field of the \`${card.name}\` asset card cannot be merged with the base configuration: ${error.reason}`,
              { field: override.key, location: place?.key ?? place?.value ?? override.field.location },
            ),
          ],
        };
      }
    }
    config = interpolateEnvVariables(config, (name) => this.environment.get(name));

    const problems = checkConfig(config, schema).map((problem) => locateProblem(card, kind, problem, overrides));
    return { config, problems };
  }

  private warnMixedSpellings(card: AssetCard, kind: AssetConfigKind, overrides: readonly Override[]): void {
    const keys = [...new Set(overrides.map((o) => o.key))];
    const memo = `${card.name}\u0000${kind}`;
    if (keys.length < 2 || this.warned.has(memo)) {
      return;
    }
    this.warned.add(memo);
    const fairseq2Key = assetConfigKeys(kind).find((k) => keys.includes(k)) as string;
    const uses = keys
      .map((key) => {
        const holders = [...new Set(overrides.filter((o) => o.key === key).map((o) => `\`${o.holder}\``))];
        return `\`${key}\` (in ${holders.join(', ')})`;
      })
      .join(' and ');
    this.warn(
      `The \`${card.name}\` asset card mixes ${uses} along its base chain; fs2 applies all of them, root to leaf, where fairseq2 would apply only \`${fairseq2Key}\`.`,
    );
  }
}

/** The overrides of `kind` along the chain of `card`, root first; within a card, legacy spellings first. */
function collectOverrides(card: AssetCard, kind: AssetConfigKind): Override[] {
  const overrides: Override[] = [];
  for (const holder of [...card.chain].reverse()) {
    for (const key of assetConfigKeys(kind)) {
      const own = holder.maybeOwnField(key);
      if (own !== undefined) {
        // Re-asked through the leaf, so that messages name the card the caller asked for.
        overrides.push({ key, field: own.withCard(card), holder: holder.name });
      }
    }
  }
  return overrides;
}

/** The card error for a schema problem, located at the override that wrote the offending key or value. */
function locateProblem(card: AssetCard, kind: AssetConfigKind, problem: ConfigProblem, overrides: readonly Override[]): AssetCardError {
  let found: { override: Override; location: SourceLocation } | undefined;
  for (let length = problem.path.length; length >= 0 && found === undefined; length -= 1) {
    const path = problem.path.slice(0, length);
    for (const override of [...overrides].reverse()) {
      const place = locateIn(override.field, path);
      if (place !== undefined) {
        const location =
          problem.kind === 'unknown_key' || length < problem.path.length ? place.key ?? place.value : place.value;
        found = { override, location };
        break;
      }
    }
  }
  const override = found?.override ?? (overrides[overrides.length - 1] as Override);
  return new AssetCardError(
    card.name,
    `\`${override.key}\` field of the \`${card.name}\` asset card is not a valid ${kind} configuration: ${problem.reason}`,
    { field: override.key, location: found?.location ?? override.field.keyLocation },
  );
}

/**
 * Where `path` (a path in the merged configuration) was written inside one override, looking
 * through `_set_` directives; `undefined` when the override does not write it.
 */
function locateIn(field: AssetCardField, path: ConfigPath): { key?: SourceLocation; value: SourceLocation } | undefined {
  let node: unknown = field.value;
  const written: (string | number)[] = [];
  for (const segment of path) {
    if (isPlainObject(node) && typeof segment === 'string' && Object.hasOwn(node, segment)) {
      written.push(segment);
      node = node[segment];
    } else if (
      isPlainObject(node) &&
      typeof segment === 'string' &&
      isPlainObject(node[SET_DIRECTIVE]) &&
      Object.hasOwn(node[SET_DIRECTIVE], segment)
    ) {
      written.push(SET_DIRECTIVE, segment);
      node = node[SET_DIRECTIVE][segment];
    } else if (Array.isArray(node) && typeof segment === 'number' && segment < node.length) {
      written.push(segment);
      node = node[segment];
    } else {
      return undefined;
    }
  }
  return field.locate(written);
}
