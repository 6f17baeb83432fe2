import {
  ASSET_NAME_RULE,
  canonicalizeAssetName,
  displayAssetName,
  sanitizeBaseAssetName,
} from './assetNames.js';
import type { AssetMetadataEntry, AssetMetadataField, AssetValue } from './AssetMetadata.js';
import { describeValueType } from './AssetMetadata.js';
import { AssetMetadataError } from './errors.js';
import type { SourceLocation } from './SourceLocation.js';

/** One top-level key of a card as read, before checks. */
export interface RawAssetField extends AssetMetadataField {
  readonly key: string;
}

/** Where an entry comes from, for its fields and for messages. */
export interface AssetEntryContext {
  readonly source: string;
  /** 0-based index of the document (or in-memory entry). */
  readonly index: number;
  /** `document` for YAML files, `entry` for in-memory lists: how messages name an unnamed card. */
  readonly unit: 'document' | 'entry';
  readonly file?: string;
  readonly dir?: string;
  /** Where the document starts, for problems that have no better place. */
  readonly location?: SourceLocation;
}

/** fairseq2 injects `__base_path__` and `__source__`; fs2 reserves every `__x__` field. */
const RESERVED_FIELD = /^__.+__$/;

/**
 * Checks the shape every card has (a valid `name`, a valid `base`, no reserved field) and builds
 * the entry; the same rules for YAML documents and in-memory entries, fairseq2's
 * `YamlAssetMetadataFileLoader` and `load_in_memory_asset_metadata` checks.
 */
export function makeAssetMetadataEntry(
  raw: readonly RawAssetField[],
  context: AssetEntryContext,
): AssetMetadataEntry | AssetMetadataError {
  const problem = (reason: string, location: SourceLocation | undefined): AssetMetadataError =>
    new AssetMetadataError(context.source, reason, { location: location ?? context.location });
  const unnamed = `the ${context.unit} at index ${context.index}${context.file === undefined ? ` of the ${context.source} source` : ''}`;

  const nameField = raw.find((f) => f.key === 'name');
  if (nameField === undefined) {
    return problem(`${capitalize(unnamed)} has no \`name\` field.`, context.location);
  }
  if (typeof nameField.value !== 'string') {
    return problem(
      `\`name\` field of ${unnamed} is expected to be of type string, but is of type ${describeValueType(nameField.value)} instead.`,
      nameField.location,
    );
  }
  const name = canonicalizeAssetName(nameField.value);
  if (name === undefined) {
    return problem(`\`${nameField.value}\` is not a valid asset name: ${ASSET_NAME_RULE}.`, nameField.location);
  }
  const display = displayAssetName(name);

  const fields = new Map<string, AssetMetadataField>();
  for (const field of raw) {
    if (field.key === 'name') {
      continue;
    }
    if (RESERVED_FIELD.test(field.key)) {
      return problem(
        `\`${field.key}\` field of the \`${display}\` asset card is reserved: fs2 sets the fields named \`__x__\` itself.`,
        field.keyLocation,
      );
    }
    let value: AssetValue = field.value;
    if (field.key === 'base') {
      if (typeof value !== 'string') {
        return problem(
          `\`base\` field of the \`${display}\` asset card is expected to be of type string, but is of type ${describeValueType(value)} instead.`,
          field.location,
        );
      }
      const base = sanitizeBaseAssetName(value);
      if (base === undefined) {
        return problem(
          `\`base\` field of the \`${display}\` asset card must name a card without environment (no \`@\`, not empty), but is \`${value}\`.`,
          field.location,
        );
      }
      value = base;
    }
    fields.set(field.key, {
      value,
      ...(field.location === undefined ? {} : { location: field.location }),
      ...(field.keyLocation === undefined ? {} : { keyLocation: field.keyLocation }),
      ...(field.locator === undefined ? {} : { locator: field.locator }),
    });
  }

  return {
    name,
    source: context.source,
    fields,
    index: context.index,
    ...(context.file === undefined ? {} : { file: context.file }),
    ...(context.dir === undefined ? {} : { dir: context.dir }),
    ...(nameField.location === undefined ? {} : { location: nameField.location }),
  };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
