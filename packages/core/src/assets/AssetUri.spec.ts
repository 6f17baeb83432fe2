import { describe, expect, it } from '@jest/globals';

import { AssetUri, redactText } from './AssetUri.js';

describe(AssetUri, () => {
  describe('.maybeParse', () => {
    it.each([
      ['hg://qwen/qwen2.5-7b', 'hg', 'qwen/qwen2.5-7b'],
      ['https://example.com/a/model.tar', 'https', 'example.com/a/model.tar'],
      ['file:///models/x.pth', 'file', '/models/x.pth'],
      ['HF://Org/Repo', 'hf', 'Org/Repo'],
    ])('parses %s', (text, scheme, rest) => {
      const uri = AssetUri.maybeParse(text);

      expect(uri?.scheme).toBe(scheme);
      expect(uri?.rest).toBe(rest);
    });

    it.each([['/abs/path'], ['relative/path'], ['C:\\models\\x.pth'], ['c:/models'], [''], ['://nothing']])(
      'treats %s as a path',
      (text) => {
        expect(AssetUri.maybeParse(text)).toBeUndefined();
      },
    );
  });

  describe('.parse', () => {
    it('throws for a path, without showing credentials', () => {
      expect(() => AssetUri.parse('not a uri')).toThrow('not a uri is not a valid URI.');
    });
  });

  describe('.fromPath', () => {
    it('makes a file URI, resolving a relative path against the base', () => {
      const uri = AssetUri.fromPath('sub/model.safetensors', '/cards');

      expect(uri.scheme).toBe('file');
      expect(uri.href).toBe('file:///cards/sub/model.safetensors');
      expect(uri.toPath()).toBe('/cards/sub/model.safetensors');
    });

    it('escapes characters that URIs reserve', () => {
      expect(AssetUri.fromPath('/a b/#c').toPath()).toBe('/a b/#c');
    });
  });

  describe('.toPath', () => {
    it('throws for a remote URI', () => {
      expect(() => AssetUri.parse('hg://org/repo').toPath()).toThrow(
        'hg://org/repo is not a `file:` URI and has no local path.',
      );
    });
  });

  describe('.toString', () => {
    it('hides a password but keeps the user', () => {
      const uri = AssetUri.parse('https://me:s3cret@example.com/x.tar');

      expect(uri.toString()).toBe('https://me:***@example.com/x.tar');
      expect(`${uri}`).not.toContain('s3cret');
      expect(uri.href).toBe('https://me:s3cret@example.com/x.tar');
    });

    it('hides a token given as the user part', () => {
      expect(AssetUri.parse('https://hf_abc123@example.com/x').toString()).toBe('https://***@example.com/x');
    });
  });
});

describe(redactText, () => {
  it('redacts every URI with credentials inside a longer text', () => {
    expect(redactText('GET https://a:b@x.org/1 failed; retry http://tok@y.org/2')).toBe(
      'GET https://a:***@x.org/1 failed; retry http://***@y.org/2',
    );
  });
});
