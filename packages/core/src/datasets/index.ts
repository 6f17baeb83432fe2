export {
  DatasetError,
  DatasetFamilyNotKnownError,
  DatasetNotKnownError,
  DatasetRecordError,
  DatasetSplitNotFoundError,
} from './errors.js';
export { DatasetFamily } from './DatasetFamily.js';
export type { DatasetConfigOf, DatasetOpenContext, DatasetOpener, OpenDatasetOptions } from './DatasetFamily.js';
export { DATA_FIELD, StandardDatasetFamily } from './StandardDatasetFamily.js';
export type { DatasetFamilyServices, DatasetFamilySpec } from './StandardDatasetFamily.js';
export { DATASET_FAMILY_FIELD, DatasetHub, createDatasetHubAccessor, retrieveDatasetCard } from './DatasetHub.js';
export type { DatasetHubAccessor, DatasetHubAccessorOptions } from './DatasetHub.js';
export { GlobalDatasetOpener, StandardGlobalDatasetOpener, openDataset } from './GlobalDatasetOpener.js';
export type { GlobalOpenDatasetOptions, OpenDatasetFromPathOptions } from './GlobalDatasetOpener.js';

export type { SequenceBatch, TokenizedExample } from './SequenceBatch.js';
export type { DataReader, DataReaderState } from './DataReader.js';
export { SequenceBatchReader } from './SequenceBatchReader.js';
export type { SequenceReaderOptions, SequenceReaderStats } from './SequenceBatchReader.js';
export { seededPermutation } from './shuffle.js';
export { isLanguageModelDataset, isPromptDataset } from './LanguageModelDataset.js';
export type { LanguageModelDataset, PromptDataset, PromptExample } from './LanguageModelDataset.js';
export {
  BadRecordCounter,
  DEFAULT_SPLIT,
  discoverSplits,
  parseJsonl,
  readUtf8File,
  stringField,
} from './dataFiles.js';
export type { BadRecordPolicy, JsonlRecord } from './dataFiles.js';
export { FileDataset } from './FileDataset.js';
export type { FileDatasetInit, SourceRecord } from './FileDataset.js';
export { TextDataset, splitDocuments } from './TextDataset.js';
export type { TextDatasetOptions, TextUnit } from './TextDataset.js';
export {
  TEXT_DATASET_FAMILY,
  TextDatasetConfigSchema,
  defaultTextDatasetConfig,
  getTextDatasetHub,
  textDatasetFamilySpec,
} from './textDatasetFamily.js';
export type { TextDatasetConfig } from './textDatasetFamily.js';
export { InstructionDataset } from './InstructionDataset.js';
export type { InstructionDatasetOptions, InstructionRecord } from './InstructionDataset.js';
export {
  GENERIC_INSTRUCTION_DATASET_FAMILY,
  InstructionDatasetConfigSchema,
  defaultInstructionDatasetConfig,
  genericInstructionDatasetFamilySpec,
  getInstructionDatasetHub,
} from './genericInstructionDatasetFamily.js';
export type { InstructionDatasetConfig } from './genericInstructionDatasetFamily.js';
