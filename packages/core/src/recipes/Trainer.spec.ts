import { beforeAll, describe, expect, it } from '@jest/globals';
import * as tf from '@tensorflow/tfjs';

import { caughtAsync } from '../../../../test/support/index.js';
import type { DataReader, DataReaderState } from '../datasets/DataReader.js';
import { useDevice } from '../nn/devices/DeviceRegistry.js';
import { AdamW } from '../nn/training/AdamW.js';
import { TrainingDivergedError } from './errors.js';
import { MetricBag } from './MetricBag.js';
import type { MetricRecorder } from './MetricRecorder.js';
import { Trainer } from './Trainer.js';
import type { TrainUnit, UnitLoss } from './TrainUnit.js';

/** A batch of (x, y) pairs for a linear model `y = w · x`. */
type Batch = readonly (readonly [number, number, number])[];

/** Epochs over a fixed list of batches, in order. */
class ListReader implements DataReader<Batch> {
  epoch = 0;
  private position = 0;

  constructor(private readonly batches: readonly Batch[]) {}

  get batchesPerEpoch(): number {
    return this.batches.length;
  }

  next(): Batch | undefined {
    return this.batches[this.position++];
  }

  nextEpoch(): void {
    this.epoch += 1;
    this.position = 0;
  }

  state(): DataReaderState {
    return { epoch: this.epoch, position: this.position };
  }

  restoreState(state: DataReaderState): void {
    this.epoch = state.epoch;
    this.position = state.position;
  }
}

/** Squared error of `w · x` against `y`, summed over the batch. */
class RegressionUnit implements TrainUnit<Batch> {
  readonly metricBag = new MetricBag();
  readonly variables: ReadonlyMap<string, tf.Variable>;

  constructor(
    readonly w: tf.Variable,
    private readonly poison = false,
  ) {
    this.variables = new Map([['w', w]]);
  }

  computeLoss(batch: Batch): UnitLoss {
    const x = tf.tensor2d(batch.map(([a, b]) => [a, b]));
    const y = tf.tensor1d(batch.map(([, , target]) => target));
    let loss = tf.sum(tf.square(tf.sub(tf.squeeze(tf.matMul(x, tf.reshape(this.w, [2, 1])), [1]), y))) as tf.Scalar;
    if (this.poison) {
      loss = tf.mul(loss, Number.NaN) as tf.Scalar;
    }
    this.metricBag.updateMean('mse', (loss.dataSync()[0] as number) / batch.length, batch.length);
    return { loss, numTargets: batch.length };
  }

  numElements(batch: Batch): number {
    return batch.length;
  }
}

const DATA: Batch = [
  [1, 0, 2],
  [0, 1, -1],
  [1, 1, 1],
  [2, 1, 3],
];

function train(batches: readonly Batch[], options: { accumulation?: number; steps: number; epochs?: number; unit?: RegressionUnit; recorders?: MetricRecorder[]; signal?: AbortSignal }) {
  const unit = options.unit ?? new RegressionUnit(tf.variable(tf.tensor1d([0, 0])));
  const trainer = new Trainer({
    unit,
    dataReader: new ListReader(batches),
    optimizer: new AdamW(unit.variables, { lr: 0.1 }),
    lrSchedule: () => 0.1,
    numSteps: options.steps,
    ...(options.epochs === undefined ? {} : { numDataEpochs: options.epochs }),
    gradAccumulation: options.accumulation ?? 1,
    publishMetricsEveryNSteps: 2,
    recorders: options.recorders ?? [],
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { unit, run: trainer.run() };
}

describe('Trainer', () => {
  beforeAll(async () => {
    await useDevice('cpu');
  });

  it('averages accumulated gradients over all their targets: two batches of 2 = one batch of 4', async () => {
    const split = train([DATA.slice(0, 2), DATA.slice(2)], { accumulation: 2, steps: 3 });
    const whole = train([DATA], { steps: 3 });
    await Promise.all([split.run, whole.run]);
    const a = Array.from(split.unit.w.dataSync());
    const b = Array.from(whole.unit.w.dataSync());
    a.forEach((value, i) => expect(value).toBeCloseTo(b[i] as number, 6));
  });

  it('publishes the unit\'s metrics with its own at the interval, and stops after the data epochs asked for', async () => {
    const published: [string, number, Record<string, number>][] = [];
    const recorder: MetricRecorder = { record: (section, step, values) => Promise.resolve(void published.push([section, step, { ...values }])) };
    const { run } = train([DATA.slice(0, 2), DATA.slice(2)], { steps: 100, epochs: 2, recorders: [recorder] });
    const result = await run;
    expect([result.step, result.stopReason]).toEqual([4, 'num_data_epochs']);
    expect(published.map(([section, step]) => `${section}@${step}`)).toEqual(['train@2', 'train@4']);
    expect(Object.keys(published[0]?.[2] ?? {}).sort()).toEqual(['data_epoch', 'elements_per_second', 'grad_norm', 'lr', 'mse']);
    expect(published[1]?.[2]['data_epoch']).toBe(1);
  });

  it('stops when its signal is aborted, and names a diverged step', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await train([DATA], { steps: 5, signal: controller.signal }).run).stopReason).toBe('aborted');

    const poisoned = new RegressionUnit(tf.variable(tf.tensor1d([0, 0])), true);
    const error = await caughtAsync(() => train([DATA], { steps: 5, unit: poisoned }).run);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect(error.message).toBe(
      'The loss of training step 1 is not finite: the run diverged. Lower the learning rate (`optimizer.config.lr`), add warm-up steps ' +
        '(`lr_scheduler.config.num_warmup_steps`) or clip gradients (`trainer.max_grad_norm`), and resume from the last checkpoint.',
    );
  });
});
