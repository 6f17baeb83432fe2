/**
 * @fs2/cli: the `fs2` command line. `runCli` runs it in-process (the binary and the tests use it).
 */
export { runCli } from './main.js';
export type { CliOptions, CliOutput, CommandContext, OpenFairseq2Options } from './context.js';
