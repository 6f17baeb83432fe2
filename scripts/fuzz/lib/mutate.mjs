// The mutation library shared by the fuzz targets: fast-check arbitraries that describe edits
// (so that a failing input shrinks to fewer, smaller edits and replays from its seed) and the
// functions that apply them to bytes, text and JSON values.
import fc from 'fast-check';

/**
 * Byte values that break parsers more often than random ones: the extremes and sign boundaries
 * of a byte (0, 0x7f, 0x80, 0xff), and the characters that delimit JSON, YAML and pickle text.
 */
export const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x39, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x26, 0x2a, 0x21, 0x23];

/**
 * Integers at the edges of the widths that binary formats store (little-endian 16/32/64-bit
 * lengths, offsets and counts), and of what a JavaScript number holds exactly (2^53).
 */
export const INTERESTING_INTEGERS = [
  0, 1, 2, 7, 8, 16, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
  2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 1, -1, -(2 ** 31), 100_000_000, 100_000_001,
];

/** A position in an input: mostly near the start (where the headers are), sometimes anywhere. */
export const positionArb = fc.oneof(
  { weight: 3, arbitrary: fc.nat(64) },
  { weight: 2, arbitrary: fc.nat(4096) },
  { weight: 1, arbitrary: fc.nat() },
);

/** One byte-level edit. `at` and `to` are taken modulo the input's length when applied. */
export const byteOpArb = fc.oneof(
  fc.record({ k: fc.constant('flip'), at: positionArb, bit: fc.nat(7) }),
  fc.record({ k: fc.constant('set'), at: positionArb, value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat(255)) }),
  fc.record({
    k: fc.constant('word'),
    at: positionArb,
    width: fc.constantFrom(2, 4, 8),
    value: fc.oneof(fc.constantFrom(...INTERESTING_INTEGERS), fc.integer()),
  }),
  fc.record({ k: fc.constant('insert'), at: positionArb, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ k: fc.constant('overwrite'), at: positionArb, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ k: fc.constant('delete'), at: positionArb, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant('duplicate'), at: positionArb, length: fc.integer({ min: 1, max: 64 }), to: positionArb }),
  fc.record({ k: fc.constant('truncate'), at: positionArb }),
);

/** A short list of byte edits (one to eight: most bugs need one or two). */
export const byteOpsArb = fc.array(byteOpArb, { minLength: 1, maxLength: 8 });

function writeWord(bytes, at, width, value) {
  let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    bytes[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Applies one byte edit to `bytes` (a Buffer), returning the new Buffer. */
export function applyByteOp(bytes, op) {
  const n = bytes.length;
  const at = n === 0 ? 0 : op.at % n;
  switch (op.k) {
    case 'flip':
      if (n > 0) {
        bytes[at] ^= 1 << op.bit;
      }
      return bytes;
    case 'set':
      if (n > 0) {
        bytes[at] = op.value;
      }
      return bytes;
    case 'word':
      writeWord(bytes, at, op.width, op.value);
      return bytes;
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(op.bytes), bytes.subarray(at)]);
    case 'overwrite':
      Buffer.from(op.bytes).copy(bytes, at);
      return bytes;
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(n, at + op.length))]);
    case 'duplicate': {
      const piece = Buffer.from(bytes.subarray(at, Math.min(n, at + op.length)));
      const to = n === 0 ? 0 : op.to % n;
      return Buffer.concat([bytes.subarray(0, to), piece, bytes.subarray(to)]);
    }
    case 'truncate':
      return bytes.subarray(0, at);
    default:
      throw new Error(`unknown byte op ${op.k}`);
  }
}

/** `bytes` (not changed) with every edit of `ops` applied in order: a new Buffer. */
export function applyByteOps(bytes, ops) {
  let out = Buffer.from(bytes);
  for (const op of ops) {
    out = applyByteOp(out, op);
  }
  return out;
}

/** Splicing: the start of `a` up to `cutA`, then the rest of `b` from `cutB`. */
export const spliceArb = fc.record({ cutA: positionArb, cutB: positionArb });

export function splice(a, b, { cutA, cutB }) {
  return Buffer.concat([a.subarray(0, a.length === 0 ? 0 : cutA % (a.length + 1)), b.subarray(b.length === 0 ? 0 : cutB % (b.length + 1))]);
}

/** A byte-mutated seed: which seed, and the edits. */
export function mutatedSeedArb(seedCount) {
  return fc.record({ seed: fc.nat(seedCount - 1), ops: byteOpsArb });
}

/** A splice of two seeds, then a few byte edits. */
export function splicedSeedArb(seedCount) {
  return fc.record({ seed: fc.nat(seedCount - 1), other: fc.nat(seedCount - 1), cut: spliceArb, ops: fc.array(byteOpArb, { maxLength: 3 }) });
}

/** Builds the bytes of a {@link mutatedSeedArb} or {@link splicedSeedArb} value over `seeds` (Buffers). */
export function materializeBytes(seeds, input) {
  const base = seeds[input.seed];
  const start = input.other === undefined ? base : splice(base, seeds[input.other], input.cut);
  return applyByteOps(start, input.ops);
}

// Structured edits of JSON values ---------------------------------------------------------------

/** JSON numbers that break size and offset arithmetic; strings and `null` that break type checks. */
export const INTERESTING_JSON_NUMBERS = [
  0, 1, 2, 3, -1, 0.5, 1.5, 1e-300, 1e300, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e21, -0,
  Number.MAX_VALUE, 100_000_000, 128_000, 128_256,
];

/**
 * A JSON value from the interesting ones, or any JSON value (small). Each value is a fresh copy:
 * targets put values into the structures they edit, and a shared constant (`{}`) edited by one
 * input would leak into the next.
 */
export const interestingJsonArb = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...INTERESTING_JSON_NUMBERS) },
    { weight: 1, arbitrary: fc.constantFrom(null, true, false, '', '0', '1', '-1', 'NaN', '__proto__', 'constructor', [], {}, [0], [1, 2], [-1]) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  )
  .map((value) => structuredClone(value));

/**
 * JSON text for `value`, where the special numbers a file can hold but `JSON.stringify` cannot
 * write survive: `1e999` (parses as Infinity) and `-0`. Used to serialize structured edits.
 */
export function toJsonText(value) {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      return v > 0 ? '\u0000INF' : v < 0 ? '\u0000-INF' : null;
    }
    return v;
  })
    .replaceAll('"\\u0000INF"', '1e999')
    .replaceAll('"\\u0000-INF"', '-1e999');
}

/** Sets an own property, even `__proto__` (a JSON key that `JSON.parse` makes an own property). */
export function setOwn(target, key, value) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `arbitrary` about once in `every` values, `null` otherwise (fc.option's `freq` is the other way round). */
export function rarely(arbitrary, every) {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
}
