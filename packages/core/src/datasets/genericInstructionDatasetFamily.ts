import { Type, type Static } from '@sinclair/typebox';

import { createDatasetHubAccessor } from './DatasetHub.js';
import { InstructionDataset } from './InstructionDataset.js';
import type { DatasetFamilySpec } from './StandardDatasetFamily.js';

/** The name of the built-in instruction dataset family (fairseq2 0.4's `generic_instruction`). */
export const GENERIC_INSTRUCTION_DATASET_FAMILY = 'generic_instruction';

/** The config of the `generic_instruction` dataset family (a card's `dataset_config`). */
export const InstructionDatasetConfigSchema = Type.Object(
  {
    src_key: Type.String({ minLength: 1, description: 'The prompt field of a pair record. Default: src.' }),
    tgt_key: Type.String({ minLength: 1, description: 'The answer field of a pair record. Default: tgt.' }),
    messages_key: Type.String({ minLength: 1, description: 'The conversation field of a chat record. Default: messages.' }),
    on_bad_record: Type.Union([Type.Literal('error'), Type.Literal('skip')], {
      description: 'What a bad record does: `error` stops with its file and line, `skip` leaves it out and counts it (one warning per split). Default: error.',
    }),
  },
  { $id: 'fs2.InstructionDatasetConfig' },
);

/** See {@link InstructionDatasetConfigSchema}. */
export type InstructionDatasetConfig = Static<typeof InstructionDatasetConfigSchema>;

/** The default {@link InstructionDatasetConfig}. */
export function defaultInstructionDatasetConfig(): InstructionDatasetConfig {
  return { src_key: 'src', tgt_key: 'tgt', messages_key: 'messages', on_bad_record: 'error' };
}

/**
 * The `generic_instruction` family, registered by the library (fairseq2 0.4's family of the same
 * name, which the docs' `gsm8k_sft` card uses):
 *
 * ```yaml
 * name: gsm8k_sft
 * dataset_family: generic_instruction
 * ---
 * name: gsm8k_sft@awscluster
 * data: "/data/gsm8k_data/sft"     # train.jsonl, test.jsonl
 * ```
 */
export const genericInstructionDatasetFamilySpec: DatasetFamilySpec<InstructionDataset, InstructionDatasetConfig> = {
  configSchema: InstructionDatasetConfigSchema,
  defaultConfig: defaultInstructionDatasetConfig,
  opener: (config, context) =>
    InstructionDataset.open(context.dataPath, {
      name: context.name,
      srcKey: config.src_key,
      tgtKey: config.tgt_key,
      messagesKey: config.messages_key,
      onBadRecord: config.on_bad_record,
      warn: context.warn,
    }),
};

/** The typed hub of the `generic_instruction` dataset family. */
export const getInstructionDatasetHub = createDatasetHubAccessor<InstructionDataset, InstructionDatasetConfig>(
  GENERIC_INSTRUCTION_DATASET_FAMILY,
  { configSchema: InstructionDatasetConfigSchema },
);
