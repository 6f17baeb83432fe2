import { isPlainObject } from './AssetMetadata.js';

/**
 * fairseq2's `ReplaceEnvDirective` pattern: `${env:NAME}` or `${env:NAME:default}`.
 */
export const ENV_DIRECTIVE_PATTERN = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

/**
 * Replaces `${env:NAME}` and `${env:NAME:default}` in every string inside `value` (fairseq2's
 * `StandardConfigProcessor` with its default `ReplaceEnvDirective`). A variable that is not set
 * becomes its default, or the empty string when there is none (as in fairseq2). Returns a new
 * value; `value` is not changed. `lookup` is usually `Environment.get`.
 */
export function interpolateEnvVariables(value: unknown, lookup: (name: string) => string | undefined): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_DIRECTIVE_PATTERN, (_match, name: string, fallback: string | undefined) => {
      return lookup(name) ?? fallback ?? '';
    });
  }
  if (Array.isArray(value)) {
    return value.map((item) => interpolateEnvVariables(item, lookup));
  }
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(result, key, {
        value: interpolateEnvVariables(item, lookup),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}
