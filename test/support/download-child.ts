/**
 * A child process for download tests (run through {@link bundleForNode}): downloads one asset
 * with the manager named by its JSON argument and prints the path on stdout, progress lines and
 * messages on stderr. Tests kill it mid-way (SIGKILL) or race it against their own download.
 */
import {
  AssetUri,
  HuggingFaceHubDownloadManager,
  StandardAssetDownloadManager,
  StandardProgressReporter,
} from '../../packages/core/src/assets/index.js';
import { SlowWrites } from './faultyFileSystems.js';

/** The argument of the child, as JSON. */
export interface DownloadChildArgs {
  readonly manager: 'http' | 'hg';
  readonly cacheDir: string;
  readonly uri: string;
  readonly endpoint?: string;
  readonly token?: string;
  /** Pause this long before each write to a file whose path contains {@link slowWritesUnder} (a slow disk, to be killed mid-extraction). */
  readonly slowWritesMs?: number;
  readonly slowWritesUnder?: string;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as DownloadChildArgs;
  const progress = new StandardProgressReporter({ stream: process.stderr, tty: false, lineIntervalMs: 100 });
  const uri = AssetUri.parse(args.uri);
  const path =
    args.manager === 'http'
      ? await new StandardAssetDownloadManager({
          cacheDir: args.cacheDir,
          progress,
          ...(args.slowWritesUnder === undefined ? {} : { fileSystem: new SlowWrites(args.slowWritesUnder, args.slowWritesMs ?? 0) }),
        }).downloadModel(uri)
      : await new HuggingFaceHubDownloadManager({
          cacheDir: args.cacheDir,
          progress,
          ...(args.endpoint === undefined ? {} : { endpoint: args.endpoint }),
          ...(args.token === undefined ? {} : { token: args.token }),
        }).downloadModel(uri);
  process.stdout.write(`${path}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
