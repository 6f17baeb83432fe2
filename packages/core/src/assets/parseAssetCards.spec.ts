import { describe, expect, it } from '@jest/globals';

import { AssetMetadataError } from './errors.js';
import { MAX_ALIAS_COUNT, MAX_NESTING_DEPTH, parseAssetCards } from './parseAssetCards.js';

const FILE = '/cards/models.yaml';
const parse = (text: string) => parseAssetCards(text, { file: FILE, source: 'path:/cards' });

/** The one problem of a parse, as `file:line:col: message` would show it. */
function onlyProblem(text: string): { message: string; line: number | undefined; column: number | undefined } {
  const { entries, problems } = parse(text);
  expect(entries).toEqual([]);
  expect(problems).toHaveLength(1);
  const problem = problems[0] as AssetMetadataError;
  expect(problem).toBeInstanceOf(AssetMetadataError);
  expect(problem.source).toBe('path:/cards');
  expect(problem.file).toBe(FILE);
  return { message: problem.message, line: problem.line, column: problem.column };
}

describe(parseAssetCards, () => {
  it('reads one card per document, in order, without the name field', () => {
    const { entries, problems } = parse(
      '# models\nname: foo\nmodel_family: llama\n---\nname: foo@user\ncheckpoint: /models/foo\n---\n',
    );

    expect(problems).toEqual([]);
    expect(entries.map((e) => e.name)).toEqual(['foo@', 'foo@user']);
    expect(entries.map((e) => e.index)).toEqual([0, 1]);
    expect([...(entries[0]?.fields.keys() ?? [])]).toEqual(['model_family']);
    expect(entries[0]?.file).toBe(FILE);
    expect(entries[0]?.dir).toBe('/cards');
    expect(entries[0]?.source).toBe('path:/cards');
  });

  it('remembers where every key and value was written', () => {
    const { entries } = parse('name: foo\nmodel_arch:   llama3_8b\nmodel_config:\n  num_layers: 3\n  dims: [1, 2]\n');
    const entry = entries[0];

    expect(entry?.location).toEqual({ file: FILE, line: 1, column: 7 });
    const arch = entry?.fields.get('model_arch');
    expect(arch?.value).toBe('llama3_8b');
    expect(arch?.keyLocation).toEqual({ file: FILE, line: 2, column: 1 });
    expect(arch?.location).toEqual({ file: FILE, line: 2, column: 15 });
    const config = entry?.fields.get('model_config');
    expect(config?.value).toEqual({ num_layers: 3, dims: [1, 2] });
    expect(config?.locator?.locate(['num_layers'])).toEqual({
      key: { file: FILE, line: 4, column: 3 },
      value: { file: FILE, line: 4, column: 15 },
    });
    expect(config?.locator?.locate(['dims', 1])).toEqual({ value: { file: FILE, line: 5, column: 13 } });
    expect(config?.locator?.locate(['missing'])).toBeUndefined();
    expect(config?.locator?.locate(['num_layers', 'deeper'])).toBeUndefined();
  });

  it('trims names and bases to their canonical form', () => {
    const { entries } = parse('name: " foo @ env "\nbase: " bar "\n---\nname: baz@\n');

    expect(entries.map((e) => e.name)).toEqual(['foo@env', 'baz@']);
    expect(entries[0]?.fields.get('base')?.value).toBe('bar');
  });

  it('freezes the values it returns', () => {
    const { entries } = parse('name: foo\nmodel_config: {a: {b: [1]}}\n');
    const value = entries[0]?.fields.get('model_config')?.value as { a: { b: number[] } };

    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.a.b)).toBe(true);
  });

  it('uses the YAML 1.2 core schema: on, yes and dates stay strings', () => {
    const { entries } = parse('name: foo\na: on\nb: yes\nc: 2001-12-14\nd: 0o17\ne: .inf\nf: ~\n');
    const values = Object.fromEntries([...(entries[0]?.fields ?? [])].map(([k, f]) => [k, f.value]));

    expect(values).toEqual({ a: 'on', b: 'yes', c: '2001-12-14', d: 15, e: Number.POSITIVE_INFINITY, f: null });
  });

  it('skips empty documents', () => {
    const { entries, problems } = parse('---\n# nothing here\n---\nname: foo\n---\n');

    expect(problems).toEqual([]);
    expect(entries.map((e) => e.name)).toEqual(['foo@']);
  });

  it('keeps the good documents of a file with a bad one', () => {
    const { entries, problems } = parse('name: a\n---\nname: b\nx: [1\n---\nname: c\n');

    expect(entries.map((e) => e.name)).toEqual(['a@', 'c@']);
    expect(problems).toHaveLength(1);
  });

  it('keeps a `__proto__` key as plain data', () => {
    const { entries } = parse('name: foo\nmodel_config:\n  __proto__: {polluted: true}\n');
    const value = entries[0]?.fields.get('model_config')?.value as Record<string, unknown>;

    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  describe('problems', () => {
    it.each([
      ['a document that is a list', '---\n# comment\n---\n- x\n- y\n', 'The document at index 1 is expected to be a mapping (one card), but is a list instead.', 4, 1],
      ['a document that is a scalar', 'just text\n', 'The document at index 0 is expected to be a mapping (one card), but is a string instead.', 1, 1],
      ['no name', 'model_family: llama\n', 'The document at index 0 has no `name` field.', 1, 1],
      ['a name that is a number', 'name: 12\n', '`name` field of the document at index 0 is expected to be of type string, but is of type number instead.', 1, 7],
      ['a name with two @', 'name: foo@a@b\n', '`foo@a@b` is not a valid asset name: a name is `name` or `name@environment`, with a non-empty name part and at most one `@`.', 1, 7],
      ['a name that starts with @', 'name: "@user"\n', '`@user` is not a valid asset name: a name is `name` or `name@environment`, with a non-empty name part and at most one `@`.', 1, 7],
      ['an empty name', 'name: "  "\n', '`  ` is not a valid asset name: a name is `name` or `name@environment`, with a non-empty name part and at most one `@`.', 1, 7],
      ['a base that is a list', 'name: foo\nbase: [a]\n', '`base` field of the `foo` asset card is expected to be of type string, but is of type list instead.', 2, 7],
      ['a base with an environment', 'name: foo\nbase: bar@user\n', '`base` field of the `foo` asset card must name a card without environment (no `@`, not empty), but is `bar@user`.', 2, 7],
      ['an empty base', 'name: foo\nbase: ""\n', '`base` field of the `foo` asset card must name a card without environment (no `@`, not empty), but is ``.', 2, 7],
      ['a reserved field', 'name: foo@user\n__source__: me\n', '`__source__` field of the `foo@user` asset card is reserved: fs2 sets the fields named `__x__` itself.', 2, 1],
      ['a duplicate key', 'name: foo\nmodel_config:\n  a: 1\n  a: 2\n', '`a` key is defined twice in the same mapping.', 4, 3],
      ['a duplicate top-level key', 'name: foo\nname: bar\n', '`name` key is defined twice in the same mapping.', 2, 1],
      ['a custom tag', 'name: foo\nx: !python/object 3\n', '`!python/object` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      ['a YAML 1.1 binary tag', 'name: foo\nx: !!binary aGk=\n', '`!!binary` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      ['a YAML 1.1 set tag', 'name: foo\nx: !!set {a, b}\n', '`!!set` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      ['a YAML 1.1 omap tag', 'name: foo\nx: !!omap [a: 1]\n', '`!!omap` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      ['a YAML 1.1 timestamp tag', 'name: foo\nx: !!timestamp 2001-12-14\n', '`!!timestamp` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      ['a PyYAML python/name tag', 'name: foo\nx: !!python/name:os.system ""\n', '`!!python/name:os.system` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      [
        'a verbatim PyYAML tag',
        'name: foo\nx: !<tag:yaml.org,2002:python/object/apply:os.system> [ls]\n',
        '`!<tag:yaml.org,2002:python/object/apply:os.system>` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.',
        2,
        4,
      ],
      ['a tag from a %TAG directive', '%TAG !e! tag:example.com,2000:app/\n---\nname: foo\nx: !e!foo 1\n', '`!e!foo` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 4, 4],
      ['a custom tag on a mapping', 'name: foo\nx: !foo {a: 1}\n', '`!foo` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 4],
      ['a custom tag on a key', 'name: foo\n!foo k: 1\n', '`!foo` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.', 2, 1],
      ['a collection key', 'name: foo\nx:\n  ? [a, b]\n  : c\n', 'A mapping key must be a scalar, but is a list.', 3, 5],
      ['a null key', 'name: foo\nx:\n  ~: c\n', 'A mapping key must not be null.', 3, 3],
      // Found by npm run fuzz (target cards): a cyclic value overflowed the stack in mergeConfig.
      ['a recursive alias in a mapping', 'name: foo\nmodel_config:\n  model_dim: &b {model_dim: *b}\n', '`*b` alias refers to a collection that contains it: card values must not be recursive.', 3, 29],
      ['a recursive alias in a list', 'name: foo\nx: &a [1, [2, *a]]\n', '`*a` alias refers to a collection that contains it: card values must not be recursive.', 2, 15],
      ['a syntax error', 'name: foo\nx: [1, 2\n', 'YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ].', 3, 1],
    ])('names %s, with its position', (_what, text, message, line, column) => {
      const problem = onlyProblem(text);

      expect(problem.message).toBe(`${message} (${FILE}:${line}:${column})`);
      expect([problem.line, problem.column]).toEqual([line, column]);
    });

    it('refuses a billion laughs (alias expansion bomb)', () => {
      const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
        const previous = String.fromCharCode('a'.charCodeAt(0) + i);
        levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
      }
      const problem = onlyProblem(`name: lol\n${levels.join('\n')}\n`);

      expect(problem.message).toBe(
        `The document at index 0 expands aliases more than ${MAX_ALIAS_COUNT} times: a card never needs that many (an alias bomb?). (${FILE}:1:1)`,
      );
    });

    it(`accepts ${MAX_ALIAS_COUNT - 1} aliases of one anchor and refuses ${MAX_ALIAS_COUNT}`, () => {
      const card = (aliases: number): string => `name: foo\na: &x 1\nb: [${Array<string>(aliases).fill('*x').join(', ')}]\n`;
      const { entries, problems } = parse(card(MAX_ALIAS_COUNT - 1));
      expect(problems).toEqual([]);
      expect(entries[0]?.fields.get('b')?.value).toHaveLength(MAX_ALIAS_COUNT - 1);

      expect(onlyProblem(card(MAX_ALIAS_COUNT)).message).toBe(
        `The document at index 0 expands aliases more than ${MAX_ALIAS_COUNT} times: a card never needs that many (an alias bomb?). (${FILE}:1:1)`,
      );
    });

    it('multiplies the budget through nested anchors: an anchor of 10 aliases may be aliased 8 times, not 9', () => {
      const card = (aliases: number): string =>
        `name: foo\na: &a 1\nb: &b [${Array<string>(10).fill('*a').join(', ')}]\nc: [${Array<string>(aliases).fill('*b').join(', ')}]\n`;
      const { entries, problems } = parse(card(8));
      expect(problems).toEqual([]);
      expect(entries[0]?.fields.get('c')?.value).toHaveLength(8);

      expect(onlyProblem(card(9)).message).toBe(
        `The document at index 0 expands aliases more than ${MAX_ALIAS_COUNT} times: a card never needs that many (an alias bomb?). (${FILE}:1:1)`,
      );
    });

    it('keeps the other documents of a file with an alias bomb', () => {
      const bomb = `name: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${Array<string>(10).fill('*a').join(', ')}]\nc: [${Array<string>(10).fill('*b').join(', ')}]\n`;
      const { entries, problems } = parse(`name: before\n---\n${bomb}---\nname: after\n`);
      expect(entries.map((e) => e.name)).toEqual(['before@', 'after@']);
      expect(problems.map((p) => p.message)).toEqual([
        `The document at index 1 expands aliases more than ${MAX_ALIAS_COUNT} times: a card never needs that many (an alias bomb?). (${FILE}:2:1)`, // The `---` that opens it.
      ]);
    });

    it('accepts a few aliases', () => {
      const { entries } = parse('name: foo\na: &x {k: 1}\nb: *x\n');

      expect(entries[0]?.fields.get('b')?.value).toEqual({ k: 1 });
    });

    it('accepts an alias of a sibling inside the same collection (shared, not recursive)', () => {
      const { entries, problems } = parse('name: foo\nx: {a: &s [1], b: *s}\n');

      expect(problems).toEqual([]);
      expect(entries[0]?.fields.get('x')?.value).toEqual({ a: [1], b: [1] });
    });

    it.each([
      ['flow sequences', `name: foo\nx: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`, 2, 67],
      ['block sequences', `name: foo\nx:\n${'- '.repeat(5_000)}1\n`, 3, 127],
      ['explicit keys', `name: foo\nx: ${'? '.repeat(5_000)}y\n`, 2, 130],
    ])('refuses %s nested deeper than the limit, before composing them', (_what, text, line, column) => {
      const problem = onlyProblem(text);

      expect(problem.message).toBe(
        `The file nests collections more than ${MAX_NESTING_DEPTH} levels deep. (${FILE}:${line}:${column})`,
      );
    });

    it('accepts nesting up to the limit', () => {
      const depth = MAX_NESTING_DEPTH - 1; // The card mapping itself is one level.
      const { entries, problems } = parse(`name: foo\nx: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);

      expect(problems).toEqual([]);
      expect(entries).toHaveLength(1);
    });
  });
});
