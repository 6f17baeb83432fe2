// Target `pickle`: the restricted unpickler with torch's allow-list (TORCH_PICKLE_GLOBALS) and a
// persistent-id loader like the torch reader's, on the `data.pkl` payloads of the torch seeds
// (byte-mutated) and on generated opcode streams (every opcode of protocols 0 to 5, arguments with
// lying lengths, globals inside and outside the allow-list, torch-shaped rebuild calls, memo and
// mark abuse). Properties: the unpickler returns a value or throws an fs2 error; a global outside
// the allow-list, once looked up, ends the run with UnsafePickleGlobalError naming it, before
// anything else runs.
import fc from 'fast-check';
import { TORCH_PICKLE_GLOBALS, TorchStorage, UnsafePickleGlobalError, isPickleTuple, unpickle } from '@fs2/core';

import { torchSeeds } from '../lib/corpus.mjs';
import { byteOpsArb, materializeBytes, rarely, INTERESTING_INTEGERS } from '../lib/mutate.mjs';
import { PropertyViolation } from '../lib/shared.mjs';

const FORBIDDEN = ['os.system', 'posix.system', 'builtins.eval', 'builtins.exec', 'builtins.getattr', 'subprocess.Popen', 'torch.load', 'torch._utils.x', '__builtin__.eval', 'builtins.__import__', 'numpy.core.multiarray._reconstruct', 'collections.OrderedDict.fromkeys'];
const ALLOWED = [...TORCH_PICKLE_GLOBALS.keys()];

/** Bytes of a 32-bit little-endian integer. */
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return [...b];
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)));
  return [...b];
}

const text = (s) => [...Buffer.from(s, 'utf8')];
const lengthArb = fc.oneof(fc.nat(12), fc.constantFrom(...INTERESTING_INTEGERS.filter((v) => v >= 0)));
const stringArb = fc.oneof(fc.constantFrom('storage', 'cpu', '0', 'weight', 'latin1', 'utf-8', 'little', ''), fc.string({ maxLength: 8 }));
const globalNameArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ALLOWED) }, { weight: 1, arbitrary: fc.constantFrom(...FORBIDDEN) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });

/** One opcode with its arguments, as bytes; lengths sometimes lie. */
const opArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0x28, 0x2e, 0x30, 0x31, 0x32, 0x4e, 0x88, 0x89, 0x29, 0x85, 0x86, 0x87, 0x74, 0x5d, 0x6c, 0x61, 0x65, 0x7d, 0x64, 0x73, 0x75, 0x8f, 0x90, 0x91, 0x52, 0x81, 0x92, 0x62, 0x51, 0x93, 0x94).map((op) => [op]) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((op) => [op]) },
  { weight: 1, arbitrary: fc.nat(7).map((v) => [0x80, v]) },
  { weight: 1, arbitrary: lengthArb.map((n) => [0x95, ...u64(n)]) },
  { weight: 2, arbitrary: fc.integer().map((v) => [0x4a, ...u32(v)]) },
  { weight: 2, arbitrary: fc.nat(255).map((v) => [0x4b, v]) },
  { weight: 1, arbitrary: fc.nat(0xffff).map((v) => [0x4d, v & 0xff, v >> 8]) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 9 }).map((b) => [0x8a, b.length, ...b]) },
  { weight: 1, arbitrary: fc.tuple(lengthArb, fc.uint8Array({ maxLength: 9 })).map(([n, b]) => [0x8b, ...u32(n), ...b]) },
  { weight: 1, arbitrary: fc.constantFrom('01', '00', '7', '-3', '99999999999999999999', 'x', '', '1.5').map((s) => [0x49, ...text(`${s}\n`)]) },
  { weight: 1, arbitrary: fc.constantFrom('7L', '-99999999999999999999L', 'L', '').map((s) => [0x4c, ...text(`${s}\n`)]) },
  { weight: 1, arbitrary: fc.constantFrom('1.5', 'inf', '-nan', '1e999', 'x', '.5e3', '').map((s) => [0x46, ...text(`${s}\n`)]) },
  { weight: 1, arbitrary: fc.double().map((d) => { const b = Buffer.alloc(8); b.writeDoubleBE(d); return [0x47, ...b]; }) },
  { weight: 3, arbitrary: stringArb.map((s) => { const b = text(s); return [0x8c, b.length, ...b]; }) },
  { weight: 2, arbitrary: fc.tuple(stringArb, fc.option(lengthArb)).map(([s, n]) => { const b = text(s); return [0x58, ...u32(n ?? b.length), ...b]; }) },
  { weight: 1, arbitrary: fc.tuple(stringArb, fc.option(lengthArb)).map(([s, n]) => { const b = text(s); return [0x8d, ...u64(n ?? b.length), ...b]; }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }).map((b) => [0x8c, b.length, ...b]) },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 6 }), fc.option(fc.integer())).map(([b, n]) => [0x54, ...u32(n ?? b.length), ...b]) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }).map((b) => [0x55, b.length, ...b]) },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 6 }), fc.option(lengthArb)).map(([b, n]) => [0x42, ...u32(n ?? b.length), ...b]) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 6 }).map((b) => [0x43, b.length, ...b]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0x8e, 0x96), fc.uint8Array({ maxLength: 6 }), fc.option(lengthArb)).map(([op, b, n]) => [op, ...u64(n ?? b.length), ...b]) },
  { weight: 3, arbitrary: globalNameArb.map((g) => { const dot = g.lastIndexOf('.'); return [0x63, ...text(`${g.slice(0, Math.max(0, dot))}\n${g.slice(dot + 1)}\n`)]; }) },
  {
    weight: 2,
    arbitrary: globalNameArb.map((g) => {
      const dot = g.lastIndexOf('.');
      const m = text(g.slice(0, Math.max(0, dot)));
      const n = text(g.slice(dot + 1));
      return [0x8c, m.length, ...m, 0x8c, n.length, ...n, 0x93];
    }),
  },
  { weight: 2, arbitrary: fc.nat(8).map((i) => [0x68, i]) },
  { weight: 1, arbitrary: fc.oneof(fc.nat(8), fc.constantFrom(2 ** 32 - 1)).map((i) => [0x6a, ...u32(i)]) },
  { weight: 1, arbitrary: fc.constantFrom('0', '1', '-1', 'x', '99999999999999999999').map((s) => [0x67, ...text(`${s}\n`)]) },
  { weight: 2, arbitrary: fc.nat(8).map((i) => [0x71, i]) },
  { weight: 1, arbitrary: fc.oneof(fc.nat(8), fc.constantFrom(2 ** 32 - 1)).map((i) => [0x72, ...u32(i)]) },
  { weight: 1, arbitrary: fc.constantFrom('0', '1', '-1', 'x').map((s) => [0x70, ...text(`${s}\n`)]) },
  { weight: 1, arbitrary: fc.constantFrom('0', 'x', '').map((s) => [0x50, ...text(`${s}\n`)]) },
  // A torch persistent id and a rebuild call, to reach the allow-list's functions with odd arguments.
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('FloatStorage', 'BFloat16Storage', 'UntypedStorage', 'LongStorage', 'Size'), fc.nat(4), fc.nat(40)).map(([cls, key, numel]) => [
      0x28, 0x8c, 7, ...text('storage'), 0x63, ...text(`torch\n${cls}\n`), 0x8c, 1, ...text(String(key)), 0x8c, 3, ...text('cpu'), 0x4b, numel, 0x74, 0x51,
    ]),
  },
);

