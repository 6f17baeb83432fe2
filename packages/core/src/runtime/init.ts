import { registerLibrary } from '../composition/lib.js';
import { InvalidOperationError } from '../errors/Fs2Error.js';
import { DependencyContainer, type DependencyResolver } from './DependencyContainer.js';
import { Environment, StandardEnvironment } from './Environment.js';
import {
  discoverExtensions,
  loadExtension,
  packageSearchRoots,
  runExtension,
  type ExtensionFunction,
  type InlineExtension,
} from './extensions.js';
import { getDependencyResolver, maybeGetDependencyResolver, setGlobalResolver } from './global.js';

/** Registers services into the container; `extras` runs after the library and every extension. */
export type ExtrasFunction = (container: DependencyContainer) => void | Promise<void>;

/** Options of {@link initFairseq2} and {@link createFairseq2}. */
export interface InitFairseq2Options {
  /** Runs last, after the library and the extensions: the place for an application's own registrations. */
  readonly extras?: ExtrasFunction;
  /**
   * Which extensions run after the library:
   * - `true` (the default): every installed package that declares `"fs2": { "extension": ... }`
   *   in its `package.json`, sorted by package name;
   * - `false`: none;
   * - a list: exactly these, in this order: package names (looked up as discovery would) or
   *   inline `{ name, setup }` extensions.
   */
  readonly extensions?: boolean | readonly (string | InlineExtension)[];
  /**
   * Environment variables for this container. Default: `process.env`. Tests pass their own so
   * that card folders and caches point at temporary directories.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The working directory relative card paths and discovery start from. Default: `process.cwd()`. */
  readonly cwd?: string;
  /** Turns progress bars off (as `FAIRSEQ2_NO_PROGRESS` does). Default: from the environment. */
  readonly noProgress?: boolean;
  /** Where warnings go. Default: `process.stderr`. */
  readonly log?: (line: string) => void;
}

/**
 * Builds a container the way {@link initFairseq2} does (library, then extensions, then `extras`),
 * prepares it and returns its resolver, without touching the process-global resolver. Tests and
 * applications that need several isolated fs2 worlds use this.
 */
export async function createFairseq2(options: InitFairseq2Options = {}): Promise<DependencyResolver> {
  const container = new DependencyContainer();
  const environment = new StandardEnvironment({
    ...(options.env === undefined ? {} : { variables: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  container.withOrigin('@fs2/core', () => {
    container.registerInstance(Environment, environment);
    registerLibrary(container, { noProgress: options.noProgress ?? environment.has('FAIRSEQ2_NO_PROGRESS') });
  });

  const runOptions = {
    warnOnly: environment.has('FAIRSEQ2_EXTENSION_WARN'),
    trace: environment.has('FAIRSEQ2_EXTENSION_TRACE'),
    log,
  };
  const extensions = options.extensions ?? true;
  if (extensions !== false) {
    const discovered = await discoverExtensions(packageSearchRoots(environment.cwd));
    const byName = new Map(discovered.map((d) => [d.packageName, d]));
    const selected: (string | InlineExtension)[] =
      extensions === true ? discovered.map((d) => d.packageName) : [...extensions];
    for (const item of selected) {
      if (typeof item !== 'string') {
        await runExtension(container, item.name, () => item.setup, runOptions);
        continue;
      }
      const descriptor = byName.get(item);
      await runExtension(
        container,
        item,
        (): Promise<ExtensionFunction> => {
          if (descriptor === undefined) {
            throw new InvalidOperationError(
              `${item} is not an installed package with an fs2 extension (none of the node_modules folders visible from ${environment.cwd} has it).`,
            );
          }
          return loadExtension(descriptor);
        },
        runOptions,
      );
    }
  }

  if (options.extras !== undefined) {
    const extras = options.extras;
    await container.withOrigin('extras', () => extras(container));
  }

  await container.prepare();
  return container;
}

let initializing = false;

/**
 * Initializes fs2 for the process: registers the library, runs every installed extension, then
 * `extras`, builds what needs I/O (the asset store reads its card sources here), and publishes
 * the result as the process-global resolver used by the hub accessors.
 *
 * ```ts
 * import { initFairseq2, registerFileAssets } from '@fs2/core';
 *
 * await initFairseq2({ extras: (container) => registerFileAssets(container, '/data/cards') });
 * ```
 *
 * @throws InvalidOperationError when fs2 is already initialized.
 */
export async function initFairseq2(options: InitFairseq2Options = {}): Promise<DependencyResolver> {
  if (initializing || maybeGetDependencyResolver() !== undefined) {
    throw new InvalidOperationError('`initFairseq2()` is already called.');
  }
  initializing = true;
  try {
    const resolver = await createFairseq2(options);
    setGlobalResolver(resolver);
    return resolver;
  } finally {
    initializing = false;
  }
}

/**
 * Forgets the process-global resolver, so that `initFairseq2()` may run again (a long-lived
 * process that reloads its cards, a test of the global path).
 */
export function shutdownFairseq2(): void {
  setGlobalResolver(undefined);
}

export { getDependencyResolver };
