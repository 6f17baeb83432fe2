import { isPlainObject } from './AssetMetadata.js';
import { ConfigMergeError, formatConfigPath, type ConfigPath } from './errors.js';

/** The directive that removes keys from the target before the merge: `_del_: [key, ...]`. */
export const DELETE_DIRECTIVE = '_del_';
/** The directive that assigns values wholesale, without recursion, after the merge: `_set_: {key: value}`. */
export const SET_DIRECTIVE = '_set_';

/**
 * Deep-merges `overrides` into a copy of `target` (fairseq2's `StandardConfigMerger.merge`):
 * - mappings merge key by key, recursively; anything else (scalars, lists) replaces;
 * - an `overrides` that is not a mapping replaces the target; a target that is not a mapping
 *   counts as `{}`;
 * - `_del_: [a, b]` removes those keys of the target first (fs2: a key that is not there is an
 *   error, so a typo does not pass silently);
 * - `_set_: {a: 1}` assigns after the merge, replacing whole values (`tokenizer_config:
 *   {_set_: {use_im_end: true}}`).
 *
 * Neither argument is changed; the result shares nothing with them.
 *
 * @throws ConfigMergeError for a malformed directive, with its path inside `overrides`.
 */
export function mergeConfig(target: unknown, overrides: unknown): unknown {
  return mergeInto(structuredClone(target), overrides, []);
}

function mergeInto(target: unknown, overrides: unknown, path: ConfigPath): unknown {
  if (!isPlainObject(overrides)) {
    return structuredClone(overrides);
  }
  const result: Record<string, unknown> = isPlainObject(target) ? (target as Record<string, unknown>) : {};

  if (Object.hasOwn(overrides, DELETE_DIRECTIVE)) {
    const keys = overrides[DELETE_DIRECTIVE];
    const at = [...path, DELETE_DIRECTIVE];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
      throw new ConfigMergeError(at, `\`${formatConfigPath(at)}\` must be a list of key names.`);
    }
    for (const key of keys as string[]) {
      if (!Object.hasOwn(result, key)) {
        throw new ConfigMergeError(
          at,
          `\`${formatConfigPath(at)}\` names \`${key}\`, which is not a key of ${path.length === 0 ? 'the configuration' : `\`${formatConfigPath(path)}\``}.`,
        );
      }
      delete result[key];
    }
  }

  for (const [key, value] of Object.entries(overrides)) {
    if (key === DELETE_DIRECTIVE || key === SET_DIRECTIVE) {
      continue;
    }
    const current = Object.hasOwn(result, key) ? result[key] : undefined;
    setOwn(result, key, isPlainObject(value) ? mergeInto(current, value, [...path, key]) : structuredClone(value));
  }

  if (Object.hasOwn(overrides, SET_DIRECTIVE)) {
    const values = overrides[SET_DIRECTIVE];
    const at = [...path, SET_DIRECTIVE];
    if (!isPlainObject(values)) {
      throw new ConfigMergeError(at, `\`${formatConfigPath(at)}\` must be a mapping of keys to values.`);
    }
    for (const [key, value] of Object.entries(values)) {
      setOwn(result, key, structuredClone(value));
    }
  }
  return result;
}

/** Assigns an own property, even for a key such as `__proto__` (which must not reach the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
