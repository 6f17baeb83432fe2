import type { Tokenizer } from '../tokenizers/Tokenizer.js';
import { BadRecordCounter, discoverSplits, type BadRecordPolicy } from './dataFiles.js';
import type { DataReader } from './DataReader.js';
import { DatasetError, DatasetSplitNotFoundError } from './errors.js';
import type { LanguageModelDataset, PromptDataset, PromptExample } from './LanguageModelDataset.js';
import type { SequenceBatch, TokenizedExample } from './SequenceBatch.js';
import { SequenceBatchReader, type SequenceReaderOptions } from './SequenceBatchReader.js';

/** What a {@link FileDataset} is built from. */
export interface FileDatasetInit {
  /** The name in messages. */
  readonly name: string;
  /** Split name -> its files, sorted (see `discoverSplits`). */
  readonly splits: ReadonlyMap<string, readonly string[]>;
  /** What a bad record does. */
  readonly onBadRecord: BadRecordPolicy;
  /** Where warnings (skipped records) go. */
  readonly warn: (message: string) => void;
}

/** A record read from a file, before tokenization. */
export interface SourceRecord<T> {
  /** `file:line`. */
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly data: T;
}

/**
 * The base of the built-in families' datasets: splits of files held in memory once read, every
 * example tokenized when a reader is made. `T` is what one record holds before tokenization.
 */
export abstract class FileDataset<T> implements LanguageModelDataset, PromptDataset {
  readonly name: string;
  protected readonly onBadRecord: BadRecordPolicy;
  protected readonly warn: (message: string) => void;
  private readonly splitFiles: ReadonlyMap<string, readonly string[]>;

  protected constructor(init: FileDatasetInit) {
    this.name = init.name;
    this.splitFiles = init.splits;
    this.onBadRecord = init.onBadRecord;
    this.warn = init.warn;
  }

  splits(): readonly string[] {
    return [...this.splitFiles.keys()];
  }

  /**
   * The files of `split`, sorted.
   *
   * @throws DatasetSplitNotFoundError when there is no such split.
   */
  files(split: string): readonly string[] {
    const files = this.splitFiles.get(split);
    if (files === undefined) {
      throw new DatasetSplitNotFoundError(this.name, split, this.splits());
    }
    return files;
  }

  /** The records of `split`, in file order; bad ones thrown or skipped (with one warning) by policy. */
  async readRecords(split: string): Promise<SourceRecord<T>[]> {
    const counter = new BadRecordCounter(this.onBadRecord);
    const records: SourceRecord<T>[] = [];
    for (const file of this.files(split)) {
      records.push(...(await this.readFile(file, counter)));
    }
    this.reportSkipped(counter, split);
    return records;
  }

  async createReader(split: string, tokenizer: Tokenizer, options: SequenceReaderOptions): Promise<DataReader<SequenceBatch>> {
    const records = await this.readRecords(split);
    const counter = new BadRecordCounter(this.onBadRecord);
    const examples: TokenizedExample[] = [];
    for (const record of records) {
      const example = counter.guard(() => this.tokenize(record, tokenizer));
      if (example !== undefined) {
        examples.push(example);
      }
    }
    this.reportSkipped(counter, split);
    if (examples.length === 0) {
      throw new DatasetError(this.files(split)[0] ?? this.name, `The \`${split}\` split of the dataset ${this.name} has no examples.`);
    }
    return new SequenceBatchReader(examples, {
      ...options,
      packing: options.packing ?? this.packsByDefault,
      padId: options.padId ?? tokenizer.vocabInfo.padId ?? tokenizer.vocabInfo.eosId ?? 0,
    });
  }

  async readPrompts(split: string): Promise<readonly PromptExample[]> {
    return (await this.readRecords(split)).map((record) => this.toPrompt(record));
  }

  /** Whether readers pack by default (plain text) or not (instructions). */
  protected abstract readonly packsByDefault: boolean;

  /** The records of one file; record problems go to `counter`, file problems are thrown. */
  protected abstract readFile(file: string, counter: BadRecordCounter): Promise<SourceRecord<T>[]>;

  /** One record as tokens; throws `DatasetRecordError` for a record that cannot be tokenized. */
  protected abstract tokenize(record: SourceRecord<T>, tokenizer: Tokenizer): TokenizedExample;

  /** One record as a prompt. */
  protected abstract toPrompt(record: SourceRecord<T>): PromptExample;

  private reportSkipped(counter: BadRecordCounter, split: string): void {
    const warning = counter.warning(`the \`${split}\` split of the dataset ${this.name}`);
    if (warning !== undefined) {
      this.warn(warning);
    }
  }
}

/** The splits of `dataPath`, or an error saying the family needs one. */
export async function requireSplits(
  family: string,
  name: string,
  dataPath: string | undefined,
  extensions: readonly string[],
): Promise<Map<string, string[]>> {
  if (dataPath === undefined) {
    throw new DatasetError(
      name,
      `The ${family} dataset ${name} has no data: give its card a \`data\` field (a file or folder), or pass a path.`,
    );
  }
  return discoverSplits(dataPath, extensions);
}

/** `tokens` with `id` appended unless it is `undefined` or already last. */
export function withEos(tokens: readonly number[], id: number | undefined): number[] {
  return id === undefined || tokens[tokens.length - 1] === id ? [...tokens] : [...tokens, id];
}
