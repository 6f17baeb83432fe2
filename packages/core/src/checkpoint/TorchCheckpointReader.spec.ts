import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  FIXTURES_DIR,
  PickleBuilder,
  buildTorchCheckpoint,
  buildZip,
  fixturePath,
  makeTempDir,
  type TempDir,
} from '../../../../test/support/index.js';
import { CheckpointError, CheckpointNotFoundError, PickleError, UnsafePickleGlobalError } from './errors.js';
import { TORCH_MAX_PICKLE_BYTES, TorchCheckpointReader } from './TorchCheckpointReader.js';
import { ZIP_MAX_ENTRIES } from './ZipArchive.js';

const SYNTHETIC = join(FIXTURES_DIR, 'torch_synthetic');

interface Expected {
  readonly dtype: string;
  readonly shape: number[];
  readonly values: number[];
}

const expected = JSON.parse(readFileSync(join(SYNTHETIC, 'expected.json'), 'utf8')) as Record<string, Record<string, Expected>>;

async function open(path: string): Promise<TorchCheckpointReader> {
  return TorchCheckpointReader.open(path);
}

async function openError(path: string): Promise<Error> {
  const error = await TorchCheckpointReader.open(path).catch((e: unknown) => e);
  if (!(error instanceof Error)) {
    throw new Error(`${path} was accepted`);
  }
  return error;
}

