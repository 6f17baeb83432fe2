import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { truncateSync } from 'node:fs';

import { fixturePath, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { CheckpointError } from './errors.js';
import { SAFETENSORS_MAX_HEADER_BYTES, SafetensorsReader } from './safetensors.js';

/** Builds safetensors bytes from a header object and a data section. */
function safetensorsBytes(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The message `JSON.parse` gives for `text` (V8's wording, which the reader quotes). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}

describe(SafetensorsReader, () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('reads the same values from the F32 file and the BF16 shards (the fixtures hold bf16-exact numbers)', async () => {
    const f32 = await SafetensorsReader.open(fixturePath('llama3', 'model.safetensors'));
    const bf16 = await SafetensorsReader.open(fixturePath('llama3_bf16_sharded', 'model-00001-of-00002.safetensors'));
    try {
      const key = 'model.embed_tokens.weight';
      expect(f32.info(key)).toMatchObject({ dtype: 'F32', shape: [512, 64], numel: 32_768 });
      expect(bf16.info(key).dtype).toBe('BF16');
      const a = await f32.readFloat32(key);
      const b = await bf16.readFloat32(key);
      expect(b).toEqual(a);
      expect(f32.metadata).toEqual({ format: 'pt' });
    } finally {
      await f32.close();
      await bf16.close();
    }
  });

  it('reads into a caller-provided array', async () => {
    const reader = await SafetensorsReader.open(fixturePath('llama3', 'model.safetensors'));
    try {
      const into = new Float32Array(64);
      const out = await reader.readFloat32('model.norm.weight', into);
      expect(out).toBe(into);
      await expect(reader.readFloat32('model.norm.weight', new Float32Array(3))).rejects.toThrow(
        'The destination of model.norm.weight holds 3 elements, but the tensor has 64.',
      );
    } finally {
      await reader.close();
    }
  });

  it('widens F16 and narrows I64', async () => {
    const half = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00]); // 1, -2, 2^-24, +inf
    const longs = new BigInt64Array([5n, -7n]);
    const data = new Uint8Array(half.byteLength + longs.byteLength);
    data.set(new Uint8Array(half.buffer), 0);
    data.set(new Uint8Array(longs.buffer), half.byteLength);
    const path = dir.write(
      'x.safetensors',
      safetensorsBytes(
        {
          h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
          i: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
        },
        data,
      ),
    );
    const reader = await SafetensorsReader.open(path);
    try {
      expect(Array.from(await reader.readFloat32('h'))).toEqual([1, -2, 2 ** -24, Infinity]);
      expect(Array.from(await reader.readInt32('i'))).toEqual([5, -7]);
      await expect(reader.readFloat32('i')).rejects.toThrow(`i in ${path} is of type I64, not a floating-point type.`);
      await expect(reader.readFloat32('nope')).rejects.toThrow(`${path} has no tensor named nope.`);
    } finally {
      await reader.close();
    }
  });

  it('reads row and column slices of a tensor without the rest', async () => {
    const reader = await SafetensorsReader.open(fixturePath('llama3', 'model.safetensors'));
    try {
      const key = 'model.layers.0.mlp.down_proj.weight';
      expect(reader.shape(key)).toEqual([64, 160]);
      const full = await reader.read(key);
      const rows = await reader.readSlice(key, 0, 16, 16);
      expect(Array.from(rows)).toEqual(Array.from(full.subarray(16 * 160, 32 * 160)));
      const cols = await reader.readSlice(key, 1, 40, 40);
      expect(Array.from(cols)).toEqual(Array.from({ length: 64 * 40 }, (_, i) => full[Math.floor(i / 40) * 160 + 40 + (i % 40)]));
      const into = new Float32Array(64 * 40);
      expect(await reader.readSlice(key, 1, 40, 40, into)).toBe(into);
      await expect(reader.readSlice(key, 2, 0, 1)).rejects.toThrow(
        `Cannot slice ${key} of ${reader.path} along dim 2: the tensor has 2 dims.`,
      );
      await expect(reader.readSlice(key, 1, 150, 20)).rejects.toThrow(
        `Cannot read [150, 170) along dim 1 of ${key} in ${reader.path}: the dim has size 160.`,
      );
      await expect(reader.read(key, new Int32Array(64 * 160))).rejects.toThrow(
        `The destination of ${key} is an Int32Array, but the tensor is of type F32, read as float32.`,
      );
    } finally {
      await reader.close();
    }
  });

  it('names the tensor whose int64 values do not fit in int32', async () => {
    const longs = new BigInt64Array([1n, 2n ** 40n]);
    const path = dir.write('x.safetensors', safetensorsBytes({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, new Uint8Array(longs.buffer)));
    const reader = await SafetensorsReader.open(path);
    try {
      const error = await reader.readInt32('ids').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).tensor).toBe('ids');
      expect((error as Error).message).toBe(`ids in ${path} holds a value at index 1 that does not fit in int32.`);
      expect(Array.from(await reader.readSlice('ids', 0, 0, 1))).toEqual([1]);
    } finally {
      await reader.close();
    }
  });

  it('reports a file cut short after it was opened, naming the tensor', async () => {
    const header = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const dataStart = 8 + JSON.stringify(header).length;
    const path = dir.write('x.safetensors', safetensorsBytes(header, new Uint8Array(8)));
    const reader = await SafetensorsReader.open(path);
    truncateSync(path, dataStart + 4);
    try {
      const error = await reader.read('t').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).tensor).toBe('t');
      expect((error as Error).message).toBe(`${path} is truncated: t ends at byte ${dataStart + 8}, but the file ends at byte ${dataStart + 4}.`);
    } finally {
      await reader.close();
    }
  });

  describe('malformed files', () => {
    const cases: [string, Uint8Array, string][] = [
      ['too short', new Uint8Array(3), 'the file has 3 bytes, fewer than the 8-byte header length.'],
      [
        'header length past the end',
        safetensorsBytes({}, new Uint8Array(0), 1000n),
        'the header length 1000 runs past the end of the file (10 bytes).',
      ],
      [
        'huge header length',
        safetensorsBytes({}, new Uint8Array(0), 2n ** 62n),
        `the header length ${2n ** 62n} exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes.`,
      ],
      [
        'a header length one byte over the limit',
        safetensorsBytes({}, new Uint8Array(0), BigInt(SAFETENSORS_MAX_HEADER_BYTES + 1)),
        `the header length ${SAFETENSORS_MAX_HEADER_BYTES + 1} exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes.`,
      ],
      [
        // At the limit the length is accepted, and the next check (the file's size) speaks.
        'a header length at the limit in a small file',
        safetensorsBytes({}, new Uint8Array(0), BigInt(SAFETENSORS_MAX_HEADER_BYTES)),
        `the header length ${SAFETENSORS_MAX_HEADER_BYTES} runs past the end of the file (10 bytes).`,
      ],
      ['not JSON', (() => { const b = safetensorsBytes({ a: 1 }); b[8] = 0x7a; return b; })(), `the header is not valid JSON (${jsonError('z"a":1}')}).`],
      ['unknown dtype', safetensorsBytes({ t: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), 't has an unsupported dtype "Q4".'],
      ['bad shape', safetensorsBytes({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), 't has an invalid shape [-1].'],
      [
        'size mismatch',
        safetensorsBytes({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)),
        't is [2] of F32 (8 bytes), but its data_offsets span 4 bytes.',
      ],
      [
        'overlap',
        safetensorsBytes(
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
          new Uint8Array(8),
        ),
        'the data of b overlaps the tensor before it.',
      ],
      [
        'offsets past the data',
        safetensorsBytes({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(4)),
        't ends at data offset 16, past the end of the data (4 bytes).',
      ],
      [
        'a size in bytes beyond 2^53',
        safetensorsBytes({ t: { dtype: 'F64', shape: [2 ** 51], data_offsets: [0, 4] } }, new Uint8Array(4)),
        'the shape of t [2251799813685248] has more bytes than can be counted.',
      ],
      [
        'overflowing shape',
        safetensorsBytes({ t: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, new Uint8Array(4)),
        'the shape of t [1099511627776,1099511627776] has more elements than can be counted.',
      ],
      [
        'a shape whose product overflows 2^64 (2^31 x 2^31 x 2^31)',
        safetensorsBytes({ t: { dtype: 'F32', shape: [2 ** 31, 2 ** 31, 2 ** 31], data_offsets: [0, 4] } }, new Uint8Array(4)),
        'the shape of t [2147483648,2147483648,2147483648] has more elements than can be counted.',
      ],
      [
        'a dimension above 2^53',
        safetensorsBytes({ t: { dtype: 'U8', shape: [2 ** 53 + 2], data_offsets: [0, 4] } }, new Uint8Array(4)),
        't has an invalid shape [9007199254740994].',
      ],
      [
        'a fractional dimension',
        safetensorsBytes({ t: { dtype: 'U8', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)),
        't has an invalid shape [1.5].',
      ],
      [
        'a shape that is not a list',
        safetensorsBytes({ t: { dtype: 'U8', shape: 4, data_offsets: [0, 4] } }, new Uint8Array(4)),
        't has an invalid shape 4.',
      ],
      [
        'offsets that end before they begin',
        safetensorsBytes({ t: { dtype: 'U8', shape: [0], data_offsets: [8, 4] } }, new Uint8Array(8)),
        't has invalid data_offsets [8,4].',
      ],
      [
        'an offset above 2^53',
        safetensorsBytes({ t: { dtype: 'U8', shape: [0], data_offsets: [2 ** 53 + 2, 2 ** 53 + 2] } }, new Uint8Array(0)),
        't has invalid data_offsets [9007199254740994,9007199254740994].',
      ],
      [
        'a gap between two tensors',
        safetensorsBytes(
          { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } },
          new Uint8Array(12),
        ),
        'there is a gap of 4 bytes before b.',
      ],
      [
        'a tensor that does not start at the data',
        safetensorsBytes({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
        'there is a gap of 4 bytes before t.',
      ],
      [
        'two tensors with the same offsets',
        safetensorsBytes(
          { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } },
          new Uint8Array(4),
        ),
        'the data of b overlaps the tensor before it.',
      ],
      [
        'a dtype whose size disagrees with data_offsets (BF16 read as 4 bytes per element)',
        safetensorsBytes({ t: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 16] } }, new Uint8Array(16)),
        't is [2,2] of BF16 (8 bytes), but its data_offsets span 16 bytes.',
      ],
      [
        'a last tensor, listed first, that ends past the file',
        safetensorsBytes(
          { z: { dtype: 'F64', shape: [2], data_offsets: [4, 20] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
          new Uint8Array(12),
        ),
        'z ends at data offset 20, past the end of the data (12 bytes).',
      ],
      ['a header that is a list', safetensorsBytes([1]), 'the header is not a JSON object.'],
      ['an entry that is not an object', safetensorsBytes({ t: 3 }), 'the entry of t is not an object.'],
      ['a `__metadata__` value that is not a string', safetensorsBytes({ __metadata__: { format: 1 } }), '`__metadata__` entry format is not a string.'],
    ];

    // The limits of docs/reliability.md, "Limits against hostile files", with their full messages.
    const limits: [string, Uint8Array, string][] = [
      [
        'a header length one byte over the 100 MB cap of the reference implementation',
        safetensorsBytes({}, new Uint8Array(0), BigInt(SAFETENSORS_MAX_HEADER_BYTES) + 1n),
        'the header length 100000001 exceeds the limit of 100000000 bytes.',
      ],
      [
        'a shape whose product overflows',
        safetensorsBytes({ t: { dtype: 'U8', shape: [2 ** 27, 2 ** 27, 2 ** 27], data_offsets: [0, 1] } }, new Uint8Array(1)),
        'the shape of t [134217728,134217728,134217728] has more elements than can be counted.',
      ],
      [
        'data_offsets that run backwards',
        safetensorsBytes({ t: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8)),
        't has invalid data_offsets [8,0].',
      ],
      [
        'overlapping data_offsets, listed out of order',
        safetensorsBytes(
          { b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } },
          new Uint8Array(12),
        ),
        'the data of b overlaps the tensor before it.',
      ],
      [
        'out-of-order data_offsets that leave a gap',
        safetensorsBytes(
          { b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
          new Uint8Array(12),
        ),
        'there is a gap of 4 bytes before b.',
      ],
      [
        'a dtype the file size cannot hold (F64 where the file has the bytes of F32)',
        safetensorsBytes({ t: { dtype: 'F64', shape: [4], data_offsets: [0, 32] } }, new Uint8Array(16)),
        't ends at data offset 32, past the end of the data (16 bytes).',
      ],
    ];

    it.each(limits)('rejects %s, with the full message', async (_name, bytes, reason) => {
      const path = dir.write('bad.safetensors', bytes);
      const error = await SafetensorsReader.open(path).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toBe(`${path} is not a valid safetensors file: ${reason}`);
    });

    it.each(cases)('rejects a file with %s, naming the file', async (_name, bytes, reason) => {
      const path = dir.write('bad.safetensors', bytes);
      const error = await SafetensorsReader.open(path).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).path).toBe(path);
      expect((error as Error).message).toBe(`${path} is not a valid safetensors file: ${reason}`);
    });

    it('accepts tensors listed out of offset order, as the reference implementation does (it sorts by offset)', async () => {
      const data = new Float32Array([1, 2, 3]);
      const header = { b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
      const reader = await SafetensorsReader.open(dir.write('ok.safetensors', safetensorsBytes(header, new Uint8Array(data.buffer))));
      try {
        expect(reader.keys()).toEqual(['a', 'b']);
        expect(await reader.readFloat32('a')).toEqual(new Float32Array([1, 2]));
        expect(await reader.readFloat32('b')).toEqual(new Float32Array([3]));
      } finally {
        await reader.close();
      }
    });
  });
});
