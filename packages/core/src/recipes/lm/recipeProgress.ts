import type { RecipeContext } from '../Recipe.js';
import { BarTrainingProgress, LineTrainingProgress, type TrainingProgress } from '../TrainingProgress.js';

/** A bar on a terminal when progress is on, else plain log lines. */
export function recipeProgress(context: RecipeContext): TrainingProgress {
  const stream = context.progressStream ?? process.stderr;
  return context.progress && stream.isTTY === true ? new BarTrainingProgress(stream) : new LineTrainingProgress(context.log);
}

/** `1,234,567`. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** `1h02m03s`, `4m05s`, `6.1s`. */
export function formatDuration(milliseconds: number): string {
  const seconds = milliseconds / 1000;
  if (seconds < 60) {
    return `${seconds.toFixed(1)}s`;
  }
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}h${pad(m)}m${pad(s)}s` : `${m}m${pad(s)}s`;
}
