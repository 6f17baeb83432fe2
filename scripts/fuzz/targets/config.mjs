// Target `config`: every family's `config.json` (Hugging Face) and `params.json` (Meta) converter,
// as the model loader calls it (GlobalModelLoader.describePath: the file parsed as JSON, refused
// unless an object, then `fromConfigJson` / `fromParamsJson`), then the family's schema check that
// loadCustomModel applies (checkConfig). Inputs: the fixture configs with fields replaced by
// interesting JSON values or removed, generated objects over the known field names, and the
// fixture files mutated byte-wise (text that may no longer parse).
import fc from 'fast-check';
import { CheckpointError, checkConfig } from '@fs2/core';
import { LlamaConfigSchema, llamaHuggingFaceInterop, llamaMetaInterop } from '@fs2/llama';
import { MistralConfigSchema, mistralHuggingFaceInterop, mistralMetaInterop } from '@fs2/mistral';
import { QwenConfigSchema, qwenHuggingFaceInterop } from '@fs2/qwen';

import { configSeeds } from '../lib/corpus.mjs';
import { byteOpsArb, applyByteOps, interestingJsonArb, setOwn, toJsonText } from '../lib/mutate.mjs';

const PATH = '/fuzz/config.json';

const CONVERTERS = [
  { name: 'llama hf', kind: 'hf', schema: LlamaConfigSchema, convert: (json) => llamaHuggingFaceInterop.fromConfigJson(json, PATH) },
  { name: 'qwen hf', kind: 'hf', schema: QwenConfigSchema, convert: (json) => qwenHuggingFaceInterop.fromConfigJson(json, PATH) },
  { name: 'mistral hf', kind: 'hf', schema: MistralConfigSchema, convert: (json) => mistralHuggingFaceInterop.fromConfigJson(json, PATH) },
  { name: 'llama meta', kind: 'meta', schema: LlamaConfigSchema, convert: (json, vocab) => llamaMetaInterop.fromParamsJson(json, PATH, vocab) },
  { name: 'mistral meta', kind: 'meta', schema: MistralConfigSchema, convert: (json, vocab) => mistralMetaInterop.fromParamsJson(json, PATH, vocab) },
];

/** The fields the converters read, and a few they do not. */
const HF_FIELDS = [
  'model_type', 'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim',
  'intermediate_size', 'rms_norm_eps', 'rope_theta', 'rope_scaling', 'tie_word_embeddings', 'max_position_embeddings',
  'sliding_window', 'use_sliding_window', 'attention_bias', 'mlp_bias', 'bos_token_id', 'eos_token_id', 'pad_token_id',
  'torch_dtype', 'architectures', '__proto__', 'constructor', 'toString',
];
const META_FIELDS = [
  'dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'multiple_of', 'ffn_dim_multiplier', 'norm_eps', 'rope_theta',
  'use_scaled_rope', 'rope_scaling', 'max_seq_len', 'head_dim', 'hidden_dim', 'sliding_window', '__proto__',
];
const ROPE_FIELDS = ['rope_type', 'type', 'factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'];

const valueArb = fc.oneof(
  { weight: 6, arbitrary: interestingJsonArb },
  { weight: 1, arbitrary: fc.constantFrom('llama', 'qwen2', 'qwen3', 'mistral', 'llama3', 'linear', 'default', 'yarn', 'float32') },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom(...ROPE_FIELDS), fc.oneof(interestingJsonArb, fc.constantFrom('llama3', 'linear', 'default', 'yarn')), { maxKeys: 6 }),
  },
);

const editArb = fc.record({ field: fc.oneof(fc.constantFrom(...HF_FIELDS, ...META_FIELDS), fc.string({ maxLength: 6 })), value: fc.option(valueArb, { freq: 6 }) });

export default {
  async setup() {
    const seeds = await configSeeds();
    const texts = seeds.map((s) => Buffer.from(s.text));
    const arbitrary = fc.record({
      converter: fc.nat(CONVERTERS.length - 1),
      vocab: fc.option(fc.constantFrom(1, 2, 512, 128_256, 0, -1, 2 ** 53), { freq: 2 }),
      input: fc.oneof(
        { weight: 3, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), edits: fc.array(editArb, { minLength: 1, maxLength: 6 }) }) },
        { weight: 1, arbitrary: fc.record({ generated: fc.array(editArb, { maxLength: 20 }) }) },
        { weight: 2, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), ops: byteOpsArb }) },
      ),
    });

    /** The file's text for an input. */
    const textOf = ({ input }) => {
      if (input.ops !== undefined) {
        return applyByteOps(texts[input.seed], input.ops).toString('utf8');
      }
      const json = input.generated !== undefined ? {} : structuredClone(seeds[input.seed].json);
      for (const { field, value } of input.edits ?? input.generated) {
        if (value === null) {
          delete json[field];
        } else {
          setOwn(json, field, value);
        }
      }
      return toJsonText(json);
    };

    return {
      arbitrary,
      run(input) {
        const converter = CONVERTERS[input.converter];
        const text = textOf(input);
        // As GlobalModelLoader's readJsonObject: not JSON, or not an object, is a CheckpointError.
        let json;
        try {
          json = JSON.parse(text);
        } catch (error) {
          throw new CheckpointError(PATH, `${PATH} is not valid JSON: ${error.message}`, undefined, { cause: error });
        }
        if (typeof json !== 'object' || json === null || Array.isArray(json)) {
          throw new CheckpointError(PATH, `${PATH} is expected to hold a JSON object.`);
        }
        const config = converter.convert(json, input.vocab ?? undefined);
        const problems = checkConfig(config, converter.schema);
        return problems.length === 0 ? 'ok' : 'ok:schema-refused';
      },
      materialize: (input) => ({ [`${CONVERTERS[input.converter].name.replace(' ', '-')}.json`]: Buffer.from(textOf(input)) }),
    };
  },
};
