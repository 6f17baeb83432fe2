import { homedir } from 'node:os';

import { createServiceIdentifier, type ServiceIdentifier } from './ServiceIdentifier.js';

/**
 * The process environment as a service: variables, the working directory and the home directory.
 * Everything in fs2 that reads `FAIRSEQ2_*`, `HF_*` or `XDG_*` variables reads them through this,
 * so a test (or an embedding application) can give an isolated container its own environment.
 */
export interface Environment {
  /** The value of `name`, or `undefined` when unset. */
  get(name: string): string | undefined;
  /** Whether `name` is set (to anything, the empty string included). */
  has(name: string): boolean;
  /** The working directory relative paths are resolved against. */
  readonly cwd: string;
  /** The user's home directory. */
  readonly home: string;
}

export const Environment: ServiceIdentifier<Environment> = createServiceIdentifier('Environment');

/** Options of {@link StandardEnvironment}. */
export interface StandardEnvironmentOptions {
  /** Default: `process.env`. */
  readonly variables?: Readonly<Record<string, string | undefined>>;
  /** Default: `process.cwd()`. */
  readonly cwd?: string;
  /** Default: the `HOME` variable of `variables`, else `os.homedir()`. */
  readonly home?: string;
}

/** The {@link Environment} of the process, or of the variables given. */
export class StandardEnvironment implements Environment {
  private readonly variables: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly home: string;

  constructor(options: StandardEnvironmentOptions = {}) {
    this.variables = options.variables ?? process.env;
    this.cwd = options.cwd ?? process.cwd();
    this.home = options.home ?? this.variables['HOME'] ?? homedir();
  }

  get(name: string): string | undefined {
    return this.variables[name];
  }

  has(name: string): boolean {
    return this.variables[name] !== undefined;
  }
}
