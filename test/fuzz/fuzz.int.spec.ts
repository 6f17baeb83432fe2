import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from '@jest/globals';

import { makeTempDir, type TempDir } from '../support/tmp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FUZZ = join(REPO, 'scripts', 'fuzz.mjs');
const TARGETS = ['cards', 'safetensors', 'index', 'torch', 'pickle', 'config', 'uri'];

/** Runs `node scripts/fuzz.mjs ...args` on the compiled packages (npm test builds them first). */
function fuzz(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [FUZZ, ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run fuzz (scripts/fuzz.mjs)', () => {
  let tmp: TempDir | undefined;

  afterEach(() => {
    tmp?.cleanup();
    tmp = undefined;
  });

  it('runs every target for the CI budget (about 3 s each) without a crash, a hang or an RSS beyond the bound', () => {
    // A fixed seed, so that CI runs the same inputs every time (how many depends on the machine's
    // speed): a red build means a change, not a lucky draw. `npm run fuzz` by hand draws a new
    // seed each run (printed on the first line) to explore further.
    const run = fuzz(['--seed', '20261123']);

    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(/^fuzz: seed 20261123, 3000 ms per target, input bound 2000 ms, RSS bound 1024 MiB/);
    for (const target of TARGETS) {
      const line = new RegExp(`^${target}: (\\d+) inputs in [\\d.]+ s \\(\\d+/s\\), max [\\d.]+ ms per input, peak RSS \\d+ MiB: passed$`, 'm').exec(run.stdout);
      expect([target, line !== null]).toEqual([target, true]);
      expect(Number(line?.[1])).toBeGreaterThan(50);
    }
  }, 180_000);

  it('catches a planted exception that is not an fs2 error: exit code 1, the seed, the shrunk input, its file and the stack', () => {
    tmp = makeTempDir('fs2-fuzz-test-');
    const run = fuzz(['--target', 'selftest-crash', '--seed', '7', '--budget-ms', '2000', '--crash-dir', tmp.path]);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('selftest-crash: FAILED (seed 7): TypeError: planted crash for 1000\n');
    expect(run.stderr).toContain('  counterexample: 1000\n');
    expect(run.stderr).toContain('  replay: node scripts/fuzz.mjs --target selftest-crash --seed 7 (fast-check path ');
    expect(run.stderr).toContain(`  input file: ${join(tmp.path, 'selftest-input.txt')}\n`);
    expect(run.stderr).toMatch(/ {2}stack: TypeError: planted crash for 1000\n {4}at Object\.run \(.*selftest-crash\.mjs:\d+:\d+\)/);
    expect(readFileSync(join(tmp.path, 'selftest-input.txt'), 'utf8')).toBe('1000');
  }, 60_000);

  it('fails an input that never settles once the per-input bound passes', () => {
    const run = fuzz(['--target', 'selftest-slow', '--seed', '3', '--input-ms', '200']);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('selftest-slow: FAILED (seed 3): SlowInputError: the input did not finish within 200 ms (a hang?)\n');
    expect(run.stderr).toContain('  counterexample: 7\n');
  }, 60_000);

  it('stops an input stuck in a synchronous loop with the watchdog, and regenerates it from the seed', () => {
    tmp = makeTempDir('fs2-fuzz-test-');
    const run = fuzz(['--target', 'selftest-hang', '--seed', '3', '--hang-ms', '1000', '--crash-dir', tmp.path]);

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^selftest-hang: FAILED \(seed 3\): Hang: input (\d+) made no progress for 1000 ms; the worker was terminated\n {2}input \1 of seed 3: 7\n/m);
    expect(readFileSync(join(tmp.path, 'selftest-input.txt'), 'utf8')).toBe('7');
  }, 60_000);

  it('runs a count of inputs from a seed and appends one JSON line per target to --report', () => {
    tmp = makeTempDir('fs2-fuzz-test-');
    const report = join(tmp.path, 'report.jsonl');
    const first = fuzz(['--target', 'uri,pickle', '--runs', '300', '--seed', '11', '--report', report]);
    const second = fuzz(['--target', 'uri', '--runs', '300', '--seed', '11', '--report', report]);

    expect([first.status, first.stderr, second.status, second.stderr]).toEqual([0, '', 0, '']);
    const lines = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l['target'], l['seed'], l['runs'], l['result']])).toEqual([
      ['uri', 11, 300, 'pass'],
      ['pickle', 11, 300, 'pass'],
      ['uri', 11, 300, 'pass'],
    ]);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(
        ['commit', 'date', 'dirty', 'duration_s', 'input_bound_ms', 'inputs_per_s', 'max_input_ms', 'node', 'outcomes', 'peak_rss_mb', 'result', 'rss_bound_mb', 'runs', 'seed', 'target'].sort(),
      );
      expect(Object.values(line['outcomes'] as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(300);
      expect(line['node']).toBe(process.version);
    }
    // The same seed gives the same inputs: the outcome counts repeat.
    expect(lines[2]?.['outcomes']).toEqual(lines[0]?.['outcomes']);
  }, 60_000);
});
