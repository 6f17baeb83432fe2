/**
 * A tiny pickle assembler for tests: each method appends one opcode (protocols 2 to 5, as CPython
 * writes them), so a test can build valid, malformed and malicious pickles byte by byte.
 */
export class PickleBuilder {
  private readonly parts: number[] = [];

  /** The offset the next opcode will have. */
  get position(): number {
    return this.parts.length;
  }

  raw(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }

  proto(version = 2): this {
    return this.raw(0x80, version);
  }

  frame(length: number): this {
    return this.raw(0x95, ...u64(length));
  }

  stop(): this {
    return this.raw(0x2e);
  }

  mark(): this {
    return this.raw(0x28);
  }

  none(): this {
    return this.raw(0x4e);
  }

  bool(value: boolean): this {
    return this.raw(value ? 0x88 : 0x89);
  }

  /** BININT1, BININT2 or BININT, as CPython picks. */
  int(value: number): this {
    if (value >= 0 && value < 256) {
      return this.raw(0x4b, value);
    }
    if (value >= 0 && value < 65_536) {
      return this.raw(0x4d, value & 0xff, value >> 8);
    }
    if (value >= -(2 ** 31) && value < 2 ** 31) {
      return this.raw(0x4a, ...i32(value));
    }
    return this.long(BigInt(value));
  }

  /** LONG1 with the minimal two's-complement bytes (none for 0, as CPython writes). */
  long(value: bigint): this {
    const bytes: number[] = [];
    let v = value;
    while (v !== 0n && v !== -1n) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    // One more byte when the top bit does not carry the sign.
    const top = bytes[bytes.length - 1];
    if (v === -1n && (top === undefined || (top & 0x80) === 0)) {
      bytes.push(0xff);
    } else if (v === 0n && top !== undefined && (top & 0x80) !== 0) {
      bytes.push(0);
    }
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  float(value: number): this {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, value, false);
    return this.raw(0x47, ...new Uint8Array(b.buffer));
  }

  /** BINUNICODE. */
  str(value: string): this {
    const bytes = new TextEncoder().encode(value);
    return this.raw(0x58, ...u32(bytes.length), ...bytes);
  }

  /** SHORT_BINUNICODE (protocol 4). */
  shortStr(value: string): this {
    const bytes = new TextEncoder().encode(value);
    return this.raw(0x8c, bytes.length, ...bytes);
  }

  bytes(value: Uint8Array): this {
    return this.raw(0x43, value.length, ...value);
  }

  global(module: string, name: string): this {
    return this.raw(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }

  /** SHORT_BINUNICODE module, SHORT_BINUNICODE name, STACK_GLOBAL (protocol 4). */
  stackGlobal(module: string, name: string): this {
    return this.shortStr(module).shortStr(name).raw(0x93);
  }

  emptyTuple(): this {
    return this.raw(0x29);
  }

  tuple(): this {
    return this.raw(0x74);
  }

  tuple1(): this {
    return this.raw(0x85);
  }

  tuple2(): this {
    return this.raw(0x86);
  }

  tuple3(): this {
    return this.raw(0x87);
  }

  emptyList(): this {
    return this.raw(0x5d);
  }

  append(): this {
    return this.raw(0x61);
  }

  appends(): this {
    return this.raw(0x65);
  }

  emptyDict(): this {
    return this.raw(0x7d);
  }

  setitem(): this {
    return this.raw(0x73);
  }

  setitems(): this {
    return this.raw(0x75);
  }

  reduce(): this {
    return this.raw(0x52);
  }

  build(): this {
    return this.raw(0x62);
  }

  binpersid(): this {
    return this.raw(0x51);
  }

  binput(index: number): this {
    return this.raw(0x71, index);
  }

  longBinput(index: number): this {
    return this.raw(0x72, ...u32(index));
  }

  binget(index: number): this {
    return this.raw(0x68, index);
  }

  memoize(): this {
    return this.raw(0x94);
  }

  toBytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function i32(value: number): number[] {
  return u32(value >>> 0);
}

function u64(value: number): number[] {
  return [...u32(value % 2 ** 32), ...u32(Math.floor(value / 2 ** 32))];
}
