import type { AssetMetadataEntry, AssetMetadataField, AssetValue } from './AssetMetadata.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { AssetCardField } from './AssetCardField.js';
import { AssetCardError } from './errors.js';
import type { SourceLocation } from './SourceLocation.js';

/** A field of a card and the entry that wrote it (the card's own entry or an overlay). */
export interface AssetCardFieldData {
  readonly data: AssetMetadataField;
  readonly entry: AssetMetadataEntry;
}

/** What an {@link AssetCard} is made of; the store builds it. */
export interface AssetCardInit {
  /** The name without environment (`llama3_8b`). */
  readonly name: string;
  /** The card's own fields (overlays applied), in the order written. */
  readonly fields: ReadonlyMap<string, AssetCardFieldData>;
  /**
   * The entries the card was made of: its own entry (when it has one), then the environment
   * overlays applied, lowest precedence first. Never empty.
   */
  readonly entries: readonly AssetMetadataEntry[];
  /** The card named by the `base` field, already built. */
  readonly base?: AssetCard | undefined;
}

/**
 * A card as the store returns it: the fields of one entry with its environment overlays applied,
 * and its base card (single inheritance through `base`). A field is looked up on the card, then
 * on its base, and so on: the whole value of the first card that has it (no merge, except for
 * config overrides, which {@link AssetConfigLoader} merges along the chain).
 *
 * Two fields are synthesized, as in fairseq2, and hidden by `fs2 assets show`: `__source__` (the
 * source of the card's entry) and `__base_path__` (the folder of its file, for file cards).
 */
export class AssetCard {
  /** The name without environment. */
  readonly name: string;
  /** The base card, when the card has a `base` field. */
  readonly base: AssetCard | undefined;
  /** The card's entry (when it has one), then the overlays applied, lowest precedence first. */
  readonly entries: readonly AssetMetadataEntry[];
  private readonly fields: ReadonlyMap<string, AssetCardFieldData>;

  constructor(init: AssetCardInit) {
    if (init.entries.length === 0) {
      throw new InvalidArgumentError('init', `The \`${init.name}\` asset card needs at least one entry.`);
    }
    this.name = init.name;
    this.base = init.base;
    this.entries = init.entries;
    const first = init.entries[0] as AssetMetadataEntry;
    const fields = new Map(init.fields);
    fields.set('__source__', { data: { value: first.source }, entry: first });
    if (first.dir !== undefined) {
      fields.set('__base_path__', { data: { value: first.dir }, entry: first });
    }
    this.fields = fields;
  }

  /** The source of the card's entry (`package:@fs2/core`, `path:/etc/fairseq2/assets`, ...). */
  get source(): string {
    return (this.entries[0] as AssetMetadataEntry).source;
  }

  /** The file of the card's entry; `undefined` for in-memory cards. */
  get file(): string | undefined {
    return (this.entries[0] as AssetMetadataEntry).file;
  }

  /** The folder of the card's file; `undefined` for in-memory cards. */
  get dir(): string | undefined {
    return (this.entries[0] as AssetMetadataEntry).dir;
  }

  /** Where the card's `name` was written; `undefined` for in-memory cards. */
  get location(): SourceLocation | undefined {
    return (this.entries[0] as AssetMetadataEntry).location;
  }

  /** The canonical names of the environment overlays applied (`foo@user`), lowest precedence first. */
  get overlays(): readonly string[] {
    return this.entries.filter((e) => !e.name.endsWith('@')).map((e) => e.name);
  }

  /** The card, its base, its base's base, ... */
  get chain(): readonly AssetCard[] {
    const chain: AssetCard[] = [];
    for (let card: AssetCard | undefined = this; card !== undefined; card = card.base) {
      chain.push(card);
    }
    return chain;
  }

  /** The names of the card's own fields (not inherited ones), in the order written, `__x__` fields included. */
  get fieldNames(): readonly string[] {
    return [...this.fields.keys()];
  }

  /** The card's own fields as plain data (fairseq2's `metadata`), `__source__` and `__base_path__` included. */
  get metadata(): { readonly [key: string]: AssetValue } {
    const metadata: { [key: string]: AssetValue } = {};
    for (const [key, { data }] of this.fields) {
      metadata[key] = data.value;
    }
    return metadata;
  }

  /** The field `name`, from this card or the nearest base card that has it. */
  field(name: string): AssetCardField {
    const field = this.maybeField(name);
    if (field === undefined) {
      throw new AssetCardError(this.name, `\`${this.name}\` asset card does not have a field named \`${name}\`.`, {
        field: name,
        location: this.location,
      });
    }
    return field;
  }

  /** Like {@link field}, but `undefined` when neither the card nor a base has it. */
  maybeField(name: string): AssetCardField | undefined {
    for (const card of this.chain) {
      const found = card.fields.get(name);
      if (found !== undefined) {
        return new AssetCardField(this, name, found.data, found.entry);
      }
    }
    return undefined;
  }

  /** Whether the card or a base card has the field. */
  hasField(name: string): boolean {
    return this.chain.some((card) => card.fields.has(name));
  }

  /** The field as the card itself holds it (no base lookup), or `undefined`. */
  maybeOwnField(name: string): AssetCardField | undefined {
    const found = this.fields.get(name);
    return found === undefined ? undefined : new AssetCardField(this, name, found.data, found.entry);
  }

  /** fairseq2's `repr`: `name={metadata}`. */
  toString(): string {
    return `${this.name}=${JSON.stringify(this.metadata)}`;
  }
}
