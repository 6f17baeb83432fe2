import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import type { Environment } from '../../runtime/Environment.js';

/** The value of `name`, or `undefined` when it is unset or empty. */
function maybeGet(env: Environment, name: string): string | undefined {
  const value = env.get(name);
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** A path from the environment: `~` expanded to the home folder, relative paths resolved against the working directory. */
function toPath(env: Environment, value: string): string {
  const expanded = value === '~' ? env.home : value.startsWith('~/') ? join(env.home, value.slice(2)) : value;
  return isAbsolute(expanded) ? expanded : resolve(env.cwd, expanded);
}

/**
 * The cache folder of `http(s):` downloads, as fairseq2 resolves it: `FAIRSEQ2_CACHE_DIR` (as is),
 * else `$XDG_CACHE_HOME/fairseq2/assets`, else `~/.cache/fairseq2/assets`. It is created lazily.
 */
export function getAssetCacheDir(env: Environment): string {
  const explicit = maybeGet(env, 'FAIRSEQ2_CACHE_DIR');
  if (explicit !== undefined) {
    return toPath(env, explicit);
  }
  const xdg = maybeGet(env, 'XDG_CACHE_HOME');
  return join(xdg === undefined ? join(env.home, '.cache') : toPath(env, xdg), 'fairseq2', 'assets');
}

/**
 * The Hugging Face Hub cache, as `huggingface_hub` resolves it, so that Python tools and fs2 share
 * one download: `HF_HUB_CACHE`, else the legacy `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
 */
export function getHuggingFaceHubCacheDir(env: Environment): string {
  const explicit = maybeGet(env, 'HF_HUB_CACHE') ?? maybeGet(env, 'HUGGINGFACE_HUB_CACHE');
  if (explicit !== undefined) {
    return toPath(env, explicit);
  }
  return join(getHuggingFaceHome(env), 'hub');
}

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (as `huggingface_hub` does). */
export function getHuggingFaceHome(env: Environment): string {
  const home = maybeGet(env, 'HF_HOME');
  if (home !== undefined) {
    return toPath(env, home);
  }
  const xdg = maybeGet(env, 'XDG_CACHE_HOME');
  return join(xdg === undefined ? join(env.home, '.cache') : toPath(env, xdg), 'huggingface');
}

/** The default Hugging Face Hub endpoint (`huggingface_hub`'s `ENDPOINT` default). */
export const DEFAULT_HUGGING_FACE_ENDPOINT = 'https://huggingface.co';

/** `HF_ENDPOINT` without a trailing slash, else {@link DEFAULT_HUGGING_FACE_ENDPOINT}. */
export function getHuggingFaceEndpoint(env: Environment): string {
  return (maybeGet(env, 'HF_ENDPOINT') ?? DEFAULT_HUGGING_FACE_ENDPOINT).trim().replace(/\/+$/, '');
}

/**
 * Whether a boolean flag variable is on, with `huggingface_hub`'s reading of `HF_HUB_OFFLINE`:
 * `1`, `true`, `yes`, `on` (any case).
 */
export function isEnvironmentFlagOn(env: Environment, name: string): boolean {
  const value = maybeGet(env, name);
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/**
 * The Hugging Face access token, as `huggingface_hub` finds it: `HF_TOKEN`, else the legacy
 * `HUGGING_FACE_HUB_TOKEN`, else the file written by `huggingface-cli login` (`HF_TOKEN_PATH`,
 * else `$HF_HOME/token`). `undefined` when there is none. The token is never printed.
 */
export async function readHuggingFaceToken(env: Environment): Promise<string | undefined> {
  const variable = maybeGet(env, 'HF_TOKEN') ?? maybeGet(env, 'HUGGING_FACE_HUB_TOKEN');
  if (variable !== undefined) {
    return variable.trim();
  }
  const tokenPath = maybeGet(env, 'HF_TOKEN_PATH');
  const file = tokenPath === undefined ? join(getHuggingFaceHome(env), 'token') : toPath(env, tokenPath);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
