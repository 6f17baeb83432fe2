import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { TorchCheckpointReader } from './TorchCheckpointReader.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/fuzz/', import.meta.url));

/** Opens `path` and reads every tensor whole and sliced, as `npm run fuzz -- --target torch` does. */
async function readEverything(path: string): Promise<void> {
  const reader = await TorchCheckpointReader.open(path);
  try {
    for (const key of reader.keys()) {
      const shape = reader.shape(key);
      await reader.read(key);
      for (let dim = 0; dim < shape.length; dim += 1) {
        if ((shape[dim] as number) > 0) {
          await reader.readSlice(key, dim, (shape[dim] as number) - 1, 1);
        }
      }
    }
  } finally {
    await reader.close();
  }
}

/**
 * The inputs that were being read when the torch fuzz target's process died (seeds 101 and 202,
 * after ~245,000 inputs each): an 'error' event that yauzl emits a tick late, on a DEFLATE stream
 * nobody listened to any more ("unexpected end of file"), or from a read still in flight when the
 * file had been closed ("file closed"), killed the process instead of failing one read. The race
 * depends on timing, so each input is read many times; every read must end in the named error,
 * and nothing may escape to the process (jest fails a test file on an uncaught exception).
 */
describe('torch archives that crashed the fuzzer', () => {
  it.each([
    ['torch-101-0.pt', (p: string) => `${p} is not a valid zip archive: Invalid comment length. Expected: 2. Found: 0. Are there extra bytes at the end of the file? Or is the end of central dir signature \`PK\u263a\u263b\` in the comment?.`] /* yauzl's own words */,
    ['torch-101-1.pt', (p: string) => `The DEFLATE entry protocol5_deflate/data.pkl of ${p} is damaged: unexpected end of file.`],
    ['torch-101-2.pt', (p: string) => `${p} holds a malformed pickle protocol5_deflate/data.pkl: a frame of 86 bytes runs past the end of the pickle (truncated) (at byte 2).`],
    ['torch-202-0.pt', (p: string) => `${p} is not a valid zip archive: unexpected EOF.`],
    ['torch-202-1.pt', (p: string) => `The DEFLATE entry protocol5_deflate/byteorder of ${p} is damaged: it inflates to at least 6 bytes, more than the 0 it declares.`],
    ['torch-202-2.pt', (p: string) => `The entry protocol5_deflate/data/1 of ${p} has 8 bytes, but its storage declares 5 elements of BFloat16Storage (10 bytes).`],
  ])('%s ends in its named error, 50 times out of 50', async (name, message) => {
    const path = join(FIXTURES, name);
    for (let i = 0; i < 50; i += 1) {
      await expect(readEverything(path)).rejects.toThrow(message(path));
    }
    // Let anything scheduled by the last reads (setImmediate, closed-file reads) surface here.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
});
