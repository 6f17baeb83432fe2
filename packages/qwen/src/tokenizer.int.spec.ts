import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createFamilyTestWorld, realTokenizerDir, type FamilyTestWorld } from '../../../test/support/index.js';
import { getQwenTokenizerHub } from './hub.js';
import { registerQwenFamily } from './register.js';
import { loadQwenTokenizer } from './tokenizer.js';

const TINY_QWEN = fileURLToPath(new URL('../../../cards/tiny/tiny_qwen', import.meta.url));

describe('the qwen tokenizer family', () => {
  it('on the Qwen 3 vocabulary: no beginning token, <|endoftext|> ends and pads', async () => {
    const tokenizer = await loadQwenTokenizer(realTokenizerDir('qwen3'), { use_im_end: false });

    expect(tokenizer.encode('Hello world!')).toEqual([9707, 1879, 0]);
    expect(tokenizer.vocabInfo).toMatchObject({ bosId: undefined, eosId: 151_643, padId: 151_643, stopIds: [151_643] });
  });

  it('ends chat turns with <|im_end|> with use_im_end, <|endoftext|> still stopping', async () => {
    const tokenizer = await loadQwenTokenizer(realTokenizerDir('qwen3'), { use_im_end: true });

    expect(tokenizer.vocabInfo).toMatchObject({ eosId: 151_645, padId: 151_643, stopIds: [151_645, 151_643] });
    expect(tokenizer.encodeChat([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }).slice(0, 5)).toEqual([151_644, 872, 198, 13_048, 151_645]);
  });

  describe('through the hub', () => {
    let world: FamilyTestWorld;
    beforeAll(async () => {
      world = await createFamilyTestWorld(registerQwenFamily, {
        'tiny.yaml': ['name: my_tiny_qwen', 'tokenizer_family: qwen', `tokenizer: ${TINY_QWEN}`, 'tokenizer_config: {use_im_end: true}', ''].join('\n'),
      });
    });
    afterAll(() => world.cleanup());

    it("loads a card's tokenizer with its tokenizer_config", async () => {
      const tokenizer = await getQwenTokenizerHub(world.resolver).loadTokenizer('my_tiny_qwen');

      expect(tokenizer.encode('Hi')).toEqual([72, 105]);
      expect(tokenizer.vocabInfo).toEqual({ size: 261, bosId: undefined, eosId: 258, padId: 256, unkId: undefined, stopIds: [258, 256] });
    });
  });
});
