import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A fresh temporary folder; `cleanup()` removes it. */
export interface TempDir {
  readonly path: string;
  /** Writes `content` at `relative` (creating folders) and returns the absolute path. */
  write(relative: string, content: string | Uint8Array): string;
  /** Creates the folder `relative` and returns its absolute path. */
  mkdir(relative: string): string;
  cleanup(): void;
}

export function makeTempDir(prefix = 'fs2-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    write(relative, content) {
      const file = join(path, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      return file;
    },
    mkdir(relative) {
      const dir = join(path, relative);
      mkdirSync(dir, { recursive: true });
      return dir;
    },
    cleanup() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/**
 * Environment variables that keep an fs2 container inside `dir`: home, XDG folders, the system and
 * user card folders, the download and Hugging Face caches, no progress bars. A developer's own
 * `~/.config/fairseq2` or `/etc/fairseq2` is never read by a test that uses it. `extra` adds or
 * overrides variables.
 */
export function isolatedEnv(dir: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const folders = {
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    FAIRSEQ2_ASSET_DIR: join(dir, 'etc', 'fairseq2', 'assets'),
    FAIRSEQ2_USER_ASSET_DIR: join(dir, 'home', '.config', 'fairseq2', 'assets'),
    FAIRSEQ2_CACHE_DIR: join(dir, 'home', '.cache', 'fairseq2', 'assets'),
    HF_HOME: join(dir, 'home', '.cache', 'huggingface'),
  };
  for (const folder of Object.values(folders)) {
    mkdirSync(folder, { recursive: true });
  }
  return { PATH: process.env['PATH'] ?? '', ...folders, FAIRSEQ2_NO_PROGRESS: '1', ...extra };
}
