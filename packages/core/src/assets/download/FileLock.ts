import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

import type { DownloadFileSystem } from './DownloadFileSystem.js';

/** Who holds a lock, as written in the lock file (JSON). */
export interface FileLockOwner {
  readonly pid: number;
  readonly hostname: string;
  /** A random token that tells two holders apart (a reused pid, a lock taken over). */
  readonly nonce: string;
  /** When the lock was taken, ms since the epoch. */
  readonly createdAt: number;
}

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  readonly fs: DownloadFileSystem;
  /** How long to wait for a live holder before giving up, in ms. Default: 3 600 000 (one hour). */
  readonly timeoutMs?: number;
  /**
   * A lock whose file has not been touched for this long is stale, whoever holds it (a process
   * on another host of a shared cache, or a frozen one), in ms. Default: 60 000. The holder
   * touches it every `staleMs / 4`.
   */
  readonly staleMs?: number;
  /** How often a waiter looks at the lock again, in ms. Default: 250. */
  readonly pollMs?: number;
  /** Called once when the lock is busy, with its holder (to print "waiting for ..."). */
  readonly onWait?: (owner: FileLockOwner | undefined) => void;
  /** Called when a stale lock is taken over, with its holder and why it is stale. */
  readonly onStale?: (owner: FileLockOwner | undefined, reason: string) => void;
  /** The clock, ms since the epoch. Default: `Date.now`. */
  readonly clock?: () => number;
  /** Whether process `pid` of this host is alive. Default: `process.kill(pid, 0)`. */
  readonly isProcessAlive?: (pid: number) => boolean;
}

/** A held lock. */
export interface FileLock {
  readonly path: string;
  readonly owner: FileLockOwner;
  /** Removes the lock file (if it is still ours) and stops touching it. Idempotent. */
  release(): Promise<void>;
}

/** The lock was busy for longer than `timeoutMs`. */
export class FileLockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly owner: FileLockOwner | undefined,
    /** The timeout that passed, in ms. */
    readonly timeoutMs: number,
  ) {
    super(`The lock ${path} is still held after ${timeoutMs} ms.`);
  }
}

/** The nonces of the locks this process holds, to tell them from a dead process's with the same pid. */
const HELD_NONCES = new Set<string>();

const DEFAULT_TIMEOUT_MS = 3_600_000;
const DEFAULT_STALE_MS = 60_000;
const DEFAULT_POLL_MS = 250;

/** `process.kill(pid, 0)`: `ESRCH` means no such process; `EPERM` means it exists (another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(bytes: Uint8Array): FileLockOwner | undefined {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<FileLockOwner>;
    if (
      typeof value.pid === 'number' &&
      typeof value.hostname === 'string' &&
      typeof value.nonce === 'string' &&
      typeof value.createdAt === 'number'
    ) {
      return value as FileLockOwner;
    }
  } catch {
    // Not ours, or not JSON: judged by its age alone.
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Takes the lock file `path`, waiting while another process holds it, and taking over a stale
 * one: held by a dead process of this host (a download killed with SIGKILL leaves its lock
 * behind), or untouched for `staleMs`.
 *
 * The lock file appears atomically with its content (written to a unique name, then hard-linked
 * to `path`, which fails when `path` exists). A stale lock is first renamed to a unique name and
 * only deleted if it is still the one judged stale, so two waiters cannot both take it over.
 *
 * Hand-written: `proper-lockfile`, the usual library, judges staleness by age only, so a killed
 * holder would block every other process until its lock aged out; and a `flock` needs a native
 * add-on.
 *
 * @throws FileLockTimeoutError when a live holder keeps the lock past `timeoutMs`.
 */
export async function acquireFileLock(path: string, options: FileLockOptions): Promise<FileLock> {
  const fs = options.fs;
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const alive = options.isProcessAlive ?? isProcessAlive;
  const host = hostname();
  const start = clock();
  let warned = false;

  await fs.mkdir(dirname(path));
  for (;;) {
    const owner: FileLockOwner = {
      pid: process.pid,
      hostname: host,
      nonce: randomBytes(8).toString('hex'),
      createdAt: clock(),
    };
    const scratch = `${path}.${owner.nonce}.tmp`;
    await fs.writeFile(scratch, JSON.stringify(owner));
    // Known as ours before the lock file exists: another taker of this process that reads it
    // during the awaits below must not judge it left behind by an earlier process with our pid.
    HELD_NONCES.add(owner.nonce);
    let taken = false;
    try {
      await fs.link(scratch, path);
      taken = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    } finally {
      if (!taken) {
        HELD_NONCES.delete(owner.nonce);
      }
      await fs.remove(scratch);
    }
    if (taken) {
      return holdLock(path, owner, fs, staleMs);
    }

    const stat = await fs.maybeStat(path, false);
    if (stat === undefined) {
      continue; // Released in the meantime.
    }
    let held: FileLockOwner | undefined;
    try {
      held = parseOwner(await fs.readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        continue;
      }
      throw error;
    }
    const age = clock() - stat.mtimeMs;
    const staleReason =
      held !== undefined && held.hostname === host && held.pid === process.pid && !HELD_NONCES.has(held.nonce)
        ? `it was left by an earlier process with the same pid ${held.pid}`
        : held !== undefined && held.hostname === host && held.pid !== process.pid && !alive(held.pid)
        ? `process ${held.pid} is not running`
        : age > staleMs
          ? `it has not been touched for ${Math.round(age / 1000)} s`
          : undefined;
    if (staleReason !== undefined) {
      if (await takeOverStale(path, held, fs)) {
        options.onStale?.(held, staleReason);
      }
      continue;
    }
    const waited = clock() - start;
    if (waited >= timeoutMs) {
      throw new FileLockTimeoutError(path, held, timeoutMs);
    }
    if (!warned) {
      warned = true;
      options.onWait?.(held);
    }
    await sleep(Math.min(pollMs, Math.max(1, timeoutMs - waited)));
  }
}

/** Moves a stale lock out of the way; puts it back if it turned out to be a fresh one. */
async function takeOverStale(path: string, judged: FileLockOwner | undefined, fs: DownloadFileSystem): Promise<boolean> {
  const aside = `${path}.${randomBytes(8).toString('hex')}.stale`;
  try {
    await fs.rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return false;
    }
    throw error;
  }
  const moved = parseOwner(await fs.readFile(aside));
  if (moved !== undefined && moved.nonce !== judged?.nonce) {
    // Another waiter took the stale lock over first and we moved its fresh one: give it back.
    try {
      await fs.link(aside, path);
    } catch {
      // A third process holds it now; the one we moved loses it, as if it were stale.
    }
    await fs.remove(aside);
    return false;
  }
  await fs.remove(aside);
  return true;
}

function holdLock(path: string, owner: FileLockOwner, fs: DownloadFileSystem, staleMs: number): FileLock {
  let released = false;
  HELD_NONCES.add(owner.nonce);
  const touch = setInterval(() => {
    const now = Date.now();
    fs.utimes(path, now, now).catch(() => undefined);
  }, Math.max(1, Math.floor(staleMs / 4)));
  touch.unref();
  return {
    path,
    owner,
    release: async () => {
      if (released) {
        return;
      }
      released = true;
      clearInterval(touch);
      try {
        const current = parseOwner(await fs.readFile(path));
        if (current?.nonce === owner.nonce) {
          await fs.remove(path);
        }
      } catch {
        // Gone already.
      } finally {
        // Only now: until the file is gone, a taker of this process must see it as held.
        HELD_NONCES.delete(owner.nonce);
      }
    },
  };
}