/**
 * An opcode stream; one in about fifty also holds a long integer of up to 256 KiB (CPython reads
 * LONG4 in linear time; so must this reader), kept rare because it is a large input.
 */
const streamArb = fc
  .tuple(fc.array(opArb, { minLength: 1, maxLength: 40 }), rarely(fc.tuple(fc.constantFrom(1 << 10, 1 << 14, 1 << 18), fc.nat()), 50))
  .map(([ops, big]) => {
    const parts = ops.map((op) => Buffer.from(op));
    if (big !== null) {
      const [n, at] = big;
      parts.splice(at % (parts.length + 1), 0, Buffer.from([0x8b, ...u32(n)]), Buffer.alloc(n, 0x5a));
    }
    return Buffer.concat([Buffer.from([0x80, 0x02]), ...parts, Buffer.from([0x2e])]);
  });

export default {
  async setup() {
    const seeds = (await torchSeeds()).flatMap((s) => s.entries.filter((e) => e.name.endsWith('/data.pkl')).map((e) => e.body));
    // The allow-list, watched: which names the unpickler looks up, and whether it found them.
    let refused;
    const globals = {
      get(name) {
        const spec = TORCH_PICKLE_GLOBALS.get(name);
        if (spec === undefined) {
          refused ??= name;
        }
        return spec;
      },
      has: (name) => TORCH_PICKLE_GLOBALS.has(name),
    };
    const persistentLoad = (pid) => {
      if (!isPickleTuple(pid) || pid.length !== 5 || pid[0] !== 'storage' || typeof pid[2] !== 'string' || !Number.isSafeInteger(pid[4]) || pid[4] < 0) {
        throw new Error('not a storage id');
      }
      return new TorchStorage(`archive/data/${pid[2]}`, 'F32', pid[4] * 4);
    };
    const bytesOf = (input) => (input.stream !== undefined ? input.stream : materializeBytes(seeds, input));
    return {
      arbitrary: fc.oneof(
        { weight: 1, arbitrary: fc.record({ seed: fc.nat(seeds.length - 1), ops: byteOpsArb }) },
        { weight: 1, arbitrary: fc.record({ stream: streamArb }) },
      ),
      run(input) {
        refused = undefined;
        let error;
        try {
          unpickle(bytesOf(input), { globals, persistentLoad, path: '/fuzz/model.pt', entry: 'archive/data.pkl' });
        } catch (e) {
          error = e;
        }
        if (refused !== undefined && !(error instanceof UnsafePickleGlobalError && error.global === refused)) {
          throw new PropertyViolation(`the global ${refused} is not on the allow-list, but the run ended with ${error === undefined ? 'a value' : `${error.name}: ${error.message}`}`);
        }
        if (error !== undefined) {
          throw error;
        }
        return 'ok';
      },
      materialize: (input) => ({ 'data.pkl': bytesOf(input) }),
    };
  },
};
