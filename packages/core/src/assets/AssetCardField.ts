import { isAbsolute } from 'node:path';

import type { AssetCard } from './AssetCard.js';
import type { AssetMetadataEntry, AssetMetadataField, AssetValue, NestedLocation } from './AssetMetadata.js';
import { describeValueType, isPlainObject } from './AssetMetadata.js';
import { AssetUri } from './AssetUri.js';
import { AssetCardError } from './errors.js';
import type { SourceLocation } from './SourceLocation.js';

/**
 * One field of a card, found on the card itself or inherited from a base card, with typed
 * accessors that throw fairseq2's sentence plus the place the value was written:
 *
 * "`model_arch` field of the `llama3_8b` asset card is expected to be of type string, but is of
 * type number instead. (/…/cards/models/llama.yaml:12:13)"
 */
export class AssetCardField {
  constructor(
    /** The card the field was asked of (messages name it; the value may come from a base). */
    readonly card: AssetCard,
    /** The field name. */
    readonly name: string,
    private readonly data: AssetMetadataField,
    /** The entry (YAML document or in-memory entry) that wrote the value. */
    readonly entry: AssetMetadataEntry,
  ) {}

  /** The value, as written (frozen plain data). */
  get value(): AssetValue {
    return this.data.value;
  }

  /** Where the value was written; `undefined` for in-memory cards. */
  get location(): SourceLocation | undefined {
    return this.data.location;
  }

  /** Where the key was written; `undefined` for in-memory cards. */
  get keyLocation(): SourceLocation | undefined {
    return this.data.keyLocation;
  }

  /**
   * The folder relative paths in this value resolve against: the folder of the file that wrote
   * it (not the leaf card's, unlike fairseq2). `undefined` for in-memory cards.
   */
  get dir(): string | undefined {
    return this.entry.dir;
  }

  /** Where a value nested in this one (`['decoder', 'num_layers']`, `[2]`) was written. */
  locate(path: readonly (string | number)[]): NestedLocation | undefined {
    if (path.length === 0) {
      return this.location === undefined
        ? undefined
        : { value: this.location, ...(this.keyLocation === undefined ? {} : { key: this.keyLocation }) };
    }
    return this.data.locator?.locate(path);
  }

  /** The value as a string. */
  asString(): string {
    return this.expect('string', typeof this.value === 'string') as string;
  }

  /** The value as a finite or infinite number; booleans are refused (unlike Python's `as_(int)`). */
  asNumber(): number {
    return this.expect('number', typeof this.value === 'number') as number;
  }

  /** The value as an integer (a number with no fractional part). */
  asInteger(): number {
    return this.expect('integer', typeof this.value === 'number' && Number.isInteger(this.value)) as number;
  }

  /** The value as a boolean (`true` / `false` only: YAML 1.2 reads `yes` and `on` as strings). */
  asBoolean(): boolean {
    return this.expect('boolean', typeof this.value === 'boolean') as boolean;
  }

  /** The value as a mapping. */
  asObject(): { readonly [key: string]: AssetValue } {
    return this.expect('object', isPlainObject(this.value)) as { readonly [key: string]: AssetValue };
  }

  /** The value as a list. */
  asList(): readonly AssetValue[] {
    return this.expect('list', Array.isArray(this.value)) as readonly AssetValue[];
  }

  /** The value as a list of strings. */
  asStringList(): readonly string[] {
    const list = this.asList();
    const index = list.findIndex((item) => typeof item !== 'string');
    if (index >= 0) {
      throw this.error(
        `\`${this.name}\` field of the \`${this.card.name}\` asset card is expected to be a list of strings, but its item at index ${index} is of type ${describeValueType(list[index])}.`,
        this.locate([index])?.value ?? this.location,
      );
    }
    return list as readonly string[];
  }

  /** The value as one of `choices` (a string field with a closed set of values). */
  asOneOf<const T extends string>(choices: readonly T[]): T {
    const value = this.asString();
    if (!(choices as readonly string[]).includes(value)) {
      throw this.error(
        `\`${this.name}\` field of the \`${this.card.name}\` asset card is expected to be one of ${choices.map((c) => `\`${c}\``).join(', ')}, but is \`${value}\` instead.`,
      );
    }
    return value as T;
  }

  /**
   * The value as a URI: a URI with a scheme (`hg://org/repo`, `https://…`, `file:///…`) as is; an
   * absolute path as a `file:` URI; a relative path against the folder of the file that defined
   * the field. In-memory cards have no folder, so a relative path there is an error.
   */
  asUri(): AssetUri {
    const text = this.asString();
    const uri = AssetUri.maybeParse(text);
    if (uri !== undefined) {
      return uri;
    }
    if (text.trim() === '') {
      throw this.error(
        `\`${this.name}\` field of the \`${this.card.name}\` asset card is expected to be a URI or a pathname, but is an empty string.`,
      );
    }
    if (isAbsolute(text)) {
      return AssetUri.fromPath(text);
    }
    if (this.dir === undefined) {
      throw this.error(
        `\`${this.name}\` field of the \`${this.card.name}\` asset card is a relative pathname and cannot be converted to a URI.`,
      );
    }
    return AssetUri.fromPath(text, this.dir);
  }

  /** The same field, asked of another card (messages name that card): a base card's field seen from the leaf. */
  withCard(card: AssetCard): AssetCardField {
    return new AssetCardField(card, this.name, this.data, this.entry);
  }

  /** An {@link AssetCardError} about this field, located at its value unless told otherwise. */
  error(reason: string, location: SourceLocation | undefined = this.location): AssetCardError {
    return new AssetCardError(this.card.name, reason, { field: this.name, location });
  }

  private expect(type: string, ok: boolean): AssetValue {
    if (!ok) {
      throw this.error(
        `\`${this.name}\` field of the \`${this.card.name}\` asset card is expected to be of type ${type}, but is of type ${describeValueType(this.value)} instead.`,
      );
    }
    return this.value;
  }
}
