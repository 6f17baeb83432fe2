import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';
import type { DependencyContainer } from './DependencyContainer.js';

/**
 * What an extension package exports by default: a function that registers its services (model
 * families, asset sources, ...) into the container. It may be asynchronous.
 *
 * Declared in the package's `package.json`, the analogue of fairseq2's `fairseq2.extension`
 * entry point:
 *
 * ```json
 * { "name": "@acme/fs2-ext", "fs2": { "extension": "./dist/extension.js" } }
 * ```
 */
export type ExtensionFunction = (container: DependencyContainer) => void | Promise<void>;

/** An installed package that declares an fs2 extension. */
export interface ExtensionDescriptor {
  /** The package name, which orders extensions and names them in errors. */
  readonly packageName: string;
  /** The package folder (symbolic links resolved). */
  readonly packageDir: string;
  /** The `fs2.extension` value as written in `package.json`. */
  readonly entry: string;
}

/** An extension given in code rather than discovered: its name (for errors) and its function. */
export interface InlineExtension {
  readonly name: string;
  readonly setup: ExtensionFunction;
}

/** An extension failed to load or to register its services. */
export class ExtensionError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly packageName: string,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}

/** This module's folder: `@fs2/core`'s own place in the file system. */
const CORE_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * Where installed packages are looked for (extensions, and the packages whose cards
 * `registerPackageAssets` adds): Node's resolution from the working directory, then from
 * `@fs2/core`'s own folder, so that a package installed beside fs2 (a global install, a program
 * run from another folder) is found too.
 */
export function packageSearchRoots(cwd: string): readonly string[] {
  return [cwd, CORE_DIR];
}

/**
 * The `node_modules` folders Node would search from `start`: `start/node_modules`, then each
 * parent's.
 */
function nodeModulesChain(start: string): string[] {
  const folders: string[] = [];
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, 'node_modules');
    if (existsSync(candidate)) {
      folders.push(candidate);
    }
    const parent = dirname(dir);
    if (parent === dir) {
      return folders;
    }
    dir = parent;
  }
}

async function readExtensionEntry(packageDir: string): Promise<ExtensionDescriptor | undefined> {
  let text: string;
  try {
    text = await readFile(join(packageDir, 'package.json'), 'utf8');
  } catch {
    return undefined;
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    return undefined; // Not ours to judge: npm reports broken manifests.
  }
  if (typeof manifest !== 'object' || manifest === null) {
    return undefined;
  }
  const { name, fs2 } = manifest as { name?: unknown; fs2?: unknown };
  if (typeof name !== 'string' || typeof fs2 !== 'object' || fs2 === null) {
    return undefined;
  }
  const entry = (fs2 as { extension?: unknown }).extension;
  if (entry === undefined) {
    return undefined;
  }
  if (typeof entry !== 'string') {
    throw new ExtensionError(
      name,
      `The \`fs2.extension\` field of the ${name} package (${join(packageDir, 'package.json')}) is expected to be a path string, but is of type ${typeof entry} instead.`,
    );
  }
  return { packageName: name, packageDir: await realpath(packageDir), entry };
}

async function listPackageDirs(nodeModules: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const entry of await readdir(nodeModules, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) {
      continue;
    }
    const path = join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      if (!(await isDirectory(path))) {
        continue;
      }
      for (const scoped of await readdir(path)) {
        dirs.push(join(path, scoped));
      }
    } else if (entry.isDirectory() || entry.isSymbolicLink()) {
      dirs.push(path);
    }
  }
  return dirs;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Finds the installed packages that declare an fs2 extension, searching the `node_modules`
 * folders visible from each of `searchFrom` (the working directory and `@fs2/core`'s own folder).
 * A package found twice counts once (the first found). The result is sorted by package name, the
 * order in which extensions run.
 */
export async function discoverExtensions(searchFrom: readonly string[]): Promise<ExtensionDescriptor[]> {
  const folders = [...new Set(searchFrom.flatMap(nodeModulesChain))];
  const found = new Map<string, ExtensionDescriptor>();
  for (const folder of folders) {
    const candidates = await listPackageDirs(folder);
    const descriptors = await Promise.all(candidates.map(readExtensionEntry));
    for (const descriptor of descriptors) {
      if (descriptor !== undefined && !found.has(descriptor.packageName)) {
        found.set(descriptor.packageName, descriptor);
      }
    }
  }
  return [...found.values()].sort((a, b) => (a.packageName < b.packageName ? -1 : a.packageName > b.packageName ? 1 : 0));
}

/** Imports a discovered extension and returns its default export, checked to be a function. */
export async function loadExtension(descriptor: ExtensionDescriptor): Promise<ExtensionFunction> {
  const file = resolve(descriptor.packageDir, descriptor.entry);
  if (!existsSync(file)) {
    throw new ExtensionError(
      descriptor.packageName,
      `The fs2 extension of the ${descriptor.packageName} package points to ${descriptor.entry}, but ${file} does not exist. Is the package built?`,
    );
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    throw new ExtensionError(
      descriptor.packageName,
      `The fs2 extension of the ${descriptor.packageName} package (${descriptor.entry}) cannot be imported: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  if (typeof module.default !== 'function') {
    throw new ExtensionError(
      descriptor.packageName,
      `The fs2 extension of the ${descriptor.packageName} package (${descriptor.entry}) is expected to export a default function \`(container) => void\`, but exports ${module.default === undefined ? 'no default' : `a default of type ${typeof module.default}`} instead.`,
    );
  }
  return module.default as ExtensionFunction;
}

/** Options of {@link runExtension}. */
export interface RunExtensionOptions {
  /** Report a failing extension with `warn` and go on, instead of throwing. Default: `false`. */
  readonly warnOnly?: boolean;
  /** Report each extension that ran. Default: `false`. */
  readonly trace?: boolean;
  /** Where warnings and trace lines go. Default: `process.stderr`. */
  readonly log?: (line: string) => void;
}

/**
 * Runs one extension with its registrations attributed to `name`. A failure becomes an
 * {@link ExtensionError} naming the package (or, with `warnOnly`, a warning). Registrations the
 * extension made before failing stay, as in fairseq2.
 */
export async function runExtension(
  container: DependencyContainer,
  name: string,
  setup: () => Promise<ExtensionFunction> | ExtensionFunction,
  options: RunExtensionOptions = {},
): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    const extension = await setup();
    await container.withOrigin(name, () => extension(container));
    if (options.trace === true) {
      log(`fs2: extension ${name} registered.`);
    }
  } catch (error) {
    const wrapped =
      error instanceof ExtensionError
        ? error
        : new ExtensionError(name, `The fs2 extension of the ${name} package failed: ${errorMessage(error)}`, { cause: error });
    if (options.warnOnly !== true) {
      throw wrapped;
    }
    log(`fs2: warning: ${wrapped.message} (continuing because FAIRSEQ2_EXTENSION_WARN is set)`);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
