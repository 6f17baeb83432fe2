// The YAML card loader, end to end as `fs2 assets validate` runs it: parseAssetCards (YAML with
// positions, alias and nesting limits, core schema only), the store (names, bases, duplicates),
// then every registered card validator, which merges `model_config` / `tokenizer_config`
// overrides (`_set_`, `_del_`) into the architecture preset, replaces `${env:...}` and checks the
// result against the family's schema. Inputs: byte-mutated corpus cards (the repo's cards/ and
// test/fixtures/cards/), text assembled from YAML's corner cases, and valid cards carrying
// generated overrides.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { AssetCardValidator, Fs2Error, StandardAssetStore, createFairseq2, parseAssetCards, validateAssetStore } from '@fs2/core';

import { hostileJsonValue, mutatedBytes } from '../mutate.mjs';

function yamlFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return name.endsWith('.yaml') ? [path] : [];
  });
}

/** YAML's corners: collections, anchors, tags, directives, block scalars, env directives. */
const FRAGMENT = fc.constantFrom(
  'name: x', 'name: ', 'base: y', 'base: x', '\n', '  ', '- ', '? ', ': ', '[', ']', '{', '}', ',', '&a ', '*a', '&b [*a, *a]',
  '!!binary ', '!tag ', '!!set ', '%YAML 1.1\n', '%TAG ! tag:x,2000:\n', '---\n', '...\n', '"', "'", '|\n  ', '>\n  ', '# c',
  'model_family: llama', 'model_arch: llama3_2_1b', 'model_config:', '  _set_: {a: 1}', '  _del_: [x]', 'checkpoint: ',
  'tokenizer: ../../etc', '${env:HOME}', '${env:FS2_FUZZ:dflt}', '${env:', '__proto__: 1', 'constructor: {}', '<<: *a',
  '0x1F', '.nan', '~', 'true', '@', 'a@b@c', '\t', '\\', '\u0000', '\uFEFF', '\u2028', '\r\n',
);

const CONFIG_KEYS = fc.constantFrom('model_dim', 'num_layers', 'num_attn_heads', 'num_key_value_heads', 'vocab_size', 'max_seq_len',
  'rope_theta', 'rope_scale', 'ffn_inner_dim', 'dropout_p', 'tie_embeddings', '_set_', '_del_', '__proto__', 'unknown_key', '');

const override = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileJsonValue, tie('object'), fc.array(CONFIG_KEYS, { maxLength: 3 })),
  object: fc.dictionary(CONFIG_KEYS, tie('value'), { maxKeys: 4 }),
})).object;

export async function setup({ root, tmp }) {
  const corpusFiles = [...yamlFiles(join(root, 'cards')), ...yamlFiles(join(root, 'test', 'fixtures', 'cards'))];
  const corpus = corpusFiles.map((path) => readFileSync(path));
  const resolver = await createFairseq2({
    extensions: true,
    cwd: root,
    env: { FAIRSEQ2_ASSET_DIR: tmp, FAIRSEQ2_USER_ASSET_DIR: tmp, FAIRSEQ2_CACHE_DIR: tmp, FS2_FUZZ: '${env:FS2_FUZZ}' },
    noProgress: true,
    log: () => {},
  });
  const validators = resolver.resolveAll(AssetCardValidator);
  const decoder = new TextDecoder('utf-8', { fatal: false });

  const mutated = mutatedBytes(corpus).map((bytes) => decoder.decode(bytes));
  const assembled = fc.array(fc.oneof(FRAGMENT, fc.string({ maxLength: 8 })), { maxLength: 60 }).map((parts) => parts.join(''));
  const withOverrides = fc
    .record({
      family: fc.constantFrom('llama', 'qwen', 'mistral', 'toy', ''),
      arch: fc.constantFrom('llama3_2_1b', 'llama2_7b', 'qwen25_7b', 'qwen3_0.6b', 'mistral_7b', 'nope'),
      section: fc.constantFrom('model_config', 'tokenizer_config', 'model_config_overrides', 'dataset_config'),
      config: override,
    })
    .map(({ family, arch, section, config }) =>
      `name: fuzz_base\nmodel_family: ${family}\nmodel_arch: ${arch}\n---\nname: fuzz\nbase: fuzz_base\n${section}: ${JSON.stringify(config)}\n`,
    );
  return {
    arbitrary: fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 2, arbitrary: assembled }, { weight: 2, arbitrary: withOverrides }),
    async run(text) {
      const { entries, problems } = parseAssetCards(text, { file: '/fuzz/cards.yaml', source: 'fuzz' });
      for (const problem of problems) {
        if (!(problem.line >= 1 && problem.column >= 1)) {
          throw new Error(`a problem without a position: ${problem.message}`);
        }
      }
      const store = new StandardAssetStore([{ source: 'fuzz', entries, problems }], { lenient: true });
      const report = await validateAssetStore(store, validators);
      for (const problem of report.problems) {
        if (!Fs2Error.is(problem)) {
          throw new Error(`a problem that is not an fs2 error: ${String(problem)}`);
        }
      }
      return report.problems.length === 0 ? 'ok' : `${report.problems[0].name} (reported)`;
    },
    show: (text) => JSON.stringify(text),
  };
}
