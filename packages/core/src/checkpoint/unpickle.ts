import { CheckpointError, PickleError, UnsafePickleGlobalError } from './errors.js';

/**
 * A global (`module.name`) the restricted unpickler honours. `call` is what REDUCE / NEWOBJ do with
 * it; a global without `call` is a value only (a dtype, a storage class, a tensor type passed as an
 * argument). Throwing an `Error` from `call` rejects the pickle with that message.
 */
export interface PickleGlobal {
  call?(args: readonly unknown[]): unknown;
}

/** The allow-list: `module.name` -> what the global does. Anything else is refused. */
export type PickleGlobals = ReadonlyMap<string, PickleGlobal>;

/** Limits against hostile pickles. */
export interface UnpickleLimits {
  /** The most memo entries. Default: {@link PICKLE_MAX_MEMO}. */
  readonly maxMemo?: number;
  /** The most values on the stack, all marks together. Default: {@link PICKLE_MAX_STACK}. */
  readonly maxStack?: number;
  /** The most open marks (nesting). Default: {@link PICKLE_MAX_MARKS}. */
  readonly maxMarks?: number;
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions extends UnpickleLimits {
  /** The allow-list of globals. */
  readonly globals: PickleGlobals;
  /** Resolves persistent ids (torch's storages); without it a persistent id is an error. */
  readonly persistentLoad?: (pid: unknown) => unknown;
  /** The file, for errors. */
  readonly path: string;
  /** The entry of the archive (or a description of where the pickle came from), for errors. */
  readonly entry: string;
}

/**
 * Default memo cap (2^20 entries). A torch state dict uses about 8 memo slots per tensor (the
 * llama3_meta fixture: 30 tensors, 246 slots), so a 1,140-tensor Llama 3.1 405B shard needs
 * about 10,000.
 */
export const PICKLE_MAX_MEMO = 1_048_576;

/**
 * Default stack cap (2^20 values, all marks together). CPython's pickler writes APPENDS/SETITEMS
 * in batches of 1,000 items (`_BATCHSIZE` in Lib/pickle.py), so an honest pickle holds about
 * 1,000 values per open mark: with the nesting seen in real files (see {@link PICKLE_MAX_MARKS}),
 * a few thousand.
 */
export const PICKLE_MAX_STACK = 1_048_576;

/**
 * Default nesting cap. Real state dicts open few marks at once: at most 3 in the llama3_meta
 * fixture (a real `torch.save` file) and 4 in torch_synthetic/nested_model.pt (measured with
 * Python's `pickletools.genops`); 10,000 leaves room for any honest structure while bounding the
 * saved stacks.
 */
export const PICKLE_MAX_MARKS = 10_000;

/** `module.name` of a global on the stack, once looked up on the allow-list. */
export class PickleGlobalRef {
  constructor(
    readonly name: string,
    readonly spec: PickleGlobal,
  ) {}
}

/** Instance attributes set on a dict by BUILD (an `OrderedDict`'s `_metadata`), kept aside. */
export const pickleAttributes = new WeakMap<object, unknown>();

/** Whether `value` is a Python tuple as the unpickler builds them (a frozen array). */
export function isPickleTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** Opcode names, for messages. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO',
  0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS',
  0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/**
 * A restricted unpickler, written by hand: no maintained npm package unpickles safely (the
 * candidates, `pickleparser` and `jpickle`, resolve any global through a registry with permissive
 * defaults and are unmaintained; js-ecosystem.md §5), and the rule here is the one of torch's
 * `weights_only` loader: only the globals of `options.globals` are honoured, anything else
 * (`os.system`, `builtins.eval`, `posix.system`, ...) throws {@link UnsafePickleGlobalError} when the
 * GLOBAL / STACK_GLOBAL opcode names it, before anything is called.
 *
 * It reads the opcodes of protocols 2 to 5 as CPython writes them (plus the few protocol 0/1
 * opcodes those still use: MARK-based TUPLE, DICT, LIST, INT, LONG, FLOAT, GET, PUT), in one linear
 * pass with no recursion, and refuses the rest (INST, OBJ, STRING, UNICODE, EXT*, out-of-band
 * buffers) with a {@link PickleError} naming the opcode and its position. A truncated pickle, an
 * unknown opcode, a stack underflow, a missing memo entry or a memo / stack / nesting beyond the
 * limits give a {@link PickleError} too: never a crash or a hang.
 *
 * Python values map to: None -> `null`, bool, int -> `number` (or `bigint` beyond 2^53), float ->
 * `number`, str -> `string`, bytes / bytearray -> `Uint8Array`, list -> array, tuple -> frozen
 * array ({@link isPickleTuple}), dict -> `Map`, set / frozenset -> `Set`, an allowed global ->
 * {@link PickleGlobalRef}, a call's result -> whatever the global's `call` returns.
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return new Unpickler(bytes, options).run();
}

class Unpickler {
  private pos = 0;
  private opPos = 0;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  private readonly maxMemo: number;
  private readonly maxStack: number;
  private readonly maxMarks: number;
  private depth = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxMemo = options.maxMemo ?? PICKLE_MAX_MEMO;
    this.maxStack = options.maxStack ?? PICKLE_MAX_STACK;
    this.maxMarks = options.maxMarks ?? PICKLE_MAX_MARKS;
  }

  run(): unknown {
    for (;;) {
      this.opPos = this.pos;
      if (this.pos >= this.bytes.length) {
        throw this.error('the pickle ends without a STOP opcode (truncated)');
      }
      const op = this.bytes[this.pos++] as number;
      switch (op) {
        case 0x80: { // PROTO
          const version = this.u8();
          if (version < 2 || version > 5) {
            throw this.error(`protocol ${version} is not supported (2 to 5 are)`);
          }
          break;
        }
        case 0x95: { // FRAME: a length hint only; the data follows inline.
          this.need(8);
          const length = this.view.getBigUint64(this.pos, true);
          this.pos += 8;
          if (length > BigInt(this.bytes.length - this.pos)) {
            throw this.error(`a frame of ${length} bytes runs past the end of the pickle (truncated)`);
          }
          break;
        }
        case 0x2e: // STOP
          if (this.marks.length > 0) {
            throw this.error('STOP inside an open MARK');
          }
          return this.pop();
        case 0x28: // MARK
          if (this.marks.length >= this.maxMarks) {
            throw this.error(`more than ${this.maxMarks} nested marks`);
          }
          this.marks.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length === 0) {
            this.popMark();
          } else {
            this.pop();
          }
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        case 0x4e: // NONE
          this.push(null);
          break;
        case 0x88: // NEWTRUE
          this.push(true);
          break;
        case 0x89: // NEWFALSE
          this.push(false);
          break;
        case 0x4a: // BININT
          this.need(4);
          this.push(this.view.getInt32(this.pos, true));
          this.pos += 4;
          break;
        case 0x4b: // BININT1
          this.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.need(2);
          this.push(this.view.getUint16(this.pos, true));
          this.pos += 2;
          break;
        case 0x8a: // LONG1
          this.push(this.long(this.u8()));
          break;
        case 0x8b: { // LONG4
          this.need(4);
          const n = this.view.getInt32(this.pos, true);
          this.pos += 4;
          if (n < 0) {
            throw this.error(`LONG4 has a negative length ${n}`);
          }
          this.push(this.long(n));
          break;
        }
        case 0x49: { // INT (protocol 0; "I01\n" is True)
          const line = this.line();
          if (line === '01' || line === '00') {
            this.push(line === '01');
          } else {
            this.push(this.decimal(line));
          }
          break;
        }
        case 0x4c: // LONG (protocol 0)
          this.push(this.decimal(this.line().replace(/L$/, '')));
          break;
        case 0x46: { // FLOAT (protocol 0)
          const line = this.line();
          if (!/^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|nan)$/i.test(line)) {
            throw this.error(`FLOAT ${JSON.stringify(line)} is not a number`);
          }
          this.push(Number(line.replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN')));
          break;
        }
        case 0x47: // BINFLOAT (big-endian)
          this.need(8);
          this.push(this.view.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        case 0x58: // BINUNICODE
          this.push(this.text(this.u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.push(this.text(this.u8()));
          break;
        case 0x8d: // BINUNICODE8
          this.push(this.text(this.u64()));
          break;
        case 0x54: { // BINSTRING (Python 2 str, read as latin-1)
          this.need(4);
          const n = this.view.getInt32(this.pos, true);
          this.pos += 4;
          if (n < 0) {
            throw this.error(`BINSTRING has a negative length ${n}`);
          }
          this.push(latin1.decode(this.take(n)));
          break;
        }
        case 0x55: // SHORT_BINSTRING
          this.push(latin1.decode(this.take(this.u8())));
          break;
        case 0x42: // BINBYTES
          this.push(this.take(this.u32()).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          this.push(this.take(this.u8()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.push(this.take(this.u64()).slice());
          break;
        case 0x29: // EMPTY_TUPLE
          this.push(Object.freeze([]));
          break;
        case 0x85: // TUPLE1
          this.push(Object.freeze([this.pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push(Object.freeze([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(Object.freeze([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.push(Object.freeze(this.popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          this.push([]);
          break;
        case 0x6c: // LIST
          this.push(this.popMark());
          break;
        case 0x61: { // APPEND
          const item = this.pop();
          this.list(this.top()).push(item);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          const list = this.list(this.top());
          for (const item of items) {
            list.push(item);
          }
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.push(new Map());
          break;
        case 0x64: { // DICT
          const items = this.popMark();
          const dict = new Map<unknown, unknown>();
          this.setItems(dict, items);
          this.push(dict);
          break;
        }
        case 0x73: { // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.dict(this.top()).set(key, value);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.dict(this.top()), items);
          break;
        }
        case 0x8f: // EMPTY_SET
          this.push(new Set());
          break;
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const set = this.top();
          if (!(set instanceof Set)) {
            throw this.error(`ADDITEMS on a ${typeName(set)}, not a set`);
          }
          for (const item of items) {
            set.add(item);
          }
          break;
        }
        case 0x91: // FROZENSET
          this.push(new Set(this.popMark()));
          break;
        case 0x63: { // GLOBAL
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') {
            throw this.error('STACK_GLOBAL needs a module and a name that are strings');
          }
          this.push(this.global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.push(this.call(cls, args));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size > 0) {
            throw this.error('NEWOBJ_EX with keyword arguments is not supported');
          }
          this.push(this.call(cls, args));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const target = this.top();
          if (target instanceof Map || Array.isArray(target)) {
            // An OrderedDict's instance dict (`_metadata` of a state dict): kept aside, not merged.
            pickleAttributes.set(target, state);
          } else {
            throw this.error(`BUILD on a ${typeName(target)} is not supported`);
          }
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.pop();
          this.push(this.persistent(pid));
          break;
        }
        case 0x50: // PERSID
          this.push(this.persistent(this.line()));
          break;
        case 0x68: // BINGET
          this.push(this.get(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.get(this.u32()));
          break;
        case 0x67: // GET
          this.push(this.get(this.decimalIndex(this.line())));
          break;
        case 0x71: // BINPUT
          this.put(this.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.put(this.u32());
          break;
        case 0x70: // PUT
          this.put(this.decimalIndex(this.line()));
          break;
        case 0x94: // MEMOIZE
          this.put(this.memo.size);
          break;
        case 0x53: // STRING
        case 0x56: // UNICODE
        case 0x69: // INST
        case 0x6f: // OBJ
        case 0x82: // EXT1
        case 0x83: // EXT2
        case 0x84: // EXT4
        case 0x97: // NEXT_BUFFER
        case 0x98: // READONLY_BUFFER
          throw this.error(`the opcode ${OPCODE_NAMES[op]} (0x${hex(op)}) is not supported`);
        default:
          throw this.error(`unknown opcode 0x${hex(op)}`);
      }
    }
  }

  private error(reason: string): PickleError {
    return new PickleError(this.options.path, this.options.entry, reason, this.opPos);
  }

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) {
      throw this.error(`${OPCODE_NAMES[this.bytes[this.opPos] as number] ?? 'an opcode'} needs ${n} more bytes, but the pickle ends (truncated)`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }

  private u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return value;
  }

  private u64(): number {
    this.need(8);
    const value = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (value > BigInt(this.bytes.length)) {
      throw this.error(`a length of ${value} runs past the end of the pickle (truncated)`);
    }
    return Number(value);
  }

  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private text(n: number): string {
    const raw = this.take(n);
    try {
      return utf8.decode(raw);
    } catch {
      throw this.error('a string is not valid UTF-8');
    }
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) {
      throw this.error(`${OPCODE_NAMES[this.bytes[this.opPos] as number] ?? 'an opcode'} has no end of line (truncated)`);
    }
    const raw = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    try {
      return utf8.decode(raw);
    } catch {
      throw this.error('a line is not valid UTF-8');
    }
  }

  private decimal(text: string): number | bigint {
    if (!/^[-+]?\d+$/.test(text)) {
      throw this.error(`${JSON.stringify(text)} is not an integer`);
    }
    const value = BigInt(text);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private decimalIndex(text: string): number {
    const value = this.decimal(text);
    if (typeof value !== 'number' || value < 0) {
      throw this.error(`${JSON.stringify(text)} is not a memo index`);
    }
    return value;
  }

  /**
   * A little-endian two's-complement integer of `n` bytes, in time linear in `n` (as CPython's
   * `_PyLong_FromByteArray`): the bytes become one hexadecimal string, which `BigInt` parses in
   * one pass. Shifting a growing `BigInt` a byte at a time is quadratic: a 256 KiB LONG4 took
   * minutes (found by `npm run fuzz`, target `pickle`).
   */
  private long(n: number): number | bigint {
    const raw = this.take(n);
    if (n === 0) {
      return 0;
    }
    const digits = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      digits[i] = HEX_BYTES[raw[n - 1 - i] as number] as string;
    }
    let value = BigInt(`0x${digits.join('')}`);
    if (((raw[n - 1] as number) & 0x80) !== 0) {
      value -= 1n << BigInt(8 * n);
    }
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private push(value: unknown): void {
    if (this.depth >= this.maxStack) {
      throw this.error(`the stack holds more than ${this.maxStack} values`);
    }
    this.stack.push(value);
    this.depth++;
  }

