import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { GPT2_EXAMPLE_DIR } from '../../../test/support/index.js';

const README = join(GPT2_EXAMPLE_DIR, '..', '..', 'README.md');
const SECTION = '## Writing a model family';

/** The `// Begin-example: name` ... `// End-example: name` regions of the example's sources, dedented. */
function exampleRegions(): Map<string, string> {
  const regions = new Map<string, string>();
  const src = join(GPT2_EXAMPLE_DIR, 'src');
  for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(src, file), 'utf8');
    for (const match of text.matchAll(/^[ \t]*\/\/ Begin-example: (\S+)\n([\s\S]*?)^[ \t]*\/\/ End-example: \1\n/gm)) {
      const lines = (match[2] as string).replace(/\n$/, '').split('\n');
      const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
      regions.set(`${file}#${match[1] as string}`, lines.map((l) => l.slice(indent)).join('\n'));
    }
  }
  return regions;
}

/** The TypeScript code blocks of the README's "Writing a model family" section. */
function readmeSnippets(): string[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(`\n${SECTION}\n`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => (m[1] as string).replace(/\n$/, ''));
}

describe('the README section "Writing a model family"', () => {
  it('exists, with TypeScript snippets', () => {
    expect(readmeSnippets().length).toBeGreaterThanOrEqual(5);
  });

  it.each(readmeSnippets().map((snippet, index) => [index + 1, snippet] as const))(
    'snippet %d is a Begin-example region of the example, verbatim (so it compiles and runs)',
    (_index, snippet) => {
      const regions = exampleRegions();
      const found = [...regions].find(([, region]) => region === snippet);

      expect(found === undefined ? `no region matches:\n${snippet}` : 'found').toBe('found');
    },
  );
});
