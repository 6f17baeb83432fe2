import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { FailingWrites, buildTar, buildTarGz, buildZip, makeTempDir, sha256Hex, type ArchiveEntry, type TempDir } from '../../../../../test/support/index.js';
import { AssetUri } from '../AssetUri.js';
import { StandardDownloadFileSystem } from './DownloadFileSystem.js';
import { AssetDownloadError } from './errors.js';
import {
  MIN_EXTRACTED_BYTES_LIMIT,
  detectArchiveFormat,
  extractArchive,
  safeEntryPath,
  type ArchiveFormat,
  type ArchiveLimits,
} from './extractArchive.js';

const uri = AssetUri.parse('https://example.com/asset.tar');

describe(extractArchive, () => {
  let dir: TempDir;

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    dir.cleanup();
  });

  async function extract(
    format: ArchiveFormat,
    entries: readonly ArchiveEntry[],
    options: { limits?: ArchiveLimits; fs?: StandardDownloadFileSystem } = {},
  ): Promise<{ destination: string; archive: string; result: Promise<{ path: string; size: number; sha256: string }[]> }> {
    const content = format === 'zip' ? buildZip(entries) : format === 'tar' ? buildTar(entries) : buildTarGz(entries);
    const archive = dir.write(`archive.${format}`, content);
    const destination = dir.mkdir('out');
    const result = extractArchive({
      uri,
      archive,
      format,
      destination,
      fs: options.fs ?? new StandardDownloadFileSystem(),
      cacheVariable: 'FAIRSEQ2_CACHE_DIR',
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
    return { destination, archive, result };
  }

  const tree: ArchiveEntry[] = [
    { path: 'model/', type: 'directory' },
    { path: 'model/params.json', body: '{"dim": 64}' },
    { path: './model/consolidated.00.pth', body: 'weights' },
    { path: 'model/latest', type: 'symlink', linkpath: 'consolidated.00.pth' },
    { path: 'model/copy.pth', type: 'hardlink', linkpath: 'model/consolidated.00.pth' },
  ];

  it.each<ArchiveFormat>(['tar', 'tar.gz'])('extracts a %s archive with links inside the folder', async (format) => {
    const { destination, result } = await extract(format, tree);

    const files = await result;

    expect(files.map((f) => f.path).sort()).toEqual(['model/consolidated.00.pth', 'model/copy.pth', 'model/params.json']);
    expect(files.find((f) => f.path === 'model/params.json')).toEqual({
      path: 'model/params.json',
      size: 11,
      sha256: sha256Hex('{"dim": 64}'),
    });
    expect(readdirSync(join(destination, 'model')).sort()).toEqual(['consolidated.00.pth', 'copy.pth', 'latest', 'params.json']);
    expect(readlinkSync(join(destination, 'model/latest'))).toBe('consolidated.00.pth');
    expect(readFileSync(join(destination, 'model/latest'), 'utf8')).toBe('weights');
    expect(lstatSync(join(destination, 'model/copy.pth')).isFile()).toBe(true);
  });

  it('extracts a zip archive, symbolic links included', async () => {
    const { destination, result } = await extract('zip', [
      { path: 'tok/', type: 'directory' },
      { path: 'tok/tokenizer.json', body: '{}' },
      { path: 'tok/link.json', type: 'symlink', linkpath: 'tokenizer.json' },
    ]);

    expect((await result).map((f) => f.path)).toEqual(['tok/tokenizer.json']);
    expect(readlinkSync(join(destination, 'tok/link.json'))).toBe('tokenizer.json');
  });

  const hostile: [string, ArchiveFormat, ArchiveEntry[], string][] = [
    ['a `..` name', 'tar', [{ path: '../evil.txt', body: 'x' }], 'The archive archive.tar has an entry `../evil.txt` that has a `..` component, which would leave the extraction folder; nothing was extracted.'],
    ['a `..` name in a zip', 'zip', [{ path: 'a/../../evil.txt', body: 'x' }], 'The archive archive.zip has an entry `a/../../evil.txt` that has a `..` component, which would leave the extraction folder; nothing was extracted.'],
    ['an absolute name', 'zip', [{ path: '/etc/evil', body: 'x' }], 'The archive archive.zip has an entry `/etc/evil` that is an absolute path, which would leave the extraction folder; nothing was extracted.'],
    ['a drive letter', 'tar', [{ path: 'C:\\evil', body: 'x' }], 'The archive archive.tar has an entry `C:\\evil` that is an absolute path, which would leave the extraction folder; nothing was extracted.'],
    ['an absolute symbolic link', 'tar', [{ path: 'etc', type: 'symlink', linkpath: '/etc' }], 'The archive archive.tar has an entry `etc` that links to `/etc`, outside the extraction folder; nothing was extracted.'],
    ['a symbolic link that climbs out', 'tar.gz', [{ path: 'a/up', type: 'symlink', linkpath: '../../outside' }], 'The archive archive.tar.gz has an entry `a/up` that links to `../../outside`, outside the extraction folder; nothing was extracted.'],
    ['a zip symbolic link that climbs out', 'zip', [{ path: 'up', type: 'symlink', linkpath: '../outside' }], 'The archive archive.zip has an entry `up` that links to `../outside`, outside the extraction folder; nothing was extracted.'],
    [
      'a file written through a symbolic link',
      'tar',
      [
        { path: 'sub', type: 'directory' },
        { path: 'here', type: 'symlink', linkpath: 'sub' },
        { path: 'here/file.txt', body: 'x' },
      ],
      'The archive archive.tar has an entry `here/file.txt` that is written through the link `here`; nothing was extracted.',
    ],
    [
      'a link that climbs out through another link',
      'tar',
      [
        { path: 'root', type: 'symlink', linkpath: '.' },
        { path: 'escape', type: 'symlink', linkpath: 'root/..' },
      ],
      'The archive archive.tar has an entry `escape` that links to `root/..` through another link of the archive; nothing was extracted.',
    ],
    ['a hard link to a file outside', 'tar', [{ path: 'passwd', type: 'hardlink', linkpath: '../../etc/passwd' }], 'The archive archive.tar has an entry `passwd` that links to `../../etc/passwd`, outside the extraction folder; nothing was extracted.'],
    ['an absolute name in a tar', 'tar', [{ path: '/tmp/fs2-zip-slip-evil', body: 'x' }], 'The archive archive.tar has an entry `/tmp/fs2-zip-slip-evil` that is an absolute path, which would leave the extraction folder; nothing was extracted.'],
    ['a `..` name after harmless files in a tar.gz', 'tar.gz', [{ path: 'ok.txt', body: 'fine' }, { path: 'sub/../../evil.txt', body: 'x' }], 'The archive archive.tar.gz has an entry `sub/../../evil.txt` that has a `..` component, which would leave the extraction folder; nothing was extracted.'],
    ['a zip absolute symbolic link', 'zip', [{ path: 'etc', type: 'symlink', linkpath: '/etc' }], 'The archive archive.zip has an entry `etc` that links to `/etc`, outside the extraction folder; nothing was extracted.'],
    [
      'a zip file written through a symbolic link',
      'zip',
      [
        { path: 'here', type: 'symlink', linkpath: '.' },
        { path: 'here/file.txt', body: 'x' },
      ],
      'The archive archive.zip has an entry `here/file.txt` that is written through the link `here`; nothing was extracted.',
    ],
    ['a hard link to an absolute path', 'tar', [{ path: 'shadow', type: 'hardlink', linkpath: '/etc/shadow' }], 'The archive archive.tar has an entry `shadow` that links to `/etc/shadow`, outside the extraction folder; nothing was extracted.'],
    [
      'a hard link to a symbolic link of the archive',
      'tar',
      [
        { path: 'up', type: 'symlink', linkpath: 'a' },
        { path: 'copy', type: 'hardlink', linkpath: 'up' },
      ],
      'The archive archive.tar has an entry `copy` that links to `up`, which is not a file extracted before it; nothing was extracted.',
    ],
    ['a FIFO', 'tar', [{ path: 'pipe', type: 'fifo' }], 'The archive archive.tar has an entry `pipe` that is a FIFO entry, which is not extracted; nothing was extracted.'],
    ['a zip FIFO', 'zip', [{ path: 'pipe', type: 'fifo' }], 'The archive archive.zip has an entry `pipe` that is a special file (mode 10000), which is not extracted; nothing was extracted.'],
  ];

  it.each(hostile)('refuses %s', async (_what, format, entries, message) => {
    const { destination, archive, result } = await extract(format, entries);

    const error = await result.then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(AssetDownloadError);
    expect((error as AssetDownloadError).message).toBe(`Download of https://example.com/asset.tar failed. ${message}`);
    expect((error as AssetDownloadError).code).toBe('unsafe_archive');
    expect((error as AssetDownloadError).path).toBe(archive);
    // Nothing beside the extraction folder (its parent holds only the archive), nor where any name or link points.
    expect(readdirSync(dir.path).sort()).toEqual([`archive.${format}`, 'out']);
    expect(readdirSync(join(destination))).not.toContain('evil.txt');
    for (const entry of entries) {
      // Where the entry would land, and where a relative link would point (an absolute one names a system file).
      const targets = [resolve(destination, entry.path)];
      if (entry.linkpath !== undefined && !entry.linkpath.startsWith('/')) {
        targets.push(resolve(destination, entry.type === 'symlink' ? dirname(entry.path) : '.', entry.linkpath));
      }
      for (const target of targets.filter((t) => t !== destination && !t.startsWith(`${destination}/`))) {
        expect([target, existsSync(target)]).toEqual([target, false]);
      }
    }
  });

  it('stops an archive that expands past the size limit (a zip bomb)', async () => {
    const zeros = new Uint8Array(64 * 1024);
    const { result } = await extract(
      'tar.gz',
      [
        { path: 'a.bin', body: zeros },
        { path: 'b.bin', body: zeros },
      ],
      { limits: { maxExtractedBytes: 100_000 } },
    );

    await expect(result).rejects.toThrow(
      new AssetDownloadError(
        uri,
        'The archive archive.tar.gz expands to more than 100000 bytes, the extraction limit (a zip bomb?); nothing was extracted.',
        { code: 'archive_too_large' },
      ),
    );
  });

  it('refuses a zip entry larger than it declares (yauzl checks sizes; fs2 counts the bytes written)', async () => {
    const { archive, result } = await extract('zip', [{ path: 'liar.bin', body: new Uint8Array(5000), declaredSize: 10 }], {
      limits: { maxExtractedBytes: 4000 },
    });

    await expect(result).rejects.toThrow(
      `Download of https://example.com/asset.tar failed. ${archive} cannot be extracted (compressed/uncompressed size mismatch for stored file: 5000 != 10).`,
    );
  });

  it('derives the default limit from the archive size and the ratio', async () => {
    const { result } = await extract('tar.gz', [{ path: 'zeros.bin', body: new Uint8Array(2 * 1024 * 1024) }], {
      limits: { maxRatio: 2 },
    });

    // 2 MiB of zeros gzip to a few KiB, but the 1 GiB floor keeps a small archive extractable.
    await expect(result).resolves.toHaveLength(1);
  });

  it(`holds a small archive to MIN_EXTRACTED_BYTES_LIMIT (${MIN_EXTRACTED_BYTES_LIMIT} bytes): an entry announcing one byte more is refused unread`, async () => {
    const { destination, result } = await extract('zip', [{ path: 'bomb.bin', body: new Uint8Array(1000), method: 8, declaredSize: MIN_EXTRACTED_BYTES_LIMIT + 1 }]);

    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssetDownloadError);
    expect((error as Error).message).toBe(
      `Download of https://example.com/asset.tar failed. The archive archive.zip expands to more than ${MIN_EXTRACTED_BYTES_LIMIT} bytes, the extraction limit (a zip bomb?); nothing was extracted.`,
    );
    expect(readdirSync(destination)).toEqual([]);
  });

  it('lets an entry announcing exactly MIN_EXTRACTED_BYTES_LIMIT bytes through the limit (then yauzl finds it short)', async () => {
    const { archive, result } = await extract('zip', [{ path: 'liar.bin', body: new Uint8Array(1000), method: 8, declaredSize: MIN_EXTRACTED_BYTES_LIMIT }]);

    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssetDownloadError);
    expect((error as Error).message).toBe(
      `Download of https://example.com/asset.tar failed. ${archive} cannot be extracted (not enough bytes in the stream. expected ${MIN_EXTRACTED_BYTES_LIMIT}. got only 1000).`,
    );
  });

  it('holds an archive over 10 MiB to 100 times its size (the default ratio, above the floor)', async () => {
    const { archive, result } = await extract('zip', [
      { path: 'bomb.bin', body: new Uint8Array(1000), method: 8, declaredSize: 4_000_000_000 },
      { path: 'padding.bin', body: new Uint8Array(11 * 1024 * 1024) },
    ]);
    const limit = statSync(archive).size * 100;
    expect(limit).toBeGreaterThan(MIN_EXTRACTED_BYTES_LIMIT);

    const error = await result.catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `Download of https://example.com/asset.tar failed. The archive archive.zip expands to more than ${limit} bytes, the extraction limit (a zip bomb?); nothing was extracted.`,
    );
  });

  it('limits the number of entries', async () => {
    const { result } = await extract(
      'tar',
      [
        { path: 'a', body: '1' },
        { path: 'b', body: '2' },
        { path: 'c', body: '3' },
      ],
      { limits: { maxEntries: 2 } },
    );

    await expect(result).rejects.toThrow(
      'Download of https://example.com/asset.tar failed. The archive archive.tar has more than 2 entries, the extraction limit; nothing was extracted.',
    );
  });

  it('reports a damaged archive with the file', async () => {
    const archive = dir.write('broken.zip', 'this is not a zip file at all');
    const destination = dir.mkdir('out');

    const error = (await extractArchive({
      uri,
      archive,
      format: 'zip',
      destination,
      fs: new StandardDownloadFileSystem(),
      cacheVariable: 'FAIRSEQ2_CACHE_DIR',
    }).catch((e: unknown) => e)) as AssetDownloadError;

    expect(error.code).toBe('archive_invalid');
    expect(error.message).toBe(
      `Download of https://example.com/asset.tar failed. ${archive} cannot be extracted (End of central directory record signature not found. Either not a zip file, or file is truncated.).`,
    );
  });

  it('reports a full disk while extracting', async () => {
    const { destination, result } = await extract('tar', [{ path: 'big.bin', body: new Uint8Array(10_000) }], {
      fs: new FailingWrites('ENOSPC', 4096),
    });

    await expect(result).rejects.toThrow(
      `Download of https://example.com/asset.tar failed. The disk is full (ENOSPC) while extracting into ${join(destination, 'big.bin')}. Free some space, or set FAIRSEQ2_CACHE_DIR to a folder on a larger disk.`,
    );
  });

  it('reports a refused write while extracting', async () => {
    const { destination, result } = await extract('zip', [{ path: 'x/y.txt', body: 'y' }], { fs: new FailingWrites('EACCES', 0) });

    const error = (await result.catch((e: unknown) => e)) as AssetDownloadError;
    expect(error.code).toBe('permission_denied');
    expect(error.message).toBe(
      `Download of https://example.com/asset.tar failed. Permission denied (EACCES) while extracting into ${join(destination, 'x/y.txt')}. Make the folder writable, or set FAIRSEQ2_CACHE_DIR to a writable folder.`,
    );
  });
});

