import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import type { AssetMetadataEntry, AssetMetadataProvider } from '../assets/AssetMetadata.js';
import type { AssetMetadataSource } from '../assets/AssetMetadataSource.js';
import { AssetMetadataError, AssetSourceNotFoundError } from '../assets/errors.js';
import { loadAssetCardFile } from '../assets/loadAssetCardFiles.js';
import { makeAssetMetadataEntry } from '../assets/makeAssetMetadataEntry.js';
import { CHECKPOINT_CARD_NAME, CHECKPOINT_METADATA_FILE, listCheckpointSteps, readCheckpointScores } from './CheckpointManager.js';

/**
 * The cards of a training run's checkpoint folder (fairseq2's `StandardModelMetadataLoader`,
 * fairseq2-reference.md §1.11): the folder's `model.yaml` (the card `checkpoint`: family, config,
 * tokenizer), and for its checkpoints
 *
 * - `checkpoint_step_N`: `{base: checkpoint, checkpoint: <dir>/step_N/model}` for each `step_N/`;
 * - `last_checkpoint`: the one with the largest N;
 * - `best_checkpoint` and `best_checkpoint_0`, `best_checkpoint_1`, ...: by descending score
 *   (`scores/step_N.txt`), when the run validated.
 *
 * The folder is read when the store is built (`initFairseq2()`): checkpoints written later need a
 * new container.
 */
export class CheckpointAssetMetadataSource implements AssetMetadataSource {
  /** The source name: `checkpoint:<absolute dir>`. */
  readonly source: string;
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.source = `checkpoint:${this.dir}`;
  }

  async load(): Promise<readonly AssetMetadataProvider[]> {
    const file = join(this.dir, CHECKPOINT_METADATA_FILE);
    const exists = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) {
      throw new AssetSourceNotFoundError(this.source, `${file} does not exist: ${this.dir} is not the checkpoint folder of a training run.`);
    }
    const read = await loadAssetCardFile(file, this.source);
    const problems: AssetMetadataError[] = [...(read?.problems ?? [])];
    const entries: AssetMetadataEntry[] = [...(read?.entries ?? [])];
    const named = entries.filter((e) => e.name === `${CHECKPOINT_CARD_NAME}@`);
    if (named.length === 0 || entries.length !== 1) {
      problems.push(
        new AssetMetadataError(
          this.source,
          `${file} is expected to hold one card, named \`${CHECKPOINT_CARD_NAME}\`, but holds ${entries.map((e) => `\`${e.name.replace(/@$/, '')}\``).join(', ') || 'none'}.`,
          { location: { file, line: 1, column: 1 } },
        ),
      );
      return [{ source: this.source, entries: [], problems }];
    }
    const steps = await listCheckpointSteps(this.dir);
    const scores = await readCheckpointScores(this.dir);
    const cards: [string, number][] = steps.map((step) => [`${CHECKPOINT_CARD_NAME}_step_${step}`, step]);
    const last = steps[steps.length - 1];
    if (last !== undefined) {
      cards.push([`last_${CHECKPOINT_CARD_NAME}`, last]);
    }
    const ranked = steps.filter((s) => scores.has(s)).sort((a, b) => (scores.get(b) as number) - (scores.get(a) as number) || b - a);
    ranked.forEach((step, index) => {
      if (index === 0) {
        cards.push([`best_${CHECKPOINT_CARD_NAME}`, step]);
      }
      cards.push([`best_${CHECKPOINT_CARD_NAME}_${index}`, step]);
    });
    cards.forEach(([name, step], index) => {
      const entry = makeAssetMetadataEntry(
        [
          { key: 'name', value: name },
          { key: 'base', value: CHECKPOINT_CARD_NAME },
          { key: 'checkpoint', value: join(this.dir, `step_${step}`, 'model') },
        ],
        { source: this.source, index: index + 1, unit: 'entry', dir: this.dir },
      );
      if (entry instanceof AssetMetadataError) {
        problems.push(entry);
      } else {
        entries.push(entry);
      }
    });
    return [{ source: this.source, entries, problems }];
  }
}
