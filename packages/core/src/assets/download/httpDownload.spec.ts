import { describe, expect, it } from '@jest/globals';

import { defaultUserAgent, parseContentDispositionFilename } from './httpDownload.js';
import { filenameOfUrl, splitCredentials } from './StandardAssetDownloadManager.js';

describe(parseContentDispositionFilename, () => {
  it('reads filename* first, then filename, and keeps only a safe base name', () => {
    expect(parseContentDispositionFilename(`attachment; filename="a.tar"; filename*=UTF-8''b%20c.tar.gz`)).toBe('b c.tar.gz');
    expect(parseContentDispositionFilename('attachment; filename="quoted \\"x\\".zip"')).toBe('quoted "x".zip');
    expect(parseContentDispositionFilename('attachment; filename=plain.bin')).toBe('plain.bin');
    expect(parseContentDispositionFilename('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(parseContentDispositionFilename('attachment; filename=".."')).toBeUndefined();
    expect(parseContentDispositionFilename('inline')).toBeUndefined();
    expect(parseContentDispositionFilename(null)).toBeUndefined();
  });
});

describe(filenameOfUrl, () => {
  it('takes the decoded last path segment, else `asset`', () => {
    expect(filenameOfUrl('https://host/dir/mistral%207b.tar?x=1')).toBe('mistral 7b.tar');
    expect(filenameOfUrl('https://host/')).toBe('asset');
  });
});

describe(splitCredentials, () => {
  it('moves URL credentials into a Basic Authorization header', () => {
    expect(splitCredentials('https://user:p%40ss@host/f.bin')).toEqual({
      url: 'https://host/f.bin',
      headers: { Authorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}` },
    });
    expect(splitCredentials('https://host/f.bin')).toEqual({ url: 'https://host/f.bin', headers: {} });
  });
});

describe(defaultUserAgent, () => {
  it('names fs2, its version and Node.js', () => {
    expect(defaultUserAgent()).toMatch(/^fs2\/\d+\.\d+\.\d+ \(Node\.js v\d+\.\d+\.\d+; [a-z0-9]+ [a-z0-9]+\)$/);
  });
});
