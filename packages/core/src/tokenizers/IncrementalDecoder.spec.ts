import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { buildByteLevelTokenizerJson } from './buildByteLevelTokenizerJson.js';
import { HuggingFaceTokenizer } from './HuggingFaceTokenizer.js';
import { IncrementalDecoder } from './IncrementalDecoder.js';

/**
 * A SentencePiece-style BPE in the Hugging Face format of Llama 2 and Mistral: `▁` for spaces
 * (prepended to the text), byte-fallback tokens `<0x00>`..`<0xFF>` for what the vocabulary lacks,
 * and a decoder that strips the leading space of the text. Two words are in the vocabulary.
 */
function sentencePieceJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let byte = 0; byte < 256; byte += 1) {
    vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] = Object.keys(vocab).length;
  }
  const merges: string[] = [];
  for (const word of ['▁Hello', '▁world']) {
    for (const char of word) {
      vocab[char] ??= Object.keys(vocab).length;
    }
    for (let end = 2; end <= word.length; end += 1) {
      merges.push(`${word.slice(0, end - 1)} ${word[end - 1] as string}`);
      vocab[word.slice(0, end)] ??= Object.keys(vocab).length;
    }
  }
  return {
    added_tokens: [
      { id: 1, content: '<s>', special: true },
      { id: 2, content: '</s>', special: true },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: { type: 'BPE', unk_token: '<unk>', byte_fallback: true, fuse_unk: true, vocab, merges },
  };
}

function stream(decoder: IncrementalDecoder, ids: readonly number[]): string[] {
  return ids.map((id) => decoder.push(id));
}

describe('IncrementalDecoder', () => {
  const byteLevel = new HuggingFaceTokenizer({ tokenizer: buildByteLevelTokenizerJson({ specialTokens: ['<|end|>'] }) });
  const sentencePiece = new HuggingFaceTokenizer({ tokenizer: sentencePieceJson() });

  it('emits a multi-byte character once its last byte arrives', () => {
    const ids = byteLevel.encode('a€😀');
    expect(ids).toEqual([97, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
    expect(stream(byteLevel.createIncrementalDecoder(), ids)).toEqual(['a', '', '', '€', '', '', '', '😀']);
  });

  it('keeps the leading space of SentencePiece words after the first', () => {
    const ids = sentencePiece.encode('Hello world 🤗 world');
    expect(sentencePiece.tokenize('Hello world 🤗 world')).toEqual(['▁Hello', '▁world', '▁', '<0xF0>', '<0x9F>', '<0xA4>', '<0x97>', '▁world']);
    const decoder = sentencePiece.createIncrementalDecoder();
    expect(stream(decoder, ids)).toEqual(['Hello', ' world', ' ', '', '', '', '🤗', ' world']);
    expect(decoder.flush()).toBe('');
    expect(sentencePiece.decode(ids)).toBe('Hello world 🤗 world');
  });

  it('streams any text into exactly what decode gives (byte-level and SentencePiece-style)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (binary, graphemes) => {
        const text = binary + graphemes;
        for (const tokenizer of [byteLevel, sentencePiece]) {
          const ids = tokenizer.encode(text);
          const decoder = tokenizer.createIncrementalDecoder();
          const pieces = stream(decoder, ids);
          expect(pieces.join('') + decoder.flush()).toBe(tokenizer.decode(ids));
        }
        expect(byteLevel.decode(byteLevel.encode(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('skips special tokens when asked, and keeps them otherwise', () => {
    const ids = [...byteLevel.encode('hi'), byteLevel.tokenToId('<|end|>'), ...byteLevel.encode('!')];
    expect(byteLevel.createIncrementalDecoder().pushAll(ids)).toBe('hi<|end|>!');
    expect(byteLevel.createIncrementalDecoder({ skipSpecialTokens: true }).pushAll(ids)).toBe('hi!');
  });

  it('flushes an incomplete character as U+FFFD, and starts over after flush and reset', () => {
    const decoder = byteLevel.createIncrementalDecoder();
    expect(decoder.pushAll([0x68, 0xf0, 0x9f])).toBe('h');
    expect(decoder.flush()).toBe('\uFFFD');
    expect(decoder.flush()).toBe('');
    // A lone continuation byte is held like an incomplete character, then comes out with the next one.
    expect(decoder.push(0x80)).toBe('');
    expect(decoder.push(0x69)).toBe('\uFFFDi');
    decoder.reset();
    expect(decoder.pushAll([0xe2, 0x82])).toBe('');
    decoder.reset();
    expect(decoder.push(0x6f)).toBe('o');
  });

  it('does not clean up spaces, which would need the text after them', () => {
    const decoder = new IncrementalDecoder({
      decode: (ids, options) => {
        expect(options).toEqual({ skipSpecialTokens: false, cleanUpTokenizationSpaces: false });
        return ids.map((id) => String.fromCharCode(id)).join('');
      },
    });
    expect(decoder.pushAll([97, 32, 46])).toBe('a .');
  });
});
