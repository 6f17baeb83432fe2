import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';

import { makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { AssetMetadataError } from './errors.js';
import { FileAssetMetadataSource } from './FileAssetMetadataSource.js';
import { loadAssetCardFile } from './loadAssetCardFiles.js';
import { MAX_CARD_FILE_BYTES } from './parseAssetCards.js';

describe('the card file size limit', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it(`refuses a file one byte over MAX_CARD_FILE_BYTES (${MAX_CARD_FILE_BYTES}) before reading it, and keeps the other files`, async () => {
    const big = dir.write('cards/big.yaml', 'name: big\n');
    truncateSync(big, MAX_CARD_FILE_BYTES + 1); // Sparse: nothing is written, and a read would find NULs.
    dir.write('cards/good.yaml', 'name: good\n');
    const [provider] = await new FileAssetMetadataSource(join(dir.path, 'cards')).load();

    expect(provider?.entries.map((e) => e.name)).toEqual(['good@']);
    expect(provider?.problems).toHaveLength(1);
    const problem = provider?.problems[0] as AssetMetadataError;
    expect(problem).toBeInstanceOf(AssetMetadataError);
    expect(problem.source).toBe(`path:${join(dir.path, 'cards')}`);
    expect(problem.message).toBe(
      `The file has ${MAX_CARD_FILE_BYTES + 1} bytes, more than the ${MAX_CARD_FILE_BYTES}-byte (10 MiB) limit for asset card files. (${big}:1:1)`,
    );
  });

  it('reads a file of exactly MAX_CARD_FILE_BYTES', async () => {
    const head = 'name: padded\n# ';
    const file = dir.write('padded.yaml', `${head}${'x'.repeat(MAX_CARD_FILE_BYTES - head.length - 1)}\n`);
    const result = await loadAssetCardFile(file, 'test');

    expect(result?.problems).toEqual([]);
    expect(result?.entries.map((e) => e.name)).toEqual(['padded@']);
  });
});