describe(detectArchiveFormat, () => {
  it('reads the format from the name only', () => {
    expect(detectArchiveFormat('mistral-7B-v0.1.tar')).toBe('tar');
    expect(detectArchiveFormat('data.TAR.GZ')).toBe('tar.gz');
    expect(detectArchiveFormat('data.tgz')).toBe('tar.gz');
    expect(detectArchiveFormat('tok.zip')).toBe('zip');
    expect(detectArchiveFormat('model.safetensors')).toBeUndefined();
    expect(detectArchiveFormat('notes.gz')).toBeUndefined();
  });
});

describe(safeEntryPath, () => {
  it('normalizes harmless names and refuses escaping ones', () => {
    expect(safeEntryPath('./a//b/./c')).toEqual({ path: 'a/b/c' });
    expect(safeEntryPath('a\\b')).toEqual({ path: 'a/b' });
    expect(safeEntryPath('./')).toEqual({ path: undefined });
    expect(safeEntryPath('a/..b')).toEqual({ path: 'a/..b' });
    expect(safeEntryPath('a/../b')).toEqual({ refused: 'has a `..` component' });
    expect(safeEntryPath('..\\b')).toEqual({ refused: 'has a `..` component' });
    expect(safeEntryPath('/abs')).toEqual({ refused: 'is an absolute path' });
    expect(safeEntryPath('d:/x')).toEqual({ refused: 'is an absolute path' });
    expect(safeEntryPath('a\0b')).toEqual({ refused: 'contains a NUL character' });
  });
});
