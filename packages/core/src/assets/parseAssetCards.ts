import { dirname } from 'node:path';

import {
  Composer,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  visit,
  type Alias,
  type CST,
  type Document,
  type Node as YamlNode,
  type ParsedNode,
  type YAMLError,
} from 'yaml';

import type { AssetMetadataEntry, AssetValue, NestedLocation, ValueLocator } from './AssetMetadata.js';
import { deepFreeze } from './AssetMetadata.js';
import { AssetMetadataError } from './errors.js';
import { makeAssetMetadataEntry, type RawAssetField } from './makeAssetMetadataEntry.js';
import type { SourceLocation } from './SourceLocation.js';

/**
 * The largest asset card file fs2 reads: 10 MiB. fairseq2's own card files are under 20 KiB; the
 * limit keeps a hostile or mistaken file (a checkpoint renamed `.yaml`) from being parsed into
 * memory.
 */
export const MAX_CARD_FILE_BYTES = 10 * 1024 * 1024;

/**
 * The alias budget of one document: yaml's own default (`maxAliasCount: 100`, yaml 2.9.1
 * `dist/nodes/Alias.js`), stated here so that the billion-laughs defence does not depend on a
 * library default. yaml counts per anchor: (1 + the aliases of it) x (the largest such product
 * among the aliases inside the anchored node, 1 without any) must stay at most 100. So one anchor
 * may be aliased 99 times, and an anchor holding 10 aliases of another 8 times (11 x 9 = 99): the
 * expanded size stays within about 100 nodes per anchor, however the aliases nest.
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * How deeply collections may nest. Measured with yaml 2.9.1: 1,000 levels already overflow its
 * composer's stack (reported as an error), and 10,000 nested `[` (20 KB of text) abort Node in a
 * regular-expression allocation, so the depth is checked on the CST before composing. Cards nest
 * a handful of levels (a config override inside a field).
 */
export const MAX_NESTING_DEPTH = 64;

/** What {@link parseAssetCards} found in one file. */
export interface ParsedAssetCards {
  /** The valid cards, in document order. */
  readonly entries: readonly AssetMetadataEntry[];
  /** One problem per document left out (or one for the whole file). */
  readonly problems: readonly AssetMetadataError[];
}

/** Options of {@link parseAssetCards}. */
export interface ParseAssetCardsOptions {
  /** The absolute (real) path of the file, for locations; its folder is where relative paths resolve. */
  readonly file: string;
  /** The source the file belongs to. */
  readonly source: string;
}

/**
 * Parses a multi-document YAML card file (`---` between cards) with the YAML 1.2 core schema,
 * remembering where every value was written.
 *
 * Hostile input gets a named problem, never a crash or a huge allocation: collections nested
 * deeper than {@link MAX_NESTING_DEPTH}, more than {@link MAX_ALIAS_COUNT} alias expansions,
 * tags outside the core schema (`!foo`, `!!binary`, `!!set`), duplicate keys and collection keys
 * are refused with their position. (The file size limit is checked by the reader, before the
 * text exists.) A document that fails is left out with its problem; the others are kept.
 */
export function parseAssetCards(text: string, options: ParseAssetCardsOptions): ParsedAssetCards {
  const { file, source } = options;
  const lineCounter = new LineCounter();
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const fileProblem = (reason: string, offset = 0): ParsedAssetCards => ({
    entries: [],
    problems: [new AssetMetadataError(source, reason, { location: at(offset) })],
  });

  let tokens: CST.Token[];
  try {
    tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  } catch (error) {
    return fileProblem(`The file cannot be parsed as YAML: ${String(error)}.`);
  }
  const tooDeep = findExcessiveNesting(tokens, MAX_NESTING_DEPTH);
  if (tooDeep !== undefined) {
    return fileProblem(`The file nests collections more than ${MAX_NESTING_DEPTH} levels deep.`, tooDeep);
  }

  let documents: Document.Parsed[];
  try {
    const composer = new Composer({
      version: '1.2',
      schema: 'core',
      customTags: [],
      resolveKnownTags: false, // !!binary, !!set, !!omap, !!timestamp would otherwise resolve in 1.2 too.
      merge: false,
      uniqueKeys: true,
      intAsBigInt: false,
    });
    documents = Array.from(composer.compose(tokens));
  } catch (error) {
    return fileProblem(`The file cannot be parsed as YAML: ${String(error)}.`);
  }

  const entries: AssetMetadataEntry[] = [];
  const problems: AssetMetadataError[] = [];
  documents.forEach((doc, index) => {
    const result = readDocument(doc, index, text, file, source, at);
    if (result instanceof AssetMetadataError) {
      problems.push(result);
    } else if (result !== undefined) {
      entries.push(result);
    }
  });
  return { entries, problems };
}

