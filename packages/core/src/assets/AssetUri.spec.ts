import { inspect } from 'node:util';

import { describe, expect, it } from '@jest/globals';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { AssetUri, redactError, redactText } from './AssetUri.js';

/** The class name and message of what `f` throws. */
function messageOf(f: () => unknown): { name: string; message: string } {
  try {
    f();
  } catch (error) {
    return { name: (error as Error).constructor.name, message: (error as Error).message };
  }
  throw new Error('nothing was thrown');
}

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

    it('hides the user information of an invalid URI, whatever it holds (found by npm run fuzz)', () => {
      // A space makes the URI invalid and used to stop redactText before the password.
      expect(() => AssetUri.parse('https:// user:S3CRETpw@')).toThrow(new InvalidArgumentError('uri', 'https:// user:***@ is not a valid URI.'));
      expect(() => AssetUri.parse(' https://a b:pw@c d@host x/pw@y')).toThrow(' https://a b:***@host x/pw@y is not a valid URI.');
      expect(() => AssetUri.parse('https://tok en@host name')).toThrow('https://***@host name is not a valid URI.');
    });

    it.each([
      ['https://u:p@ss@host:99999/', 'https://u:***@host:99999/'],
      ['https:/u:pw@host:99999/', 'https:/u:***@host:99999/'],
      ['https://u:pa#ss@host/', 'https://u:***@host/'],
      ['file://u:pw@host/x', 'file://u:***@host/x'],
    ])('hides the whole password of %s, which does not parse (found by npm run fuzz)', (text, shown) => {
      const error = messageOf(() => AssetUri.parse(text));

      expect(error).toEqual({ name: 'InvalidArgumentError', message: `${shown} is not a valid URI.` });
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

    it.each([
      ['file://host/x', 'file://host/x does not name a local path: File URL host must be "localhost" or empty on linux.'],
      ['file:///a%2fb', 'file:///a%2fb does not name a local path: File URL path must not include encoded / characters.'],
    ])('refuses %s with an InvalidArgumentError, not TypeError (found by npm run fuzz)', (text, message) => {
      expect(messageOf(() => AssetUri.parse(text).toPath())).toEqual({ name: 'InvalidArgumentError', message });
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

    it('hides the password from JSON.stringify and util.inspect too (an error field that holds the URI)', () => {
      const holder = { uri: AssetUri.parse('https://me:s3cret@example.com/x.tar') };

      expect(JSON.stringify(holder)).toBe('{"uri":"https://me:***@example.com/x.tar"}');
      expect(inspect(holder)).toBe('{ uri: AssetUri(https://me:***@example.com/x.tar) }');
    });
  });
});

describe(redactText, () => {
  it('redacts every URI with credentials inside a longer text', () => {
    expect(redactText('GET https://a:b@x.org/1 failed; retry http://tok@y.org/2')).toBe(
      'GET https://a:***@x.org/1 failed; retry http://***@y.org/2',
    );
  });

  it.each([
    // The WHATWG parser takes all of these as credentials (found by npm run fuzz, target uri).
    ['https://u:p@ss@host/x', 'https://u:***@host/x'],
    ['https:u:pw@host/x', 'https:u:***@host/x'],
    ['https:///u:pw@host/x', 'https:///u:***@host/x'],
    ['https:\\\\u:pw@host/x', 'https:\\\\u:***@host/x'],
    ['s3://tok@en@host/x', 's3://***@host/x'],
    ['hg:u:pw@org/repo', 'hg:u:***@org/repo'],
    ['a://:pw@@host/', 'a://:***@host/'],
    ['https://tok@localhost:80?a@b', 'https://***@b'],
  ])('hides the password or token of %s', (text, shown) => {
    expect(redactText(text)).toBe(shown);
  });

  it.each([['C:\\models\\x@v2'], ['https://registry.example/@scope/pkg'], ['see https://example.com/a for details; write to me@example.com'], ['Error: x@y']])(
    'leaves %s as it is',
    (text) => {
      expect(redactText(text)).toBe(text);
    },
  );
});

describe(redactError, () => {
  it('returns an error without secrets as it is', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const wrapped = new TypeError('fetch failed', { cause: error });

    expect(redactError(wrapped)).toBe(wrapped);
    expect(redactError(undefined)).toBeUndefined();
  });

  it('copies an error chain that quotes a URL password or a secret, hiding them everywhere', () => {
    const inner = Object.assign(new Error('Headers.set: "Bearer hf_Secret42" is an invalid header value.'), { code: 'E_HDR', header: 'Bearer hf_Secret42' });
    const outer = new TypeError('Request cannot be constructed from a URL that includes credentials: https://eve:pw9@cdn.example/x', {
      cause: inner,
    });

    const copy = redactError(outer, ['hf_Secret42']) as Error & { cause: Error & { code: string; header: string } };

    expect(copy).not.toBe(outer);
    expect(copy.name).toBe('TypeError');
    expect(copy.message).toBe('Request cannot be constructed from a URL that includes credentials: https://eve:***@cdn.example/x');
    expect(copy.cause.message).toBe('Headers.set: "Bearer ***" is an invalid header value.');
    expect([copy.cause.code, copy.cause.header]).toEqual(['E_HDR', 'Bearer ***']);
    const shown = inspect(copy, { depth: null });
    expect(shown).not.toContain('pw9');
    expect(shown).not.toContain('hf_Secret42');
    expect(shown).toContain('Bearer ***');
    expect(redactError('token hf_Secret42 refused', ['hf_Secret42'])).toBe('token *** refused');
  });
});
