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

