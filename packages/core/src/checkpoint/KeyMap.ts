import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { CheckpointError, UnmappedKeyError } from './errors.js';

/**
 * One rule of a key map: a regular expression and its replacement. A string pattern is compiled
 * with `new RegExp`. In the replacement, `$1` (JavaScript) and `\1` (Python's `re.sub`, so that
 * fairseq2's tables can be pasted verbatim) both stand for the first group.
 */
export type KeyMapEntry = readonly [pattern: string | RegExp, replacement: string];

/** Options of {@link KeyMap}. */
export interface KeyMapOptions {
  /**
   * Keys that are dropped rather than mapped (Meta's `rope.freqs`, which models recompute).
   * Default: none.
   */
  readonly ignore?: readonly (string | RegExp)[];
}

interface CompiledEntry {
  readonly pattern: RegExp;
  readonly replacer: RegExp;
  readonly replacement: string;
  readonly source: string;
}

function compile(pattern: string | RegExp): RegExp {
  return typeof pattern === 'string' ? new RegExp(pattern) : new RegExp(pattern.source, pattern.flags.replace('g', ''));
}

/** Python's `\1` (and `\g<1>`) group references as JavaScript's `$1`. */
function normaliseReplacement(replacement: string): string {
  return replacement.replace(/\\g<([0-9]+)>|\\([0-9]+)/g, (_m, a: string | undefined, b: string | undefined) => `$${a ?? b}`);
}

/**
 * A declarative key map between checkpoint formats: an ordered table of `[regex, replacement]`
 * rules where the first rule whose pattern matches a key converts it (fairseq2's
 * `convert_state_dict`, whose maps are insertion-ordered). Unlike fairseq2, a key that no rule
 * matches is an error ({@link UnmappedKeyError}, naming the key and the file), unless `ignore`
 * drops it: a converter that silently passes unknown keys through only fails later, far away.
 *
 * ```ts
 * const LLAMA_HF_KEYS = new KeyMap('llama HF', [
 *   [/^model\.layers\.([0-9]+)\.self_attn\.q_proj\./, 'decoder.layers.$1.self_attn.q_proj.'],
 *   [/^model\.norm\./, 'decoder.layer_norm.'],
 * ]);
 * LLAMA_HF_KEYS.convert('model.norm.weight', path); // 'decoder.layer_norm.weight'
 * LLAMA_HF_KEYS.reverse('llama HF export');          // decoder.* -> model.*
 * ```
 */
export class KeyMap {
  private readonly compiled: readonly CompiledEntry[];
  private readonly ignored: readonly RegExp[];

  constructor(
    /** A name for messages (`llama HF`). */
    readonly name: string,
    /** The rules, in order. */
    readonly entries: readonly KeyMapEntry[],
    readonly options: KeyMapOptions = {},
  ) {
    this.compiled = entries.map(([pattern, replacement]) => {
      const regex = compile(pattern);
      return {
        pattern: regex,
        replacer: new RegExp(regex.source, `${regex.flags}g`),
        replacement: normaliseReplacement(replacement),
        source: regex.source,
      };
    });
    this.ignored = (options.ignore ?? []).map(compile);
  }

  /** Whether `key` is one of the keys this map drops. */
  isIgnored(key: string): boolean {
    return this.ignored.some((r) => r.test(key));
  }

  /**
   * `key` converted by the first rule that matches it (every match of that rule's pattern is
   * replaced, as `re.sub` does), or `undefined` when no rule matches.
   */
  maybeConvert(key: string): string | undefined {
    for (const entry of this.compiled) {
      if (entry.pattern.test(key)) {
        return key.replace(entry.replacer, entry.replacement);
      }
    }
    return undefined;
  }

  /**
   * `key` converted; `path` (the checkpoint file) is only for the error.
   *
   * @throws UnmappedKeyError when no rule matches.
   */
  convert(key: string, path: string): string {
    const converted = this.maybeConvert(key);
    if (converted === undefined) {
      throw new UnmappedKeyError(path, key, this.name);
    }
    return converted;
  }

  /**
   * Every key of `keys` converted, ignored ones left out: source key -> target key, in order.
   *
   * @throws UnmappedKeyError for a key no rule matches; CheckpointError when two keys map to one.
   */
  convertAll(keys: Iterable<string>, path: string): Map<string, string> {
    const out = new Map<string, string>();
    const sources = new Map<string, string>();
    for (const key of keys) {
      if (this.isIgnored(key)) {
        continue;
      }
      const target = this.convert(key, path);
      const other = sources.get(target);
      if (other !== undefined) {
        throw new CheckpointError(path, `${other} and ${key} in ${path} both map to ${target} through the ${this.name} key map.`, key);
      }
      sources.set(target, key);
      out.set(key, target);
    }
    return out;
  }