function readDocument(
  doc: Document.Parsed,
  index: number,
  text: string,
  file: string,
  source: string,
  at: (offset: number) => SourceLocation,
): AssetMetadataEntry | AssetMetadataError | undefined {
  const problem = (reason: string, offset: number): AssetMetadataError =>
    new AssetMetadataError(source, reason, { location: at(offset) });

  const syntax = doc.errors[0] ?? doc.warnings[0];
  if (syntax !== undefined) {
    return new AssetMetadataError(source, describeYamlError(syntax, doc, text), { location: at(syntax.pos[0]) });
  }
  const contents = doc.contents as ParsedNode | null;
  const docStart = doc.range[0];
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    return undefined; // An empty document (a trailing `---`, a comment-only file) holds no card.
  }
  if (!isMap(contents)) {
    return problem(
      `The document at index ${index} is expected to be a mapping (one card), but is ${describeNode(contents, doc)} instead.`,
      contents.range[0],
    );
  }

  const badKey = findBadKey(contents, doc);
  if (badKey !== undefined) {
    return problem(badKey.reason, badKey.offset);
  }
  const recursive = findRecursiveAlias(doc);
  if (recursive !== undefined) {
    return problem(
      `\`*${recursive.source}\` alias refers to a collection that contains it: card values must not be recursive.`,
      recursive.range?.[0] ?? docStart,
    );
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError) {
      return problem(
        `The document at index ${index} expands aliases more than ${MAX_ALIAS_COUNT} times: a card never needs that many (an alias bomb?).`,
        docStart,
      );
    }
    throw error;
  }
  const data = deepFreeze(value) as { readonly [key: string]: AssetValue };

  const raw: RawAssetField[] = [];
  for (const pair of contents.items) {
    const keyNode = pair.key as ParsedNode;
    const key = String(scalarKey(keyNode, doc));
    const valueNode = (pair.value ?? null) as ParsedNode | null;
    const keyLocation = at(keyNode.range[0]);
    raw.push({
      key,
      value: data[key] ?? null,
      keyLocation,
      location: valueNode === null ? keyLocation : at(valueNode.range[0]),
      locator: new YamlValueLocator(valueNode, doc, at, keyLocation),
    });
  }

  return makeAssetMetadataEntry(raw, {
    source,
    index,
    unit: 'document',
    file,
    dir: dirname(file),
    location: at(contents.range[0]),
  });
}

/** The message for a yaml parse error or warning, with the offending text where it helps. */
function describeYamlError(error: YAMLError, doc: Document.Parsed, text: string): string {
  const snippet = text.slice(error.pos[0], error.pos[1]);
  switch (error.code) {
    case 'DUPLICATE_KEY':
      return `\`${keyAt(doc, error.pos[0]) ?? snippet}\` key is defined twice in the same mapping.`;
    case 'TAG_RESOLVE_FAILED':
      return `\`${snippet}\` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.`;
    default: {
      const message = error.message.trim();
      return `YAML syntax error: ${message}${/[.!?]$/.test(message) ? '' : '.'}`;
    }
  }
}

