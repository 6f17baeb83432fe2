import type { ChatMessage, Tokenizer } from '../tokenizers/Tokenizer.js';
import type { DataReader } from './DataReader.js';
import type { SequenceBatch } from './SequenceBatch.js';
import type { SequenceReaderOptions } from './SequenceBatchReader.js';

/**
 * A dataset a causal language model trains or is evaluated on: named splits, each read as
 * {@link SequenceBatch}es with a tokenizer. The `train` and `eval` recipes accept any dataset
 * that has this shape, whatever its family.
 */
export interface LanguageModelDataset {
  /** The name in messages: the card's name or the data path. */
  readonly name: string;
  /** The split names, sorted. */
  splits(): readonly string[];
  /**
   * A reader of `split` in batches. `options.packing` defaults to what the family is for
   * (packing for plain text, one example per row for instructions).
   *
   * @throws DatasetSplitNotFoundError when the dataset has no such split.
   * @throws DatasetError, DatasetRecordError for data that cannot be used.
   */
  createReader(split: string, tokenizer: Tokenizer, options: SequenceReaderOptions): Promise<DataReader<SequenceBatch>>;
}

/** One prompt of a {@link PromptDataset}. */
export interface PromptExample {
  /** Where it comes from (`file:line`), to match outputs with inputs. */
  readonly id: string;
  /** A text to continue, or a conversation for the tokenizer's chat template. */
  readonly prompt: string | readonly ChatMessage[];
  /** The expected answer, when the data has one (an instruction's `tgt`). */
  readonly reference?: string;
}

/** A dataset of prompts: what the `generate` recipe reads. */
export interface PromptDataset {
  readonly name: string;
  splits(): readonly string[];
  /**
   * The prompts of `split`, in file order.
   *
   * @throws DatasetSplitNotFoundError when the dataset has no such split.
   */
  readPrompts(split: string): Promise<readonly PromptExample[]>;
}

/** Whether `value` has the shape of a {@link LanguageModelDataset}. */
export function isLanguageModelDataset(value: unknown): value is LanguageModelDataset {
  return hasMethods(value, ['splits', 'createReader']);
}

/** Whether `value` has the shape of a {@link PromptDataset}. */
export function isPromptDataset(value: unknown): value is PromptDataset {
  return hasMethods(value, ['splits', 'readPrompts']);
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}
