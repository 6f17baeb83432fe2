import { describe, expect, it } from '@jest/globals';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import { createGitBlobHash, formatChecksum, parseChecksum } from './checksum.js';

describe(parseChecksum, () => {
  const hex = 'ab'.repeat(32);

  it('reads sha256:<hex>, lowering the digits', () => {
    expect(parseChecksum(`sha256:${hex.toUpperCase()}`)).toEqual({ algorithm: 'sha256', hex });
    expect(formatChecksum(parseChecksum(` sha256:${hex} `))).toBe(`sha256:${hex}`);
  });

  it.each(['md5:abc', `sha256:${hex.slice(1)}`, hex, `sha256:${'zz'.repeat(32)}`])('refuses %s', (text) => {
    expect(() => parseChecksum(text)).toThrow(InvalidArgumentError);
    expect(() => parseChecksum(text)).toThrow(
      `\`${text}\` is not a valid checksum: expected \`sha256:\` followed by 64 hexadecimal digits.`,
    );
  });
});

describe(createGitBlobHash, () => {
  it('computes the git blob id', () => {
    // `printf 'hello\n' | git hash-object --stdin`
    expect(createGitBlobHash(6).update('hello\n').digest('hex')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});
