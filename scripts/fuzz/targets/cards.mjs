// Target `cards`: the YAML card loader. Text (a fixture or built-in card file, byte- or
// line-mutated, or generated YAML with anchors, aliases, merge keys, tags, directives, flow and
// block collections, `_set_` / `_del_` and `${env:...}`) goes through parseAssetCards, a lenient
// StandardAssetStore, every card's retrieval (base chains, environments), its fields as URIs, and
// the config loader (overrides merged with mergeConfig, `${env:...}` interpolated, the llama schema
// checked). A second kind of input calls mergeConfig and interpolateEnvVariables directly on
// generated values. Properties: every call ends in a value or an fs2 error, and nothing reaches
// Object.prototype (a `__proto__` key).
import fc from 'fast-check';
import { StandardAssetConfigLoader, StandardAssetStore, interpolateEnvVariables, mergeConfig, parseAssetCards } from '@fs2/core';
import { LlamaConfigSchema, llamaDefaultConfig } from '@fs2/llama';

import { cardSeeds } from '../lib/corpus.mjs';
import { byteOpsArb, applyByteOps, interestingJsonArb } from '../lib/mutate.mjs';
import { PropertyViolation } from '../lib/shared.mjs';

const FILE = '/fuzz/cards/cards.yaml';
const ENVIRONMENT = new Map([
  ['HOME', '/home/fuzz'],
  ['FS2_DIM', '64'],
  ['EMPTY', ''],
  ['BRACES', '${env:HOME}'],
]);
const lookup = (name) => ENVIRONMENT.get(name);

const CARD_KEYS = [
  'name', 'base', 'model_family', 'model_arch', 'model_config', 'model_config_overrides', 'model_config_override', 'checkpoint',
  'tokenizer', 'tokenizer_family', 'tokenizer_config', 'dataset_config', 'checksum', 'num_shards', 'use_v2_tokenizer',
];
const CONFIG_KEYS = [
  'model_dim', 'num_layers', 'num_attn_heads', 'num_key_value_heads', 'vocab_size', 'max_seq_len', 'rope_theta', 'rope_scale',
  'factor', 'frequency_factors', 'norm_eps', 'tied_embeddings', 'head_dim', 'pad_idx', '_set_', '_del_', '__proto__', 'constructor',
];
const NAMES = ['c0', 'c1', 'c2', 'c3', 'c0@user', 'c1@cluster'];

