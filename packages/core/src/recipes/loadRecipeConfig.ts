import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import type { Static, TSchema } from '@sinclair/typebox';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

import { isPlainObject } from '../assets/AssetMetadata.js';
import { ConfigMergeError, type ConfigPath } from '../assets/errors.js';
import { interpolateEnvVariables } from '../assets/interpolateEnvVariables.js';
import { mergeConfig } from '../assets/mergeConfig.js';
import { checkConfig } from '../assets/structureConfig.js';
import { RecipeConfigError, type RecipeConfigProblem } from './errors.js';

/** One source of a recipe configuration, in the order given on the command line. */
export type RecipeConfigSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'override'; readonly key: string; readonly value: unknown; readonly text: string };

/** A dotted key: identifiers, digits and dashes between dots (`optimizer.config.lr`). */
const OVERRIDE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/**
 * Reads the `--config` arguments of `fs2 recipe`: `key=value` is an override (`key` a dotted
 * path, `value` read as YAML, so `lr=3e-4` is a number, `betas=[0.9,0.95]` a list and `name=null`
 * null), anything else the path of a YAML file, resolved against `cwd`. fairseq2 spells files
 * `--config-file`; fs2 accepts both in one option, in order.
 *
 * @throws RecipeConfigError for an override whose value is not YAML.
 */
export function parseRecipeConfigArgs(recipeName: string, args: readonly string[], cwd: string): RecipeConfigSource[] {
  return args.map((arg): RecipeConfigSource => {
    const equals = arg.indexOf('=');
    const key = equals < 0 ? '' : arg.slice(0, equals).trim();
    if (equals < 0 || !OVERRIDE_KEY.test(key)) {
      return { kind: 'file', path: resolve(cwd, arg) };
    }
    const text = arg.slice(equals + 1);
    const doc = parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new RecipeConfigError(recipeName, [
        { reason: `The value of \`${key}\` is not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}.`, where: `--config ${arg}` },
      ]);
    }
    return { kind: 'override', key, value: doc.toJS() as unknown, text: arg };
  });
}

/** Options of {@link loadRecipeConfig}. */
export interface LoadRecipeConfigOptions {
  /** Replaces `${env:NAME}` in strings (the `Environment`'s `get`). Default: no variables. */
  readonly env?: (name: string) => string | undefined;
}

/** One merged layer and how to say where its values were written. */
interface Layer {
  readonly value: unknown;
  /** Where the value at `path` was written (its key when `key`), or `undefined` when this layer does not write it. */
  readonly locate: (path: ConfigPath, key?: boolean) => string | undefined;
}

/**
 * A recipe's configuration: `defaults`, then each source merged over it in order (fairseq2's
 * rules, as for cards: mappings merge key by key, anything else replaces; `_del_` and `_set_`
 * directives), `${env:NAME}` replaced, then checked against `schema` with unknown keys refused.
 * Every problem is reported with where it was written: `file:line:column` in a config file, the
 * `--config key=value` that set it.
 *
 * @throws RecipeConfigError listing every problem.
 */
export async function loadRecipeConfig<S extends TSchema>(
  recipeName: string,
  schema: S,
  defaults: Static<S>,
  sources: readonly RecipeConfigSource[],
  options: LoadRecipeConfigOptions = {},
): Promise<Static<S>> {
  const layers: Layer[] = [];
  let config: unknown = defaults;
  for (const source of sources) {
    const layer = source.kind === 'file' ? await readConfigFile(recipeName, source.path) : overrideLayer(source);
    try {
      config = mergeConfig(config, layer.value);
    } catch (error) {
      if (error instanceof ConfigMergeError) {
        throw new RecipeConfigError(recipeName, [{ reason: error.reason, where: layer.locate(error.path) ?? layer.locate([]) }]);
      }
      throw error;
    }
    layers.push(layer);
  }
  config = interpolateEnvVariables(config, options.env ?? (() => undefined));
  const problems = checkConfig(config, schema);
  if (problems.length > 0) {
    throw new RecipeConfigError(
      recipeName,
      problems.map((problem): RecipeConfigProblem => ({
        reason: problem.reason,
        where: locate(layers, problem.path, problem.kind === 'unknown_key'),
      })),
    );
  }
  return config as Static<S>;
}

/**
 * Where the value at `path` (or its nearest written parent) was last written, newest layer first;
 * `undefined` when only the defaults hold it.
 */
function locate(layers: readonly Layer[], path: ConfigPath, key: boolean): string | undefined {
  for (let length = path.length; length > 0; length -= 1) {
    for (const layer of [...layers].reverse()) {
      const where = layer.locate(path.slice(0, length), key && length === path.length);
      if (where !== undefined) {
        return where;
      }
    }
  }
  return undefined;
}

function overrideLayer(source: Extract<RecipeConfigSource, { kind: 'override' }>): Layer {
  const keys = source.key.split('.');
  let value: unknown = source.value;
  for (const key of [...keys].reverse()) {
    value = { [key]: value };
  }
  return {
    value,
    locate: (path) => (path.length > 0 && keys.slice(0, path.length).every((k, i) => k === String(path[i])) ? `--config ${source.text}` : undefined),
  };
}

async function readConfigFile(recipeName: string, path: string): Promise<Layer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    throw new RecipeConfigError(
      recipeName,
      [{ reason: missing ? `The config file ${path} does not exist.` : `The config file ${path} cannot be read: ${(error as Error).message}`, where: undefined }],
      { cause: error },
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.2', schema: 'core', uniqueKeys: true, lineCounter, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${path}:${line}:${col}`;
  };
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    throw new RecipeConfigError(recipeName, [
      { reason: `The config file is not valid YAML: ${firstError.message.split('\n')[0] ?? ''}`, where: at(firstError.pos[0]) },
    ]);
  }
  const value: unknown = doc.toJS() ?? {};
  if (!isPlainObject(value)) {
    throw new RecipeConfigError(recipeName, [{ reason: 'The config file is expected to hold a mapping of sections.', where: at(0) }]);
  }
  return {
    value,
    locate: (path, key = false) => {
      let node: unknown = doc.contents;
      let keyOffset: number | undefined;
      for (const segment of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
          if (pair === undefined) {
            return undefined;
          }
          keyOffset = (pair.key as Node).range?.[0];
          node = pair.value;
        } else if (isSeq(node) && typeof segment === 'number') {
          node = node.items[segment];
          keyOffset = undefined;
        } else {
          return undefined;
        }
      }
      const valueOffset = (node as Node | null | undefined)?.range?.[0];
      const offset = path.length === 0 ? 0 : key ? (keyOffset ?? valueOffset) : (valueOffset ?? keyOffset);
      return offset === undefined ? undefined : at(offset);
    },
  };
}
