import fc from 'fast-check';
import { describe, expect, it } from '@jest/globals';

import { AssetMetadataError } from './errors.js';
import { parseAssetCards } from './parseAssetCards.js';

/** Fragments that exercise YAML's corners: collections, anchors, tags, directives, block scalars. */
const FRAGMENT = fc.constantFrom(
  'name: x', 'name: ', 'base: y', '\n', '  ', '- ', '? ', ': ', '[', ']', '{', '}', ',', '&a ', '*a', '&b [*a, *a]',
  '!!binary ', '!tag ', '%YAML 1.1\n', '---\n', '...\n', '"', "'", '|\n  ', '>\n  ', '# c', 'k: v', '__proto__: 1',
  '0x1F', '.nan', '~', 'true', '@', 'a@b@c', '\t', '\\', '\u0000', '\uFEFF',
);

describe('parseAssetCards on arbitrary text', () => {
  it('never throws: every input gives entries or named, located problems', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(FRAGMENT, fc.string({ maxLength: 8 })), { maxLength: 60 }), (parts) => {
        const text = parts.join('');
        const { entries, problems } = parseAssetCards(text, { file: '/f.yaml', source: 's' });
        for (const problem of problems) {
          expect(problem).toBeInstanceOf(AssetMetadataError);
          expect(problem.line).toBeGreaterThanOrEqual(1);
          expect(problem.column).toBeGreaterThanOrEqual(1);
          expect(problem.message.endsWith(`(/f.yaml:${problem.line}:${problem.column})`)).toBe(true);
        }
        for (const entry of entries) {
          expect(entry.name).toMatch(/^[^@]+@[^@]*$/);
        }
      }),
      { numRuns: 400, seed: 20260823 },
    );
  });
});
