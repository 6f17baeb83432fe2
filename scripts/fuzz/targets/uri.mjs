// Target `uri`: AssetUri.parse / maybeParse / toString / toJSON / inspect / toPath / fromPath and
// redactText / redactError, on URIs built around a secret (a password, or a token given as the
// user part) and on arbitrary text. Property: parsing ends in an AssetUri or an fs2 error, and no
// output (a printed URI, JSON, inspect, an error's message or stack, redacted text) contains any
// part of the secret.
//
// The secret is made of "words" of 4 to 8 upper-case letters and digits (starting with a letter),
// joined by characters that stay inside the user information for the WHATWG parser even when not
// percent-encoded (`@ : % ! $ & ' ( ) * + , ; = ~ - . _`; `@` and `:` in passwords only); every
// other part of the URI is lower case, so a word found in an output can only come from the
// secret. (`?`, `#`, `/` end the authority: `https://u:p#x@h` is the host `u` with a fragment, and
// its text, which does not parse, is tested in AssetUri.spec.ts.) Tokens in a query string are
// out of scope: fs2 sends tokens in headers.
import { inspect } from 'node:util';

import fc from 'fast-check';
import { AssetUri, redactError, redactText } from '@fs2/core';

import { PropertyViolation } from '../lib/shared.mjs';

const lower = (min, max) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: min, maxLength: max });
const word = fc
  .tuple(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 3, maxLength: 7 }))
  .map(([a, b]) => a + b);
const PASSWORD_SEPARATORS = [...'@:%!$&\'()*+,;=~-._'];
const TOKEN_SEPARATORS = [...'-._~!$&\'()*+,;=%'];

function secretArb(separators) {
  return fc
    .tuple(word, fc.array(fc.tuple(fc.constantFrom(...separators, ''), word), { maxLength: 3 }), fc.constantFrom(...separators, ''))
    .map(([first, rest, tail]) => ({ text: first + rest.map(([s, w]) => s + w).join('') + tail, words: [first, ...rest.map(([, w]) => w)] }));
}

// Schemes of two letters or more: `x:\\...` is a Windows drive, whose text is shown as it is
// (a one-letter scheme is redacted before `//` only, tested in AssetUri.spec.ts).
const schemeArb = fc.oneof(fc.constantFrom('https', 'http', 'hg', 'file', 's3', 'ftp', 'Https', 'git+ssh'), fc.stringMatching(/^[a-z][a-z0-9+.-]{1,6}$/));
const hostArb = fc.oneof(
  lower(1, 12),
  fc.tuple(lower(1, 8), lower(2, 4)).map(([a, b]) => `${a}.${b}`),
  fc.constantFrom('localhost', '127.0.0.1', '[::1]', '', 'huggingface.co'),
);
const portArb = fc.oneof(fc.constant(''), fc.constantFrom(':80', ':8080', ':99999', ':', ':x1'));
const pathArb = fc.oneof(fc.constant(''), fc.constant('/'), fc.array(lower(0, 6), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`));
const tailArb = fc.oneof(fc.constant(''), lower(0, 6).map((q) => `?${q}`), lower(0, 6).map((f) => `#${f}`), fc.constantFrom('?a@b', '%zz', ' x', '\n'));
const slashesArb = fc.constantFrom('//', '//', '//', '', '/', '///');

const credentialUriArb = fc.oneof(
  fc
    .record({ scheme: schemeArb, slashes: slashesArb, user: lower(0, 6), secret: secretArb(PASSWORD_SEPARATORS), host: hostArb, port: portArb, path: pathArb, tail: tailArb })
    .map((p) => ({ kind: 'password', text: `${p.scheme}:${p.slashes}${p.user}:${p.secret.text}@${p.host}${p.port}${p.path}${p.tail}`, secret: p.secret })),
  fc
    .record({ scheme: schemeArb, slashes: slashesArb, secret: secretArb(TOKEN_SEPARATORS), host: hostArb, port: portArb, path: pathArb, tail: tailArb })
    .map((p) => ({ kind: 'token', text: `${p.scheme}:${p.slashes}${p.secret.text}@${p.host}${p.port}${p.path}${p.tail}`, secret: p.secret })),
);

const otherTextArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom(...'ab:/@?#%.\\[]0 \u0000\n'), maxLength: 24 }),
  fc.tuple(schemeArb, slashesArb, fc.string({ unit: fc.constantFrom(...'ab:/@?#%.\\[]0 %2f%2F%00'), maxLength: 24 })).map(([s, sl, r]) => `${s}:${sl}${r}`),
  fc.constantFrom('file://host/x', 'file:///a%2fb', 'file:///a%00b', 'file://localhost/x', 'file:', 'C:\\x', '\\\\server\\share'),
);

function collectOutputs(text) {
  const outputs = [];
  let pending;
  const addError = (error) => {
    outputs.push(String(error?.message), String(error?.stack), inspect(error));
  };
  let uri;
  try {
    uri = AssetUri.parse(text);
  } catch (error) {
    addError(error);
    if (!(error?.constructor?.name === 'InvalidArgumentError')) {
      throw error;
    }
  }
  const maybe = AssetUri.maybeParse(text);
  if ((maybe === undefined) !== (uri === undefined)) {
    throw new PropertyViolation(`maybeParse and parse disagree on ${JSON.stringify(text)}`);
  }
  if (uri !== undefined) {
    outputs.push(uri.toString(), `${uri}`, JSON.stringify({ uri }), inspect(uri), inspect({ nested: { uri } }));
    if (uri.scheme === 'file') {
      // The path itself is not an output that must hide anything: `file:` URLs have no user
      // information, and `file:///a:b@c` names the folder `a:b@c`.
      try {
        uri.toPath();
      } catch (error) {
        addError(error);
        pending = error;
      }
    } else {
      try {
        uri.toPath();
        throw new PropertyViolation(`toPath() of ${uri} returned a path`);
      } catch (error) {
        addError(error);
        if (error?.constructor?.name !== 'InvalidArgumentError') {
          pending = error;
        }
      }
    }
  }
  outputs.push(redactText(text), redactText(`GET ${text} failed`));
  const redacted = redactError(new Error(`fetch failed: ${text}`, { cause: new TypeError(`Request cannot be constructed from a URL that includes credentials: ${text}`) }));
  outputs.push(inspect(redacted));
  return { uri, outputs, pending };
}

export default {
  async setup() {
    return {
      arbitrary: fc.oneof({ weight: 3, arbitrary: credentialUriArb }, { weight: 1, arbitrary: otherTextArb.map((text) => ({ kind: 'text', text })) }),
      run(input) {
        let result;
        try {
          result = collectOutputs(input.text);
        } finally {
          if (input.kind === 'text') {
            // Paths: relative to a base, and absolute; either way a file: URI or an fs2 error.
            AssetUri.fromPath(input.text, '/base');
          }
        }
        if (input.secret !== undefined) {
          for (const output of result.outputs) {
            const leaked = input.secret.words.find((w) => output.includes(w));
            if (leaked !== undefined) {
              throw new PropertyViolation(`the secret part ${leaked} of ${JSON.stringify(input.text)} shows in ${JSON.stringify(output.slice(0, 300))}`);
            }
          }
        }
        if (result.pending !== undefined) {
          throw result.pending;
        }
        return result.uri === undefined ? 'InvalidArgumentError' : `ok:${result.uri.scheme === 'file' ? 'file' : 'other'}`;
      },
      materialize: (input) => ({ 'uri.txt': Buffer.from(input.text) }),
    };
  },
};
