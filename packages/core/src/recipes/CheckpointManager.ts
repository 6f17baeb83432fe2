import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { stringify as stringifyYaml } from 'yaml';

import { openCheckpoint } from '../checkpoint/CheckpointLoader.js';
import { writeSafetensors } from '../checkpoint/writeSafetensors.js';
import { OperationalError } from '../errors/Fs2Error.js';
import type { StateEntry } from '../nn/loadModuleState.js';
import type { AdamW } from '../nn/training/AdamW.js';

/** The name of the card a checkpoint folder's `model.yaml` holds (fairseq2's `checkpoint@`). */
export const CHECKPOINT_CARD_NAME = 'checkpoint';

/** The file at the root of a checkpoint folder that describes its model. */
export const CHECKPOINT_METADATA_FILE = 'model.yaml';

/** `step_N`: the folder of the checkpoint taken after N steps. */
const STEP_DIR = /^step_([0-9]+)$/;

/** How a {@link CheckpointManager} writes and reads the model's weights. */
export interface CheckpointModelIO {
  /** Writes the weights (and their own `model.yaml` card) into `dir`, under the card name `name`. */
  save(dir: string, name: string): Promise<void>;
  /** Loads the weights written to `dir` into the model being trained. */
  load(dir: string): Promise<void>;
}

/** Options of {@link CheckpointManager}. */
export interface CheckpointManagerOptions {
  /** Keep only the newest N checkpoints (and the `keepBestN` best). Default: keep all. */
  readonly keepLastN?: number;
  /** Also keep the N best-scored checkpoints. Default: `0`. */
  readonly keepBestN?: number;
}

/** What a checkpoint holds besides the weights: the trainer's own state, as JSON. */
export type TrainerStateJson = Readonly<Record<string, unknown>>;

/**
 * Writes and reads the checkpoints of a training run, in fairseq2's layout:
 *
 * ```
 * <dir>/model.yaml                  name: checkpoint, model_family, model_config, tokenizer...
 * <dir>/step_N/model/               the weights (safetensors, fs2 names) and their own model.yaml
 * <dir>/step_N/trainer/state.json   step, data reader position, metrics, optimizer step count
 * <dir>/step_N/trainer/optimizer.safetensors   AdamW's moments
 * <dir>/scores/step_N.txt           the validation score (higher is better) on the first line
 * ```
 *
 * A checkpoint is written to `step_N.tmp/` and renamed when complete, so an interrupted save never
 * leaves a checkpoint that looks whole. `registerCheckpointModels(container, dir)` turns the folder
 * into cards: `checkpoint_step_N`, `last_checkpoint`, `best_checkpoint`.
 */
export class CheckpointManager {
  constructor(
    readonly dir: string,
    private readonly model: CheckpointModelIO,
    private readonly options: CheckpointManagerOptions = {},
  ) {}

