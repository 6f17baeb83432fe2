import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { byteTokenizer, caughtAsync, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { discoverSplits } from './dataFiles.js';
import { DatasetError, DatasetRecordError, DatasetSplitNotFoundError } from './errors.js';
import { InstructionDataset, type InstructionDatasetOptions } from './InstructionDataset.js';
import type { SequenceBatch } from './SequenceBatch.js';
import { splitDocuments, TextDataset, type TextDatasetOptions } from './TextDataset.js';

const tokenizer = byteTokenizer();
const bytes = (text: string): number[] => [...Buffer.from(text, 'utf8')];
const BOS = 256;
const EOS = 257;

let tmp: TempDir;
let warnings: string[];
beforeEach(() => {
  tmp = makeTempDir();
  warnings = [];
});
afterEach(() => tmp.cleanup());

const textOptions = (overrides: Partial<TextDatasetOptions> = {}): TextDatasetOptions => ({
  name: 'corpus',
  textKey: 'text',
  textExtensions: ['.txt', '.md'],
  unit: 'file',
  appendEos: true,
  onBadRecord: 'error',
  warn: (message) => warnings.push(message),
  ...overrides,
});

const instructionOptions = (overrides: Partial<InstructionDatasetOptions> = {}): InstructionDatasetOptions => ({
  name: 'sft',
  srcKey: 'src',
  tgtKey: 'tgt',
  messagesKey: 'messages',
  onBadRecord: 'error',
  warn: (message) => warnings.push(message),
  ...overrides,
});

function rowsOf(batch: SequenceBatch): { inputs: number[]; mask: number[] }[] {
  return Array.from({ length: batch.batchSize }, (_, b) => {
    const at = (a: ArrayLike<number>): number[] => Array.from(a).slice(b * batch.seqLen, (b + 1) * batch.seqLen);
    return { inputs: at(batch.inputs), mask: at(batch.targetMask) };
  });
}

describe('discoverSplits', () => {
  it('names splits after files (up to the first dot) and folders, sorted, ignoring other and hidden files', async () => {
    tmp.write('data/train.jsonl', '');
    tmp.write('data/train.part2.jsonl', '');
    tmp.write('data/valid/b.txt', '');
    tmp.write('data/valid/a/c.md', '');
    tmp.write('data/notes.csv', '');
    tmp.write('data/.hidden.txt', '');
    const splits = await discoverSplits(join(tmp.path, 'data'), ['.jsonl', '.txt', '.md']);

    expect([...splits.keys()]).toEqual(['train', 'valid']);
    expect(splits.get('train')?.map((f) => f.slice(tmp.path.length))).toEqual(['/data/train.jsonl', '/data/train.part2.jsonl']);
    expect(splits.get('valid')?.map((f) => f.slice(tmp.path.length))).toEqual(['/data/valid/a/c.md', '/data/valid/b.txt']);
  });

  it('makes a file the one split `default`, and names missing or empty paths', async () => {
    const file = tmp.write('one.txt', 'x');
    expect([...(await discoverSplits(file, ['.txt']))]).toEqual([['default', [file]]]);

    const missing = join(tmp.path, 'missing');
    const error = await caughtAsync(() => discoverSplits(missing, ['.txt']));
    expect(error).toBeInstanceOf(DatasetError);
    expect(error.message).toBe(`The dataset path ${missing} does not exist.`);

    const empty = tmp.mkdir('empty');
    expect((await caughtAsync(() => discoverSplits(empty, ['.jsonl', '.txt']))).message).toBe(
      `The dataset folder ${empty} holds no data files (*.jsonl, *.txt).`,
    );
  });
});

describe('splitDocuments', () => {
  const text = 'first line\r\nsecond line\n\n\nthird\n  \nfourth\n';

  it('cuts text by file, paragraph or line, with the line each starts on', () => {
    expect(splitDocuments(text, 'file')).toEqual([{ line: 1, text: 'first line\nsecond line\n\n\nthird\n  \nfourth\n' }]);
    expect(splitDocuments(text, 'paragraph')).toEqual([
      { line: 1, text: 'first line\nsecond line' },
      { line: 5, text: 'third' },
      { line: 7, text: 'fourth' },
    ]);
    expect(splitDocuments(text, 'line').map((d) => d.line)).toEqual([1, 2, 5, 7]);
    expect(splitDocuments(' \n', 'file')).toEqual([]);
  });
});

describe('TextDataset', () => {
  it('reads text files and JSONL records, encodes each document with bos and eos, and packs them', async () => {
    tmp.write('data/train/a.txt', 'ab');
    tmp.write('data/train/b.jsonl', '{"text": "cd"}\n\n{"text": "e", "extra": 1}\n');
    const dataset = await TextDataset.open(join(tmp.path, 'data'), textOptions());
    expect(dataset.splits()).toEqual(['train']);

    const reader = await dataset.createReader('train', tokenizer, { batchSize: 8, maxSeqLen: 4, shuffle: false });
    const batch = reader.next() as SequenceBatch;
    const stream = [BOS, ...bytes('ab'), EOS, BOS, ...bytes('cd'), EOS, BOS, ...bytes('e'), EOS];
    // 11 tokens: rows start every 4, the last holds 2 inputs and padding (`<pad>`, 258).
    expect(rowsOf(batch).map((r) => r.inputs)).toEqual([stream.slice(0, 4), stream.slice(4, 8), [...stream.slice(8, 10), 258, 258]]);
    expect(batch.numTargets).toBe(stream.length - 1);

    const prompts = await dataset.readPrompts('train');
    expect(prompts.map((p) => [p.id.slice(tmp.path.length), p.prompt])).toEqual([
      ['/data/train/a.txt:1', 'ab'],
      ['/data/train/b.jsonl:1', 'cd'],
      ['/data/train/b.jsonl:3', 'e'],
    ]);
  });

  it('names the file and line of a bad record', async () => {
    const file = tmp.write('bad.jsonl', '{"text": "ok"}\n{"text": 3}\n');
    const dataset = await TextDataset.open(file, textOptions());
    const error = await caughtAsync(() => dataset.readPrompts('default'));

    expect(error).toBeInstanceOf(DatasetRecordError);
    expect(error).toMatchObject({ file, line: 2 });
    expect(error.message).toBe(`\`text\` field of the record is expected to be of type string, but is of type number instead. (${file}:2)`);
  });

  it('skips and counts bad records when asked, with one warning per split', async () => {
    const file = tmp.write('mixed.jsonl', '{"text": "ok"}\nnot json\n[1]\n{"body": "x"}\n{"text": "fine"}\n');
    const dataset = await TextDataset.open(file, textOptions({ onBadRecord: 'skip' }));
    const prompts = await dataset.readPrompts('default');

    expect(prompts.map((p) => p.prompt)).toEqual(['ok', 'fine']);
    expect(warnings).toEqual([
      `Skipped 3 bad records of the \`default\` split of the dataset corpus; the first: The record is not valid JSON: Unexpected token 'o', "not json" is not valid JSON. (${file}:2)`,
    ]);
  });

  it('refuses text that is not UTF-8, naming the line', async () => {
    const file = tmp.write('latin1.txt', Buffer.concat([Buffer.from('fine\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const dataset = await TextDataset.open(file, textOptions());
    expect((await caughtAsync(() => dataset.readPrompts('default'))).message).toBe(`The line is not valid UTF-8 text. (${file}:2)`);
  });

  it('names a missing split and an empty one', async () => {
    tmp.write('data/train.txt', 'x');
    tmp.write('data/valid.txt', '\n\n');
    const dataset = await TextDataset.open(join(tmp.path, 'data'), textOptions());
    const missing = await caughtAsync(() => dataset.createReader('test', tokenizer, { batchSize: 1, maxSeqLen: 4 }));
    expect(missing).toBeInstanceOf(DatasetSplitNotFoundError);
    expect(missing.message).toBe('The dataset corpus has no `test` split. Its splits: train, valid.');

    const empty = await caughtAsync(() => dataset.createReader('valid', tokenizer, { batchSize: 1, maxSeqLen: 4 }));
    expect(empty.message).toBe('The `valid` split of the dataset corpus has no examples.');
  });

  it('says when it has no data path', async () => {
    const error = await caughtAsync(() => TextDataset.open(undefined, textOptions()));
    expect(error.message).toBe('The text dataset corpus has no data: give its card a `data` field (a file or folder), or pass a path.');
  });
});

describe('InstructionDataset', () => {
  it('trains on the answer of a src/tgt pair and its end-of-sequence token only', async () => {
    const file = tmp.write('sft.jsonl', '{"src": "Q?", "tgt": "A."}\n');
    const dataset = await InstructionDataset.open(file, instructionOptions());
    const reader = await dataset.createReader('default', tokenizer, { batchSize: 1, maxSeqLen: 16, shuffle: false });
    const [row] = rowsOf(reader.next() as SequenceBatch);

    const tokens = [BOS, ...bytes('Q?'), ...bytes('A.'), EOS];
    expect(row?.inputs).toEqual(tokens.slice(0, -1));
    // Targets are the next tokens: `A`, `.` and `</s>`.
    expect(row?.mask).toEqual([0, 0, 1, 1, 1]);
    expect(await dataset.readPrompts('default')).toEqual([{ id: `${file}:1`, prompt: 'Q?', reference: 'A.' }]);
  });

  it('trains on the assistant turns of a conversation as the chat template writes them', async () => {
    const messages = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'yo' },
      { role: 'user', content: 'ok' },
      { role: 'assistant', content: 'k' },
    ];
    const file = tmp.write('chat.jsonl', `${JSON.stringify({ messages })}\n`);
    const dataset = await InstructionDataset.open(file, instructionOptions());
    const reader = await dataset.createReader('default', tokenizer, { batchSize: 1, maxSeqLen: 64, shuffle: false });
    const batch = reader.next() as SequenceBatch;

    const text = 'user: hi\nassistant: yo\nuser: ok\nassistant: k\n';
    const targets = Array.from(batch.targets).slice(0, batch.seqLen);
    const targetText = Buffer.from(targets.filter((_, i) => batch.targetMask[i] === 1)).toString('utf8');
    expect(Buffer.from([Array.from(batch.inputs)[0] as number, ...targets]).toString('utf8')).toBe(text);
    expect(targetText).toBe('yo\nk\n');
    expect(await dataset.readPrompts('default')).toEqual([{ id: `${file}:1`, prompt: messages.slice(0, 3), reference: 'k' }]);
  });

  it('names the file, line and field of a bad record', async () => {
    const cases: [string, string][] = [
      ['{"question": "x"}', 'The record has neither `src` and `tgt` fields nor a `messages` field.'],
      ['{"src": "x"}', 'The record has no `tgt` field.'],
      ['{"messages": {"role": "user"}}', '`messages` field of the record is expected to be of type list, but is of type object instead.'],
      ['{"messages": [{"role": "user", "content": 1}]}', '`messages[0].content` of the record is expected to be of type string, but is of type number instead.'],
      ['{"messages": ["hi"]}', '`messages[0]` of the record is expected to be an object, but is of type string instead.'],
      ['{"messages": [{"role": "user", "content": "hi"}]}', 'The conversation has no `assistant` message.'],
    ];
    for (const [line, reason] of cases) {
      const file = tmp.write('bad.jsonl', `\n${line}\n`);
      const dataset = await InstructionDataset.open(file, instructionOptions());
      expect((await caughtAsync(() => dataset.readPrompts('default'))).message).toBe(`${reason} (${file}:2)`);
    }
  });

  it('refuses a chat template that does not render turn by turn', async () => {
    const file = tmp.write('chat.jsonl', '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n');
    const dataset = await InstructionDataset.open(file, instructionOptions());
    const reversed = byteTokenizer({ chatTemplate: '{% for m in messages|reverse %}{{ m.content }}|{% endfor %}' });
    const error = await caughtAsync(() => dataset.createReader('default', reversed, { batchSize: 1, maxSeqLen: 8 }));

    expect(error).toBeInstanceOf(DatasetRecordError);
    expect(error.message).toBe(
      `The chat template does not render the conversation turn by turn (message 1 changes what comes before it), so its assistant turns cannot be told from the rest. (${file}:1)`,
    );
  });
});
