import seedrandom from 'seedrandom';

import type { StateEntry } from './loadModuleState.js';
import { numel } from './Module.js';

/** Options of {@link randomState}. */
export interface RandomStateOptions {
  /** Seed of the generator. Default: `0`. */
  readonly seed?: number | string;
  /** Standard deviation of linear and embedding weights. Default: `0.02` (GPT-2's and HF's `initializer_range`). */
  readonly std?: number;
}

/**
 * A reproducible random state for `shapes` (a model's `parameterShapes()`), one tensor at a time:
 * norm gains (`*norm.weight`) 1, biases 0, everything else normal with `std`. For benchmarks and
 * tests that need a model of a given shape, not a trained one.
 */
export function* randomState(shapes: ReadonlyMap<string, readonly number[]>, options: RandomStateOptions = {}): Generator<StateEntry> {
  const random = seedrandom(String(options.seed ?? 0));
  const std = options.std ?? 0.02;
  for (const [name, shape] of shapes) {
    const data = new Float32Array(numel(shape));
    if (/norm\.weight$/.test(name)) {
      data.fill(1);
    } else if (!name.endsWith('.bias')) {
      // Box-Muller: two uniforms give two independent standard normals.
      for (let i = 0; i < data.length; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - random()));
        const angle = 2 * Math.PI * random();
        data[i] = std * r * Math.cos(angle);
        if (i + 1 < data.length) {
          data[i + 1] = std * r * Math.sin(angle);
        }
      }
    }
    yield { name, data, shape };
  }
}
