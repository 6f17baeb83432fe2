import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { caughtAsync, createFamilyTestWorld, type FamilyTestWorld } from '../../../test/support/index.js';
import { getMistralTokenizerHub } from './hub.js';
import { registerMistralFamily } from './register.js';

const TINY_MISTRAL = fileURLToPath(new URL('../../../cards/tiny/tiny_mistral', import.meta.url));

describe('the mistral tokenizer family through the hub', () => {
  let world: FamilyTestWorld;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerMistralFamily, {
      'tiny.yaml': [
        'name: my_tiny_mistral',
        'tokenizer_family: mistral',
        `tokenizer: ${TINY_MISTRAL}`,
        '---',
        'name: my_configured_mistral',
        'base: my_tiny_mistral',
        'tokenizer_config: {use_eot: true}',
        '',
      ].join('\n'),
    });
  });
  afterAll(() => world.cleanup());

  it('starts every text with <s> and ends with </s>, from the files', async () => {
    const tokenizer = await getMistralTokenizerHub(world.resolver).loadTokenizer('my_tiny_mistral');

    // tiny_mistral puts <unk>, <s>, </s> at 0, 1, 2 and the bytes after them.
    expect(tokenizer.encode('Hi')).toEqual([1, 75, 108]);
    expect(tokenizer.decode([1, 75, 108, 2], { skipSpecialTokens: true })).toBe('Hi');
    expect(tokenizer.vocabInfo).toMatchObject({ bosId: 1, eosId: 2, stopIds: [2] });
  });

  it('has no tokenizer options', async () => {
    const error = await caughtAsync(() => getMistralTokenizerHub(world.resolver).loadTokenizer('my_configured_mistral'));

    expect(error.message).toBe(
      `\`tokenizer_config\` field of the \`my_configured_mistral\` asset card is not a valid tokenizer configuration: \`use_eot\` is not a known key. (${join(world.env['FAIRSEQ2_USER_ASSET_DIR'] as string, 'tiny.yaml')}:7:20)`,
    );
  });
});
