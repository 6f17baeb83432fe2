import { Type, type Static } from '@sinclair/typebox';

import { createDatasetHubAccessor } from './DatasetHub.js';
import type { DatasetFamilySpec } from './StandardDatasetFamily.js';
import { TextDataset } from './TextDataset.js';

/** The name of the built-in plain text dataset family. */
export const TEXT_DATASET_FAMILY = 'text';

const badRecord = Type.Union([Type.Literal('error'), Type.Literal('skip')], {
  description: 'What a bad record does: `error` stops with its file and line, `skip` leaves it out and counts it (one warning per split). Default: error.',
});

/** The config of the `text` dataset family (a card's `dataset_config`). */
export const TextDatasetConfigSchema = Type.Object(
  {
    text_key: Type.String({ minLength: 1, description: 'The field of a JSONL record that holds its text. Default: text.' }),
    text_extensions: Type.Array(Type.String({ pattern: '^\\.[^./]+$' }), {
      description: 'Extensions of the files read as plain text; `.jsonl` files are always records. Default: [.txt, .md].',
    }),
    unit: Type.Union([Type.Literal('file'), Type.Literal('paragraph'), Type.Literal('line')], {
      description: 'How a plain text file is cut into documents: whole, at blank lines, or at every line. Default: file.',
    }),
    append_eos: Type.Boolean({ description: "End every document with the tokenizer's end-of-sequence token. Default: true." }),
    on_bad_record: badRecord,
  },
  { $id: 'fs2.TextDatasetConfig' },
);

/** See {@link TextDatasetConfigSchema}. */
export type TextDatasetConfig = Static<typeof TextDatasetConfigSchema>;

/** The default {@link TextDatasetConfig}. */
export function defaultTextDatasetConfig(): TextDatasetConfig {
  return { text_key: 'text', text_extensions: ['.txt', '.md'], unit: 'file', append_eos: true, on_bad_record: 'error' };
}

/**
 * The `text` family, registered by the library: a card's `data` names a text file or a folder of
 * splits (`train.txt`, `valid/`, `*.jsonl` records with a `text` field).
 *
 * ```yaml
 * name: my_corpus
 * dataset_family: text
 * data: /data/my_corpus        # train.txt, valid.txt
 * dataset_config: {unit: paragraph}
 * ```
 */
export const textDatasetFamilySpec: DatasetFamilySpec<TextDataset, TextDatasetConfig> = {
  configSchema: TextDatasetConfigSchema,
  defaultConfig: defaultTextDatasetConfig,
  opener: (config, context) =>
    TextDataset.open(context.dataPath, {
      name: context.name,
      textKey: config.text_key,
      textExtensions: config.text_extensions,
      unit: config.unit,
      appendEos: config.append_eos,
      onBadRecord: config.on_bad_record,
      warn: context.warn,
    }),
};

/** The typed hub of the `text` dataset family. */
export const getTextDatasetHub = createDatasetHubAccessor<TextDataset, TextDatasetConfig>(TEXT_DATASET_FAMILY, {
  configSchema: TextDatasetConfigSchema,
});