  private pop(): unknown {
    if (this.stack.length === 0) {
      throw this.error(`${OPCODE_NAMES[this.bytes[this.opPos] as number] ?? 'an opcode'} pops from an empty stack`);
    }
    this.depth--;
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length === 0) {
      throw this.error(`${OPCODE_NAMES[this.bytes[this.opPos] as number] ?? 'an opcode'} needs a value, but the stack is empty`);
    }
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const previous = this.marks.pop();
    if (previous === undefined) {
      throw this.error(`${OPCODE_NAMES[this.bytes[this.opPos] as number] ?? 'an opcode'} without a MARK`);
    }
    const items = this.stack;
    this.depth -= items.length;
    this.stack = previous;
    return items;
  }

  private list(value: unknown): unknown[] {
    if (!Array.isArray(value) || Object.isFrozen(value)) {
      throw this.error(`APPEND to a ${typeName(value)}, not a list`);
    }
    return value;
  }

  private dict(value: unknown): Map<unknown, unknown> {
    if (!(value instanceof Map)) {
      throw this.error(`SETITEM on a ${typeName(value)}, not a dict`);
    }
    return value;
  }

  private setItems(dict: Map<unknown, unknown>, items: readonly unknown[]): void {
    if (items.length % 2 !== 0) {
      throw this.error('SETITEMS with an odd number of values');
    }
    for (let i = 0; i < items.length; i += 2) {
      dict.set(items[i], items[i + 1]);
    }
  }

  private get(index: number): unknown {
    if (!this.memo.has(index)) {
      throw this.error(`memo entry ${index} is not defined`);
    }
    return this.memo.get(index);
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) {
      throw this.error(`the memo holds more than ${this.maxMemo} entries`);
    }
    this.memo.set(index, this.top());
  }

  private global(module: string, name: string): PickleGlobalRef {
    const fullName = `${module}.${name}`;
    const spec = this.options.globals.get(fullName);
    if (spec === undefined) {
      throw new UnsafePickleGlobalError(this.options.path, this.options.entry, fullName, this.opPos);
    }
    return new PickleGlobalRef(fullName, spec);
  }

  private call(callable: unknown, args: unknown): unknown {
    if (!(callable instanceof PickleGlobalRef)) {
      throw this.error(`${OPCODE_NAMES[this.bytes[this.opPos] as number]} calls a ${typeName(callable)}, not an allowed global`);
    }
    if (callable.spec.call === undefined) {
      throw this.error(`${callable.name} is not callable`);
    }
    if (!isPickleTuple(args)) {
      throw this.error(`${callable.name} is called with a ${typeName(args)}, not a tuple of arguments`);
    }
    try {
      return callable.spec.call(args);
    } catch (error) {
      if (error instanceof CheckpointError) {
        throw error;
      }
      throw this.error(`${callable.name}: ${(error as Error).message}`);
    }
  }

  private persistent(pid: unknown): unknown {
    const load = this.options.persistentLoad;
    if (load === undefined) {
      throw this.error('a persistent id, but nothing resolves persistent ids here');
    }
    try {
      return load(pid);
    } catch (error) {
      if (error instanceof CheckpointError) {
        throw error;
      }
      throw this.error(`persistent id: ${(error as Error).message}`);
    }
  }
}

/** `00` to `ff`, for {@link Unpickler.long}. */
const HEX_BYTES: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function hex(op: number): string {
  return op.toString(16).padStart(2, '0');
}

/** A Python-ish type name of an unpickled value, for messages. */
export function typeName(value: unknown): string {
  if (value === null) {
    return 'None';
  }
  if (isPickleTuple(value)) {
    return 'tuple';
  }
  if (Array.isArray(value)) {
    return 'list';
  }
  if (value instanceof Map) {
    return 'dict';
  }
  if (value instanceof Set) {
    return 'set';
  }
  if (value instanceof Uint8Array) {
    return 'bytes';
  }
  if (value instanceof PickleGlobalRef) {
    return value.name;
  }
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    default:
      return (value as object).constructor?.name ?? 'object';
  }
}
