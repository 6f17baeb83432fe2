import { Type, type Static } from '@sinclair/typebox';
import {
  DatasetError,
  DatasetRecordError,
  FileDataset,
  createDatasetHubAccessor,
  discoverSplits,
  readUtf8File,
  type BadRecordCounter,
  type BadRecordPolicy,
  type DatasetFamilySpec,
  type PromptExample,
  type SourceRecord,
  type TokenizedExample,
  type Tokenizer,
} from '@fs2/core';

/** The name cards use in `dataset_family`. */
export const QA_TSV_DATASET_FAMILY = 'qa_tsv';

// Begin-example: config
/** The config of the `qa_tsv` family: a card's `dataset_config`, checked against this schema. */
export const QaTsvConfigSchema = Type.Object(
  {
    prompt_template: Type.String({
      pattern: '\\{question\\}',
      description: 'How a question becomes a prompt; `{question}` is replaced. Default: "Q: {question}\\nA: ".',
    }),
    on_bad_record: Type.Union([Type.Literal('error'), Type.Literal('skip')], {
      description: 'Stop at a malformed line (naming its file and line), or skip and count it. Default: error.',
    }),
  },
  { $id: 'fs2-examples.QaTsvConfig' },
);
export type QaTsvConfig = Static<typeof QaTsvConfigSchema>;
// End-example: config

/** One question and its answer. */
export interface QaPair {
  readonly question: string;
  readonly answer: string;
}

/**
 * Question/answer pairs in tab-separated files (`question<TAB>answer`, one pair per line, `#`
 * comments): a folder of splits (`train.tsv`, `valid.tsv`) or one file. As a language-model
 * dataset, only the answer (and the end-of-sequence token) is trained on, as instruction tuning
 * does; as a prompt dataset, each question is a prompt and its answer the reference.
 *
 * Built on `FileDataset`, which brings splits, batching, shuffling and bad-record counting: a
 * family only says how a file becomes records and a record tokens.
 */
export class QaTsvDataset extends FileDataset<QaPair> {
  protected readonly packsByDefault = false;

  private constructor(
    name: string,
    splits: ReadonlyMap<string, readonly string[]>,
    private readonly config: QaTsvConfig,
    warn: (message: string) => void,
  ) {
    super({ name, splits, onBadRecord: config.on_bad_record as BadRecordPolicy, warn });
  }

  /** The dataset at `dataPath` (a `.tsv` file, or a folder of them). */
  static async open(name: string, dataPath: string | undefined, config: QaTsvConfig, warn: (message: string) => void): Promise<QaTsvDataset> {
    if (dataPath === undefined) {
      throw new DatasetError(name, `The qa_tsv dataset ${name} has no data: give its card a \`data\` field.`);
    }
    return new QaTsvDataset(name, await discoverSplits(dataPath, ['.tsv']), config, warn);
  }

  protected async readFile(file: string, counter: BadRecordCounter): Promise<SourceRecord<QaPair>[]> {
    const records: SourceRecord<QaPair>[] = [];
    (await readUtf8File(file)).split('\n').forEach((raw, index) => {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '' || line.startsWith('#')) {
        return;
      }
      const fields = line.split('\t');
      if (fields.length !== 2 || fields.some((f) => f.trim() === '')) {
        counter.report(
          new DatasetRecordError(file, index + 1, `The line has ${fields.length} tab-separated fields, not 2 non-empty ones (question, answer).`),
        );
        return;
      }
      const [question, answer] = fields as [string, string];
      records.push({ id: `${file}:${index + 1}`, file, line: index + 1, data: { question, answer } });
    });
    return records;
  }

  protected tokenize(record: SourceRecord<QaPair>, tokenizer: Tokenizer): TokenizedExample {
    const prompt = tokenizer.encode(this.prompt(record.data.question));
    const eos = tokenizer.vocabInfo.eosId;
    const answer = [...tokenizer.encode(record.data.answer, { addSpecialTokens: false }), ...(eos === undefined ? [] : [eos])];
    const tokens = Int32Array.from([...prompt, ...answer]);
    return { tokens, targetMask: new Uint8Array(tokens.length).fill(1, prompt.length) };
  }

  protected toPrompt(record: SourceRecord<QaPair>): PromptExample {
    return { id: record.id, prompt: this.prompt(record.data.question), reference: record.data.answer };
  }

  private prompt(question: string): string {
    return this.config.prompt_template.replace('{question}', question);
  }
}

// Begin-example: family
/** The family's spec: what `registerDatasetFamily` needs (fairseq2's `kls`, `config_kls`, `opener`). */
export const qaTsvDatasetFamilySpec: DatasetFamilySpec<QaTsvDataset, QaTsvConfig> = {
  configSchema: QaTsvConfigSchema,
  defaultConfig: () => ({ prompt_template: 'Q: {question}\nA: ', on_bad_record: 'error' }),
  opener: (config, { name, dataPath, warn }) => QaTsvDataset.open(name, dataPath, config, warn),
};

/** The family's typed hub: `getQaTsvDatasetHub().openDataset('my_qa')`. */
export const getQaTsvDatasetHub = createDatasetHubAccessor<QaTsvDataset, QaTsvConfig>(QA_TSV_DATASET_FAMILY, {
  configSchema: QaTsvConfigSchema,
});
// End-example: family
