import { describeValueType, isPlainObject } from '../assets/AssetMetadata.js';
import type { ChatMessage, Tokenizer } from '../tokenizers/Tokenizer.js';
import { parseJsonl, readUtf8File, stringField, type BadRecordCounter, type BadRecordPolicy, type JsonlRecord } from './dataFiles.js';
import { DatasetRecordError } from './errors.js';
import { FileDataset, requireSplits, withEos, type SourceRecord } from './FileDataset.js';
import type { PromptExample } from './LanguageModelDataset.js';
import type { TokenizedExample } from './SequenceBatch.js';

/** One instruction record: a prompt and its answer, or a conversation. */
export type InstructionRecord =
  | { readonly kind: 'pair'; readonly src: string; readonly tgt: string }
  | { readonly kind: 'chat'; readonly messages: readonly ChatMessage[] };

/** Options of {@link InstructionDataset.open}. */
export interface InstructionDatasetOptions {
  readonly name: string;
  /** The prompt field of a pair record. */
  readonly srcKey: string;
  /** The answer field of a pair record. */
  readonly tgtKey: string;
  /** The conversation field of a chat record. */
  readonly messagesKey: string;
  readonly onBadRecord: BadRecordPolicy;
  readonly warn: (message: string) => void;
}

/** The role of the messages a model is trained to write. */
const ASSISTANT = 'assistant';

/**
 * Instruction records (the `generic_instruction` family, as fairseq2 0.4's
 * `GenericInstructionDataset`): `*.jsonl` files whose records are either a pair,
 * `{"src": prompt, "tgt": answer}`, or a conversation, `{"messages": [{"role", "content"}, ...]}`.
 * Only the answer (a pair's `tgt` and end-of-sequence token, a conversation's assistant turns as
 * the tokenizer's chat template writes them) is a target; prompts are context. Readers put one
 * record per row by default.
 */
export class InstructionDataset extends FileDataset<InstructionRecord> {
  protected readonly packsByDefault = false;

  private constructor(
    splits: ReadonlyMap<string, readonly string[]>,
    private readonly options: InstructionDatasetOptions,
  ) {
    super({ name: options.name, splits, onBadRecord: options.onBadRecord, warn: options.warn });
  }

  /**
   * The dataset at `dataPath` (a `.jsonl` file, or a folder of splits).
   *
   * @throws DatasetError when the path is missing or holds no `.jsonl` file.
   */
  static async open(dataPath: string | undefined, options: InstructionDatasetOptions): Promise<InstructionDataset> {
    return new InstructionDataset(await requireSplits('generic_instruction', options.name, dataPath, ['.jsonl']), options);
  }

  protected async readFile(file: string, counter: BadRecordCounter): Promise<SourceRecord<InstructionRecord>[]> {
    let text: string;
    try {
      text = await readUtf8File(file);
    } catch (error) {
      if (error instanceof DatasetRecordError) {
        counter.report(error);
        return [];
      }
      throw error;
    }
    const records: SourceRecord<InstructionRecord>[] = [];
    for (const record of parseJsonl(text, file, (e) => counter.report(e))) {
      const data = counter.guard(() => this.readRecord(record));
      if (data !== undefined) {
        records.push({ id: `${file}:${record.line}`, file, line: record.line, data });
      }
    }
    return records;
  }

