import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Environment variables that keep an fs2 world inside `root`: home, XDG folders, the system and
 * user card folders (`root/system`, `root/user`, created empty), caches, and no progress bars, so
 * that a developer's own `~/.config/fairseq2` or Hugging Face cache is never read. Pass it as
 * `createFairseq2({ env })` or `runCli(argv, { env })`; `extra` adds or overrides variables.
 */
export function isolatedEnv(root: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  for (const folder of ['home', 'system', 'user', 'cache', 'config']) {
    mkdirSync(join(root, folder), { recursive: true });
  }
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_CACHE_HOME: join(root, 'cache'),
    FAIRSEQ2_ASSET_DIR: join(root, 'system'),
    FAIRSEQ2_USER_ASSET_DIR: join(root, 'user'),
    FAIRSEQ2_CACHE_DIR: join(root, 'cache', 'fairseq2'),
    HF_HOME: join(root, 'cache', 'huggingface'),
    FAIRSEQ2_NO_PROGRESS: '1',
    HF_HUB_OFFLINE: '1',
    ...extra,
  };
}
