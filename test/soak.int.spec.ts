import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;
const KIB = 1024;

/** A point of the soak run (scripts/soak.mjs). */
interface Point {
  readonly tensors: number;
  readonly tensorBytes: number;
  readonly rss: number;
}

/** What `node scripts/soak.mjs --json` prints. */
interface SoakResult {
  readonly steps: number;
  readonly cycles: number;
  readonly warmedUp: Point;
  readonly loaded: Point;
  readonly afterGeneration: Point;
  readonly end: Point;
  readonly generation: readonly { step: number; tensors?: number; tensorBytes?: number; rss: number }[];
  readonly cycleSamples: readonly { cycle: number; tensors: number; tensorBytes: number; rss?: number }[];
  readonly rssSlopePerStep: number;
  readonly rssSlopePerCycle: number;
}

/**
 * RSS bounds. The fixture's checkpoint is 783 112 bytes (test/fixtures/llama3/model.safetensors):
 * - per load/unload cycle, 160 KiB, a fifth of it: keeping each load's file bytes (or weights
 *   outside TF.js) grows RSS by about 783 KiB a cycle, measured at 783 KiB/cycle and +80 MiB over
 *   100 cycles; clean runs measured -17 to +35 KiB/cycle;
 * - per generation step, 16 KiB; clean runs measured 0.4 to 1.5 KiB/step;
 * - over each phase, 32 MiB; clean runs measured up to +3 MiB after 1,000 steps, and swings of
 *   up to 8 MiB within the 100 cycles.
 * A leaked tensor is caught exactly by the live-tensor counts instead (one per step is +1,000):
 * RSS cannot see a leak of one 2 KiB logits row per step (+2 MiB), which is within its noise.
 */
const MAX_RSS_SLOPE_PER_CYCLE = 160 * KIB;
const MAX_RSS_SLOPE_PER_STEP = 16 * KIB;
const MAX_RSS_GROWTH_PER_PHASE = 32 * MIB;

describe('soak (scripts/soak.mjs on test/fixtures/llama3, compiled packages)', () => {
  it('1,000 generation steps and 100 load/unload cycles leave tensors and RSS flat', () => {
    const run = spawnSync(process.execPath, [join(REPO, 'scripts', 'soak.mjs'), '--json', '--steps', '1000', '--cycles', '100'], {
      cwd: REPO,
      encoding: 'utf8',
      maxBuffer: 16 * MIB,
    });
    expect([run.status, run.stderr]).toEqual([0, '']);
    const r = JSON.parse(run.stdout) as SoakResult;
    expect([r.steps, r.cycles]).toEqual([1000, 100]);

    // Tensors: exactly the loaded model's between calls, and back to the warm-up count after each phase.
    expect(r.loaded.tensors).toBeGreaterThan(r.warmedUp.tensors);
    const betweenCalls = r.generation.filter((s) => s.tensors !== undefined);
    expect(betweenCalls.map((s) => s.step)).toEqual([0, 250, 500, 750, 1000]);
    for (const sample of betweenCalls) {
      expect([sample.step, sample.tensors, sample.tensorBytes]).toEqual([sample.step, r.loaded.tensors, r.loaded.tensorBytes]);
    }
    expect(r.generation.filter((s) => s.tensors === undefined)).toHaveLength(1000 / 50);
    expect([r.afterGeneration.tensors, r.afterGeneration.tensorBytes]).toEqual([r.warmedUp.tensors, r.warmedUp.tensorBytes]);
    expect(r.cycleSamples).toHaveLength(100);
    for (const sample of r.cycleSamples) {
      expect([sample.cycle, sample.tensors, sample.tensorBytes]).toEqual([sample.cycle, r.warmedUp.tensors, r.warmedUp.tensorBytes]);
    }
    expect([r.end.tensors, r.end.tensorBytes]).toEqual([r.warmedUp.tensors, r.warmedUp.tensorBytes]);

    // RSS: bounded growth and slope (see the bounds above).
    expect(r.afterGeneration.rss - r.warmedUp.rss).toBeLessThan(MAX_RSS_GROWTH_PER_PHASE);
    expect(r.end.rss - r.afterGeneration.rss).toBeLessThan(MAX_RSS_GROWTH_PER_PHASE);
    expect(r.rssSlopePerStep).toBeLessThan(MAX_RSS_SLOPE_PER_STEP);
    expect(r.rssSlopePerCycle).toBeLessThan(MAX_RSS_SLOPE_PER_CYCLE);
    expect(r.cycleSamples.filter((s) => s.rss !== undefined)).toHaveLength(100 / 5);
  }, 240_000);
});
