import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

import { Header } from 'tar';

/** An entry of a test archive. Names are written as given, so that hostile archives can be built. */
export interface ArchiveEntry {
  readonly path: string;
  /** Default: `file`. */
  readonly type?: 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo';
  /** File content. */
  readonly body?: string | Uint8Array;
  /** Link target, for `symlink` and `hardlink`. */
  readonly linkpath?: string;
  /** Zip only: the uncompressed size written in the headers, to build an archive that lies. */
  readonly declaredSize?: number;
  /** Zip only: the compressed size written in the headers (default: the bytes written), to build an archive that lies. */
  readonly declaredCompressedSize?: number;
  /** Zip only: 0 = STORED (default), 8 = DEFLATE, anything else is written as is (a malformed archive). */
  readonly method?: number;
}

const TAR_TYPES = {
  file: 'File',
  directory: 'Directory',
  symlink: 'SymbolicLink',
  hardlink: 'Link',
  fifo: 'FIFO',
} as const;

function bytesOf(body: string | Uint8Array | undefined): Buffer {
  return body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
}

/** A POSIX tar archive of `entries` (headers encoded by the `tar` package, which does not judge names). */
export function buildTar(entries: readonly ArchiveEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const body = type === 'file' ? bytesOf(entry.body) : Buffer.alloc(0);
    const header = new Header({
      path: entry.path,
      mode: type === 'directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      size: body.byteLength,
      mtime: new Date('2025-01-01T00:00:00Z'),
      type: TAR_TYPES[type],
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.byteLength % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** {@link buildTar}, gzipped. */
export function buildTarGz(entries: readonly ArchiveEntry[]): Buffer {
  return gzipSync(buildTar(entries));
}

/**
 * A zip archive of `entries`, stored (or deflated, per entry), made on "Unix" (so that symbolic links
 * are marked in the external attributes, as Info-ZIP does). Hand-written (APPNOTE.TXT 4.3) so
 * that names are not sanitized and `declaredSize` can lie.
 */
export function buildZip(entries: readonly ArchiveEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const name = Buffer.from(type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path);
    const body = type === 'symlink' ? Buffer.from(entry.linkpath ?? '') : bytesOf(entry.body);
    const crc = crc32(body);
    const method = entry.method ?? 0;
    const stored = method === 8 ? deflateRawSync(body) : body;
    const mode = type === 'symlink' ? 0o120777 : type === 'directory' ? 0o040755 : type === 'fifo' ? 0o010644 : 0o100644;
    const size = entry.declaredSize ?? body.byteLength;
    const compressedSize = entry.declaredCompressedSize ?? stored.byteLength;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressedSize, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.byteLength, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, stored);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressedSize, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.byteLength, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.byteLength + name.byteLength + stored.byteLength;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.byteLength, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
