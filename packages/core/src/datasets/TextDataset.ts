import { extname } from 'node:path';

import type { Tokenizer } from '../tokenizers/Tokenizer.js';
import { parseJsonl, readUtf8File, stringField, type BadRecordCounter, type BadRecordPolicy } from './dataFiles.js';
import { DatasetRecordError } from './errors.js';
import { FileDataset, requireSplits, withEos, type SourceRecord } from './FileDataset.js';
import type { PromptExample } from './LanguageModelDataset.js';
import type { TokenizedExample } from './SequenceBatch.js';

/** How a plain text file is cut into documents. */
export type TextUnit = 'file' | 'paragraph' | 'line';

/** Options of {@link TextDataset.open}. */
export interface TextDatasetOptions {
  /** The name in messages. */
  readonly name: string;
  /** The field of a JSONL record that holds its text. */
  readonly textKey: string;
  /** Extensions of the files read as plain text (`.jsonl` files are always records). */
  readonly textExtensions: readonly string[];
  /** How a plain text file is cut into documents. */
  readonly unit: TextUnit;
  /** End every document with the tokenizer's end-of-sequence token. */
  readonly appendEos: boolean;
  readonly onBadRecord: BadRecordPolicy;
  readonly warn: (message: string) => void;
}

/**
 * A plain text corpus (the `text` family): `*.jsonl` files of records with a text field, and
 * plain text files (by default `*.txt`, `*.md`), each a document, or cut into paragraphs or
 * lines. Readers pack documents into full rows by default (pretraining). Each document is encoded
 * with the tokenizer's own special tokens (`bos` for LLaMA) and, by default, ends with `eos`.
 */
export class TextDataset extends FileDataset<string> {
  protected readonly packsByDefault = true;

  private constructor(
    splits: ReadonlyMap<string, readonly string[]>,
    private readonly options: TextDatasetOptions,
  ) {
    super({ name: options.name, splits, onBadRecord: options.onBadRecord, warn: options.warn });
  }

  /**
   * The dataset at `dataPath` (a file, or a folder of splits; see `discoverSplits`).
   *
   * @throws DatasetError when the path is missing or holds no data file.
   */
  static async open(dataPath: string | undefined, options: TextDatasetOptions): Promise<TextDataset> {
    const extensions = ['.jsonl', ...options.textExtensions.map((e) => e.toLowerCase())];
    return new TextDataset(await requireSplits('text', options.name, dataPath, extensions), options);
  }

  protected async readFile(file: string, counter: BadRecordCounter): Promise<SourceRecord<string>[]> {
    let text: string;
    try {
      text = await readUtf8File(file);
    } catch (error) {
      if (error instanceof DatasetRecordError) {
        counter.report(error); // A file that is not UTF-8 is skipped whole.
        return [];
      }
      throw error;
    }
    if (extname(file).toLowerCase() === '.jsonl') {
      const records: SourceRecord<string>[] = [];
      for (const record of parseJsonl(text, file, (e) => counter.report(e))) {
        const value = counter.guard(() => stringField(record, this.options.textKey));
        if (value !== undefined) {
          records.push({ id: `${file}:${record.line}`, file, line: record.line, data: value });
        }
      }
      return records;
    }
    return splitDocuments(text, this.options.unit).map(({ line, text: doc }) => ({ id: `${file}:${line}`, file, line, data: doc }));
  }

  protected tokenize(record: SourceRecord<string>, tokenizer: Tokenizer): TokenizedExample {
    const tokens = tokenizer.encode(record.data);
    return { tokens: Int32Array.from(this.options.appendEos ? withEos(tokens, tokenizer.vocabInfo.eosId) : tokens) };
  }

  protected toPrompt(record: SourceRecord<string>): PromptExample {
    return { id: record.id, prompt: record.data };
  }
}

/** The documents of a plain text file and the 1-based line each starts on; empty ones left out. */
export function splitDocuments(text: string, unit: TextUnit): { line: number; text: string }[] {
  const normalized = text.replace(/\r\n/g, '\n');
  if (unit === 'file') {
    return normalized.trim() === '' ? [] : [{ line: 1, text: normalized }];
  }
  const lines = normalized.split('\n');
  if (unit === 'line') {
    return lines.flatMap((line, index) => (line.trim() === '' ? [] : [{ line: index + 1, text: line }]));
  }
  const documents: { line: number; text: string }[] = [];
  let start = -1;
  let current: string[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') {
      if (current.length > 0) {
        documents.push({ line: start + 1, text: current.join('\n') });
        current = [];
      }
      return;
    }
    if (current.length === 0) {
      start = index;
    }
    current.push(line);
  });
  if (current.length > 0) {
    documents.push({ line: start + 1, text: current.join('\n') });
  }
  return documents;
}
