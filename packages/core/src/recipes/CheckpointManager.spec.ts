import { readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { caughtAsync, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { AssetSourceNotFoundError } from '../assets/errors.js';
import { useDevice } from '../nn/devices/DeviceRegistry.js';
import { AdamW } from '../nn/training/AdamW.js';
import { CheckpointAssetMetadataSource } from './CheckpointAssetMetadataSource.js';
import { CheckpointManager, type CheckpointModelIO } from './CheckpointManager.js';

let tmp: TempDir;
beforeAll(async () => {
  await useDevice('cpu');
});
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

/** Writes a marker file as "the weights", and remembers what it loaded. */
function fakeModel(): CheckpointModelIO & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    save: async (dir, name) => {
      await mkdir(dir, { recursive: true });
      writeFileSync(join(dir, 'weights.txt'), name);
    },
    load: (dir) => Promise.resolve(void loaded.push(dir)),
  };
}

describe('CheckpointManager', () => {
  it('saves steps atomically with the optimizer and trainer state, and loads them back', async () => {
    const model = fakeModel();
    const manager = new CheckpointManager(join(tmp.path, 'ckpt'), model);
    const w = tf.variable(tf.tensor1d([1, 2]));
    const optimizer = new AdamW(new Map([['w', w]]), { lr: 0.1 });
    optimizer.step(new Map([['w', tf.tensor1d([0.5, -0.5])]]));
    await manager.save(3, optimizer, { data_reader: { epoch: 0, position: 3 } }, -1.5);
    expect(await manager.steps()).toEqual([3]);
    expect(readdirSync(join(tmp.path, 'ckpt')).sort()).toEqual(['scores', 'step_3']);
    expect(readdirSync(join(tmp.path, 'ckpt/step_3/model'))).toEqual(['weights.txt']);

    const restored = new AdamW(new Map([['w', tf.variable(tf.tensor1d([1, 2]))]]), { lr: 0.1 });
    const state = await manager.load(3, restored);
    expect(state).toEqual({ data_reader: { epoch: 0, position: 3 }, step: 3, optimizer_steps: 1 });
    expect(restored.stepCount).toBe(1);
    expect([...restored.stateEntries()]).toEqual([...optimizer.stateEntries()]);
    expect(model.loaded).toEqual([join(tmp.path, 'ckpt/step_3/model')]);
  });

  it('keeps the newest N checkpoints and the best M', async () => {
    const manager = new CheckpointManager(join(tmp.path, 'ckpt'), fakeModel(), { keepLastN: 2, keepBestN: 1 });
    const optimizer = new AdamW(new Map([['w', tf.variable(tf.tensor1d([1]))]]));
    const scores = [-3, -1, -2, -4, -5];
    for (const [index, score] of scores.entries()) {
      await manager.save(index + 1, optimizer, {}, score);
    }
    // Newest two: 4 and 5; best: 2 (score -1).
    expect(await manager.steps()).toEqual([2, 4, 5]);
    expect([...(await manager.scores())].sort(([a], [b]) => a - b)).toEqual([
      [2, -1],
      [4, -4],
      [5, -5],
    ]);
  });
});

describe('CheckpointAssetMetadataSource', () => {
  it('synthesizes checkpoint_step_N, last_checkpoint and best_checkpoint(_i) from the folder', async () => {
    const dir = join(tmp.path, 'ckpt');
    const manager = new CheckpointManager(dir, fakeModel());
    await manager.writeMetadata({ model_family: 'llama', model_config: { num_layers: 2 } });
    const optimizer = new AdamW(new Map([['w', tf.variable(tf.tensor1d([1]))]]));
    await manager.save(10, optimizer, {}, -2);
    await manager.save(20, optimizer, {}, -1);
    await manager.save(30, optimizer, {});
    const [provider] = await new CheckpointAssetMetadataSource(dir).load();
    expect(provider?.source).toBe(`checkpoint:${dir}`);
    expect(provider?.problems).toEqual([]);
    const cards = (provider?.entries ?? []).map((e) => [e.name, e.fields.get('base')?.value ?? null, e.fields.get('checkpoint')?.value ?? null]);
    expect(cards).toEqual([
      ['checkpoint@', null, null],
      ['checkpoint_step_10@', 'checkpoint', join(dir, 'step_10/model')],
      ['checkpoint_step_20@', 'checkpoint', join(dir, 'step_20/model')],
      ['checkpoint_step_30@', 'checkpoint', join(dir, 'step_30/model')],
      ['last_checkpoint@', 'checkpoint', join(dir, 'step_30/model')],
      ['best_checkpoint@', 'checkpoint', join(dir, 'step_20/model')],
      ['best_checkpoint_0@', 'checkpoint', join(dir, 'step_20/model')],
      ['best_checkpoint_1@', 'checkpoint', join(dir, 'step_10/model')],
    ]);
  });

  it('refuses a folder without model.yaml, and a model.yaml that is not one `checkpoint` card', async () => {
    const empty = tmp.mkdir('empty');
    const missing = await caughtAsync(() => new CheckpointAssetMetadataSource(empty).load());
    expect(missing).toBeInstanceOf(AssetSourceNotFoundError);
    expect(missing.message).toBe(
      `checkpoint:${empty} asset source is not found: ${empty}/model.yaml does not exist: ${empty} is not the checkpoint folder of a training run.`,
    );
    const file = tmp.write('other/model.yaml', 'name: mine\nmodel_family: llama\n');
    const [provider] = await new CheckpointAssetMetadataSource(join(tmp.path, 'other')).load();
    expect(provider?.entries).toEqual([]);
    expect(provider?.problems.map((p) => p.message)).toEqual([
      `${file} is expected to hold one card, named \`checkpoint\`, but holds \`mine\`. (${file}:1:1)`,
    ]);
  });
});