describe(TorchCheckpointReader, () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  describe('reads checkpoints pickled by CPython (test/fixtures/torch_synthetic/make_fixtures.py)', () => {
    it.each(['protocol2.pt', 'protocol4.pt', 'protocol5_deflate.pt', 'nested_model.pt'])('%s', async (file) => {
      const reader = await open(join(SYNTHETIC, file));
      try {
        const want = expected[file] as Record<string, Expected>;
        expect(new Set(reader.keys())).toEqual(new Set(Object.keys(want)));
        for (const [key, tensor] of Object.entries(want)) {
          expect(reader.info(key)).toEqual({ key, shape: tensor.shape, dtype: tensor.dtype, path: join(SYNTHETIC, file) });
          if (key === 'big_ids') {
            continue;
          }
          const data = await reader.read(key);
          expect(data).toBeInstanceOf(['F32', 'F16', 'BF16', 'F64'].includes(tensor.dtype) ? Float32Array : Int32Array);
          expect(Array.from(data)).toEqual(tensor.values.map((v) => (tensor.dtype === 'F64' ? Math.fround(v) : v)));
        }
      } finally {
        await reader.close();
      }
    });

    it('reads strided views (a transpose, a storage offset, a column block) of one shared storage', async () => {
      const reader = await open(join(SYNTHETIC, 'protocol2.pt'));
      try {
        expect(reader.tensor('linear.weight_t')).toMatchObject({ offset: 0, shape: [4, 3], stride: [1, 4] });
        expect(reader.tensor('linear.rows').storage).toBe(reader.tensor('linear.weight').storage);
        const weight = Array.from(await reader.read('linear.weight'));
        const transposed = Array.from(await reader.read('linear.weight_t'));
        expect(transposed).toEqual([0, 1, 2, 3].flatMap((c) => [0, 1, 2].map((r) => weight[r * 4 + c])));
        expect(Array.from(await reader.read('linear.rows'))).toEqual(weight.slice(4, 12));
        expect(Array.from(await reader.read('linear.cols'))).toEqual([0, 1, 2].flatMap((r) => [weight[r * 4 + 1], weight[r * 4 + 2]]));
        // Slices of views: rows 1..2 of the transpose, column 1 of the column block.
        expect(Array.from(await reader.readSlice('linear.weight_t', 0, 1, 2))).toEqual(transposed.slice(3, 9));
        expect(Array.from(await reader.readSlice('linear.cols', 1, 1, 1))).toEqual([2, 6, 10].map((i) => weight[i]));
        expect(Array.from(await reader.read('scalar'))).toEqual([-4]);
      } finally {
        await reader.close();
      }
    });

    it('names the tensor whose int64 values do not fit in int32', async () => {
      const path = join(SYNTHETIC, 'protocol2.pt');
      const reader = await open(path);
      try {
        await expect(reader.read('big_ids')).rejects.toThrow(
          new CheckpointError(path, `big_ids in ${path} holds a value at index 0 that does not fit in int32.`, 'big_ids'),
        );
      } finally {
        await reader.close();
      }
    });

    it.each([
      ['malicious_posix_system.pt', 'malicious/data.pkl', 'posix.system', 179],
      ['malicious_builtins_eval.pt', 'malicious/data.pkl', 'builtins.eval', 35],
    ])('refuses %s, naming the global', async (file, entry, global, position) => {
      const path = join(SYNTHETIC, file);
      const error = await openError(path);
      expect(error).toBeInstanceOf(UnsafePickleGlobalError);
      expect(error.message).toBe(
        `${path} is refused: its pickle ${entry} refers to the global ${global} (at byte ${position}), which is not on the allow-list of the restricted unpickler.`,
      );
    });
  });

  it('reads the Meta fixture (a real torch.save file, BF16 storages)', async () => {
    const reader = await open(fixturePath('llama3_meta', 'consolidated.00.pth'));
    try {
      expect(reader.keys()).toHaveLength(30);
      expect(reader.info('layers.0.attention.wk.weight')).toMatchObject({ shape: [32, 64], dtype: 'BF16' });
      const slice = await reader.readSlice('tok_embeddings.weight', 1, 8, 16);
      const full = await reader.read('tok_embeddings.weight');
      expect(Array.from(slice)).toEqual(Array.from({ length: 512 * 16 }, (_, i) => full[Math.floor(i / 16) * 64 + 8 + (i % 16)]));
    } finally {
      await reader.close();
    }
  });

  it('reads an expanded (stride-0) view and a DEFLATE storage written by the test', async () => {
    const path = dir.write(
      'x.pt',
      buildTorchCheckpoint({
        deflate: true,
        storages: { '0': { dtype: 'BF16', data: new Float32Array([1.5, -2]) } },
        tensors: [
          { key: 'bias', storage: '0', shape: [3, 2], stride: [0, 1] },
          { key: 'second', storage: '0', shape: [4], stride: [0], offset: 1 },
        ],
      }),
    );
    const reader = await open(path);
    try {
      expect(Array.from(await reader.read('bias'))).toEqual([1.5, -2, 1.5, -2, 1.5, -2]);
      expect(Array.from(await reader.read('second'))).toEqual([-2, -2, -2, -2]);
      expect(Array.from(await reader.readSlice('bias', 1, 1, 1))).toEqual([-2, -2, -2]);
    } finally {
      await reader.close();
    }
  });

  describe('malformed archives give a CheckpointError naming the file', () => {
    it('a missing file', async () => {
      const path = join(dir.path, 'nope.pt');
      const error = await openError(path);
      expect(error).toBeInstanceOf(CheckpointNotFoundError);
      expect(error.message).toBe(`${path} does not exist.`);
    });

    it('a truncated archive', async () => {
      const bytes = readFileSync(fixturePath('llama3_meta', 'consolidated.00.pth'));
      const path = dir.write('cut.pth', bytes.subarray(0, bytes.length >> 1));
      expect((await openError(path)).message).toBe(
        `${path} is not a valid zip archive: End of central directory record signature not found. Either not a zip file, or file is truncated.`,
      );
    });

    it('a file that is not a zip', async () => {
      const path = dir.write('text.pt', 'hello, not a checkpoint');
      expect((await openError(path)).message).toBe(
        `${path} is not a valid zip archive: End of central directory record signature not found. Either not a zip file, or file is truncated.`,
      );
    });

    it('the legacy (pre-1.6) format', async () => {
      const path = dir.write('old.pt', new PickleBuilder().proto(2).none().stop().toBytes());
      expect((await openError(path)).message).toBe(
        `${path} is in the legacy torch format (a bare pickle, before torch 1.6), which is not supported; save it again with \`torch.save\` from torch 1.6 or later.`,
      );
    });

    it('no data.pkl', async () => {
      const path = dir.write('x.pt', buildZip([{ path: 'archive/version', body: new Uint8Array([51]) }]));
      expect((await openError(path)).message).toBe(`${path} is not a torch checkpoint: the archive has no <name>/data.pkl entry.`);
    });

    it('a storage without its entry', async () => {
      const path = dir.write(
        'x.pt',
        buildTorchCheckpoint({
          storages: { '0': { dtype: 'F32', data: new Float32Array(4) } },
          tensors: [{ key: 'w', storage: '0', shape: [4] }],
          omitEntries: ['archive/data/0'],
        }),
      );
      expect((await openError(path)).message).toBe(`${path} refers to the storage 0, but the archive has no entry archive/data/0.`);
    });

    it('an entry shorter than its storage declares', async () => {
      const path = dir.write(
        'x.pt',
        buildTorchCheckpoint({
          storages: { '0': { dtype: 'F32', data: new Float32Array(4) } },
          tensors: [{ key: 'w', storage: '0', shape: [4] }],
          extraEntries: [{ path: 'archive/data/0', body: new Uint8Array(12) }],
        }),
      );
      expect((await openError(path)).message).toBe(
        `The entry archive/data/0 of ${path} has 12 bytes, but its storage declares 4 elements of FloatStorage (16 bytes).`,
      );
    });

    it('a view that runs past its storage', async () => {
      const path = dir.write(
        'x.pt',
        buildTorchCheckpoint({
          storages: { '0': { dtype: 'BF16', data: new Float32Array(6) } },
          tensors: [{ key: 'layers.0.w', storage: '0', shape: [2, 3], offset: 2 }],
        }),
      );
      const error = await openError(path);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).tensor).toBe('layers.0.w');
      expect(error.message).toBe(`layers.0.w in ${path} reaches element 7 of archive/data/0, which holds 6 elements.`);
    });

    it('a stride-0 view far larger than its storage', async () => {
      const path = dir.write(
        'x.pt',
        buildTorchCheckpoint({
          storages: { '0': { dtype: 'F32', data: new Float32Array([1]) } },
          tensors: [
            { key: 'small', storage: '0', shape: [8, 4], stride: [0, 0] },
            { key: 'huge', storage: '0', shape: [2 ** 20, 2 ** 20], stride: [0, 0] },
          ],
        }),
      );
      expect((await openError(path)).message).toBe(
        `huge in ${path} is a view of 1099511627776 elements over the 1 elements of archive/data/0; a view that repeats elements is read up to 16777216 elements.`,
      );
    });

    it('a DEFLATE entry that declares more than DEFLATE can produce (a zip bomb)', async () => {
      const path = dir.write('x.pt', buildZip([{ path: 'archive/data.pkl', body: new Uint8Array(0), method: 8, declaredSize: 50_000_000 }]));
      expect((await openError(path)).message).toBe(
        `The entry archive/data.pkl of ${path} declares 50000000 bytes from 2 compressed bytes, more than DEFLATE can produce.`,
      );
    });

    it('a STORED entry that declares more bytes than it holds (a zip bomb without compression)', async () => {
      const pickle = new PickleBuilder().proto(2).emptyDict().stop().toBytes();
      const path = dir.write('x.pt', buildZip([{ path: 'archive/data.pkl', body: pickle, declaredSize: 1_000_000_000 }]));
      expect((await openError(path)).message).toBe(
        `${path} is not a valid zip archive: compressed/uncompressed size mismatch for stored file: 4 != 1000000000.`,
      );
    });

    it('an archive that declares more than ZIP_MAX_ENTRIES entries, refused before they are read', async () => {
      // A zip64 end-of-central-directory record (APPNOTE 4.3.14) that declares 1,000,001 entries.
      const zip64 = Buffer.alloc(56);
      zip64.writeUInt32LE(0x06064b50, 0);
      zip64.writeBigUInt64LE(44n, 4);
      zip64.writeUInt16LE(45, 12);
      zip64.writeUInt16LE(45, 14);
      zip64.writeBigUInt64LE(BigInt(ZIP_MAX_ENTRIES + 1), 24);
      zip64.writeBigUInt64LE(BigInt(ZIP_MAX_ENTRIES + 1), 32);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeUInt32LE(1, 16);
      const end = Buffer.alloc(22);
      end.writeUInt32LE(0x06054b50, 0);
      end.writeUInt16LE(0xffff, 8);
      end.writeUInt16LE(0xffff, 10);
      end.writeUInt32LE(0xffffffff, 12);
      end.writeUInt32LE(0xffffffff, 16);
      const path = dir.write('x.pt', Buffer.concat([zip64, locator, end]));
      expect((await openError(path)).message).toBe(`${path} is not a valid zip archive: it declares 1000001 entries, more than the limit of 1000000.`);
    });

    it('a data.pkl larger than maxPickleBytes (default TORCH_MAX_PICKLE_BYTES, 256 MiB), refused before it is read', async () => {
      const pickle = new PickleBuilder().proto(2).emptyDict().stop().toBytes();
      const path = dir.write('x.pt', buildZip([{ path: 'archive/data.pkl', body: pickle }]));
      const error = await TorchCheckpointReader.open(path, { maxPickleBytes: 3 }).then(
        () => new Error('the checkpoint was accepted'),
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toBe(`The entry archive/data.pkl of ${path} has 4 bytes, more than the limit of 3.`);
      expect(TORCH_MAX_PICKLE_BYTES).toBe(256 * 1024 * 1024);
    });

    it('a DEFLATE entry that inflates to more than it declares', async () => {
      const pickle = new PickleBuilder().proto(2).emptyDict().stop().toBytes();
      const padded = new Uint8Array(4096);
      padded.set(pickle);
      const path = dir.write('x.pt', buildZip([{ path: 'archive/data.pkl', body: padded, method: 8, declaredSize: 100 }]));
      const error = await openError(path);
      expect(error.message).toBe(
        `The DEFLATE entry archive/data.pkl of ${path} is damaged: too many bytes in the stream. expected 100. got at least 4096.`,
      );
    });

    it('an empty DEFLATE data.pkl: a PickleError, and nothing reads the closed file afterwards (found by npm run fuzz)', async () => {
      // The inflate stream of the empty entry was opened and never closed; it read the file after
      // the reader had closed it, and its "file closed" error escaped as an uncaught exception.
      const path = dir.write('x.pt', buildZip([{ path: 'a/data.pkl', body: new Uint8Array(0), method: 8 }]));
      const escaped: unknown[] = [];
      const onEscape = (error: unknown): void => {
        escaped.push(error);
      };
      process.on('uncaughtException', onEscape);
      try {
        const error = await openError(path);
        await new Promise((resolve) => setTimeout(resolve, 100));

        expect(error).toBeInstanceOf(PickleError);
        expect(error.message).toBe(`${path} holds a malformed pickle a/data.pkl: the pickle ends without a STOP opcode (truncated) (at byte 0).`);
        expect(escaped).toEqual([]);
      } finally {
        process.off('uncaughtException', onEscape);
      }
    });

    it('an unknown compression method', async () => {
      const path = dir.write('x.pt', buildZip([{ path: 'archive/data.pkl', body: new Uint8Array(8), method: 12 }]));
      expect((await openError(path)).message).toBe(
        `The entry archive/data.pkl of ${path} uses compression method 12; only STORED (0) and DEFLATE (8) are read.`,
      );
    });

    it('a pickle that is not a dict', async () => {
      const path = dir.write('x.pt', buildZip([{ path: 'a/data.pkl', body: new PickleBuilder().proto(2).emptyList().stop().toBytes() }]));
      expect((await openError(path)).message).toBe(`${path} holds a list, not a dict of tensors.`);
    });

    it('a bad opcode in data.pkl', async () => {
      const path = dir.write('x.pt', buildZip([{ path: 'a/data.pkl', body: new Uint8Array([0x80, 2, 0xfe]) }]));
      const error = await openError(path);
      expect(error).toBeInstanceOf(PickleError);
      expect(error.message).toBe(`${path} holds a malformed pickle a/data.pkl: unknown opcode 0xfe (at byte 2).`);
    });

    it('a global outside the allow-list inside data.pkl', async () => {
      const pickle = new PickleBuilder().proto(2).emptyDict().str('x').global('os', 'system').str('ls').tuple1().reduce().setitem().stop();
      const path = dir.write('x.pt', buildZip([{ path: 'a/data.pkl', body: pickle.toBytes() }]));
      const error = await openError(path);
      expect(error).toBeInstanceOf(UnsafePickleGlobalError);
      expect(error.message).toBe(
        `${path} is refused: its pickle a/data.pkl refers to the global os.system (at byte 9), which is not on the allow-list of the restricted unpickler.`,
      );
    });

    it('a big-endian archive', async () => {
      const path = dir.write(
        'x.pt',
        buildTorchCheckpoint({
          storages: {},
          tensors: [],
          extraEntries: [{ path: 'archive/byteorder', body: new TextEncoder().encode('big') }],
        }),
      );
      expect((await openError(path)).message).toBe(`${path} stores its tensors in big-endian byte order; only little-endian is read.`);
    });
  });
});
