// URI parsing (AssetUri.parse: file paths, file://, http(s)://, hg://) and redaction: a URI that
// carries a password or a token-like query parameter never shows it in an error message.
import fc from 'fast-check';
import { AssetUri } from '@fs2/core';

const SECRET = 'S3CRETpw';

const PIECES = fc.constantFrom(
  'https://', 'http://', 'file://', 'hg://', 'hf://', 's3://', 'ftp://', 'javascript:', 'data:', '//', '/', '\\', '..', '.', '~',
  'user:' + SECRET + '@', ':' + SECRET + '@', '@', 'example.com', 'localhost', '127.0.0.1', '[::1]', ':8080', ':99999', ':-1',
  '?token=' + SECRET, '?', '#', '&', '%', '%2e%2e', '%00', '%zz', '\u0000', ' ', '\t', '\n', 'C:\\', 'meta-llama/Llama-3', '@main',
  'revision', 'model.safetensors', '\u00e9', '\ud800',
);

export async function setup() {
  const arbitrary = fc.oneof(
    fc.array(fc.oneof(PIECES, fc.string({ maxLength: 6 })), { maxLength: 12 }).map((parts) => parts.join('')),
    fc.webUrl({ withQueryParameters: true, withFragments: true }).map((url) => url.replace('://', `://u:${SECRET}@`)),
    fc.string({ maxLength: 40, unit: 'binary' }),
  );
  return {
    arbitrary,
    async run(text) {
      let uri;
      try {
        uri = AssetUri.parse(text);
      } catch (error) {
        // A password is what a URL parser would take for one: the user information between
        // `scheme://` and the last `@` of the authority (text before the scheme makes it prose, not
        // a URI; redactText handles URIs inside prose). The secret may also stand elsewhere (a path).
        const userinfo = /^\s*[A-Za-z][A-Za-z0-9+.-]*:[\\/]{2}([^/?#\\]*)@/.exec(text)?.[1];
        if (userinfo !== undefined && userinfo.includes(SECRET)) {
          const count = (s) => s.split(SECRET).length - 1;
          if (count(String(error?.message)) > count(text) - count(userinfo)) {
            throw new Error(`the password shows in the error: ${error.message}`);
          }
        }
        throw error;
      }
      const url = new URL(uri.href);
      if (url.password.includes(SECRET) || url.username.includes(SECRET)) {
        const count = (s) => s.split(SECRET).length - 1;
        url.username = '';
        url.password = '';
        for (const shown of [String(uri), JSON.stringify(uri), `${uri}`]) {
          if (count(shown) > count(url.href)) {
            throw new Error(`the password shows in ${shown}`);
          }
        }
      }
    },
    show: (text) => JSON.stringify(text),
  };
}
