import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

import { describeValueType, isPlainObject } from '../assets/AssetMetadata.js';
import { DatasetError, DatasetRecordError } from './errors.js';

/** The split of a dataset whose data path is one file. */
export const DEFAULT_SPLIT = 'default';

/** What a bad record does: stop with its error, or be left out and counted. */
export type BadRecordPolicy = 'error' | 'skip';

/**
 * The splits of a data path: a file is the one split `default`; in a folder, each data file is a
 * split named after its name up to the first dot (`train.jsonl`, `train.part2.jsonl` -> `train`)
 * and each sub-folder a split named after it, holding every data file below it. Files whose
 * extension is not in `extensions` and names starting with `.` are ignored. Files are sorted by
 * path, so the order of records never depends on the file system.
 *
 * @throws DatasetError when the path does not exist, cannot be read, or holds no data file.
 */
export async function discoverSplits(dataPath: string, extensions: readonly string[]): Promise<Map<string, string[]>> {
  const accepted = (name: string): boolean => !name.startsWith('.') && extensions.includes(extname(name).toLowerCase());
  let info;
  try {
    info = await stat(dataPath);
  } catch (error) {
    throw new DatasetError(dataPath, `The dataset path ${dataPath} does not exist.`, { cause: error });
  }
  const splits = new Map<string, string[]>();
  if (!info.isDirectory()) {
    splits.set(DEFAULT_SPLIT, [dataPath]);
    return splits;
  }
  const add = (split: string, files: readonly string[]): void => {
    if (files.length > 0) {
      splits.set(split, [...(splits.get(split) ?? []), ...files].sort());
    }
  };
  for (const entry of await listDir(dataPath)) {
    const path = join(dataPath, entry.name);
    if (entry.name.startsWith('.')) {
      continue;
    }
    if (entry.isDirectory()) {
      add(entry.name, await listFilesBelow(path, accepted));
    } else if (accepted(entry.name)) {
      add(basename(entry.name).split('.')[0] as string, [path]);
    }
  }
  if (splits.size === 0) {
    throw new DatasetError(dataPath, `The dataset folder ${dataPath} holds no data files (${extensions.map((e) => `*${e}`).join(', ')}).`);
  }
  return new Map([...splits].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    throw new DatasetError(dir, `The dataset folder ${dir} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

async function listFilesBelow(dir: string, accepted: (name: string) => boolean): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await listDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) {
      files.push(...(await listFilesBelow(path, accepted)));
    } else if (entry.isFile() && accepted(entry.name)) {
      files.push(path);
    }
  }
  return files;
}

/**
 * The text of a data file, decoded as UTF-8 strictly (a byte sequence that is not UTF-8 is an
 * error rather than U+FFFD characters in the training data).
 *
 * @throws DatasetError when the file cannot be read.
 * @throws DatasetRecordError naming the first line that is not UTF-8.
 */
export async function readUtf8File(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DatasetError(file, `The dataset file ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return decoder.decode(bytes);
  } catch (error) {
    // Find the line: decode line by line (only on this error path).
    let line = 1;
    let start = 0;
    for (;;) {
      const end = bytes.indexOf(0x0a, start);
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, end < 0 ? bytes.length : end));
      } catch {
        break;
      }
      if (end < 0) {
        break;
      }
      start = end + 1;
      line += 1;
    }
    throw new DatasetRecordError(file, line, 'The line is not valid UTF-8 text.', { cause: error });
  }
}

/** One JSON object of a JSONL file and where it was. */
export interface JsonlRecord {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly value: Readonly<Record<string, unknown>>;
}

/**
 * The records of JSONL `text` (one JSON object per line; blank lines ignored). A line that is not
 * JSON, or not an object, is a {@link DatasetRecordError}: thrown, or passed to `onBad` when
 * given (then left out).
 */
export function parseJsonl(text: string, file: string, onBad?: (error: DatasetRecordError) => void): JsonlRecord[] {
  const records: JsonlRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      return;
    }
    let value: unknown;
    let problem: string | undefined;
    try {
      value = JSON.parse(line);
      if (!isPlainObject(value)) {
        problem = `The record is expected to be a JSON object, but is of type ${describeValueType(value)} instead.`;
      }
    } catch (error) {
      problem = `The record is not valid JSON: ${(error as Error).message}.`;
    }
    if (problem !== undefined) {
      const error = new DatasetRecordError(file, index + 1, problem);
      if (onBad === undefined) {
        throw error;
      }
      onBad(error);
      return;
    }
    records.push({ file, line: index + 1, value: value as Record<string, unknown> });
  });
  return records;
}

/** The string field `key` of a record; a {@link DatasetRecordError} when missing or not a string. */
export function stringField(record: JsonlRecord, key: string): string {
  const value = record.value[key];
  if (value === undefined) {
    throw new DatasetRecordError(record.file, record.line, `The record has no \`${key}\` field.`);
  }
  if (typeof value !== 'string') {
    throw new DatasetRecordError(
      record.file,
      record.line,
      `\`${key}\` field of the record is expected to be of type string, but is of type ${describeValueType(value)} instead.`,
    );
  }
  return value;
}

/**
 * Collects the bad records of one read: counts them and keeps the first, for one warning such as
 * "Skipped 3 bad records of the `train` split of x; the first: ...".
 */
export class BadRecordCounter {
  count = 0;
  first: DatasetRecordError | undefined;

  constructor(private readonly policy: BadRecordPolicy) {}

  /** Throws `error` under the `error` policy; counts it under `skip`. */
  report(error: DatasetRecordError): void {
    if (this.policy === 'error') {
      throw error;
    }
    this.count += 1;
    this.first ??= error;
  }

  /** Runs `body`; a `DatasetRecordError` it throws is reported. Returns `undefined` then. */
  guard<T>(body: () => T): T | undefined {
    try {
      return body();
    } catch (error) {
      if (error instanceof DatasetRecordError) {
        this.report(error);
        return undefined;
      }
      throw error;
    }
  }

  /** The warning to print after a read, or `undefined` when nothing was skipped. */
  warning(what: string): string | undefined {
    if (this.count === 0 || this.first === undefined) {
      return undefined;
    }
    return `Skipped ${this.count} bad ${this.count === 1 ? 'record' : 'records'} of ${what}; the first: ${this.first.message}`;
  }
}
