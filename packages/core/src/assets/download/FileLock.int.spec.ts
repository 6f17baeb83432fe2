import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { makeTempDir, type TempDir } from '../../../../../test/support/index.js';
import { AssetUri } from '../AssetUri.js';
import { acquireDownloadLock } from './downloadLock.js';
import { StandardDownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import { acquireFileLock, FileLockTimeoutError, type FileLockOwner } from './FileLock.js';

const fs = new StandardDownloadFileSystem();

function writeLock(path: string, owner: Partial<FileLockOwner>, ageMs = 0): void {
  writeFileSync(path, JSON.stringify({ pid: 1, hostname: hostname(), nonce: 'n0', createdAt: 0, ...owner }));
  const time = (Date.now() - ageMs) / 1000;
  utimesSync(path, time, time);
}

describe(acquireFileLock, () => {
  let dir: TempDir;

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    dir.cleanup();
  });

  it('creates the lock file with its owner, and removes it on release', async () => {
    const path = join(dir.path, 'locks', 'a.lock');

    const lock = await acquireFileLock(path, { fs });

    const owner = JSON.parse(readFileSync(path, 'utf8')) as FileLockOwner;
    expect(owner).toEqual({ pid: process.pid, hostname: hostname(), nonce: lock.owner.nonce, createdAt: lock.owner.createdAt });
    await lock.release();
    await lock.release();
    expect(readdirSync(join(dir.path, 'locks'))).toEqual([]);
  });

  it('waits for a live holder, then takes the lock it releases', async () => {
    const path = join(dir.path, 'b.lock');
    const first = await acquireFileLock(path, { fs });
    const waits: (FileLockOwner | undefined)[] = [];

    const second = acquireFileLock(path, { fs, pollMs: 10, onWait: (owner) => waits.push(owner) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first.release();
    const lock = await second;

    expect(waits).toEqual([first.owner]);
    expect(lock.owner.nonce).not.toBe(first.owner.nonce);
    await lock.release();
  });

  it('gives up after the timeout, naming the holder', async () => {
    const path = join(dir.path, 'c.lock');
    writeLock(path, { pid: process.ppid, hostname: 'other-host', nonce: 'x' });

    const error = (await acquireFileLock(path, { fs, timeoutMs: 30, pollMs: 5 }).catch((e: unknown) => e)) as FileLockTimeoutError;

    expect(error).toBeInstanceOf(FileLockTimeoutError);
    expect(error.owner).toEqual({ pid: process.ppid, hostname: 'other-host', nonce: 'x', createdAt: 0 });
    expect(existsSync(path)).toBe(true);
  });

  it('takes over the lock of a dead process of this host at once', async () => {
    const path = join(dir.path, 'd.lock');
    writeLock(path, { pid: 2 ** 22 + 12345, nonce: 'dead' });
    const stale: string[] = [];

    const lock = await acquireFileLock(path, {
      fs,
      timeoutMs: 0,
      isProcessAlive: (pid) => pid !== 2 ** 22 + 12345,
      onStale: (owner, reason) => stale.push(`${owner?.nonce}: ${reason}`),
    });

    expect(stale).toEqual([`dead: process ${2 ** 22 + 12345} is not running`]);
    await lock.release();
  });

  it('takes over a lock left by an earlier process with our pid (a container restart)', async () => {
    const path = join(dir.path, 'e.lock');
    writeLock(path, { pid: process.pid, nonce: 'before-restart' });
    const stale: string[] = [];

    const lock = await acquireFileLock(path, { fs, timeoutMs: 0, onStale: (_, reason) => stale.push(reason) });

    expect(stale).toEqual([`it was left by an earlier process with the same pid ${process.pid}`]);
    await lock.release();
  });

  it('takes over a lock of another host that was not touched for staleMs', async () => {
    const path = join(dir.path, 'f.lock');
    writeLock(path, { hostname: 'other-host', nonce: 'remote' }, 120_000);
    const stale: string[] = [];

    const lock = await acquireFileLock(path, { fs, timeoutMs: 0, staleMs: 60_000, onStale: (_, reason) => stale.push(reason) });

    expect(stale).toEqual(['it has not been touched for 120 s']);
    await lock.release();
  });

  it('takes over an unreadable lock file only once it is old', async () => {
    const path = join(dir.path, 'g.lock');
    writeFileSync(path, 'garbage');

    await expect(acquireFileLock(path, { fs, timeoutMs: 0 })).rejects.toBeInstanceOf(FileLockTimeoutError);
    utimesSync(path, 0, 0);
    const lock = await acquireFileLock(path, { fs, timeoutMs: 0 });
    await lock.release();
  });

  it('hands out the lock to one of many concurrent takers at a time', async () => {
    const path = join(dir.path, 'h.lock');
    let inside = 0;
    let most = 0;

    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await acquireFileLock(path, { fs, pollMs: 2 });
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 3));
        inside -= 1;
        await lock.release();
      }),
    );

    expect(most).toBe(1);
  });
});

describe(acquireDownloadLock, () => {
  let dir: TempDir;

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    dir.cleanup();
  });

  it('says who holds the lock and which file to delete when it times out', async () => {
    const path = join(dir.path, 'x.lock');
    writeLock(path, { pid: 4242, hostname: 'gpu-7', nonce: 'x' });
    const messages: string[] = [];
    const uri = AssetUri.parse('https://user:secret@example.com/m.tar');

    const error = (await acquireDownloadLock(
      uri,
      path,
      fs,
      { enabled: true, startTask: () => ({ advance() {}, update() {}, finish() {}, abort() {} }), message: (m) => messages.push(m) },
      'FAIRSEQ2_CACHE_DIR',
      { timeoutMs: 20, pollMs: 5 },
    ).catch((e: unknown) => e)) as AssetDownloadError;

    expect(error).toBeInstanceOf(AssetDownloadError);
    expect(error.code).toBe('lock_timeout');
    expect(error.message).toBe(
      `Download of https://user:***@example.com/m.tar failed. Process 4242 on gpu-7 has held the download lock ${path} for longer than the lock timeout of 20 ms. If no other process is downloading it, delete ${path}.`,
    );
    expect(messages).toEqual([
      `Waiting for process 4242 on gpu-7, which is downloading https://user:***@example.com/m.tar (lock file ${path}).`,
    ]);
  });
});
