import { beforeAll, describe, expect, it, jest } from '@jest/globals';

import { caught, caughtAsync, copyRealTokenizer, makeTempDir, realTokenizerDir } from '../../../../test/support/index.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { ChatTemplateError, TokenizerModelError } from './errors.js';
import type { HuggingFaceTokenizer } from './HuggingFaceTokenizer.js';
import { loadHuggingFaceTokenizer } from './loadHuggingFaceTokenizer.js';

/** Text in several scripts, emoji (a skin-tone modifier, a flag), tabs, newlines and digits. */
const MULTILINGUAL = 'Hello world! Ünïcödé 日本語 中文 العربية русский 🤗👍🏽🇫🇷  spaces\tand\nnewlines 12345 ...';

describe('HuggingFaceTokenizer on real vocabularies', () => {
  // Reading a real tokenizer.json (9 to 11 MB) takes about 0.6 s on an idle machine (js-ecosystem.md §6.1); allow a busy one.
  jest.setTimeout(60_000);

  let llama3: HuggingFaceTokenizer;
  let qwen3: HuggingFaceTokenizer;

  beforeAll(async () => {
    llama3 = await loadHuggingFaceTokenizer(realTokenizerDir('llama3'));
    qwen3 = await loadHuggingFaceTokenizer(realTokenizerDir('qwen3'));
  });

  it('encodes known texts to the models\' own ids', () => {
    expect(llama3.encode('Hello world!')).toEqual([9906, 1917, 0]);
    expect(qwen3.encode('Hello world!')).toEqual([9707, 1879, 0]);
    expect(llama3.tokenize('Hello world!')).toEqual(['Hello', 'Ġworld', '!']);
    expect(qwen3.tokenize('Hello world!')).toEqual(['Hello', 'Ġworld', '!']);
  });

  it('round-trips multilingual text and emoji exactly', () => {
    for (const tokenizer of [llama3, qwen3]) {
      const ids = tokenizer.encode(MULTILINGUAL);
      expect(tokenizer.decode(ids, { cleanUpTokenizationSpaces: false })).toBe(MULTILINGUAL);
    }
    expect(qwen3.decode(qwen3.encode(MULTILINGUAL))).toBe(MULTILINGUAL);
  });

  it('reads the vocabulary size and special tokens from the files', () => {
    expect(llama3.vocabInfo).toEqual({ size: 128256, bosId: 128000, eosId: 128001, padId: undefined, unkId: undefined, stopIds: [128001] });
    // Qwen3's tokenizer_config.json: no bos, eos <|im_end|>, pad <|endoftext|>.
    expect(qwen3.vocabInfo).toEqual({ size: 151669, bosId: undefined, eosId: 151645, padId: 151643, unkId: undefined, stopIds: [151645] });
  });

  it('encodes special tokens written in the text as one id each, and can skip them when decoding', () => {
    expect(qwen3.encode('<|im_start|>user\nHi<|im_end|>')).toEqual([151644, 872, 198, 13048, 151645]);
    expect(llama3.encode('<|begin_of_text|>Hi<|eot_id|>')).toEqual([128000, 13347, 128009]);
    expect(qwen3.decode([151644, 872, 198, 13048, 151645])).toBe('<|im_start|>user\nHi<|im_end|>');
    expect(qwen3.decode([151644, 872, 198, 13048, 151645], { skipSpecialTokens: true })).toBe('user\nHi');
    expect(llama3.decode([128000, 13347, 128009], { skipSpecialTokens: true })).toBe('Hi');
  });

  it('maps tokens and ids both ways', () => {
    expect(qwen3.tokenToId('<|im_end|>')).toBe(151645);
    expect(qwen3.idToToken(151645)).toBe('<|im_end|>');
    expect(llama3.idToToken(1917)).toBe('Ġworld');
    expect(llama3.maybeTokenToId('<|no such token|>')).toBeUndefined();
    expect(llama3.maybeIdToToken(128256)).toBeUndefined();

    const unknownToken = caught(() => llama3.tokenToId('<|no such token|>'));
    expect(unknownToken).toBeInstanceOf(InvalidArgumentError);
    expect(unknownToken.message).toBe(`\`<|no such token|>\` is not in the vocabulary of ${realTokenizerDir('llama3')}/tokenizer.json.`);
    expect(caught(() => llama3.decode([9906, 128256])).message).toBe(
      `128256 is not a token id of ${realTokenizerDir('llama3')}/tokenizer.json: ids are integers from 0 to 128255.`,
    );
    expect(caught(() => llama3.decode([-1])).message).toBe(
      `-1 is not a token id of ${realTokenizerDir('llama3')}/tokenizer.json: ids are integers from 0 to 128255.`,
    );
    expect(caught(() => llama3.idToToken(1.5)).message).toBe(
      `1.5 is not a token id of ${realTokenizerDir('llama3')}/tokenizer.json: ids are integers from 0 to 128255.`,
    );
    expect(llama3.decode([])).toBe('');
  });

  it('lets a family impose its special and stop tokens, and add the beginning-of-sequence token', async () => {
    // What the llama family does for an instruct card (use_eot): eos <|eot_id|>, both ends stop.
    const instruct = await loadHuggingFaceTokenizer(realTokenizerDir('llama3'), {
      eosToken: '<|eot_id|>',
      padToken: '<|reserved_special_token_2|>',
      stopTokens: ['<|end_of_text|>', '<|eot_id|>'],
      addBosToken: true,
    });
    expect(instruct.vocabInfo).toEqual({ size: 128256, bosId: 128000, eosId: 128009, padId: 128004, unkId: undefined, stopIds: [128009, 128001] });
    expect(instruct.encode('Hello world!')).toEqual([128000, 9906, 1917, 0]);
    expect(instruct.encode('Hello world!', { addSpecialTokens: false })).toEqual([9906, 1917, 0]);
    expect(instruct.tokenize('Hi', { addSpecialTokens: true })).toEqual(['<|begin_of_text|>', 'Hi']);

    // Llama 3.0 predates Llama 3.1's <|finetune_right_pad_id|>.
    const missing = await caughtAsync(() => loadHuggingFaceTokenizer(realTokenizerDir('llama3'), { padToken: '<|finetune_right_pad_id|>' }));
    expect(missing).toBeInstanceOf(TokenizerModelError);
    expect(missing.message).toBe(
      `The padding token \`<|finetune_right_pad_id|>\` (given by the tokenizer family or the caller) is not in the vocabulary of ${realTokenizerDir('llama3')}/tokenizer.json.`,
    );
    const badStop = await caughtAsync(() => loadHuggingFaceTokenizer(realTokenizerDir('qwen3'), { stopTokens: ['<|eot_id|>'] }));
    expect(badStop.message).toBe(`The stop token \`<|eot_id|>\` is not in the vocabulary of ${realTokenizerDir('qwen3')}/tokenizer.json.`);

    const noPad = await loadHuggingFaceTokenizer(realTokenizerDir('qwen3'), { eosToken: '<|endoftext|>', padToken: null });
    expect([noPad.vocabInfo.eosId, noPad.vocabInfo.padId]).toEqual([151643, undefined]);
  });

  it('lets a family choose its tokens by what the vocabulary holds', async () => {
    // The llama family's choice between Llama 2 and Llama 3 files, and 3.0 and 3.1 ones.
    const options = (vocabulary: { has(token: string): boolean }) =>
      vocabulary.has('<|begin_of_text|>')
        ? {
            bosToken: '<|begin_of_text|>',
            eosToken: '<|eot_id|>',
            stopTokens: ['<|end_of_text|>'],
            padToken: vocabulary.has('<|finetune_right_pad_id|>') ? '<|finetune_right_pad_id|>' : null,
            addBosToken: true,
          }
        : { bosToken: '<s>', eosToken: '</s>', addBosToken: true };
    const tokenizer = await loadHuggingFaceTokenizer(realTokenizerDir('llama3'), options);
    expect(tokenizer.vocabInfo).toEqual({ size: 128256, bosId: 128000, eosId: 128009, padId: undefined, unkId: undefined, stopIds: [128009, 128001] });
  });

  it('adds the ids of generation_config.json\'s eos_token_id to the stop tokens', async () => {
    const dir = makeTempDir();
    try {
      copyRealTokenizer('llama3', dir.path);
      dir.write('generation_config.json', JSON.stringify({ bos_token_id: 128000, eos_token_id: [128001, 128008, 128009] }));
      const tokenizer = await loadHuggingFaceTokenizer(dir.path);
      expect(tokenizer.vocabInfo.stopIds).toEqual([128001, 128008, 128009]);

      dir.write('generation_config.json', JSON.stringify({ eos_token_id: 200000 }));
      const error = await caughtAsync(() => loadHuggingFaceTokenizer(dir.path));
      expect(error).toBeInstanceOf(TokenizerModelError);
      expect(error.message).toBe(
        `\`eos_token_id\` of the generation_config.json beside ${dir.path}/tokenizer.json is expected to hold token ids of the tokenizer (0 to 128255), but holds 200000.`,
      );
    } finally {
      dir.cleanup();
    }
  });

  describe('streaming', () => {
    it('holds an emoji back until its last byte-level token arrives', () => {
      for (const tokenizer of [llama3, qwen3]) {
        const ids = tokenizer.encode('Hi 🤗!');
        const stream = tokenizer.createIncrementalDecoder();
        const pieces = ids.map((id) => stream.push(id));
        expect(ids.length).toBeGreaterThan(3); // The emoji spans several tokens.
        expect(pieces.join('') + stream.flush()).toBe('Hi 🤗!');
        expect(pieces.filter((p) => p !== '')).toEqual(['Hi', ' 🤗', '!']);
        expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
      }
    });

    it('streams multilingual text piece by piece into exactly the decoded text', () => {
      for (const tokenizer of [llama3, qwen3]) {
        const ids = tokenizer.encode(MULTILINGUAL);
        const stream = tokenizer.createIncrementalDecoder();
        let text = '';
        for (const id of ids) {
          const piece = stream.push(id);
          expect(piece).not.toContain('\uFFFD');
          text += piece;
        }
        expect(text + stream.flush()).toBe(MULTILINGUAL);
      }
    });

    it('leaves special tokens out when asked', () => {
      const stream = qwen3.createIncrementalDecoder({ skipSpecialTokens: true });
      expect(stream.pushAll([151644, 77091, 198, 13048, 151645])).toBe('assistant\nHi');
      expect(stream.flush()).toBe('');
    });

    it('flushes an incomplete character as U+FFFD at the end of a stream, then starts over', () => {
      const ids = llama3.encode('🤗');
      const stream = llama3.createIncrementalDecoder();
      expect(stream.pushAll(ids.slice(0, -1))).toBe('');
      expect(stream.flush()).toBe('\uFFFD');
      expect(stream.pushAll(llama3.encode('ok'))).toBe('ok');
    });
  });

  describe('chat templates', () => {
    it('renders Qwen3\'s template from tokenizer_config.json', () => {
      expect(qwen3.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toBe(
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
      );
      expect(qwen3.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe('<|im_start|>user\nHi<|im_end|>\n');
      expect(
        qwen3.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true, variables: { enable_thinking: false } }),
      ).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
      expect(qwen3.encodeChat([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toEqual([
        151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
      ]);
    });

    it('renders Llama 3\'s template with its bos_token', () => {
      const messages = [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ];
      expect(llama3.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
        '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
          '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
      );
    });

    it('uses a template a family supplies instead of the files\'', async () => {
      const tokenizer = await loadHuggingFaceTokenizer(realTokenizerDir('qwen3'), {
        chatTemplate: '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}',
      });
      expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true })).toBe('[user] Hi\n[assistant] ');
    });

    it('reports a template that fails on a value of the wrong type', () => {
      const error = caught(() => qwen3.applyChatTemplate([{ role: 'user', content: 'Hi' }], { templateName: 'default', variables: { messages: 'not a list' } }));
      expect(error).toBeInstanceOf(ChatTemplateError);
      expect(error.message).toBe(
        `The chat template of the tokenizer ${realTokenizerDir('qwen3')}/tokenizer.json failed: Expected iterable or object type in for loop: got StringValue.`,
      );
    });
  });
});