const plainScalarArb = fc.oneof(
  fc.constantFrom('llama', 'llama3_8b', 'c0', 'c1', 'c2', '64', '-1', '0x10', '1e3', '.inf', '.nan', 'null', '~', 'true', 'no', 'yes', '2001-12-14', ''),
  fc.constantFrom('hg://meta-llama/Llama-3-8B', 'https://user:pw@example.com/m.tar', 'file:///tmp/x', 'weights/x.safetensors', '../../etc/passwd', '/abs/x'),
  fc.constantFrom('${env:HOME}', '${env:HOME}/models', '${env:MISSING:fallback}', '${env:MISSING}', '${env:FS2_DIM}', '${env:}', '${env:A:b:c}', '${env:BRACES}', '$${env:HOME}', '${env:HOME'),
  fc.string({ unit: fc.constantFrom(...'abc019_-.:/ ${}#&*!|>\'"'), maxLength: 12 }),
);
const scalarArb = fc.oneof(
  { weight: 6, arbitrary: plainScalarArb },
  { weight: 1, arbitrary: plainScalarArb.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: plainScalarArb.map((s) => `'${s.replaceAll("'", "''")}'`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('!foo', '!!binary', '!!set', '!!str', '!!int', '!!float', '!!omap', '!!timestamp', '!!map', '!!seq', '!<tag:yaml.org,2002:str>', '!e!x'), plainScalarArb)
      .map(([t, s]) => `${t} ${s}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('*a', '*b', '*missing', '&a x', '&b [1, 2]', '|\n  text', '>-\n  folded') },
);

/** A YAML value as a tree, rendered by {@link render}. */
const treeArb = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('scalar'), tie('map'), tie('seq'), tie('anchored')),
  scalar: scalarArb.map((text) => ({ t: 'scalar', text })),
  map: fc.record({
    t: fc.constant('map'),
    flow: fc.boolean(),
    items: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...CONFIG_KEYS, ...CARD_KEYS), fc.constantFrom('<<', '? [a]', '"q"', '1', 'null', '')), tie('node')), { maxLength: 3 }),
  }),
  seq: fc.record({ t: fc.constant('seq'), flow: fc.boolean(), items: fc.array(tie('node'), { maxLength: 3 }) }),
  anchored: fc.oneof(
    fc.record({ t: fc.constant('anchored'), anchor: fc.constantFrom('a', 'b', 'c'), node: tie('node') }),
    // A collection that holds an alias of itself (a recursive alias) or of a sibling.
    fc
      .record({ anchor: fc.constantFrom('a', 'b'), alias: fc.constantFrom('a', 'b'), key: fc.constantFrom(...CONFIG_KEYS), seq: fc.boolean() })
      .map(({ anchor, alias, key, seq }) => ({
        t: 'anchored',
        anchor,
        node: seq
          ? { t: 'seq', flow: true, items: [{ t: 'scalar', text: `*${alias}` }] }
          : { t: 'map', flow: true, items: [[key, { t: 'scalar', text: `*${alias}` }]] },
      })),
  ),
})).node;

function renderFlow(node) {
  switch (node.t) {
    case 'scalar':
      return node.text.includes('\n') ? JSON.stringify(node.text) : node.text;
    case 'map':
      return `{${node.items.map(([k, v]) => `${k}: ${renderFlow(v)}`).join(', ')}}`;
    case 'seq':
      return `[${node.items.map(renderFlow).join(', ')}]`;
    case 'anchored':
      return `&${node.anchor} ${renderFlow(node.node)}`;
    default:
      return '';
  }
}

/** Block-style YAML of `node` at `indent`, after a key (`inline` false puts it on the next lines). */
function render(node, indent) {
  const pad = ' '.repeat(indent);
  if (node.t === 'scalar' || node.flow === true || (node.t !== 'anchored' && node.items.length === 0)) {
    return ` ${renderFlow(node)}`;
  }
  if (node.t === 'anchored') {
    return ` &${node.anchor}${render(node.node, indent)}`;
  }
  if (node.t === 'map') {
    return node.items.map(([k, v]) => `\n${pad}${k}:${render(v, indent + 2)}`).join('');
  }
  return node.items.map((v) => `\n${pad}-${render(v, indent + 2)}`).join('');
}

/** One generated card document: a name, maybe a base, and a few fields. */
const documentArb = fc
  .record({
    name: fc.option(fc.constantFrom(...NAMES), { freq: 8 }),
    base: fc.option(fc.constantFrom(...NAMES, 'missing'), { freq: 2 }),
    family: fc.boolean(),
    fields: fc.array(fc.tuple(fc.constantFrom(...CARD_KEYS), treeArb), { maxLength: 3 }),
    config: fc.option(treeArb, { freq: 2 }),
  })
  .map(({ name, base, family, fields, config }) => {
    const lines = [];
    if (name !== null) {
      lines.push(`name: ${name}`);
    }
    if (base !== null) {
      lines.push(`base: ${base}`);
    }
    if (family) {
      lines.push('model_family: llama');
    }
    for (const [key, value] of fields) {
      lines.push(`${key}:${render(value, 2)}`);
    }
    if (config !== null) {
      lines.push(`model_config:${render(config, 2)}`);
    }
    return lines.join('\n');
  });

const generatedFileArb = fc
  .tuple(
    fc.constantFrom('', '%YAML 1.2\n---\n', '%YAML 1.1\n---\n', '%TAG !e! tag:example.com,2000:\n---\n', '--- !!map\n', '---\n'),
    fc.array(documentArb, { minLength: 1, maxLength: 3 }),
    fc.constantFrom('\n---\n', '\n...\n---\n', '\n--- \n'),
  )
  .map(([head, docs, separator]) => `${head}${docs.join(separator)}\n`);

/** Line edits: delete, duplicate, swap with the next, change the indentation of a line. */
const lineOpArb = fc.record({ k: fc.constantFrom('delete', 'duplicate', 'swap', 'indent', 'dedent'), at: fc.nat() });

function applyLineOps(text, ops) {
  const lines = text.split('\n');
  for (const op of ops) {
    if (lines.length === 0) {
      break;
    }
    const i = op.at % lines.length;
    switch (op.k) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, lines[i]);
        break;
      case 'swap':
        if (i + 1 < lines.length) {
          [lines[i], lines[i + 1]] = [lines[i + 1], lines[i]];
        }
        break;
      case 'indent':
        lines[i] = `  ${lines[i]}`;
        break;
      case 'dedent':
        lines[i] = lines[i].replace(/^ {1,2}/, '');
        break;
    }
  }
  return lines.join('\n');
}

/** A config-like value for mergeConfig: objects with config keys and directives, some `__proto__`. */
const configValueArb = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, interestingJsonArb, tie('object'), fc.array(tie('value'), { maxLength: 3 })),
  object: fc
    .array(
      fc.tuple(
        fc.constantFrom(...CONFIG_KEYS, '_set_', '_del_', '__proto__'),
        fc.oneof(tie('value'), fc.array(fc.constantFrom(...CONFIG_KEYS, 'missing'), { maxLength: 3 }), fc.constantFrom('${env:HOME}', '${env:X:y}')),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => {
      const object = {};
      for (const [k, v] of pairs) {
        Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return object;
    }),
})).value;

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).join(',');

export default {
  async setup() {
    const seeds = await cardSeeds();
    const seedBytes = seeds.map((s) => Buffer.from(s.text));
    const loader = new StandardAssetConfigLoader({ get: lookup }, () => {});

    const textOf = (input) => {
      if (input.generated !== undefined) {
        return input.generated;
      }
      let text = seeds[input.seed].text;
      if (input.ops !== undefined) {
        text = applyByteOps(seedBytes[input.seed], input.ops).toString('utf8');
      }
      if (input.lines !== undefined) {
        text = applyLineOps(text, input.lines);
      }
      if (input.insert !== undefined) {
        text = `${text}\n---\n${input.insert}\n`;
      }
      return text;
    };

    const arbitrary = fc.oneof(
      { weight: 3, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), ops: byteOpsArb }) },
      { weight: 2, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), lines: fc.array(lineOpArb, { minLength: 1, maxLength: 4 }) }) },
      { weight: 2, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), insert: documentArb }) },
      { weight: 4, arbitrary: fc.record({ generated: generatedFileArb }) },
      { weight: 2, arbitrary: fc.record({ merge: fc.tuple(configValueArb, configValueArb, configValueArb) }) },
    );

    const runCards = (text) => {
      const parsed = parseAssetCards(text, { file: FILE, source: 'fuzz' });
      const store = new StandardAssetStore([{ source: 'fuzz', entries: parsed.entries, problems: parsed.problems }], { lenient: true });
      let outcome = parsed.problems.length > 0 ? 'ok:problems' : 'ok';
      for (const name of store.cardNames) {
        const card = store.retrieveCard(name);
        for (const field of card.fieldNames) {
          const value = card.field(field);
          if (typeof value.value === 'string' && (field === 'checkpoint' || field === 'tokenizer')) {
            value.asUri().toString();
          }
        }
        loader.load(card, llamaDefaultConfig(), 'model', LlamaConfigSchema);
        outcome = 'ok:config';
      }
      return outcome;
    };

    const runMerge = ([base, first, second]) => {
      const merged = mergeConfig(mergeConfig(base, first), second);
      interpolateEnvVariables(merged, lookup);
      return 'ok:merged';
    };

    return {
      arbitrary,
      run(input) {
        try {
          return input.merge !== undefined ? runMerge(input.merge) : runCards(textOf(input));
        } finally {
          if (Object.getOwnPropertyNames(Object.prototype).join(',') !== PROTOTYPE_KEYS || {}.model_dim !== undefined) {
            throw new PropertyViolation('the input changed Object.prototype');
          }
        }
      },
      materialize: (input) => (input.merge !== undefined ? { 'merge.json': Buffer.from(JSON.stringify(input.merge, null, 2)) } : { 'cards.yaml': Buffer.from(textOf(input)) }),
    };
  },
};
