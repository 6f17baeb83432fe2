import { HuggingFaceTokenizer } from '../../packages/core/src/tokenizers/HuggingFaceTokenizer.js';
import { buildByteLevelTokenizerJson } from '../../packages/core/src/tokenizers/buildByteLevelTokenizerJson.js';

/** The special tokens of {@link byteTokenizer}, ids 256, 257, 258. */
export const BYTE_TOKENIZER_SPECIALS = ['<s>', '</s>', '<pad>'] as const;

/**
 * A chat template that writes each message as `<role>: content\n`, and `assistant: ` as the
 * generation prompt: turn by turn, as `generic_instruction` needs.
 */
export const SIMPLE_CHAT_TEMPLATE =
  "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

/**
 * A byte-level tokenizer (ids 0..255 = bytes) with `<s>` (bos, 256), `</s>` (eos, 257) and `<pad>`
 * (258); `encode` adds `<s>` when `addBos` (the default), and a simple chat template.
 */
export function byteTokenizer(options: { addBos?: boolean; chatTemplate?: string } = {}): HuggingFaceTokenizer {
  return new HuggingFaceTokenizer(
    { tokenizer: buildByteLevelTokenizerJson({ specialTokens: [...BYTE_TOKENIZER_SPECIALS] }) },
    {
      bosToken: '<s>',
      eosToken: '</s>',
      padToken: '<pad>',
      addBosToken: options.addBos ?? true,
      chatTemplate: options.chatTemplate ?? SIMPLE_CHAT_TEMPLATE,
    },
  );
}
