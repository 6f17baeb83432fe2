// Byte-wise mutation of seed corpora, as fast-check arbitraries (so that a failure shrinks to a
// short list of edits on one corpus file and replays from the seed).
//
// The edits are the classic ones of coverage-less mutational fuzzers (AFL's "havoc" stage): bit
// flips, "interesting" byte and 64-bit values, deleting, inserting, duplicating and truncating
// ranges, and splicing two corpus files. Positions land in the file's "hot" regions (its header,
// a zip's central directory) three times out of four, since most bytes of a checkpoint are tensor
// data that no parser interprets.
import fc from 'fast-check';

/** AFL's interesting 8-bit values, plus JSON's structural characters. */
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x5c, 0x7b, 0x7d, 0x2d, 0x30, 0x39, 0x65];

/** Little-endian 64-bit values that stress size and offset arithmetic. */
const INTERESTING_U64 = [0n, 1n, 0x7fn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];

const EDIT = fc.record({
  kind: fc.integer({ min: 0, max: 8 }),
  a: fc.nat(),
  b: fc.nat(),
  v: fc.nat({ max: 255 }),
  hot: fc.nat({ max: 3 }),
});

function position(bytes, a, hot, regions) {
  if (hot > 0 && regions.length > 0) {
    const [start, end] = regions[a % regions.length];
    const s = Math.min(start, bytes.length);
    const e = Math.min(end, bytes.length);
    if (e > s) {
      return s + (Math.floor(a / regions.length) % (e - s));
    }
  }
  return bytes.length === 0 ? 0 : a % (bytes.length + 1);
}

function applyEdit(bytes, other, edit, regions) {
  const { kind, a, b, v, hot } = edit;
  const p = position(bytes, a, hot, regions);
  switch (kind) {
    case 0: {
      // flip one bit
      if (p >= bytes.length) return bytes;
      const out = Buffer.from(bytes);
      out[p] ^= 1 << (v % 8);
      return out;
    }
    case 1: {
      // an interesting byte, or any byte
      if (p >= bytes.length) return bytes;
      const out = Buffer.from(bytes);
      out[p] = v % 2 === 0 ? INTERESTING_BYTES[b % INTERESTING_BYTES.length] : v;
      return out;
    }
    case 2: // delete a range
      return Buffer.concat([bytes.subarray(0, p), bytes.subarray(Math.min(bytes.length, p + 1 + (b % 64)))]);
    case 3: {
      // insert a few bytes
      const insert = Buffer.alloc(1 + (b % 16), v);
      return Buffer.concat([bytes.subarray(0, p), insert, bytes.subarray(p)]);
    }
    case 4: {
      // duplicate a range
      const range = bytes.subarray(p, Math.min(bytes.length, p + 1 + (b % 256)));
      return Buffer.concat([bytes.subarray(0, p), range, bytes.subarray(p)]);
    }
    case 5: // truncate
      return bytes.subarray(0, p);
    case 6: {
      // splice: this file's head, the other's tail
      const q = other.length === 0 ? 0 : b % other.length;
      return Buffer.concat([bytes.subarray(0, p), other.subarray(q)]);
    }
    case 7: {
      // an interesting 64-bit little-endian value
      if (p + 8 > bytes.length) return bytes;
      const out = Buffer.from(bytes);
      out.writeBigUInt64LE(INTERESTING_U64[b % INTERESTING_U64.length], p);
      return out;
    }
    default: {
      // an interesting 32-bit little-endian value (zip sizes, offsets and counts)
      if (p + 4 > bytes.length) return bytes;
      const out = Buffer.from(bytes);
      out.writeUInt32LE(Number(INTERESTING_U64[b % 9] & 0xffffffffn), p);
      return out;
    }
  }
}

/**
 * An arbitrary of byte strings: one file of `corpus`, changed by 1 to `maxEdits` edits.
 *
 * @param corpus The seed files.
 * @param hotRegions `(bytes) => [[start, end], ...]`: where edits should land most of the time.
 */
export function mutatedBytes(corpus, { hotRegions = () => [], maxEdits = 6 } = {}) {
  const files = corpus.map((bytes) => ({ bytes: Buffer.from(bytes), regions: hotRegions(Buffer.from(bytes)) }));
  return fc
    .record({
      file: fc.nat({ max: files.length - 1 }),
      other: fc.nat({ max: files.length - 1 }),
      edits: fc.array(EDIT, { minLength: 1, maxLength: maxEdits }),
    })
    .map(({ file, other, edits }) => {
      const seed = files[file];
      let bytes = seed.bytes;
      for (const edit of edits) {
        bytes = applyEdit(bytes, files[other].bytes, edit, seed.regions);
      }
      return bytes;
    });
}

/** Values that break size, offset and shape arithmetic when they appear where a JSON number is expected. */
export const HOSTILE_NUMBERS = [
  0, 1, -1, 2, 3, 7, 8, 255, 256, 1.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
  2 ** 63, 2 ** 64, 1e308, -1e308, Number.MAX_VALUE, 0.1, 1e-300,
];

/** A JSON value that is often a hostile number and sometimes anything else. */
export const hostileJsonValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom('', '1', 'F32', '../x', '/etc/passwd', 'a\u0000b', null, true, false, [], {}) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
