/**
 * Asset names, as fairseq2 writes them: `foo` is the card `foo` without environment (canonical
 * form `foo@`), `foo@env` its overlay for the environment `env`.
 */

/** The parts of a canonical name. */
export interface AssetNameParts {
  /** The name without environment: `foo`. */
  readonly name: string;
  /** The environment, `''` for the card itself. */
  readonly env: string;
}

/**
 * fairseq2's `canonicalize_asset_name`: `foo` -> `foo@`, `foo@env` -> `foo@env` (each part
 * trimmed), or `undefined` for an invalid name (more than one `@`, or an empty name part).
 */
export function canonicalizeAssetName(name: string): string | undefined {
  const parts = name.split('@');
  if (parts.length > 2) {
    return undefined;
  }
  const base = (parts[0] ?? '').trim();
  if (base === '') {
    return undefined;
  }
  return `${base}@${(parts[1] ?? '').trim()}`;
}

/**
 * fairseq2's `sanitize_base_asset_name`: a `base` field names a card without environment; returns
 * the trimmed name, or `undefined` when it has an `@` or is empty.
 */
export function sanitizeBaseAssetName(base: string): string | undefined {
  const trimmed = base.trim();
  return trimmed === '' || trimmed.includes('@') ? undefined : trimmed;
}

/** Splits a canonical name (`foo@env`, `foo@`) into its parts. */
export function splitCanonicalAssetName(canonical: string): AssetNameParts {
  const at = canonical.indexOf('@');
  return at < 0 ? { name: canonical, env: '' } : { name: canonical.slice(0, at), env: canonical.slice(at + 1) };
}

/** How messages show a canonical name: `foo` for `foo@`, `foo@env` otherwise. */
export function displayAssetName(canonical: string): string {
  return canonical.endsWith('@') ? canonical.slice(0, -1) : canonical;
}

/** The sentence that explains fairseq2's naming rules, used by the "not a valid asset name" errors. */
export const ASSET_NAME_RULE =
  'a name is `name` or `name@environment`, with a non-empty name part and at most one `@`';
