import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TARGETS = ['cards', 'safetensors', 'index', 'torch', 'pickle', 'config', 'uri'];

/** Runs `npm run fuzz` (scripts/fuzz.mjs on the compiled packages: `npm test` builds them first). */
function fuzz(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const child = spawnSync(process.execPath, ['scripts/fuzz.mjs', ...args], { cwd: REPO, encoding: 'utf8', timeout: 180_000 });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe('npm run fuzz', () => {
  it('runs every target for the CI budget: each input ends in success or an fs2 error', () => {
    const { status, stdout, stderr } = fuzz('--budget-ms', '1500');
    expect(stderr).toBe('');
    for (const target of TARGETS) {
      expect(stdout).toMatch(new RegExp(`^fuzz ${target}: passed, [0-9]+ inputs in `, 'm'));
    }
    expect(stdout.trim().split('\n').at(-1)).toBe('fuzz: 7 passed, 0 failed');
    expect(status).toBe(0);
  }, 180_000);

  it('fails on an exception that is not an fs2 error, with the seed and the shrunk input', () => {
    // The `selftest` target throws an InvalidArgumentError for odd numbers (allowed) and a
    // TypeError for even numbers above 900 (a planted bug), which fast-check finds and shrinks.
    const { status, stdout } = fuzz('--target', 'selftest', '--runs', '5000', '--seed', '7');
    expect(stdout).toMatch(/^fuzz selftest: failed, [0-9]+ inputs in /m);
    expect(stdout).toContain('counterexample (replay: npm run fuzz -- --target selftest --seed 7 --runs 5000; path ');
    expect(stdout).toMatch(/\n {2}(9[0-9][02468])\n {2}TypeError: a planted bug at \1\n/);
    expect(stdout.trim().split('\n').at(-1)).toBe('fuzz: 0 passed, 1 failed');
    expect(status).toBe(1);
  }, 60_000);

  it('refuses an unknown target, naming the known ones', () => {
    const { status, stderr } = fuzz('--target', 'yaml');
    expect(stderr).toBe('fuzz: Unknown fuzz target yaml. Targets: cards, safetensors, index, torch, pickle, config, uri.\n');
    expect(status).toBe(2);
  });
});