/** The text of the mapping key that starts at `offset`, if any. */
function keyAt(doc: Document.Parsed, offset: number): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Pair(_key, pair) {
      const key = pair.key as ParsedNode | null;
      if (key !== null && key.range[0] === offset && isScalar(key)) {
        found = String(key.value);
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function describeNode(node: YamlNode, doc: Document.Parsed): string {
  const resolved = isAlias(node) ? node.resolve(doc) : node;
  if (isSeq(resolved)) {
    return 'a list';
  }
  if (isMap(resolved)) {
    return 'a mapping';
  }
  if (isScalar(resolved)) {
    return resolved.value === null ? 'null' : `a ${typeof resolved.value}`;
  }
  return 'an alias';
}

function scalarKey(node: YamlNode, doc: Document.Parsed): unknown {
  const resolved = isAlias(node) ? node.resolve(doc) : node;
  return isScalar(resolved) ? resolved.value : undefined;
}

/**
 * The first mapping key, anywhere in the document, that is not a non-null scalar: JavaScript
 * objects only have string keys, and yaml would otherwise stringify `[a, b]` into `"[ a, b ]"`.
 */
function findBadKey(root: ParsedNode, doc: Document.Parsed): { reason: string; offset: number } | undefined {
  const stack: ParsedNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as ParsedNode | null;
        if (key === null) {
          const offset = (pair.value as ParsedNode | null)?.range[0] ?? node.range[0];
          return { reason: 'A mapping key is missing (an empty key).', offset };
        }
        const resolved = isAlias(key) ? key.resolve(doc) : key;
        if (!isScalar(resolved)) {
          return { reason: `A mapping key must be a scalar, but is ${describeNode(key, doc)}.`, offset: key.range[0] };
        }
        if (resolved.value === null) {
          return { reason: 'A mapping key must not be null.', offset: key.range[0] };
        }
        if (isPair(pair) && pair.value !== null) {
          stack.push(pair.value as ParsedNode);
        }
      }
    } else if (isSeq(node)) {
      for (const item of node.items) {
        stack.push(item as ParsedNode);
      }
    }
  }
  return undefined;
}

/**
 * The first alias inside the collection its anchor names (`&a {x: *a}`, `&a [*a]`), or `undefined`.
 * yaml composes such a document into a cyclic value, which no card value may be: merging or
 * interpolating it recursed until the stack overflowed (a RangeError; found by `npm run fuzz`,
 * target `cards`). Aliases of other nodes (a DAG) are fine; their expansion is bounded by
 * {@link MAX_ALIAS_COUNT}.
 */
function findRecursiveAlias(doc: Document.Parsed): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, alias, path) {
      const target = alias.resolve(doc);
      if (target !== undefined && path.includes(target)) {
        found = alias;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The offset of the first collection nested deeper than `limit` in the CST, or `undefined`.
 * Iterative, so that the check itself cannot overflow the stack.
 */
function findExcessiveNesting(tokens: readonly CST.Token[], limit: number): number | undefined {
  const stack: { token: CST.Token; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop() as { token: CST.Token; depth: number };
    switch (token.type) {
      case 'document':
        if (token.value !== undefined) {
          stack.push({ token: token.value, depth });
        }
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (depth + 1 > limit) {
          return token.offset;
        }
        for (const item of token.items) {
          if ('key' in item && item.key !== undefined && item.key !== null) {
            stack.push({ token: item.key, depth: depth + 1 });
          }
          if (item.value !== undefined) {
            stack.push({ token: item.value, depth: depth + 1 });
          }
        }
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** Finds nested values in the YAML node of one field. */
class YamlValueLocator implements ValueLocator {
  constructor(
    private readonly node: YamlNode | null,
    private readonly doc: Document.Parsed,
    private readonly at: (offset: number) => SourceLocation,
    private readonly keyLocation: SourceLocation,
  ) {}

  locate(path: readonly (string | number)[]): NestedLocation | undefined {
    let node: YamlNode | null = this.node;
    let key: SourceLocation | undefined = this.keyLocation;
    for (const segment of path) {
      const current: YamlNode | null = node !== null && isAlias(node) ? node.resolve(this.doc) ?? null : node;
      if (isMap(current)) {
        const pair = current.items.find((p) => String(scalarKey(p.key as YamlNode, this.doc)) === String(segment));
        if (pair === undefined) {
          return undefined;
        }
        key = this.at((pair.key as ParsedNode).range[0]);
        node = (pair.value ?? null) as YamlNode | null;
      } else if (isSeq(current) && typeof segment === 'number') {
        const item = current.items[segment] as YamlNode | undefined;
        if (item === undefined) {
          return undefined;
        }
        key = undefined;
        node = item;
      } else {
        return undefined;
      }
    }
    const range = (node as ParsedNode | null)?.range;
    const value = range === undefined ? key : this.at(range[0]);
    if (value === undefined) {
      return undefined;
    }
    return key === undefined ? { value } : { key, value };
  }
}
