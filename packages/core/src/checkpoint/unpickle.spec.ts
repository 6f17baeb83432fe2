import { describe, expect, it } from '@jest/globals';

import { PickleBuilder } from '../../../../test/support/index.js';
import { PickleError, UnsafePickleGlobalError } from './errors.js';
import {
  PICKLE_MAX_MARKS,
  PICKLE_MAX_MEMO,
  PICKLE_MAX_STACK,
  PickleGlobalRef,
  isPickleTuple,
  pickleAttributes,
  unpickle,
  type PickleGlobal,
  type UnpickleOptions,
} from './unpickle.js';

const PATH = '/models/x.pt';
const ENTRY = 'archive/data.pkl';

function run(p: PickleBuilder | Uint8Array, options: Partial<UnpickleOptions> = {}): unknown {
  return unpickle(p instanceof PickleBuilder ? p.toBytes() : p, { globals: new Map(), path: PATH, entry: ENTRY, ...options });
}

function failure(p: PickleBuilder | Uint8Array, options: Partial<UnpickleOptions> = {}): Error {
  try {
    run(p, options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the pickle was accepted');
}

describe(unpickle, () => {
  it('maps Python values to JavaScript ones', () => {
    const p = new PickleBuilder()
      .proto(2)
      .emptyDict()
      .mark()
      .str('none').none()
      .str('ints').mark().int(7).int(300).int(-5).int(70_000).long(-(2n ** 70n)).long(0n).long(255n).tuple()
      .str('float').float(1.25)
      .str('bools').bool(true).bool(false).tuple2()
      .str('list').emptyList().binput(0).mark().int(1).int(2).appends()
      .str('same').binget(0)
      .str('bytes').bytes(new Uint8Array([0, 255]))
      .str('text').str('héllo ✓')
      .setitems()
      .stop();
    const value = run(p) as Map<string, unknown>;
    expect(value).toBeInstanceOf(Map);
    expect(value.get('none')).toBeNull();
    expect(value.get('ints')).toEqual([7, 300, -5, 70_000, -(2n ** 70n), 0, 255]);
    expect(isPickleTuple(value.get('ints'))).toBe(true);
    expect(value.get('float')).toBe(1.25);
    expect(value.get('bools')).toEqual([true, false]);
    expect(value.get('list')).toEqual([1, 2]);
    expect(isPickleTuple(value.get('list'))).toBe(false);
    expect(value.get('same')).toBe(value.get('list'));
    expect(value.get('bytes')).toEqual(new Uint8Array([0, 255]));
    expect(value.get('text')).toBe('héllo ✓');
  });

  it('reads protocol 4 framing, STACK_GLOBAL, MEMOIZE and sets', () => {
    const calls: unknown[][] = [];
    const globals = new Map<string, PickleGlobal>([['m.f', { call: (args) => (calls.push([...args]), 'called') }]]);
    const body = new PickleBuilder()
      .emptyDict().memoize()
      .shortStr('r').stackGlobal('m', 'f').memoize().shortStr('arg').tuple1().reduce().setitem()
      .shortStr('s').raw(0x8f).mark().int(1).int(2).raw(0x90).setitem()
      .shortStr('again').raw(0x68, 1).setitem()
      .stop()
      .toBytes();
    const p = new PickleBuilder().proto(4).frame(body.length).raw(...body);
    const value = run(p, { globals }) as Map<string, unknown>;
    expect(value.get('r')).toBe('called');
    expect(calls).toEqual([['arg']]);
    expect(value.get('s')).toEqual(new Set([1, 2]));
    expect(value.get('again')).toBeInstanceOf(PickleGlobalRef);
    expect((value.get('again') as PickleGlobalRef).name).toBe('m.f');
  });

  it('keeps the state BUILD gives a dict aside instead of merging it', () => {
    const p = new PickleBuilder()
      .proto(2)
      .global('collections', 'OrderedDict').emptyTuple().reduce()
      .mark().str('w').int(1).setitems()
      .emptyDict().str('_metadata').int(5).setitem()
      .build()
      .stop();
    const globals = new Map<string, PickleGlobal>([['collections.OrderedDict', { call: () => new Map() }]]);
    const value = run(p, { globals }) as Map<string, unknown>;
    expect([...value.entries()]).toEqual([['w', 1]]);
    expect(pickleAttributes.get(value)).toEqual(new Map([['_metadata', 5]]));
  });

  describe('refuses globals that are not on the allow-list, before calling anything', () => {
    /** An allow-list that records every lookup and every call. */
    class RecordingGlobals extends Map<string, PickleGlobal> {
      readonly lookups: string[] = [];
      calls = 0;
      constructor() {
        super();
        super.set('safe.f', { call: () => ++this.calls });
      }
      override get(key: string): PickleGlobal | undefined {
        this.lookups.push(key);
        return super.get(key);
      }
      override has(key: string): boolean {
        this.lookups.push(key);
        return super.has(key);
      }
    }

    it.each([
      ['os', 'system', 'GLOBAL'],
      ['posix', 'system', 'GLOBAL'],
      ['nt', 'system', 'GLOBAL'],
      ['builtins', 'eval', 'GLOBAL'],
      ['builtins', 'eval', 'STACK_GLOBAL'],
      ['builtins', 'exec', 'GLOBAL'],
      ['builtins', '__import__', 'STACK_GLOBAL'],
      ['builtins', 'getattr', 'STACK_GLOBAL'],
      ['__builtin__', 'getattr', 'GLOBAL'],
      ['__builtin__', 'eval', 'GLOBAL'],
      ['subprocess', 'Popen', 'GLOBAL'],
      ['torch._utils', '__proto__', 'GLOBAL'],
      ['torch._utils', 'constructor', 'GLOBAL'],
      ['torch._utils', 'hasOwnProperty', 'STACK_GLOBAL'],
      ['__proto__', '__proto__', 'STACK_GLOBAL'],
      ['constructor', 'constructor', 'GLOBAL'],
      ['torch._utils', '_rebuild_tensor_v2.__globals__', 'STACK_GLOBAL'],
      ['safe', 'f.__call__', 'GLOBAL'],
      ['safe.f', '__class__', 'STACK_GLOBAL'],
      ['safe', 'F', 'GLOBAL'],
    ])('%s %s through %s, at its opcode, and nothing after it runs', (module, name, opcode) => {
      const globals = new RecordingGlobals();
      const p = new PickleBuilder().proto(opcode === 'GLOBAL' ? 2 : 4).emptyList();
      const at = p.position;
      if (opcode === 'GLOBAL') {
        p.global(module, name);
      } else {
        p.shortStr(module).shortStr(name);
      }
      const position = opcode === 'GLOBAL' ? at : p.position;
      if (opcode === 'STACK_GLOBAL') {
        p.raw(0x93);
      }
      // A REDUCE that would call the refused global, then a call of an allowed one: neither may run.
      p.str('echo pwned').tuple1().reduce().append().global('safe', 'f').emptyTuple().reduce().append().stop();
      const error = failure(p, { globals });
      expect(error).toBeInstanceOf(UnsafePickleGlobalError);
      expect(error.message).toBe(
        `${PATH} is refused: its pickle ${ENTRY} refers to the global ${module}.${name} (at byte ${position}), which is not on the allow-list of the restricted unpickler.`,
      );
      expect((error as UnsafePickleGlobalError).global).toBe(`${module}.${name}`);
      expect((error as UnsafePickleGlobalError).position).toBe(position);
      expect((error as UnsafePickleGlobalError).entry).toBe(ENTRY);
      expect((error as UnsafePickleGlobalError).path).toBe(PATH);
      // The name was looked up once, as one exact key of the allow-list; nothing was resolved or called.
      expect(globals.lookups).toEqual([`${module}.${name}`]);
      expect(globals.calls).toBe(0);
    });

    it('looks up an allowed global without calling it until REDUCE', () => {
      const globals = new RecordingGlobals();
      const p = new PickleBuilder().proto(2).emptyList().global('safe', 'f').append().stop();
      const value = run(p, { globals }) as unknown[];
      expect(value[0]).toBeInstanceOf(PickleGlobalRef);
      expect(globals.lookups).toEqual(['safe.f']);
      expect(globals.calls).toBe(0);
    });
  });

  describe('malformed pickles give a PickleError naming the file, the entry and the position', () => {
    const cases: [string, Uint8Array, string][] = [
      ['an unknown opcode', new PickleBuilder().proto(2).raw(0xff).toBytes(), 'unknown opcode 0xff (at byte 2)'],
      ['no STOP', new PickleBuilder().proto(2).none().toBytes(), 'the pickle ends without a STOP opcode (truncated) (at byte 3)'],
      ['an empty pickle', new Uint8Array(0), 'the pickle ends without a STOP opcode (truncated) (at byte 0)'],
      ['a truncated BINUNICODE', new PickleBuilder().proto(2).raw(0x58, 10, 0, 0, 0, 0x61).toBytes(), 'BINUNICODE needs 10 more bytes, but the pickle ends (truncated) (at byte 2)'],
      ['a huge BINUNICODE8 length', new PickleBuilder().proto(4).raw(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40).toBytes(), 'a length of 4611686018427387904 runs past the end of the pickle (truncated) (at byte 2)'],
      ['a huge LONG4 length', new PickleBuilder().proto(2).raw(0x8b, 0xff, 0xff, 0xff, 0x7f).toBytes(), 'LONG4 needs 2147483647 more bytes, but the pickle ends (truncated) (at byte 2)'],
      ['a frame past the end', new PickleBuilder().proto(4).frame(100).none().stop().toBytes(), 'a frame of 100 bytes runs past the end of the pickle (truncated) (at byte 2)'],
      ['protocol 6', new PickleBuilder().proto(6).stop().toBytes(), 'protocol 6 is not supported (2 to 5 are) (at byte 0)'],
      ['a stack underflow', new PickleBuilder().proto(2).tuple2().stop().toBytes(), 'TUPLE2 pops from an empty stack (at byte 2)'],
      ['a missing mark', new PickleBuilder().proto(2).tuple().stop().toBytes(), 'TUPLE without a MARK (at byte 2)'],
      ['a missing memo entry', new PickleBuilder().proto(2).binget(3).stop().toBytes(), 'memo entry 3 is not defined (at byte 2)'],
      ['STOP on an empty stack', new PickleBuilder().proto(2).stop().toBytes(), 'STOP pops from an empty stack (at byte 2)'],
      ['STOP inside a mark', new PickleBuilder().proto(2).none().mark().stop().toBytes(), 'STOP inside an open MARK (at byte 4)'],
      ['APPEND to a tuple', new PickleBuilder().proto(2).emptyTuple().none().append().stop().toBytes(), 'APPEND to a tuple, not a list (at byte 4)'],
      ['SETITEMS with an odd count', new PickleBuilder().proto(2).emptyDict().mark().none().setitems().stop().toBytes(), 'SETITEMS with an odd number of values (at byte 5)'],
      ['REDUCE of a non-global', new PickleBuilder().proto(2).str('f').emptyTuple().reduce().stop().toBytes(), 'REDUCE calls a str, not an allowed global (at byte 9)'],
      ['BUILD on an int', new PickleBuilder().proto(2).int(1).emptyDict().build().stop().toBytes(), 'BUILD on a int is not supported (at byte 5)'],
      ['invalid UTF-8', new PickleBuilder().proto(2).raw(0x58, 1, 0, 0, 0, 0xff).stop().toBytes(), 'a string is not valid UTF-8 (at byte 2)'],
      ['a persistent id without a resolver', new PickleBuilder().proto(2).none().binpersid().stop().toBytes(), 'a persistent id, but nothing resolves persistent ids here (at byte 3)'],
      ['protocol 0 STRING', new PickleBuilder().proto(2).raw(0x53, 0x27, 0x61, 0x27, 0x0a).stop().toBytes(), 'the opcode STRING (0x53) is not supported (at byte 2)'],
      ['INST', new PickleBuilder().proto(2).mark().raw(0x69).stop().toBytes(), 'the opcode INST (0x69) is not supported (at byte 3)'],
      ['EXT1', new PickleBuilder().proto(2).raw(0x82, 1).stop().toBytes(), 'the opcode EXT1 (0x82) is not supported (at byte 2)'],
      ['an out-of-band buffer', new PickleBuilder().proto(5).raw(0x97).stop().toBytes(), 'the opcode NEXT_BUFFER (0x97) is not supported (at byte 2)'],
      ['a GLOBAL without an end of line', new PickleBuilder().proto(2).raw(0x63, 0x6f, 0x73).toBytes(), 'GLOBAL has no end of line (truncated) (at byte 2)'],
    ];

    it.each(cases)('%s', (_name, bytes, reason) => {
      const error = failure(bytes);
      expect(error).toBeInstanceOf(PickleError);
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: ${reason}.`);
      expect((error as PickleError).path).toBe(PATH);
    });

    it('wraps an error thrown by an allowed global, naming it', () => {
      const globals = new Map<string, PickleGlobal>([['m.f', { call: () => { throw new Error('bad arguments'); } }]]);
      const error = failure(new PickleBuilder().proto(2).global('m', 'f').emptyTuple().reduce().stop(), { globals });
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: m.f: bad arguments (at byte 8).`);
    });

    it('refuses to call a value-only global', () => {
      const globals = new Map<string, PickleGlobal>([['torch.float32', {}]]);
      const error = failure(new PickleBuilder().proto(2).global('torch', 'float32').emptyTuple().reduce().stop(), { globals });
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: torch.float32 is not callable (at byte 18).`);
    });
  });

  describe('limits', () => {
    it('caps the memo', () => {
      const p = new PickleBuilder().proto(2).none();
      for (let i = 0; i < 5; i++) {
        p.binput(i);
      }
      const error = failure(p.stop(), { maxMemo: 4 });
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: the memo holds more than 4 entries (at byte 11).`);
    });

    it('caps the stack', () => {
      const p = new PickleBuilder().proto(2).mark();
      for (let i = 0; i < 10; i++) {
        p.none();
      }
      const error = failure(p.tuple().stop(), { maxStack: 8 });
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: the stack holds more than 8 values (at byte 11).`);
    });

    it('caps the nesting of marks', () => {
      const p = new PickleBuilder().proto(2);
      for (let i = 0; i < 6; i++) {
        p.mark();
      }
      const error = failure(p.stop(), { maxMarks: 5 });
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: more than 5 nested marks (at byte 7).`);
    });

    it('counts a memo index written again once', () => {
      const p = new PickleBuilder().proto(2).none();
      for (let i = 0; i < 5; i++) {
        p.binput(0);
      }
      expect(run(p.stop(), { maxMemo: 1 })).toBeNull();
    });

    it(`caps the memo at PICKLE_MAX_MEMO (${PICKLE_MAX_MEMO}) entries by default`, () => {
      const pickle = (memoized: number): Uint8Array => {
        const bytes = new Uint8Array(2 + 1 + memoized + 1);
        bytes.set([0x80, 2, 0x4e]); // PROTO 2, NONE
        bytes.fill(0x94, 3, 3 + memoized); // MEMOIZE
        bytes[bytes.length - 1] = 0x2e; // STOP
        return bytes;
      };
      expect(run(pickle(PICKLE_MAX_MEMO))).toBeNull();
      const error = failure(pickle(PICKLE_MAX_MEMO + 1));
      expect(error).toBeInstanceOf(PickleError);
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: the memo holds more than ${PICKLE_MAX_MEMO} entries (at byte ${3 + PICKLE_MAX_MEMO}).`);
    });

    it(`caps the stack at PICKLE_MAX_STACK (${PICKLE_MAX_STACK}) values by default, all marks together`, () => {
      const pickle = (values: number): Uint8Array => {
        const bytes = new Uint8Array(2 + 2 + values + 2);
        bytes.set([0x80, 2, 0x4e, 0x28]); // PROTO 2, NONE (below the mark), MARK
        bytes.fill(0x4e, 4, 4 + values - 1); // NONE
        bytes.set([0x6c, 0x2e], 4 + values - 1); // LIST, STOP
        return bytes.subarray(0, 4 + values + 1);
      };
      expect(run(pickle(PICKLE_MAX_STACK))).toHaveLength(PICKLE_MAX_STACK - 1);
      const error = failure(pickle(PICKLE_MAX_STACK + 1));
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: the stack holds more than ${PICKLE_MAX_STACK} values (at byte ${3 + PICKLE_MAX_STACK}).`);
    });

    it(`caps the nesting of marks at PICKLE_MAX_MARKS (${PICKLE_MAX_MARKS}) by default`, () => {
      const pickle = (marks: number): Uint8Array => {
        const bytes = new Uint8Array(2 + 2 * marks + 1);
        bytes.set([0x80, 2]);
        bytes.fill(0x28, 2, 2 + marks); // MARK
        bytes.fill(0x74, 2 + marks, 2 + 2 * marks); // TUPLE
        bytes[bytes.length - 1] = 0x2e;
        return bytes;
      };
      expect(isPickleTuple(run(pickle(PICKLE_MAX_MARKS)))).toBe(true);
      const error = failure(pickle(PICKLE_MAX_MARKS + 1));
      expect(error.message).toBe(`${PATH} holds a malformed pickle ${ENTRY}: more than ${PICKLE_MAX_MARKS} nested marks (at byte ${2 + PICKLE_MAX_MARKS}).`);
    });

    it('reads a LONG4 of 256 KiB in linear time (a quadratic decoder took minutes; found by npm run fuzz)', () => {
      const n = 256 * 1024;
      const long4 = (bytes: Uint8Array): Uint8Array => {
        const head = new PickleBuilder().proto(2).raw(0x8b, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, 0).toBytes();
        const out = new Uint8Array(head.length + n + 1);
        out.set(head);
        out.set(bytes, head.length);
        out[head.length + n] = 0x2e; // STOP
        return out;
      };
      const top = new Uint8Array(n);
      top[n - 1] = 0x40;
      const pattern = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
      let expected = 0n;
      for (let i = 0; i < 64; i++) {
        expected |= BigInt(pattern[i] as number) << BigInt(8 * i);
      }

      expect(run(long4(new Uint8Array(n).fill(0xff)))).toBe(-1);
      expect(run(long4(top))).toBe(1n << BigInt(8 * n - 2));
      expect(BigInt.asUintN(512, run(long4(pattern)) as bigint)).toBe(expected);
      expect((run(long4(pattern)) as bigint) < 0n).toBe(((pattern[n - 1] as number) & 0x80) !== 0);
    });

    it('builds lists nested 300,000 deep without recursion', () => {
      // Per level: EMPTY_LIST, LONG_BINPUT k, APPEND (into the level above), POP, LONG_BINGET k.
      const depth = 300_000;
      const p = new PickleBuilder().proto(2).emptyList().longBinput(0);
      for (let k = 1; k <= depth; k++) {
        p.emptyList().longBinput(k).append().raw(0x30).raw(0x6a, k & 0xff, (k >> 8) & 0xff, (k >> 16) & 0xff, 0);
      }
      p.raw(0x30).raw(0x6a, 0, 0, 0, 0).stop();
      let level = run(p) as unknown[];
      let count = 0;
      while (level.length > 0) {
        level = level[0] as unknown[];
        count++;
      }
      expect(count).toBe(depth);
    });
  });
});
