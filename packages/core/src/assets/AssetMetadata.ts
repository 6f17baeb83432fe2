import type { AssetMetadataError } from './errors.js';
import type { SourceLocation } from './SourceLocation.js';

/** A value a card holds: plain data, as YAML's core schema produces it. Frozen once loaded. */
export type AssetValue = string | number | boolean | null | readonly AssetValue[] | { readonly [key: string]: AssetValue };

/** The locations of a value nested in a field (a config override key, a list item). */
export interface NestedLocation {
  /** Where the mapping key was written, when the last step of the path is a key. */
  readonly key?: SourceLocation;
  /** Where the value was written. */
  readonly value: SourceLocation;
}

/** Finds where a value nested inside a field was written. */
export interface ValueLocator {
  /**
   * The locations of the value at `path` (keys and list indices) inside the field, or `undefined`
   * when the path does not exist there.
   */
  locate(path: readonly (string | number)[]): NestedLocation | undefined;
}

/** One top-level field of one card entry, with where it was written. */
export interface AssetMetadataField {
  readonly value: AssetValue;
  /** Where the value was written; absent for in-memory entries. */
  readonly location?: SourceLocation;
  /** Where the key was written; absent for in-memory entries. */
  readonly keyLocation?: SourceLocation;
  /** Locates values nested in this one; absent for in-memory entries. */
  readonly locator?: ValueLocator;
}

/**
 * One card as a source holds it, before environments and `base` are applied: a YAML document or
 * an in-memory entry. The `name` field is not among {@link fields} (as in fairseq2, which pops it).
 */
export interface AssetMetadataEntry {
  /** The canonical name: `foo@` or `foo@env`. */
  readonly name: string;
  /** The source that holds it (`package:@fs2/core`, `path:/etc/fairseq2/assets`, ...). */
  readonly source: string;
  /** The fields other than `name`, in the order they were written. */
  readonly fields: ReadonlyMap<string, AssetMetadataField>;
  /** The absolute (real) path of the YAML file; absent for in-memory entries. */
  readonly file?: string;
  /** The folder relative paths in this entry resolve against (the file's folder); absent in memory. */
  readonly dir?: string;
  /** The 0-based index of the YAML document (or in-memory entry) in its file (or list). */
  readonly index: number;
  /** Where the `name` value was written; absent for in-memory entries. */
  readonly location?: SourceLocation;
}

/** What one source provides: its name, its entries and the problems met while reading them. */
export interface AssetMetadataProvider {
  /** The source name, shown in listings and errors. */
  readonly source: string;
  /** The entries read, in file order. */
  readonly entries: readonly AssetMetadataEntry[];
  /** What could not be read (each one an entry or a file left out). The store decides whether to throw. */
  readonly problems: readonly AssetMetadataError[];
}

/** Freezes plain data in place, deeply, and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) {
      deepFreeze(item);
    }
  }
  return value;
}

/** The type name fs2 messages use for a value: string, number, boolean, null, list or object. */
export function describeValueType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'list';
  }
  if (typeof value === 'object') {
    return 'object';
  }
  if (value === undefined) {
    return 'undefined';
  }
  return typeof value;
}

/**
 * Whether `value` is a plain object (a YAML mapping), not a list, null or a class instance. Objects
 * from another realm (`structuredClone` under a vm context) count: their prototype is that realm's
 * `Object.prototype`.
 */
export function isPlainObject(value: unknown): value is { readonly [key: string]: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}
