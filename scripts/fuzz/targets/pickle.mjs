// The restricted unpickler alone (unpickle with torch's allow-list), which is what refuses code
// execution: the data.pkl of every torch fixture byte-mutated, and opcode streams generated from
// the whole pickle instruction set (protocols 0 to 5) with hostile arguments. A GLOBAL outside
// the allow-list must end in UnsafePickleGlobalError, never in a call.
import fc from 'fast-check';
import { TORCH_PICKLE_GLOBALS, unpickle } from '@fs2/core';

import { readZipEntries } from '../formats.mjs';
import { mutatedBytes } from '../mutate.mjs';
import { torchCorpus } from './torch.mjs';

const u32 = (n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const SIZES = fc.constantFrom(0, 1, 2, 7, 255, 256, 65_535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1);
const text = (s) => [...Buffer.from(s)];

/** One opcode with arguments; raw bytes so that lengths can lie. */
const OPCODE = fc.oneof(
  fc.constantFrom(
    [0x80, 2], [0x80, 5], [0x80, 99], [0x28], [0x29], [0x5d], [0x7d], [0x4e], [0x88], [0x89], [0x2e], [0x30], [0x31], [0x32],
    [0x61], [0x65], [0x73], [0x75], [0x74], [0x85], [0x86], [0x87], [0x52], [0x62], [0x81], [0x92], [0x93], [0x94], [0x8f],
    [0x90], [0x91], [0x97], [0x98], [0x51], [0x50], [0x6c], [0x64], [0x6f], [0x69],
    [0x63, ...text('torch._utils\n_rebuild_tensor_v2\n')], [0x63, ...text('collections\nOrderedDict\n')],
    [0x63, ...text('builtins\neval\n')], [0x63, ...text('posix\nsystem\n')], [0x63, ...text('__builtin__\ngetattr\n')],
    [0x8c, 12, ...text('torch._utils')], [0x8c, 18, ...text('_rebuild_tensor_v2')], [0x8c, 8, ...text('builtins')], [0x8c, 4, ...text('eval')],
    [0x8c, 5, ...text('torch')], [0x8c, 12, ...text('FloatStorage')], [0x8c, 7, ...text('storage')], [0x8c, 3, ...text('cpu')],
    [0x49, ...text('12\n')], [0x4c, ...text('99999999999999999999999\n')], [0x46, ...text('1.5\n')], [0x53, ...text("'x'\n")],
    [0x56, ...text('x\n')], [0x70, ...text('0\n')], [0x67, ...text('0\n')],
  ),
  fc.record({ op: fc.constantFrom(0x4b, 0x71, 0x68, 0x6a, 0x72), v: fc.nat({ max: 255 }) }).map(({ op, v }) => [op, v]),
  fc.record({ op: fc.constantFrom(0x4d), v: fc.nat({ max: 65_535 }) }).map(({ op, v }) => [op, v & 0xff, v >> 8]),
  fc.record({ op: fc.constantFrom(0x4a, 0x72, 0x6a), v: fc.integer() }).map(({ op, v }) => [op, ...u32(v >>> 0)]),
  fc.record({ op: fc.constantFrom(0x8a, 0x8b), n: SIZES, bytes: fc.uint8Array({ maxLength: 9 }) }).map(({ op, n, bytes }) =>
    op === 0x8a ? [op, n & 0xff, ...bytes] : [op, ...u32(n), ...bytes],
  ),
  fc.record({ op: fc.constantFrom(0x55, 0x43, 0x8c, 0x96), n: SIZES, s: fc.string({ maxLength: 8 }) }).map(({ op, n, s }) => [op, n & 0xff, ...text(s)]),
  fc.record({ op: fc.constantFrom(0x58, 0x42, 0x8d, 0x8e, 0x95, 0x47), n: SIZES, s: fc.string({ maxLength: 8 }) }).map(({ op, n, s }) =>
    op === 0x8d || op === 0x8e || op === 0x95 ? [op, ...u32(n), ...u32(0), ...text(s)] : [op, ...(op === 0x47 ? [0, 0, 0, 0, 0, 0, 0xf8, 0x3f] : u32(n)), ...text(s)],
  ),
  fc.nat({ max: 255 }).map((b) => [b]),
);

export async function setup({ root }) {
  const pickles = torchCorpus(root).map((bytes) => readZipEntries(bytes).find((e) => e.name.endsWith('data.pkl')).data);
  const generated = fc
    .record({ proto: fc.constantFrom([], [0x80, 2], [0x80, 4]), ops: fc.array(OPCODE, { maxLength: 40 }), stop: fc.boolean() })
    .map(({ proto, ops, stop }) => Uint8Array.from([...proto, ...ops.flat(), ...(stop ? [0x2e] : [])]));
  // Storages come back as plain objects: the unpickler's checks, not torch's, are under test here.
  const persistentLoad = (pid) => ({ pid });
  return {
    arbitrary: fc.oneof(mutatedBytes(pickles), generated),
    async run(bytes) {
      unpickle(bytes, { globals: TORCH_PICKLE_GLOBALS, persistentLoad, path: '/fuzz/archive.pt', entry: 'archive/data.pkl' });
    },
    show: (bytes) => Buffer.from(bytes),
  };
}
