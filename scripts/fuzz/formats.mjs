// Small writers and readers for building fuzz inputs: safetensors files from tensor lists, and
// stored zip archives (torch checkpoints) from entry lists. They write hostile values as given
// (offsets that overlap, sizes that lie), which the library's own writers refuse to do.
import { crc32, inflateRawSync } from 'node:zlib';

/**
 * A safetensors file: 8-byte little-endian header length, the JSON header (padded with spaces to
 * 8 bytes, as the reference writer does), the data.
 *
 * @param header The header object, written as is (`data_offsets` included).
 * @param data The data section.
 * @param headerLength The length to write in the prefix; default: the real one.
 */
export function buildSafetensors(header, data, headerLength) {
  let json = Buffer.from(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  return Buffer.concat([prefix, json, data]);
}

/** Bytes per element of the safetensors dtypes fs2 reads. */
export const SAFETENSORS_DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** `[{ name, dtype, shape }]` -> a well-formed header and data section (data: a byte ramp). */
export function layoutSafetensors(tensors, metadata) {
  const header = {};
  if (metadata !== undefined) {
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const { name, dtype, shape } of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const data = Buffer.alloc(offset);
  for (let i = 0; i < offset; i += 1) {
    data[i] = (i * 37) & 0x3f; // small bytes: finite floats in every floating dtype
  }
  return { header, data };
}

/** The header object of a safetensors file, or `undefined` when it does not parse. */
export function readSafetensorsHeader(bytes) {
  if (bytes.length < 8) return undefined;
  const length = Number(bytes.readBigUInt64LE(0));
  if (length > bytes.length - 8) return undefined;
  try {
    return { header: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')), data: bytes.subarray(8 + length) };
  } catch {
    return undefined;
  }
}

/** A zip archive of STORED entries `[{ name, data }]` (what `torch.save` writes). */
export function buildStoredZip(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The entries `[{ name, data }]` of a well-formed zip (STORED or DEFLATE), for building corpora. */
export function readZipEntries(bytes) {
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive');
  const count = bytes.readUInt16LE(eocd + 10);
  let at = bytes.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i += 1) {
    const method = bytes.readUInt16LE(at + 10);
    const compressed = bytes.readUInt32LE(at + 20);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    const local = bytes.readUInt32LE(at + 42);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const raw = bytes.subarray(start, start + compressed);
    entries.push({ name, data: method === 8 ? inflateRawSync(raw) : Buffer.from(raw) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Where a zip's structure lives: the first local header and the central directory to the end. */
export function zipHotRegions(bytes) {
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const directory = eocd >= 0 && eocd + 20 <= bytes.length ? bytes.readUInt32LE(eocd + 16) : Math.max(0, bytes.length - 1024);
  return [
    [0, 64],
    [Math.min(directory, bytes.length), bytes.length],
  ];
}
