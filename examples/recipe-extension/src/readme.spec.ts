import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const README = join(EXAMPLES, '..', 'README.md');
const SECTIONS = ['## Datasets', '## Recipes: train, evaluate, generate', '## Examples'];
const PACKAGES = ['recipe-extension', 'in-memory-cards', 'generate-timings'];

/** The `// Begin-example: name` ... `// End-example: name` regions of the examples' sources, dedented. */
function exampleRegions(): string[] {
  const regions: string[] = [];
  for (const name of PACKAGES) {
    const src = join(EXAMPLES, name, 'src');
    for (const file of readdirSync(src).filter((f) => f.endsWith('.ts') && !f.includes('.spec.'))) {
      const text = readFileSync(join(src, file), 'utf8');
      for (const match of text.matchAll(/^[ \t]*\/\/ Begin-example: (\S+)\n([\s\S]*?)^[ \t]*\/\/ End-example: \1\n/gm)) {
        const lines = (match[2] as string).replace(/\n$/, '').split('\n');
        const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
        regions.push(lines.map((l) => l.slice(indent)).join('\n'));
      }
    }
  }
  return regions;
}

/** The TypeScript code blocks of the README sections on datasets, recipes and examples that show example code. */
function readmeSnippets(): string[] {
  const text = readFileSync(README, 'utf8');
  return SECTIONS.flatMap((section) => {
    const start = text.indexOf(`\n${section}\n`);
    expect(start).toBeGreaterThanOrEqual(0);
    const end = text.indexOf('\n## ', start + 1);
    const body = text.slice(start, end < 0 ? undefined : end);
    return [...body.matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
      .map((m) => (m[1] as string).replace(/\n$/, ''))
      .filter((snippet) => snippet.startsWith('/**') || snippet.startsWith('export '));
  });
}

describe('the README sections on datasets, recipes and examples', () => {
  it('show code from the examples', () => {
    expect(readmeSnippets().length).toBeGreaterThanOrEqual(5);
  });

  it.each(readmeSnippets().map((snippet, index) => [index + 1, snippet] as const))(
    'snippet %d is a Begin-example region of an example, verbatim (so it compiles and runs)',
    (_index, snippet) => {
      expect(exampleRegions().includes(snippet) ? 'found' : `no region matches:\n${snippet}`).toBe('found');
    },
  );
});
