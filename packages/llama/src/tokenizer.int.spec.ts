import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { buildByteLevelTokenizerJson } from '@fs2/core';

import { caughtAsync, createFamilyTestWorld, makeTempDir, realTokenizerDir, type FamilyTestWorld, type TempDir } from '../../../test/support/index.js';
import { getLlamaTokenizerHub } from './hub.js';
import { registerLlamaFamily } from './register.js';
import { loadLlamaTokenizer } from './tokenizer.js';

const TINY_LLAMA = fileURLToPath(new URL('../../../cards/tiny/tiny_llama', import.meta.url));

describe('the llama tokenizer family', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = makeTempDir();
  });
  afterAll(() => dir.cleanup());

  describe('on the Llama 3 vocabulary', () => {
    it('starts every text with <|begin_of_text|> and ends with <|end_of_text|>, both end tokens stopping', async () => {
      const tokenizer = await loadLlamaTokenizer(realTokenizerDir('llama3'), { impl: 'hg', use_eot: false });

      // The first Llama 3 tokenizer.json adds no <|begin_of_text|> itself.
      expect(tokenizer.encode('Hello world!')).toEqual([128_000, 9906, 1917, 0]);
      expect(tokenizer.encode('Hello world!', { addSpecialTokens: false })).toEqual([9906, 1917, 0]);
      // Llama 3.0 has no <|finetune_right_pad_id|> (3.1 renamed a reserved token to it).
      expect(tokenizer.vocabInfo).toMatchObject({ bosId: 128_000, eosId: 128_001, padId: undefined, stopIds: [128_001, 128_009] });
    });

    it('ends with <|eot_id|> with use_eot (chat models)', async () => {
      const tokenizer = await loadLlamaTokenizer(realTokenizerDir('llama3'), { impl: 'hg', use_eot: true });

      expect(tokenizer.vocabInfo).toMatchObject({ eosId: 128_009, stopIds: [128_009, 128_001] });
    });
  });

  it('reads a Llama 2 vocabulary (<s>, </s>) too', async () => {
    const folder = dir.mkdir('llama2');
    dir.write('llama2/tokenizer.json', JSON.stringify(buildByteLevelTokenizerJson({ specialTokens: ['<unk>', '<s>', '</s>'] })));
    const tokenizer = await loadLlamaTokenizer(folder, { impl: 'sp', use_eot: false });

    expect(tokenizer.encode('Hi')).toEqual([257, 72, 105]);
    expect(tokenizer.vocabInfo).toMatchObject({ bosId: 257, eosId: 258, stopIds: [258] });
  });

  describe('through the hub', () => {
    let world: FamilyTestWorld;
    beforeAll(async () => {
      world = await createFamilyTestWorld(registerLlamaFamily, {
        'tiny.yaml': [
          'name: my_tiny_llama',
          'tokenizer_family: llama',
          `tokenizer: ${TINY_LLAMA}`,
          '---',
          'name: my_tiny_llama_chat',
          'base: my_tiny_llama',
          'tokenizer_config: {use_eot: true}',
          '---',
          'name: my_broken_config',
          'base: my_tiny_llama',
          'tokenizer_config: {use_eos: true}',
          '',
        ].join('\n'),
      });
    });
    afterAll(() => world.cleanup());

    it("loads a card's tokenizer with its tokenizer_config", async () => {
      const hub = getLlamaTokenizerHub(world.resolver);
      const base = await hub.loadTokenizer('my_tiny_llama');
      const chat = await hub.loadTokenizer('my_tiny_llama_chat');

      expect(base.encode('Hello')).toEqual([256, 72, 101, 108, 108, 111]);
      expect(base.decode([256, 72, 105, 257], { skipSpecialTokens: true })).toBe('Hi');
      expect(base.vocabInfo).toEqual({ size: 267, bosId: 256, eosId: 257, padId: 260, unkId: undefined, stopIds: [257, 265] });
      expect(chat.vocabInfo.eosId).toBe(265);
    });

    it('refuses an unknown tokenizer_config key, located in the card', async () => {
      const error = await caughtAsync(() => getLlamaTokenizerHub(world.resolver).loadTokenizer('my_broken_config'));

      expect(error.message).toBe(
        `\`tokenizer_config\` field of the \`my_broken_config\` asset card is not a valid tokenizer configuration: \`use_eos\` is not a known key. (${join(world.env['FAIRSEQ2_USER_ASSET_DIR'] as string, 'tiny.yaml')}:11:20)`,
      );
    });
  });
});
