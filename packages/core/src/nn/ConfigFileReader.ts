import { CheckpointError } from '../checkpoint/errors.js';

/**
 * Typed access to the fields of a checkpoint's JSON config file (Hugging Face `config.json`, Meta
 * `params.json`), with one message formula for every problem: "`field` in /path/config.json is
 * expected to be a positive integer, but is "8" (string) instead." A `null` value reads as absent,
 * as transformers treats it.
 */
export class ConfigFileReader {
  constructor(
    /** The parsed file. */
    readonly json: Readonly<Record<string, unknown>>,
    /** The file, for messages. */
    readonly path: string,
  ) {}

  /** Whether the file sets `field` (to anything but `null`). */
  has(field: string): boolean {
    const value = this.json[field];
    return value !== undefined && value !== null;
  }

  /** The error for `field`, expected to be `expected`, holding `value`. */
  error(field: string, expected: string, value: unknown = this.json[field]): CheckpointError {
    return new CheckpointError(this.path, `\`${field}\` in ${this.path} is expected to be ${expected}, but is ${describeJson(value)} instead.`);
  }

  /** The error for a required `field` that is absent. */
  missing(field: string): CheckpointError {
    return new CheckpointError(this.path, `${this.path} has no \`${field}\`.`);
  }

  /** A required positive integer. */
  positiveInteger(field: string): number {
    const value = this.maybePositiveInteger(field);
    if (value === undefined) {
      throw this.missing(field);
    }
    return value;
  }

  /** An optional positive integer. */
  maybePositiveInteger(field: string): number | undefined {
    return this.maybe(field, 'a positive integer', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0) as number | undefined;
  }

  /** An optional integer (any sign: Meta's `vocab_size: -1`). */
  maybeInteger(field: string): number | undefined {
    return this.maybe(field, 'an integer', (v) => typeof v === 'number' && Number.isSafeInteger(v)) as number | undefined;
  }

  /** An optional token id (an integer >= 0). */
  maybeTokenId(field: string): number | undefined {
    return this.maybe(field, 'a token id (an integer >= 0)', isTokenId) as number | undefined;
  }

  /** A token id or a list of them (`eos_token_id`); empty when absent. */
  tokenIds(field: string): number[] {
    const value = this.json[field];
    if (value === undefined || value === null) {
      return [];
    }
    if (Array.isArray(value) && value.every(isTokenId)) {
      return value as number[];
    }
    if (isTokenId(value)) {
      return [value];
    }
    throw this.error(field, 'a token id or a list of token ids');
  }

  /** A required positive number. */
  positiveNumber(field: string): number {
    const value = this.maybePositiveNumber(field);
    if (value === undefined) {
      throw this.missing(field);
    }
    return value;
  }

  /** An optional positive number. */
  maybePositiveNumber(field: string): number | undefined {
    return this.maybe(field, 'a positive number', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0) as number | undefined;
  }

  /** An optional boolean. */
  maybeBoolean(field: string): boolean | undefined {
    return this.maybe(field, 'a boolean', (v) => typeof v === 'boolean') as boolean | undefined;
  }

  /** A required string. */
  string(field: string): string {
    const value = this.maybe(field, 'a string', (v) => typeof v === 'string') as string | undefined;
    if (value === undefined) {
      throw this.missing(field);
    }
    return value;
  }

  /** An optional object, as a reader of its own (messages name `parent.field`). */
  maybeObject(field: string): ConfigFileReader | undefined {
    const value = this.maybe(field, 'an object', (v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    return value === undefined ? undefined : new NestedConfigFileReader(value as Record<string, unknown>, this.path, field);
  }

  private maybe(field: string, expected: string, check: (value: unknown) => boolean): unknown {
    const value = this.json[field];
    if (value === undefined || value === null) {
      return undefined;
    }
    if (!check(value)) {
      throw this.error(field, expected, value);
    }
    return value;
  }
}

/** The reader of an object inside a config file: its messages name the field by its dotted path. */
class NestedConfigFileReader extends ConfigFileReader {
  constructor(
    json: Readonly<Record<string, unknown>>,
    path: string,
    private readonly prefix: string,
  ) {
    super(json, path);
  }

  override error(field: string, expected: string, value: unknown = this.json[field]): CheckpointError {
    return super.error(`${this.prefix}.${field}`, expected, value);
  }

  override missing(field: string): CheckpointError {
    return new CheckpointError(this.path, `\`${this.prefix}\` in ${this.path} has no \`${field}\`.`);
  }
}

function isTokenId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A JSON value and its JSON type, for messages: `"8" (string)`. */
export function describeJson(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value;
  return `${JSON.stringify(value)} (${type})`;
}
