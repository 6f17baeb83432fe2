import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/** No asset card has this name (fairseq2's `DatasetNotKnownError`). */
export class DatasetNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(readonly datasetName: string) {
    super(`${datasetName} is not a known dataset.`);
  }
}

/** No dataset family is registered under this name. `knownFamilies` lists those that are. */
export class DatasetFamilyNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly familyName: string,
    readonly knownFamilies: readonly string[] = [],
  ) {
    super(
      `${familyName} is not a known dataset family.${knownFamilies.length > 0 ? ` Registered families: ${knownFamilies.join(', ')}.` : ''}`,
    );
  }
}

/**
 * The data of a dataset cannot be used (fairseq2's `DatasetError`): a folder without the files a
 * family reads, a file that cannot be read, records that do not fit the family. The message names
 * the path and what is wrong with it.
 */
export class DatasetError extends Fs2Error {
  override readonly category: 'user' | 'operational' = 'user';

  constructor(
    /** The file or folder at fault. */
    readonly path: string,
    /** The whole message: a sentence naming {@link path} and the problem. */
    readonly reason: string,
    options?: Fs2ErrorOptions,
  ) {
    super(reason, options);
  }
}

/**
 * One record (a JSONL line, a text document) does not fit its family: not JSON, not an object, a
 * field missing or of the wrong type. The message is the reason followed by ` (file:line)`.
 * Families that can skip bad records (`on_bad_record: skip`) count them instead of throwing.
 */
export class DatasetRecordError extends DatasetError {
  constructor(
    /** The file of the record. */
    readonly file: string,
    /** The 1-based line the record starts on. */
    readonly line: number,
    /** What is wrong, without the location. */
    readonly problem: string,
    options?: Fs2ErrorOptions,
  ) {
    super(file, `${problem} (${file}:${line})`, options);
  }
}

/** A dataset has no split of this name. `knownSplits` lists those it has. */
export class DatasetSplitNotFoundError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    /** The dataset (its card name, or its path). */
    readonly datasetName: string,
    readonly split: string,
    readonly knownSplits: readonly string[],
  ) {
    super(
      `The dataset ${datasetName} has no \`${split}\` split.${knownSplits.length > 0 ? ` Its splits: ${knownSplits.join(', ')}.` : ' It has no splits.'}`,
    );
  }
}
