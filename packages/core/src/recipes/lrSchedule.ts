import { InvalidArgumentError } from '../errors/Fs2Error.js';

/** The learning-rate schedules the built-in recipes know (fairseq2's `lr_scheduler.name`). */
export type LrScheduleName = 'constant' | 'cosine_annealing';

/** What a schedule is made of. */
export interface LrScheduleOptions {
  /** The peak learning rate (the optimizer's `lr`). */
  readonly baseLr: number;
  /** The steps of the run: the cosine reaches its floor at the last one. */
  readonly numSteps: number;
  /** Steps of linear warm-up from `startLr` to `baseLr`. Default: `0`. */
  readonly numWarmupSteps?: number;
  /** Where the warm-up starts. Default: `0` (fairseq2's `start_lr`). */
  readonly startLr?: number;
  /** The cosine's floor as a fraction of `baseLr` (fairseq2's `final_lr_scale`). Default: `0`. */
  readonly finalLrScale?: number;
}

/**
 * The learning rate of each step, `step` counted from 1 (the first update): a linear warm-up over
 * `numWarmupSteps` steps (step `s <= W` uses `startLr + (baseLr - startLr) · s / W`, so the first
 * update already moves the weights), then `constant`, or `cosine_annealing` (Loshchilov & Hutter
 * 2017, arXiv:1608.03983, one cycle as fairseq2's `CosineAnnealingLR`):
 * `final + (base − final) · (1 + cos(π · p)) / 2` with `p` the fraction of the post-warm-up steps
 * done and `final = baseLr · finalLrScale`.
 */
export function createLrSchedule(name: LrScheduleName, options: LrScheduleOptions): (step: number) => number {
  const { baseLr, numSteps } = options;
  const warmup = options.numWarmupSteps ?? 0;
  const startLr = options.startLr ?? 0;
  const finalLr = baseLr * (options.finalLrScale ?? 0);
  if (!Number.isSafeInteger(warmup) || warmup < 0) {
    throw new InvalidArgumentError('numWarmupSteps', `\`numWarmupSteps\` must be a non-negative integer, but is ${warmup}.`);
  }
  return (step) => {
    if (step <= warmup) {
      return startLr + ((baseLr - startLr) * step) / warmup;
    }
    if (name === 'constant') {
      return baseLr;
    }
    const span = Math.max(1, numSteps - warmup);
    const progress = Math.min(1, (step - warmup) / span);
    return finalLr + ((baseLr - finalLr) * (1 + Math.cos(Math.PI * progress))) / 2;
  };
}