  private readRecord(record: JsonlRecord): InstructionRecord {
    const { messagesKey, srcKey, tgtKey } = this.options;
    if (record.value[messagesKey] === undefined) {
      if (record.value[srcKey] === undefined && record.value[tgtKey] === undefined) {
        throw new DatasetRecordError(
          record.file,
          record.line,
          `The record has neither \`${srcKey}\` and \`${tgtKey}\` fields nor a \`${messagesKey}\` field.`,
        );
      }
      return { kind: 'pair', src: stringField(record, srcKey), tgt: stringField(record, tgtKey) };
    }
    const messages = record.value[messagesKey];
    if (!Array.isArray(messages)) {
      throw new DatasetRecordError(
        record.file,
        record.line,
        `\`${messagesKey}\` field of the record is expected to be of type list, but is of type ${describeValueType(messages)} instead.`,
      );
    }
    messages.forEach((message: unknown, index) => {
      const where = `\`${messagesKey}[${index}]\``;
      if (!isPlainObject(message)) {
        throw new DatasetRecordError(
          record.file,
          record.line,
          `${where} of the record is expected to be an object, but is of type ${describeValueType(message)} instead.`,
        );
      }
      for (const key of ['role', 'content']) {
        if (typeof message[key] !== 'string') {
          throw new DatasetRecordError(
            record.file,
            record.line,
            `\`${messagesKey}[${index}].${key}\` of the record is expected to be of type string, but is of type ${describeValueType(message[key])} instead.`,
          );
        }
      }
    });
    if (!messages.some((m) => (m as ChatMessage).role === ASSISTANT)) {
      throw new DatasetRecordError(record.file, record.line, `The conversation has no \`${ASSISTANT}\` message.`);
    }
    return { kind: 'chat', messages: messages as ChatMessage[] };
  }

  protected tokenize(record: SourceRecord<InstructionRecord>, tokenizer: Tokenizer): TokenizedExample {
    const data = record.data;
    const eos = tokenizer.vocabInfo.eosId;
    if (data.kind === 'pair') {
      let prompt = tokenizer.encode(data.src);
      if (eos !== undefined && prompt[prompt.length - 1] === eos) {
        prompt = prompt.slice(0, -1); // A tokenizer that appends eos to every text: the prompt goes on.
      }
      const answer = withEos(tokenizer.encode(data.tgt, { addSpecialTokens: false }), eos);
      const tokens = Int32Array.from([...prompt, ...answer]);
      const targetMask = new Uint8Array(tokens.length).fill(1, prompt.length);
      return { tokens, targetMask };
    }
    const segments = chatSegments(tokenizer, data.messages, record);
    const tokens: number[] = [];
    const mask: number[] = [];
    for (const segment of segments) {
      const ids = tokenizer.encode(segment.text, { addSpecialTokens: false });
      tokens.push(...ids);
      mask.push(...ids.map(() => (segment.target ? 1 : 0)));
    }
    return { tokens: Int32Array.from(tokens), targetMask: Uint8Array.from(mask) };
  }

  protected toPrompt(record: SourceRecord<InstructionRecord>): PromptExample {
    const data = record.data;
    if (data.kind === 'pair') {
      return { id: record.id, prompt: data.src, reference: data.tgt };
    }
    const last = data.messages[data.messages.length - 1] as ChatMessage;
    if (last.role === ASSISTANT) {
      return { id: record.id, prompt: data.messages.slice(0, -1), reference: last.content as string };
    }
    return { id: record.id, prompt: data.messages };
  }
}

/**
 * A conversation as the chat template renders it, cut into context and target pieces: each
 * assistant turn is the text the template adds between the conversation before it (with the
 * generation prompt) and the conversation through it, end-of-turn tokens included. The pieces are
 * encoded separately, so a token never straddles a context/target boundary.
 *
 * @throws DatasetRecordError when the template does not render the conversation turn by turn
 *   (an earlier turn rendered differently once a later one follows).
 */
function chatSegments(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  record: SourceRecord<InstructionRecord>,
): { text: string; target: boolean }[] {
  const full = tokenizer.applyChatTemplate(messages);
  const segments: { text: string; target: boolean }[] = [];
  let position = 0;
  messages.forEach((message, index) => {
    if (message.role !== ASSISTANT) {
      return;
    }
    const before = tokenizer.applyChatTemplate(messages.slice(0, index), { addGenerationPrompt: true });
    const through = tokenizer.applyChatTemplate(messages.slice(0, index + 1));
    if (before.length < position || !through.startsWith(before) || !full.startsWith(through)) {
      throw new DatasetRecordError(
        record.file,
        record.line,
        `The chat template does not render the conversation turn by turn (message ${index} changes what comes before it), so its assistant turns cannot be told from the rest.`,
      );
    }
    segments.push({ text: full.slice(position, before.length), target: false });
    segments.push({ text: full.slice(before.length, through.length), target: true });
    position = through.length;
  });
  segments.push({ text: full.slice(position), target: false });
  return segments.filter((s) => s.text !== '');
}