  /**
   * The map of the opposite direction, for export (fairseq2's `create_reverse_key_map`): each rule
   * `^a\.([0-9]+)\.b\.` -> `x.$1.y.` becomes `^x\.([0-9]+)\.y\.` -> `a.$1.b.`. The replacement's
   * text is escaped (dots included) and each group reference becomes the group's own pattern, so
   * any number of groups works, in any order. The ignore list does not carry over.
   *
   * @throws InvalidArgumentError naming a pattern that is not reversible: outside its groups it
   *   must be literal text (escaped metacharacters, `^` and `$` anchors), and every group must be
   *   referenced exactly once by the replacement.
   */
  reverse(name = `${this.name} (reversed)`): KeyMap {
    return new KeyMap(
      name,
      this.compiled.map((entry) => reverseEntry(entry.source, entry.replacement)),
    );
  }
}

/** A pattern split into literal text and capture groups. */
interface ParsedPattern {
  readonly anchoredStart: boolean;
  readonly anchoredEnd: boolean;
  /** Literal strings and group sources, in order. */
  readonly parts: readonly ({ readonly literal: string } | { readonly group: string })[];
}

const SPECIAL = new Set(['.', '*', '+', '?', '[', ']', '{', '}', '|', '(', ')', '^', '$']);

function parsePattern(source: string): ParsedPattern {
  const notReversible = (reason: string): never => {
    throw new InvalidArgumentError('entries', `The key map pattern /${source}/ is not reversible: ${reason}.`);
  };
  let i = 0;
  let end = source.length;
  const anchoredStart = source.startsWith('^');
  if (anchoredStart) {
    i = 1;
  }
  const anchoredEnd = source.endsWith('$') && !source.endsWith('\\$');
  if (anchoredEnd) {
    end -= 1;
  }
  const parts: ({ literal: string } | { group: string })[] = [];
  let literal = '';
  while (i < end) {
    const c = source[i] as string;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) {
        notReversible(`\\${next ?? ''} outside a group is not literal text`);
      }
      literal += next as string;
      i += 2;
      continue;
    }
    if (c === '(') {
      if (source[i + 1] === '?') {
        notReversible('it has a non-capturing or named group');
      }
      let depth = 1;
      let j = i + 1;
      let inClass = false;
      while (j < end && depth > 0) {
        const d = source[j] as string;
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (inClass) {
          inClass = d !== ']';
        } else if (d === '[') {
          inClass = true;
        } else if (d === '(') {
          if (source[j + 1] !== '?') {
            notReversible('it has a nested capturing group');
          }
          depth++;
        } else if (d === ')') {
          depth--;
        }
        j++;
      }
      if (depth !== 0) {
        notReversible('a group is not closed');
      }
      if (literal !== '') {
        parts.push({ literal });
        literal = '';
      }
      parts.push({ group: source.slice(i + 1, j - 1) });
      i = j;
      continue;
    }
    if (SPECIAL.has(c)) {
      notReversible(`${c} outside a group is not literal text`);
    }
    literal += c;
    i++;
  }
  if (literal !== '') {
    parts.push({ literal });
  }
  return { anchoredStart, anchoredEnd, parts };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function reverseEntry(source: string, replacement: string): KeyMapEntry {
  const parsed = parsePattern(source);
  const groups = parsed.parts.filter((p): p is { group: string } => 'group' in p).map((p) => p.group);
  // Split the replacement into literal text and `$n` references (`$$` is a literal `$`).
  let pattern = parsed.anchoredStart ? '^' : '';
  const order: number[] = [];
  let literal = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i] as string;
    if (c === '$' && replacement[i + 1] === '$') {
      literal += '$';
      i++;
      continue;
    }
    const reference = c === '$' ? /^[0-9]+/.exec(replacement.slice(i + 1))?.[0] : undefined;
    if (reference === undefined) {
      if (c === '$') {
        throw new InvalidArgumentError('entries', `The key map replacement ${replacement} of /${source}/ is not reversible: it uses $ other than for a group.`);
      }
      literal += c;
      continue;
    }
    const group = Number(reference);
    if (group < 1 || group > groups.length || order.includes(group)) {
      throw new InvalidArgumentError(
        'entries',
        `The key map replacement ${replacement} of /${source}/ is not reversible: it refers to group ${group} ${order.includes(group) ? 'twice' : `of ${groups.length}`}.`,
      );
    }
    pattern += escapeRegex(literal) + `(${groups[group - 1] as string})`;
    literal = '';
    order.push(group);
    i += reference.length;
  }
  pattern += escapeRegex(literal) + (parsed.anchoredEnd ? '$' : '');
  if (order.length !== groups.length) {
    throw new InvalidArgumentError(
      'entries',
      `The key map replacement ${replacement} of /${source}/ is not reversible: it does not use every group of the pattern.`,
    );
  }
  // The reverse replacement is the forward pattern's text, each group replaced by its position in
  // the forward replacement (which is its group number in the reverse pattern).
  let reverseReplacement = '';
  let groupIndex = 0;
  for (const part of parsed.parts) {
    if ('literal' in part) {
      reverseReplacement += part.literal.replace(/\$/g, '$$$$');
    } else {
      groupIndex++;
      reverseReplacement += `$${order.indexOf(groupIndex) + 1}`;
    }
  }
  return [new RegExp(pattern), reverseReplacement];
}