  /** Writes `model.yaml`, the card every checkpoint's card is based on (`name` is set to `checkpoint`). */
  async writeMetadata(card: Readonly<Record<string, unknown>>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, CHECKPOINT_METADATA_FILE), stringifyYaml({ ...card, name: CHECKPOINT_CARD_NAME }));
  }

  /** The steps of the complete checkpoints, ascending. */
  async steps(): Promise<number[]> {
    return listCheckpointSteps(this.dir);
  }

  /** The step of the newest complete checkpoint, or `undefined` when there is none. */
  async lastStep(): Promise<number | undefined> {
    const steps = await this.steps();
    return steps[steps.length - 1];
  }

  /**
   * Saves the checkpoint of `step`: the weights, the optimizer's state, `trainerState`, and the
   * validation `score` when given; then removes the checkpoints that are not kept.
   */
  async save(step: number, optimizer: AdamW, trainerState: TrainerStateJson, score?: number): Promise<void> {
    const final = join(this.dir, `step_${step}`);
    const temporary = `${final}.tmp`;
    try {
      await rm(temporary, { recursive: true, force: true });
      await mkdir(join(temporary, 'trainer'), { recursive: true });
      await this.model.save(join(temporary, 'model'), `${CHECKPOINT_CARD_NAME}_step_${step}`);
      await writeSafetensors(
        join(temporary, 'trainer', 'optimizer.safetensors'),
        [...optimizer.stateEntries()].map((e) => ({ key: e.name, shape: e.shape, dtype: 'F32' as const, data: e.data })),
        { format: 'fs2', optimizer: 'adamw' },
      );
      await writeFile(
        join(temporary, 'trainer', 'state.json'),
        `${JSON.stringify({ ...trainerState, step, optimizer_steps: optimizer.stepCount }, null, 2)}\n`,
      );
      await rm(final, { recursive: true, force: true });
      await rename(temporary, final);
      if (score !== undefined) {
        await mkdir(join(this.dir, 'scores'), { recursive: true });
        await writeFile(join(this.dir, 'scores', `step_${step}.txt`), `${score}\n`);
      }
    } catch (error) {
      throw new OperationalError(`The checkpoint of step ${step} cannot be written to ${final}: ${(error as Error).message}`, { cause: error });
    }
    await this.prune();
  }

  /**
   * Loads the checkpoint of `step` into the model and `optimizer`, and returns the trainer state
   * it holds.
   */
  async load(step: number, optimizer: AdamW): Promise<TrainerStateJson & { readonly step: number; readonly optimizer_steps: number }> {
    const dir = join(this.dir, `step_${step}`);
    const state = JSON.parse(await readFile(join(dir, 'trainer', 'state.json'), 'utf8')) as TrainerStateJson & {
      step: number;
      optimizer_steps: number;
    };
    await this.model.load(join(dir, 'model'));
    const reader = await openCheckpoint(join(dir, 'trainer', 'optimizer.safetensors'));
    try {
      const entries: StateEntry[] = [];
      for await (const { key, shape, data } of reader.iterTensors()) {
        entries.push({ name: key, shape, data: data as Float32Array });
      }
      optimizer.loadState(entries, state.optimizer_steps);
    } finally {
      await reader.close();
    }
    return state;
  }

  /** Validation scores by step (from `scores/step_N.txt`). */
  async scores(): Promise<Map<number, number>> {
    return readCheckpointScores(this.dir);
  }

  private async prune(): Promise<void> {
    const keepLastN = this.options.keepLastN;
    if (keepLastN === undefined) {
      return;
    }
    const steps = await this.steps();
    const keep = new Set(steps.slice(Math.max(0, steps.length - keepLastN)));
    const keepBestN = this.options.keepBestN ?? 0;
    if (keepBestN > 0) {
      const scores = await this.scores();
      const ranked = steps.filter((s) => scores.has(s)).sort((a, b) => (scores.get(b) as number) - (scores.get(a) as number) || b - a);
      for (const step of ranked.slice(0, keepBestN)) {
        keep.add(step);
      }
    }
    for (const step of steps) {
      if (!keep.has(step)) {
        await rm(join(this.dir, `step_${step}`), { recursive: true, force: true });
        await rm(join(this.dir, 'scores', `step_${step}.txt`), { force: true });
      }
    }
  }
}

/** The steps of the complete checkpoints under `dir` (`step_N/` with `model/`), ascending; none when `dir` does not exist. */
export async function listCheckpointSteps(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      return [];
    }
    throw error;
  }
  const steps: number[] = [];
  for (const name of names) {
    const match = STEP_DIR.exec(name);
    if (match !== null && (await isDirectory(join(dir, name, 'model')))) {
      steps.push(Number(match[1]));
    }
  }
  return steps.sort((a, b) => a - b);
}

/** The scores of `dir/scores/step_N.txt` (a number on the first line), by step; unreadable files are left out. */
export async function readCheckpointScores(dir: string): Promise<Map<number, number>> {
  const scores = new Map<number, number>();
  let names: string[];
  try {
    names = await readdir(join(dir, 'scores'));
  } catch {
    return scores;
  }
  for (const name of names) {
    const match = /^step_([0-9]+)\.txt$/.exec(name);
    if (match === null) {
      continue;
    }
    const text = await readFile(join(dir, 'scores', name), 'utf8');
    const score = Number((text.split('\n')[0] ?? '').trim());
    if (Number.isFinite(score)) {
      scores.set(Number(match[1]), score);
    }
  }
  return scores;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
