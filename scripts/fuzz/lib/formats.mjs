// Writers for the formats the fuzz targets feed (safetensors, zip, protocol-2 pickles), small
// enough to rebuild an input after a structured edit. They write what the readers expect unless an
// override says otherwise (a forged size, a wrong CRC), so that an edit reaches the layer it aims at.
import { deflateRawSync } from 'node:zlib';

import { toJsonText } from './mutate.mjs';

// CRC-32 (IEEE 802.3, the zip checksum), with the usual 256-entry table: zlib.crc32 needs Node 20.15.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

const crcs = new WeakMap();

function crc32Cached(bytes) {
  let crc = crcs.get(bytes);
  if (crc === undefined) {
    crc = crc32(bytes);
    crcs.set(bytes, crc);
  }
  return crc;
}

export function crc32(bytes) {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A safetensors file: 8-byte little-endian header length, the JSON header padded with spaces to a
 * multiple of 8 (as the reference writer pads), then `data`. `headerLength` overrides the length
 * field (a forged length); `header` may be any JSON value or a ready-made string.
 */
export function buildSafetensors(header, data, { headerLength, pad = true } = {}) {
  let text = typeof header === 'string' ? header : toJsonText(header);
  if (pad) {
    text += ' '.repeat((8 - ((Buffer.byteLength(text) + 8) % 8)) % 8);
  }
  const json = Buffer.from(text, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt.asUintN(64, BigInt(headerLength ?? json.length)));
  return Buffer.concat([prefix, json, data]);
}

/** Deflated bodies by body: most edits leave most entries as they are. */
const deflated = new WeakMap();

function deflate(body) {
  let out = deflated.get(body);
  if (out === undefined) {
    out = deflateRawSync(body);
    deflated.set(body, out);
  }
  return out;
}

/**
 * A zip archive of `entries` ({name, body, method?, overrides?}): method 0 stores, 8 deflates,
 * anything else stores the body under that method number. `overrides` forges the fields of the
 * local header (`lh*`) or the central directory (`cd*`): sizes, CRC, method. `entryCount` forges
 * the end-of-central-directory record's count.
 */
export function buildZip(entries, { entryCount } = {}) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const entry of entries) {
    const o = entry.overrides ?? {};
    const name = Buffer.from(entry.name, 'utf8');
    const body = entry.body;
    const method = entry.method ?? 0;
    const stored = method === 8 ? deflate(body) : Buffer.from(body);
    const crc = o.crc ?? crc32Cached(body);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE((o.lhMethod ?? method) & 0xffff, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE((o.lhCompressed ?? stored.length) >>> 0, 18);
    local.writeUInt32LE((o.lhUncompressed ?? body.length) >>> 0, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, stored);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE((o.cdMethod ?? method) & 0xffff, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE((o.cdCompressed ?? stored.length) >>> 0, 20);
    central.writeUInt32LE((o.cdUncompressed ?? body.length) >>> 0, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE((o.cdOffset ?? offset) >>> 0, 42);
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = (entryCount ?? entries.length) & 0xffff;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A protocol-2 pickle assembler: each method appends one opcode as CPython writes it. */
export class PickleWriter {
  parts = [];

  raw(...bytes) {
    for (const b of bytes) {
      this.parts.push(b & 0xff);
    }
    return this;
  }

  bytes(buffer) {
    for (const b of buffer) {
      this.parts.push(b);
    }
    return this;
  }

  proto(version = 2) {
    return this.raw(0x80, version);
  }

  mark() {
    return this.raw(0x28);
  }

  stop() {
    return this.raw(0x2e);
  }

  emptyDict() {
    return this.raw(0x7d);
  }

  emptyTuple() {
    return this.raw(0x29);
  }

  tuple() {
    return this.raw(0x74);
  }

  reduce() {
    return this.raw(0x52);
  }

  setitems() {
    return this.raw(0x75);
  }

  binpersid() {
    return this.raw(0x51);
  }

  binput(index) {
    return this.raw(0x71, index);
  }

  bool(value) {
    return this.raw(value ? 0x88 : 0x89);
  }

  /** BININT1, BININT2 or BININT, as CPython picks. */
  int(value) {
    if (value >= 0 && value < 256) {
      return this.raw(0x4b, value);
    }
    if (value >= 0 && value < 65_536) {
      return this.raw(0x4d, value & 0xff, value >> 8);
    }
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    return this.raw(0x4a).bytes(b);
  }

  /** BINUNICODE. */
  str(text) {
    const utf8 = Buffer.from(text, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(utf8.length);
    return this.raw(0x58).bytes(n).bytes(utf8);
  }

  /** GLOBAL `module\nname\n`. */
  global(module, name) {
    return this.raw(0x63).bytes(Buffer.from(`${module}\n${name}\n`, 'utf8'));
  }

  toBuffer() {
    return Buffer.from(this.parts);
  }
}

/** torch's storage class of each storage dtype. */
export const TORCH_STORAGE_CLASS = {
  F32: 'FloatStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
  F64: 'DoubleStorage',
  I64: 'LongStorage',
  I32: 'IntStorage',
  I16: 'ShortStorage',
  I8: 'CharStorage',
  U8: 'ByteStorage',
  BOOL: 'BoolStorage',
};

/** Row-major strides of `shape`. */
export function contiguousStrides(shape) {
  const stride = new Array(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = step;
    step *= shape[d];
  }
  return stride;
}

/**
 * The `data.pkl` of a torch state dict as `torch.save` writes it (protocol 2): a dict of
 * `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`, one storage
 * per tensor, persistent ids `('storage', torch.<Type>Storage, key, 'cpu', numel)`.
 */
export function buildTorchPickle(tensors) {
  const p = new PickleWriter().proto(2).emptyDict().binput(0).mark();
  tensors.forEach((tensor, i) => {
    p.str(tensor.key);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.mark();
    p.mark().str('storage').global('torch', TORCH_STORAGE_CLASS[tensor.dtype]).str(String(i)).str('cpu').int(tensor.numel).tuple().binpersid();
    p.int(0);
    p.mark();
    tensor.shape.forEach((d) => p.int(d));
    p.tuple();
    p.mark();
    contiguousStrides(tensor.shape).forEach((d) => p.int(d));
    p.tuple();
    p.bool(false);
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
  });
  return p.setitems().stop().toBuffer();
}
