import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import {
  GangError,
  GlobalModelLoader,
  ModelFamily,
  TensorParallelSplitError,
  createFairseq2,
  registerModelFamily,
  type DependencyContainer,
  type TensorParallelModel,
} from '@fs2/core';

import { FIXTURES_DIR, FIXTURE_TOKENS, createFamilyTestWorld, fixturePath, type FamilyTestWorld } from '../../../test/support/index.js';
import { expectNoWorkers } from '../../../test/support/tensorParallel.js';
import { LLAMA_ARCHS, llamaDefaultConfig } from './archs.js';
import { LlamaConfigSchema, type LlamaConfig } from './config.js';
import { createLlamaModel } from './factory.js';
import { llamaHuggingFaceConverter } from './interop.js';
import { registerLlamaFamily } from './register.js';
import { llamaSharder } from './sharder.js';

// How a tensor-parallel model fails: a rank that throws mid-forward, a worker that is killed, ranks
// whose splits do not match, a split that cannot be made. Each ends with a named error on the caller
// within the test's time limit (far below the collectives' 60 s timeout: failures are not waited
// out), and no worker is left running. The broken families come from test/fixtures/parallel.

const WORKER_SETUP = pathToFileURL(join(FIXTURES_DIR, 'parallel', 'faultyFamilies.mjs'));

/** The host's side of the broken families: the same names and specs (the breakage happens in the workers). */
function registerFaultyFamilies(container: DependencyContainer): void {
  registerLlamaFamily(container);
  for (const name of ['throwing_llama', 'diverging_llama']) {
    registerModelFamily(container, name, {
      configSchema: LlamaConfigSchema,
      defaultConfig: llamaDefaultConfig,
      archs: LLAMA_ARCHS,
      factory: createLlamaModel,
      sharder: llamaSharder,
      converters: [llamaHuggingFaceConverter],
    });
  }
}

/** Awaits `promise` and returns what it rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('a tensor-parallel model that fails', () => {
  let world: FamilyTestWorld;
  let config: LlamaConfig;
  beforeAll(async () => {
    world = await createFamilyTestWorld(registerFaultyFamilies);
    config = (await world.resolver.resolve(GlobalModelLoader).describePath(fixturePath('llama3'), 'llama')).config as LlamaConfig;
   }, 30_000);
  afterAll(() => world.cleanup());

  const start = (family: string): Promise<TensorParallelModel> =>
    world.resolver.lookup(ModelFamily).get(family).loadCustomModel(fixturePath('llama3'), config, { tp: 2, workerSetup: WORKER_SETUP, progress: false });

  /** Waits until every worker of `model` has exited, then checks that later calls fail with `error`. */
  async function expectDead(model: TensorParallelModel, error: unknown): Promise<void> {
    await model.exited;
    expectNoWorkers();
    expect(model.failure).toBe(error);
    await expect(model.logits([1, 2])).rejects.toBe(error);
    await expect(model.generateAll([1, 2])).rejects.toBe(error);
    await model.dispose();
  }

  it('a rank that throws mid-forward fails the model with a GangError naming it and its error', async () => {
    const model = await start('throwing_llama');
    const error = await rejection(model.logits(FIXTURE_TOKENS));

    expect(error).toBeInstanceOf(GangError);
    expect(error).toMatchObject({
      kind: 'threw',
      ranks: [1],
      operation: 'logits',
      message: 'Rank 1 of the thread gang failed during the `logits` request: its handler threw `Error: rank 1 failed in layer 1 on purpose`.',
    });
    expect(((error as GangError).cause as Error).message).toBe('rank 1 failed in layer 1 on purpose');
    await expectDead(model, error);
  }, 60_000);

  it('a worker killed during a generation fails its next step', async () => {
    const model = await start('llama');
    const run = model.generate(FIXTURE_TOKENS, { maxNewTokens: 8 });
    expect((await run.next()).done).toBe(false);
    const worker = model.workers[1]!;
    const exit = once(worker, 'exit');
    await worker.terminate();
    await exit;

    const error = await rejection(run.next());
    expect(error).toBeInstanceOf(GangError);
    expect(error).toMatchObject({ kind: 'exited', ranks: [1], message: 'Rank 1 of the thread gang failed: its worker exited with code 1.' });
    await expectDead(model, error);
  }, 60_000);

  it('ranks whose splits do not match fail at their first collective, naming both calls', async () => {
    const model = await start('diverging_llama');
    const error = await rejection(model.logits(FIXTURE_TOKENS));

    expect(error).toBeInstanceOf(GangError);
    // The fixture's config splits the embedding along the model dim (rank 0 all-gathers its 12 x 32
    // columns); rank 1 splits it along the vocabulary (it all-reduces the 12 x 64 rows of its half).
    expect(error).toMatchObject({
      kind: 'mismatch',
      ranks: [0, 1],
      message: "The ranks of the gang [0, 1] called different collectives: rank 0 called `allGather()` of 384 values and rank 1 called `allReduce('sum')` of 768 values.",
    });
    await expectDead(model, error);
  }, 60_000);

  it('a family the workers do not have fails the start, naming it and the families they have', async () => {
    // What the workers see: the installed extensions, found from the world's working directory.
    const installed = (await createFairseq2({ env: world.env, cwd: world.dir.path })).lookup(ModelFamily).keys().map(String).sort();
    const error = await rejection(world.resolver.lookup(ModelFamily).get('throwing_llama').loadCustomModel(fixturePath('llama3'), config, { tp: 2 }));

    expect(error).toBeInstanceOf(GangError);
    expect(error).toMatchObject({
      kind: 'threw',
      operation: 'start',
      message: `Rank ${(error as GangError).ranks[0]} of the thread gang failed while starting: it threw \`TensorParallelWorkerError: The throwing_llama model family is not registered in the tensor-parallel workers, which build their own fs2 with the extensions installed where ${world.dir.path} sees them (${installed.join(', ')}): install it as an fs2 extension, or register it in a \`workerSetup\` module.\`.`,
    });
    expectNoWorkers();
  }, 60_000);

  it('a split that cannot be made fails before any worker starts', async () => {
    const error = await rejection(world.resolver.lookup(ModelFamily).get('llama').loadCustomModel(fixturePath('llama3'), config, { tp: 4 }));
    expect(error).toBeInstanceOf(TensorParallelSplitError);
    expect((error as Error).message).toBe(
      'The llama model cannot be split over 4 tensor-parallel ranks: `num_key_value_heads` (2) is not a multiple of 4.',
    );
    expectNoWorkers();
  });
});
