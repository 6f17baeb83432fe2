import { describe, expect, it } from '@jest/globals';

import { caught } from '../../../../test/support/index.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { buildByteLevelTokenizerJson } from './buildByteLevelTokenizerJson.js';
import { ChatTemplateError, ChatTemplateNotFoundError, TokenizerModelError } from './errors.js';
import { HuggingFaceTokenizer, type HuggingFaceTokenizerFiles, type HuggingFaceTokenizerOptions } from './HuggingFaceTokenizer.js';

const SOURCE = '/models/x/tokenizer.json';

/** A tiny WordPiece tokenizer (BERT-style): whitespace split, `[UNK]` for what it does not know. */
function wordPieceJson(): Record<string, unknown> {
  return {
    added_tokens: [{ id: 5, content: '[SEP]', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: { '[UNK]': 0, hello: 1, world: 2, '.': 3, '##s': 4, '[SEP]': 5 },
    },
  };
}

function load(files: Partial<HuggingFaceTokenizerFiles> & { tokenizer: unknown }, options: HuggingFaceTokenizerOptions = {}): HuggingFaceTokenizer {
  return new HuggingFaceTokenizer(files, options, SOURCE);
}

function modelError(files: Partial<HuggingFaceTokenizerFiles> & { tokenizer: unknown }, options: HuggingFaceTokenizerOptions = {}): string {
  const error = caught(() => load(files, options));
  expect(error).toBeInstanceOf(TokenizerModelError);
  expect((error as TokenizerModelError).path).toBe(SOURCE);
  return error.message;
}

const withModel = (model: Record<string, unknown>): Record<string, unknown> => ({ ...wordPieceJson(), model });

describe('HuggingFaceTokenizer', () => {
  describe('refuses a tokenizer.json it cannot run, naming the file and the problem', () => {
    it('not an object, no model, a model that is not an object', () => {
      expect(modelError({ tokenizer: [] })).toBe(
        `${SOURCE} is expected to hold a JSON object (a Hugging Face \`tokenizer.json\`), but holds an array.`,
      );
      expect(modelError({ tokenizer: 'BPE' })).toBe(
        `${SOURCE} is expected to hold a JSON object (a Hugging Face \`tokenizer.json\`), but holds the string "BPE".`,
      );
      expect(modelError({ tokenizer: { version: '1.0', added_tokens: [] } })).toBe(
        `${SOURCE} has no \`model\`: it is not a Hugging Face \`tokenizer.json\`.`,
      );
      expect(modelError({ tokenizer: { model: 3 } })).toBe(`\`model\` of ${SOURCE} is expected to be an object, but is the number 3.`);
    });

    it('a model type the library does not implement', () => {
      expect(modelError({ tokenizer: withModel({ type: 'WordLevel', vocab: {} }) })).toBe(
        `${SOURCE} has a tokenizer model of type \`WordLevel\`, which @huggingface/tokenizers does not support (supported: BPE, Unigram, WordPiece).`,
      );
      expect(modelError({ tokenizer: withModel({ type: 7, vocab: {} }) })).toBe(
        `${SOURCE} has a tokenizer model of type the number 7, which @huggingface/tokenizers does not support (supported: BPE, Unigram, WordPiece).`,
      );
    });

    it('a vocabulary or merges of the wrong shape', () => {
      expect(modelError({ tokenizer: withModel({ type: 'BPE', merges: [] }) })).toBe(`\`model\` of ${SOURCE} has no \`vocab\`.`);
      expect(modelError({ tokenizer: withModel({ type: 'BPE', vocab: ['a'], merges: [] }) })).toBe(
        `\`model.vocab\` of ${SOURCE} is expected to be an object of token ids, but is an array.`,
      );
      expect(modelError({ tokenizer: withModel({ type: 'Unigram', vocab: { a: 0 } }) })).toBe(
        `\`model.vocab\` of ${SOURCE} is expected to be an array of [token, score] pairs, but is an object.`,
      );
      expect(modelError({ tokenizer: withModel({ type: 'BPE', vocab: { a: 0 } }) })).toBe(
        `\`model.merges\` of ${SOURCE} is expected to be an array, but is missing.`,
      );
      expect(modelError({ tokenizer: withModel({ type: 'BPE', vocab: { a: 0 }, merges: 'a b' }) })).toBe(
        `\`model.merges\` of ${SOURCE} is expected to be an array, but is the string "a b".`,
      );
    });

    it('malformed added tokens and components', () => {
      expect(modelError({ tokenizer: { ...wordPieceJson(), added_tokens: {} } })).toBe(
        `\`added_tokens\` of ${SOURCE} is expected to be an array, but is an object.`,
      );
      expect(modelError({ tokenizer: { ...wordPieceJson(), added_tokens: [{ id: '5', content: '[SEP]' }] } })).toBe(
        `\`added_tokens[0]\` of ${SOURCE} is expected to be an object with an integer \`id\` and a string \`content\`, but is {"id":"5","content":"[SEP]"}.`,
      );
      expect(modelError({ tokenizer: { ...wordPieceJson(), pre_tokenizer: 'Whitespace' } })).toBe(
        `\`pre_tokenizer\` of ${SOURCE} is expected to be an object or null, but is the string "Whitespace".`,
      );
    });

    it('components the library does not know', () => {
      expect(modelError({ tokenizer: { ...wordPieceJson(), decoder: { type: 'Fancy' } } })).toBe(
        `${SOURCE} cannot be read by @huggingface/tokenizers: Unknown Decoder type: Fancy.`,
      );
      expect(modelError({ tokenizer: { ...wordPieceJson(), normalizer: { type: 'Fancy' } } })).toBe(
        `${SOURCE} cannot be read by @huggingface/tokenizers: Unknown Normalizer type: Fancy.`,
      );
    });

    it('special tokens and settings of the wrong type in tokenizer_config.json', () => {
      const tokenizer = wordPieceJson();
      expect(modelError({ tokenizer, tokenizerConfig: { bos_token: 1 } })).toBe(
        `\`bos_token\` of the tokenizer_config.json beside ${SOURCE} is expected to be a string, null or an object with a string \`content\`, but is the number 1.`,
      );
      expect(modelError({ tokenizer, specialTokensMap: { eos_token: { text: '[SEP]' } } })).toBe(
        `\`eos_token\` of the special_tokens_map.json beside ${SOURCE} is expected to be a string, null or an object with a string \`content\`, but is an object.`,
      );
      expect(modelError({ tokenizer, tokenizerConfig: { add_bos_token: 'yes' } })).toBe(
        `\`add_bos_token\` of the tokenizer_config.json beside ${SOURCE} is expected to be a boolean, but is the string "yes".`,
      );
      expect(modelError({ tokenizer, tokenizerConfig: { chat_template: 3 } })).toBe(
        `\`chat_template\` of the tokenizer_config.json beside ${SOURCE} is expected to be a string or a list of named templates, but is the number 3.`,
      );
      expect(modelError({ tokenizer, tokenizerConfig: { chat_template: [{ name: 'default' }] } })).toBe(
        `\`chat_template[0]\` of the tokenizer_config.json beside ${SOURCE} is expected to be an object with a string \`name\` and \`template\`, but is an object.`,
      );
      expect(modelError({ tokenizer, tokenizerConfig: { eos_token: '</s>' } })).toBe(
        `The end-of-sequence token \`</s>\` (\`eos_token\` of tokenizer_config.json) is not in the vocabulary of ${SOURCE}.`,
      );
      expect(modelError({ tokenizer }, { addBosToken: true })).toBe(
        `${SOURCE} asks for a beginning-of-sequence token before every text (\`add_bos_token\`), but has none.`,
      );
      expect(modelError({ tokenizer, tokenizerConfig: { add_eos_token: true } })).toBe(
        `${SOURCE} asks for an end-of-sequence token after every text (\`add_eos_token\`), but has none.`,
      );
    });
  });

  describe('special tokens', () => {
    it('come from the options, then tokenizer_config.json, then special_tokens_map.json, then the model\'s unk_token', () => {
      const tokenizer = load(
        {
          tokenizer: wordPieceJson(),
          tokenizerConfig: { eos_token: { __type: 'AddedToken', content: '[SEP]' }, pad_token: null },
          specialTokensMap: { bos_token: 'hello', pad_token: '[SEP]', eos_token: 'world' },
        },
        { stopTokens: ['.'] },
      );
      expect(tokenizer.vocabInfo).toEqual({ size: 6, bosId: 1, eosId: 5, padId: undefined, unkId: 0, stopIds: [5, 3] });
      expect(load({ tokenizer: wordPieceJson() }, { unkToken: null, eosToken: '.' }).vocabInfo).toEqual({
        size: 6,
        bosId: undefined,
        eosId: 3,
        padId: undefined,
        unkId: undefined,
        stopIds: [3],
      });
    });

    it('are added around a text once: not again when the post-processor adds them', () => {
      const json = buildByteLevelTokenizerJson({ specialTokens: ['<s>', '</s>'] });
      const plain = load({ tokenizer: json, tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', add_bos_token: true, add_eos_token: true } });
      expect(plain.encode('hi')).toEqual([256, 104, 105, 257]);
      expect(plain.tokenize('hi', { addSpecialTokens: true })).toEqual(['<s>', 'h', 'i', '</s>']);

      const templated = {
        ...json,
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [],
          special_tokens: { '<s>': { id: '<s>', ids: [256], tokens: ['<s>'] } },
        },
      };
      const both = load({ tokenizer: templated, tokenizerConfig: { bos_token: '<s>', add_bos_token: true } });
      expect(both.encode('hi')).toEqual([256, 104, 105]);
      expect(both.encode('hi', { addSpecialTokens: false })).toEqual([104, 105]);
    });
  });

  describe('encoding and decoding', () => {
    it('uses the unknown token for what the vocabulary lacks, and refuses to lose text when it has none', () => {
      const tokenizer = load({ tokenizer: wordPieceJson() });
      expect(tokenizer.encode('hello worlds zebra')).toEqual([1, 2, 4, 0]);
      const badUnk = withModel({ ...(wordPieceJson()['model'] as object), unk_token: 'zzz' });
      expect(modelError({ tokenizer: badUnk })).toBe(
        `The unknown token \`zzz\` (\`model.unk_token\` of tokenizer.json) is not in the vocabulary of ${SOURCE}.`,
      );
      const noUnk = load({ tokenizer: badUnk }, { unkToken: null });
      const error = caught(() => noUnk.encode('zebra'));
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.message).toBe(`The tokenizer ${SOURCE} cannot encode the text: it produced the token \`zzz\`, which is not in its vocabulary.`);
    });

    it('cleans up spaces before punctuation only when the config or the call asks', () => {
      const ids = [1, 3];
      expect(load({ tokenizer: wordPieceJson() }).decode(ids)).toBe('hello .');
      expect(load({ tokenizer: wordPieceJson(), tokenizerConfig: { clean_up_tokenization_spaces: true } }).decode(ids)).toBe('hello.');
      expect(load({ tokenizer: wordPieceJson() }).decode(ids, { cleanUpTokenizationSpaces: true })).toBe('hello.');
      expect(load({ tokenizer: wordPieceJson() }, { cleanUpTokenizationSpaces: true }).decode(ids, { cleanUpTokenizationSpaces: false })).toBe(
        'hello .',
      );
    });

    it('refuses an id that is in range but names no token', () => {
      const json = wordPieceJson();
      const sparse = withModel({ ...(json['model'] as object), vocab: { '[UNK]': 0, hello: 1, world: 3 } });
      const tokenizer = load({ tokenizer: { ...sparse, added_tokens: [] } });
      expect(caught(() => tokenizer.decode([1, 2])).message).toBe(`2 is not a token id of ${SOURCE}: the vocabulary has no token with that id.`);
    });
  });

  describe('chat templates', () => {
    const tokenizer = wordPieceJson();
    const user = [{ role: 'user', content: 'hello' }];

    it('says so when there is none', () => {
      const error = caught(() => load({ tokenizer }).applyChatTemplate(user));
      expect(error).toBeInstanceOf(ChatTemplateNotFoundError);
      expect(error.message).toBe(
        `The tokenizer ${SOURCE} has no chat template: its \`tokenizer_config.json\` has no \`chat_template\` and no \`chat_template.jinja\` lies beside it. ` +
          "Pass one (the `chatTemplate` option of `loadHuggingFaceTokenizer`, or `chat_template` in the card's `tokenizer_config` for the `hf` family), or use a tokenizer family that supplies it.",
      );
      expect(load({ tokenizer }).chatTemplate).toBeUndefined();
    });

    it('picks a named template: default, tool_use when tools are given, or the one asked for', () => {
      const named = load({
        tokenizer,
        tokenizerConfig: {
          chat_template: [
            { name: 'default', template: 'D{{ messages | length }}' },
            { name: 'tool_use', template: 'T{{ tools | length }}' },
          ],
        },
      });
      expect(named.chatTemplate).toBe('D{{ messages | length }}');
      expect(named.applyChatTemplate(user)).toBe('D1');
      expect(named.applyChatTemplate(user, { tools: [{}, {}] })).toBe('T2');
      expect(named.applyChatTemplate(user, { templateName: 'default', tools: [{}] })).toBe('D1');
      const error = caught(() => named.applyChatTemplate(user, { templateName: 'rag' }));
      expect(error).toBeInstanceOf(ChatTemplateNotFoundError);
      expect(error.message).toBe(`The tokenizer ${SOURCE} has no chat template named \`rag\` (it has \`default\`, \`tool_use\`).`);
    });

    it('prefers chat_template.jinja to tokenizer_config.json, and the option to both', () => {
      const files = { tokenizer, tokenizerConfig: { chat_template: 'config' }, chatTemplate: 'jinja file' };
      expect(load(files).applyChatTemplate(user)).toBe('jinja file');
      expect(load(files, { chatTemplate: 'option' }).applyChatTemplate(user)).toBe('option');
    });

    it('passes the special tokens, documents and extra variables to the template', () => {
      const tokenized = load(
        { tokenizer, tokenizerConfig: { bos_token: 'hello', eos_token: '[SEP]' } },
        { chatTemplate: '{{ bos_token }}|{{ eos_token }}|{{ documents[0].title }}|{{ who }}|{{ add_generation_prompt }}' },
      );
      expect(tokenized.applyChatTemplate(user, { documents: [{ title: 'doc' }], variables: { who: 'me' }, addGenerationPrompt: true })).toBe(
        'hello|[SEP]|doc|me|true',
      );
      expect(tokenized.encodeChat([], { documents: [{ title: 'doc' }], variables: { who: 'world' } })).toEqual([1, 0, 5, 0, 0, 0, 2, 0, 0]);
    });

    it('reports invalid Jinja and raise_exception with the tokenizer\'s name', () => {
      const broken = load({ tokenizer }, { chatTemplate: '{% for m in messages %}{{ m.content }}{% endfro %}' });
      const syntax = caught(() => broken.applyChatTemplate(user));
      expect(syntax).toBeInstanceOf(ChatTemplateError);
      expect(syntax.message).toBe(`The chat template of the tokenizer ${SOURCE} is not a valid Jinja template: Unknown statement type: endfro.`);
      const named = load({ tokenizer, tokenizerConfig: { chat_template: [{ name: 'tool_use', template: '{{ 1 + }}' }] } });
      expect(caught(() => named.applyChatTemplate(user, { tools: [] })).message).toBe(
        `The chat template of the tokenizer ${SOURCE} named \`tool_use\` is not a valid Jinja template: Unexpected token: CloseExpression.`,
      );

      const raising = load({ tokenizer }, { chatTemplate: "{% if messages[0].role != 'system' %}{{ raise_exception('A system message comes first') }}{% endif %}" });
      const raised = caught(() => raising.applyChatTemplate(user));
      expect(raised).toBeInstanceOf(ChatTemplateError);
      expect(raised.message).toBe(`The chat template of the tokenizer ${SOURCE} failed: A system message comes first.`);
    });
  });
});
