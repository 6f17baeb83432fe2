import {
  AssetStoreOptions,
  AssetWarningListener,
  createFairseq2,
  registerCheckpointModels,
  type DependencyContainer,
  type DependencyResolver,
} from '@fs2/core';

/** Where the CLI writes: `process.stdout` / `process.stderr`, or buffers in tests. */
export interface CliOutput {
  write(text: string): unknown;
}

/** What {@link runCli} runs with: its output streams and, for tests, its own environment. */
export interface CliOptions {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  /** The environment variables. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The working directory. Default: `process.cwd()`. */
  readonly cwd?: string;
}

/** What a command needs: the streams, and a way to build fs2 the way the CLI does. */
export interface CommandContext {
  readonly options: CliOptions;
  /** The working directory commands resolve relative paths against. */
  readonly cwd: string;
  /** Sets the exit code the CLI returns (0 when never set). */
  setExitCode(code: number): void;
  /**
   * Builds an isolated fs2 (`createFairseq2`) with the CLI's environment, working directory and
   * error stream (warnings print as `fs2: warning: ...`), installed extensions included.
   */
  openFairseq2(options?: OpenFairseq2Options): Promise<DependencyResolver>;
}

/** Options of {@link CommandContext.openFairseq2}. */
export interface OpenFairseq2Options {
  /** Keep loading past card problems (`fs2 assets validate`). Default: `false`. */
  readonly lenient?: boolean;
  /** More registrations, after the CLI's own. */
  readonly extras?: (container: DependencyContainer) => void;
}

/** The options of the `fs2` command itself, which every command honours. */
export interface GlobalOptions {
  /** `--checkpoint-dir`: a training run's checkpoint folder whose cards to register. */
  readonly checkpointDir?: string;
}

/** The {@link CommandContext} of one {@link runCli} call; `globals` reads the parsed global options. */
export function createCommandContext(
  options: CliOptions,
  setExitCode: (code: number) => void,
  globals: () => GlobalOptions = () => ({}),
): CommandContext {
  const cwd = options.cwd ?? process.cwd();
  const warn = (line: string): void => {
    options.stderr.write(`${line}\n`);
  };
  return {
    options,
    cwd,
    setExitCode,
    openFairseq2: (open = {}) =>
      createFairseq2({
        ...(options.env === undefined ? {} : { env: options.env }),
        cwd,
        log: warn,
        extras: (container) => {
          container.collection.registerInstance(AssetWarningListener, (message) => warn(`fs2: warning: ${message}`));
          if (open.lenient === true) {
            container.registerInstance(AssetStoreOptions, { lenient: true });
          }
          const checkpointDir = globals().checkpointDir;
          if (checkpointDir !== undefined) {
            registerCheckpointModels(container, checkpointDir);
          }
          open.extras?.(container);
        },
      }),
  };
}
