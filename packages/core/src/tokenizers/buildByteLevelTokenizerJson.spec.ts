import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { caught, caughtAsync, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { buildByteLevelTokenizerJson, writeByteLevelTokenizer } from './buildByteLevelTokenizerJson.js';
import { HuggingFaceTokenizer } from './HuggingFaceTokenizer.js';
import { loadHuggingFaceTokenizer } from './loadHuggingFaceTokenizer.js';

describe('buildByteLevelTokenizerJson', () => {
  const specialTokens = ['<|begin|>', '<|end|>', '<|pad|>'];
  const tokenizer = new HuggingFaceTokenizer({ tokenizer: buildByteLevelTokenizerJson({ specialTokens }) });

  it('spells the 256 bytes with GPT-2\'s byte-to-unicode table, id = byte value', () => {
    const model = buildByteLevelTokenizerJson()['model'] as { vocab: Record<string, number>; merges: unknown[] };
    expect(Object.keys(model.vocab)).toHaveLength(256);
    expect(model.merges).toEqual([]);
    // Values from openai/gpt-2 encoder.py bytes_to_unicode(): printable Latin-1 maps to itself,
    // the others to U+0100 onwards in byte order.
    expect([model.vocab['Ā'], model.vocab['Ġ'], model.vocab['Ċ'], model.vocab['!'], model.vocab['~'], model.vocab['ÿ']]).toEqual([0, 32, 10, 33, 126, 255]);
    expect([model.vocab['ġ'], model.vocab['Ń'], model.vocab['¡'], model.vocab['®']]).toEqual([127, 173, 161, 174]);
  });

  it('gives the special tokens the ids after the bytes', () => {
    expect(tokenizer.vocabInfo.size).toBe(259);
    expect(specialTokens.map((t) => tokenizer.tokenToId(t))).toEqual([256, 257, 258]);
    expect(tokenizer.encode('<|begin|>hé<|end|>')).toEqual([256, 104, 0xc3, 0xa9, 257]);
    expect(tokenizer.decode([256, 104, 0xc3, 0xa9, 257], { skipSpecialTokens: true })).toBe('hé');
  });

  it('round-trips any UTF-8 text byte for byte', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const ids = tokenizer.encode(text);
        expect(ids).toEqual([...Buffer.from(text, 'utf8')]);
        expect(tokenizer.decode(ids)).toBe(text);
      }),
      { numRuns: 300 },
    );
    const spaces = '  a .\t\n\r\u0000 , do n\'t';
    expect(tokenizer.decode(tokenizer.encode(spaces))).toBe(spaces);
  });

  it('refuses empty, repeated and byte-token special tokens', () => {
    const cases: [string[], string][] = [
      [[''], 'A special token must not be empty.'],
      [['<s>', '<s>'], 'The special token `<s>` is listed twice.'],
      [['Ġ'], 'The special token `Ġ` is the byte token 32.'],
    ];
    for (const [tokens, message] of cases) {
      const error = caught(() => buildByteLevelTokenizerJson({ specialTokens: tokens }));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe(message);
    }
  });
});

describe('writeByteLevelTokenizer', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('writes a folder that loads with its special tokens and chat template', async () => {
    const path = await writeByteLevelTokenizer(join(dir.path, 'tok'), {
      specialTokens: ['<s>', '</s>', '<pad>'],
      bosToken: '<s>',
      eosToken: '</s>',
      padToken: '<pad>',
      addBosToken: true,
      chatTemplate: '{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}',
    });
    expect(JSON.parse(readFileSync(join(path, 'tokenizer_config.json'), 'utf8'))).toEqual({
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: '<s>',
      eos_token: '</s>',
      pad_token: '<pad>',
      unk_token: null,
      add_bos_token: true,
      add_eos_token: false,
      clean_up_tokenization_spaces: false,
      chat_template: '{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}',
    });
    const tokenizer = await loadHuggingFaceTokenizer(path);
    expect(tokenizer.vocabInfo).toEqual({ size: 259, bosId: 256, eosId: 257, padId: 258, unkId: undefined, stopIds: [257] });
    expect(tokenizer.encode('hi')).toEqual([256, 104, 105]);
    expect(tokenizer.encodeChat([{ role: 'user', content: 'hi' }])).toEqual([104, 105, 257]);
  });

  it('refuses a bos, eos or pad token that is not one of the special tokens', async () => {
    const error = await caughtAsync(() => writeByteLevelTokenizer(dir.path, { specialTokens: ['<s>'], eosToken: '</s>' }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe('`eosToken` (`</s>`) must be one of `specialTokens` (`<s>`).');
    expect((await caughtAsync(() => writeByteLevelTokenizer(dir.path, { padToken: '<pad>' }))).message).toBe(
      '`padToken` (`<pad>`) must be one of `specialTokens` (none).',
    );
  });
});
