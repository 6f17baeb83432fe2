import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';
import { locationSuffix, type SourceLocation } from './SourceLocation.js';

/** Options of the located asset errors: where the faulty text was written, and the cause. */
export interface LocatedErrorOptions extends Fs2ErrorOptions {
  /** Where the faulty value (or key) was written; absent for in-memory cards. */
  readonly location?: SourceLocation | undefined;
}

/** Options of {@link AssetCardError}. */
export interface AssetCardErrorOptions extends LocatedErrorOptions {
  /** The card field at fault, when there is one. */
  readonly field?: string | undefined;
}

/** No card by that name exists in any source (fairseq2's `AssetNotFoundError`). */
export class AssetNotFoundError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    /** The name as it was asked for (`foo`, `foo@user`). */
    readonly assetName: string,
    options?: Fs2ErrorOptions,
  ) {
    super(`${assetName} asset is not found.`, options);
  }
}

/**
 * A card is wrong: a missing or mistyped field, a missing base, a base cycle, a bad config
 * override, a path leaving its download directory.
 *
 * The message is {@link reason} followed by ` (file:line:column)` when the faulty value came
 * from a YAML file; the structured fields carry the same facts for programs.
 */
export class AssetCardError extends Fs2Error {
  override readonly category = 'user' as const;
  /** The field at fault, when there is one. */
  readonly field: string | undefined;
  /** The file the faulty value was written in, when known. */
  readonly file: string | undefined;
  /** Its 1-based line, when known. */
  readonly line: number | undefined;
  /** Its 1-based column, when known. */
  readonly column: number | undefined;

  constructor(
    /** The name of the card (without environment) the problem was found through. */
    readonly cardName: string,
    /** The sentence that says what is wrong, without the location. */
    readonly reason: string,
    options: AssetCardErrorOptions = {},
  ) {
    super(`${reason}${locationSuffix(options.location)}`, options);
    this.field = options.field;
    this.file = options.location?.file;
    this.line = options.location?.line;
    this.column = options.location?.column;
  }

  /** The location the error points at, when known. */
  get location(): SourceLocation | undefined {
    return locationOf(this);
  }
}

/**
 * A chain of references between cards loops: `base` fields (`a -> b -> a`, or `foo@user` with
 * `base: foo`) or `tokenizer_ref` fields. {@link cycle} lists the cards of the loop, first and
 * last the same; the message also shows how the chain reached it.
 */
export class AssetCardCycleError extends AssetCardError {
  constructor(
    cardName: string,
    reason: string,
    /** The cards of the loop, in order, the first repeated at the end. */
    readonly cycle: readonly string[],
    options: AssetCardErrorOptions = {},
  ) {
    super(cardName, reason, options);
  }
}

/**
 * A card source holds something that is not a valid set of cards: malformed YAML, a document
 * that is not a mapping, an invalid name, a file over the size limit, a name defined twice.
 */
export class AssetMetadataError extends Fs2Error {
  override readonly category = 'user' as const;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    /** The source (`package:@fs2/core`, `path:/etc/fairseq2/assets`, an in-memory source's name). */
    readonly source: string,
    /** The sentence that says what is wrong, without the location. */
    readonly reason: string,
    options: LocatedErrorOptions = {},
  ) {
    super(`${reason}${locationSuffix(options.location)}`, options);
    this.file = options.location?.file;
    this.line = options.location?.line;
    this.column = options.location?.column;
  }

  /** The location the error points at, when known. */
  get location(): SourceLocation | undefined {
    return locationOf(this);
  }
}

/** A registered card source does not exist: a missing path, a package that is not installed. */
export class AssetSourceNotFoundError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly source: string,
    /** Why, after "{source} asset source is not found:". */
    readonly detail: string,
    options?: Fs2ErrorOptions,
  ) {
    super(`${source} asset source is not found: ${detail}`, options);
  }
}

/** A problem found while loading or checking cards: what `fs2 assets validate` reports. */
export type AssetProblem = AssetCardError | AssetMetadataError;

function locationOf(error: {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
}): SourceLocation | undefined {
  return error.file === undefined || error.line === undefined || error.column === undefined
    ? undefined
    : { file: error.file, line: error.line, column: error.column };
}

/** A path inside a configuration: keys and list indices. */
export type ConfigPath = readonly (string | number)[];

/** `decoder.layers[2].dim`, the way messages show a {@link ConfigPath}. */
export function formatConfigPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    text += typeof segment === 'number' ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  }
  return text;
}

/**
 * Config overrides cannot be merged into their target: a `_del_` that is not a list of existing
 * key names, a `_set_` that is not a mapping. `path` is where the directive was written, inside
 * the overrides.
 */
export class ConfigMergeError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly path: ConfigPath,
    /** The sentence that says what is wrong. */
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** One way a configuration does not fit its schema. */
export interface ConfigProblem {
  /** Where, in the configuration: the unknown key itself, the value of the wrong type. */
  readonly path: ConfigPath;
  /** What: `unknown_key`, `missing_key`, `type` (wrong type or value), or `value` (a bound, a pattern). */
  readonly kind: 'unknown_key' | 'missing_key' | 'type' | 'value';
  /** The sentence, naming the path: "`num_layers` is expected to be of type integer, but is of type string instead." */
  readonly reason: string;
}

/** A configuration does not fit its schema: unknown keys, wrong types. {@link problems} lists every one. */
export class ConfigValidationError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(readonly problems: readonly ConfigProblem[]) {
    const first = problems[0]?.reason ?? 'The configuration is not valid.';
    const more = problems.length > 1 ? ` (${problems.length - 1} more ${problems.length === 2 ? 'problem' : 'problems'})` : '';
    super(`${first}${more}`);
  }
}
