// The families' config converters: Hugging Face `config.json` (llama, qwen2/qwen3, mistral) and
// Meta `params.json` (llama, mistral) to the family config, then what a load does next with it:
// the decoder config, the schema check and the tensor-parallel split. The fixtures' configs are
// edited key by key with hostile values, byte-mutated as JSON text, and generated from scratch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { checkConfig } from '@fs2/core';
import { LlamaConfigSchema, llamaDecoderConfig, llamaHuggingFaceInterop, llamaMetaInterop, llamaSharder } from '@fs2/llama';
import { MistralConfigSchema, mistralDecoderConfig, mistralHuggingFaceInterop, mistralMetaInterop, mistralSharder } from '@fs2/mistral';
import { QwenConfigSchema, qwenDecoderConfig, qwenHuggingFaceInterop, qwenSharder } from '@fs2/qwen';

import { hostileJsonValue, mutatedBytes } from '../mutate.mjs';

const FAMILIES = [
  { name: 'llama', read: (j, p) => llamaHuggingFaceInterop.fromConfigJson(j, p), decoder: llamaDecoderConfig, schema: LlamaConfigSchema, sharder: llamaSharder },
  { name: 'llama meta', read: (j, p, v) => llamaMetaInterop.fromParamsJson(j, p, v), decoder: llamaDecoderConfig, schema: LlamaConfigSchema, sharder: llamaSharder },
  { name: 'qwen', read: (j, p) => qwenHuggingFaceInterop.fromConfigJson(j, p), decoder: qwenDecoderConfig, schema: QwenConfigSchema, sharder: qwenSharder },
  { name: 'mistral', read: (j, p) => mistralHuggingFaceInterop.fromConfigJson(j, p), decoder: mistralDecoderConfig, schema: MistralConfigSchema, sharder: mistralSharder },
  { name: 'mistral meta', read: (j, p, v) => mistralMetaInterop.fromParamsJson(j, p, v), decoder: mistralDecoderConfig, schema: MistralConfigSchema, sharder: mistralSharder },
];

const FIXTURES = ['llama3/config.json', 'llama3_meta/params.json', 'qwen2/config.json', 'qwen3/config.json', 'mistral/config.json', 'llama3_bf16_sharded/config.json'];

export async function setup({ root }) {
  const texts = FIXTURES.map((f) => readFileSync(join(root, 'test', 'fixtures', f)));
  const objects = texts.map((t) => JSON.parse(t.toString('utf8')));
  const keys = [...new Set(objects.flatMap((o) => Object.keys(o)).concat('rope_scaling.factor', 'rope_scaling.rope_type', 'rope_scaling.type', 'sliding_window', 'head_dim', '__proto__', 'layer_types'))];
  const edited = fc
    .record({
      file: fc.nat({ max: objects.length - 1 }),
      edits: fc.array(fc.record({ key: fc.constantFrom(...keys), value: hostileJsonValue, remove: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    })
    .map(({ file, edits }) => {
      const json = structuredClone(objects[file]);
      for (const { key, value, remove } of edits) {
        const [head, tail] = key.split('.');
        const holder = tail === undefined ? json : (json[head] = typeof json[head] === 'object' && json[head] !== null ? json[head] : {});
        const name = tail ?? head;
        if (remove) delete holder[name];
        else Object.defineProperty(holder, name, { value, enumerable: true, writable: true, configurable: true });
      }
      return json;
    });
  const mutatedText = mutatedBytes(texts).map((bytes) => {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      return {};
    }
  });
  const arbitrary = fc.record({
    family: fc.nat({ max: FAMILIES.length - 1 }),
    json: fc.oneof({ weight: 4, arbitrary: edited }, { weight: 2, arbitrary: mutatedText }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...keys), hostileJsonValue) }),
    // The loader passes the embedding's rows (a positive count) or nothing.
    vocab: fc.constantFrom(undefined, 1, 512, 2 ** 31),
    tp: fc.constantFrom(1, 2, 3, 8),
  });
  return {
    arbitrary,
    async run({ family: index, json, vocab, tp }) {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return;
      const family = FAMILIES[index];
      const config = family.read(json, `/fuzz/${family.name.endsWith('meta') ? 'params' : 'config'}.json`, vocab);
      const problems = checkConfig(config, family.schema);
      if (problems.length > 0) {
        throw new Error(`the ${family.name} converter returned a config its schema refuses: ${JSON.stringify(problems.slice(0, 3))}`);
      }
      family.decoder(config);
      family.sharder(config, tp);
    },
    show: (input) => JSON.stringify(input),
  };
}
