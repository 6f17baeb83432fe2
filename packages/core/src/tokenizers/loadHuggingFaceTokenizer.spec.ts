import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { caughtAsync, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { buildByteLevelTokenizerJson } from './buildByteLevelTokenizerJson.js';
import { TokenizerModelError } from './errors.js';
import { loadHuggingFaceTokenizer } from './loadHuggingFaceTokenizer.js';

describe('loadHuggingFaceTokenizer', () => {
  let dir: TempDir;
  const tokenizerJson = JSON.stringify(buildByteLevelTokenizerJson({ specialTokens: ['<s>', '</s>'] }));

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  async function modelError(path: string): Promise<string> {
    const error = await caughtAsync(() => loadHuggingFaceTokenizer(path));
    expect(error).toBeInstanceOf(TokenizerModelError);
    return error.message;
  }

  it('reads a folder or the tokenizer.json itself, with the files beside it', async () => {
    const file = dir.write('tok/tokenizer.json', tokenizerJson);
    dir.write('tok/tokenizer_config.json', JSON.stringify({ bos_token: '<s>' }));
    dir.write('tok/special_tokens_map.json', JSON.stringify({ eos_token: { content: '</s>' } }));
    dir.write('tok/chat_template.jinja', '{{ messages[0].content }}!');
    for (const path of [join(dir.path, 'tok'), file]) {
      const tokenizer = await loadHuggingFaceTokenizer(path);
      expect([tokenizer.source, tokenizer.vocabInfo.bosId, tokenizer.vocabInfo.eosId]).toEqual([file, 256, 257]);
      expect(tokenizer.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('hi!');
    }
    const renamed = dir.write('other/my-tokenizer.json', tokenizerJson);
    expect((await loadHuggingFaceTokenizer(renamed)).encode('a')).toEqual([97]);
  });

  it('says what is missing: the path, or tokenizer.json in a folder', async () => {
    expect(await modelError(join(dir.path, 'nowhere'))).toBe(`The tokenizer path ${dir.path}/nowhere is not found.`);
    dir.write('empty/.keep', '');
    dir.write('empty/config.json', '{}');
    expect(await modelError(join(dir.path, 'empty'))).toBe(`${dir.path}/empty has no tokenizer.json. It holds .keep, config.json.`);
    dir.mkdir('bare');
    expect(await modelError(join(dir.path, 'bare'))).toBe(`${dir.path}/bare has no tokenizer.json. It holds nothing.`);
  });

  it('explains that a SentencePiece tokenizer.model must be converted first', async () => {
    dir.write('spm/tokenizer.model', 'binary');
    const hint =
      'SentencePiece and tiktoken `.model` files are not read by fs2; convert the tokenizer once with Hugging Face transformers ' +
      '(`AutoTokenizer.from_pretrained(dir).save_pretrained(dir)` writes tokenizer.json).';
    expect(await modelError(join(dir.path, 'spm'))).toBe(`${dir.path}/spm has no tokenizer.json. Its tokenizer.model: ${hint}`);
    expect(await modelError(join(dir.path, 'spm/tokenizer.model'))).toBe(`${dir.path}/spm/tokenizer.model is not a tokenizer.json: ${hint}`);
  });

  it('names the file that is not valid JSON, or not an object', async () => {
    dir.write('bad/tokenizer.json', '{"model": {');
    const message = await modelError(join(dir.path, 'bad'));
    expect(message).toBe(`${dir.path}/bad/tokenizer.json is not valid JSON: ${jsonError('{"model": {')}`);

    dir.write('config/tokenizer.json', tokenizerJson);
    dir.write('config/tokenizer_config.json', '[1, 2]');
    expect(await modelError(join(dir.path, 'config'))).toBe(`${dir.path}/config/tokenizer_config.json is expected to hold a JSON object, but holds an array.`);
    dir.write('config/tokenizer_config.json', 'null');
    expect(await modelError(join(dir.path, 'config'))).toBe(`${dir.path}/config/tokenizer_config.json is expected to hold a JSON object, but holds null.`);
    dir.write('config/tokenizer_config.json', '{}');
    dir.write('config/generation_config.json', '{,}');
    expect(await modelError(join(dir.path, 'config'))).toBe(
      `${dir.path}/config/generation_config.json is not valid JSON: ${jsonError('{,}')}`,
    );
  });

  it('names the file whose content is not a tokenizer', async () => {
    dir.write('x/tokenizer.json', '{"version": "1.0"}');
    expect(await modelError(join(dir.path, 'x'))).toBe(`${dir.path}/x/tokenizer.json has no \`model\`: it is not a Hugging Face \`tokenizer.json\`.`);
  });
});

/** The message of V8's JSON.parse for `text` (it differs between Node versions). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}
