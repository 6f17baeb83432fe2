import { afterAll, describe, expect, it } from '@jest/globals';
import { closeSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { makeTempDir } from '../../../../test/support/index.js';
import { SafetensorsReader } from './safetensors.js';

const dir = makeTempDir();

/** Whether the temporary folder's file system stores holes without using disk (most do). */
function sparseFilesWork(): boolean {
  const probe = join(dir.path, 'probe');
  const fd = openSync(probe, 'w');
  try {
    ftruncateSync(fd, 2 ** 30);
  } finally {
    closeSync(fd);
  }
  return statSync(probe).blocks * 512 < 2 ** 20;
}

const sparse = sparseFilesWork();

/**
 * A 4.5 GiB safetensors file that is almost all hole: a U8 padding tensor, a BF16 tensor whose
 * bytes straddle the 4 GiB offset, more padding, and an F32 tensor at the very end. Only the
 * header and the two small tensors are written.
 */
function writeHugeFile(path: string): { tail: Float32Array; cross: Float32Array } {
  const crossAt = 2 ** 32 - 4; // absolute offset of `cross`: 4 of its 8 bytes lie past 2^32
  const end = 4.5 * 2 ** 30;
  let header = '';
  let dataStart = 0;
  for (let i = 0; i < 3; i++) {
    // The header's length depends on the offsets written in it: iterate until it is stable.
    const pad1 = crossAt - dataStart;
    const pad2 = end - 16 - (crossAt + 8);
    const tensors = {
      pad1: { dtype: 'U8', shape: [pad1], data_offsets: [0, pad1] },
      cross: { dtype: 'BF16', shape: [4], data_offsets: [pad1, pad1 + 8] },
      pad2: { dtype: 'U8', shape: [pad2], data_offsets: [pad1 + 8, pad1 + 8 + pad2] },
      tail: { dtype: 'F32', shape: [4], data_offsets: [pad1 + 8 + pad2, pad1 + 8 + pad2 + 16] },
    };
    header = JSON.stringify(tensors);
    header += ' '.repeat((8 - (header.length % 8)) % 8);
    dataStart = 8 + header.length;
  }
  const cross = new Float32Array([1.5, -2.25, 0.09375, 3]);
  const tail = new Float32Array([0.5, -1, 2 ** 20, 7]);
  const fd = openSync(path, 'w');
  try {
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    writeSync(fd, prefix, 0, 8, 0);
    writeSync(fd, Buffer.from(header), 0, header.length, 8);
    const bf16 = Buffer.from(new Uint16Array(Array.from(new Uint32Array(cross.buffer), (bits) => bits >>> 16)).buffer);
    writeSync(fd, bf16, 0, 8, crossAt);
    writeSync(fd, Buffer.from(tail.buffer), 0, 16, end - 16);
    ftruncateSync(fd, end);
  } finally {
    closeSync(fd);
  }
  return { tail, cross };
}

describe('safetensors files over 4 GiB', () => {
  afterAll(() => dir.cleanup());

  (sparse ? it : it.skip)('read tensors past 2 GiB and across the 4 GiB offset with positioned reads', async () => {
    const path = join(dir.path, 'huge.safetensors');
    const { tail, cross } = writeHugeFile(path);
    expect(statSync(path).size).toBe(4.5 * 2 ** 30);
    const reader = await SafetensorsReader.open(path);
    try {
      expect(reader.info('cross').offset).toBe(2 ** 32 - 4);
      expect(reader.info('tail').offset).toBe(4.5 * 2 ** 30 - 16);
      expect(await reader.read('cross')).toEqual(cross);
      expect(await reader.read('tail')).toEqual(tail);
      expect(Array.from(await reader.readSlice('cross', 0, 2, 2))).toEqual([0.09375, 3]);
      // A slice of the padding near its end (after the 4 GiB mark): holes read as zeros.
      const pad2 = reader.info('pad2');
      expect(Array.from(await reader.readSlice('pad2', 0, (pad2.shape[0] as number) - 5, 5))).toEqual([0, 0, 0, 0, 0]);
    } finally {
      await reader.close();
    }
  });
});
