/**
 * The worker module of a tensor-parallel model (internal): a `TensorParallelModel` starts one thread
 * gang worker per rank on the compiled `dist/models/parallel/tensorParallelWorker.js`. Each builds
 * its own fs2 container (extension discovery from the host's working directory, so third-party
 * families work too), activates its own TF.js backend, loads its part of the model (reading only its
 * slices of the checkpoint) and serves the host's requests; the ranks meet in the model's
 * collectives.
 */
import * as tf from '@tensorflow/tfjs';

import { InternalError } from '../../errors/Fs2Error.js';
import { createParallelGangs } from '../../gang/Gangs.js';
import { defineThreadGangWorker, type ThreadGangWorkerContext } from '../../gang/ThreadGangWorker.js';
import { useDevice } from '../../nn/devices/DeviceRegistry.js';
import { configureCpuKernels } from '../../nn/kernels/cpuKernelsRegistry.js';
import type { GeneratedToken, GenerationResult } from '../../nn/generate.js';
import type { TransformerDecoderModel } from '../../nn/TransformerDecoderModel.js';
import type { DependencyContainer } from '../../runtime/DependencyContainer.js';
import { createFairseq2 } from '../../runtime/init.js';
import { ModelFamily, type LoadableModel } from '../ModelFamily.js';
import { TensorParallelDivergenceError, TensorParallelWorkerError } from './errors.js';
import type { TensorParallelWorkerApi, TensorParallelWorkerInit } from './protocol.js';

/** The default export of a `workerSetup` module. */
type WorkerSetupFunction = (container: DependencyContainer, rank: { readonly rank: number; readonly size: number }) => void | Promise<void>;

async function importSetup(url: string, family: string): Promise<WorkerSetupFunction> {
  const module = (await import(url)) as { default?: unknown };
  if (typeof module.default !== 'function') {
    throw new TensorParallelWorkerError(
      family,
      `The tensor-parallel worker setup module \`${url}\` must export a function \`(container, { rank, size }) => void\` as its default export, but its default export is ${module.default === undefined ? 'missing' : `of type ${typeof module.default}`}.`,
    );
  }
  return module.default as WorkerSetupFunction;
}

/** Whether `model` can run as a causal language model (a `TransformerDecoderModel` or its like). */
function isDecoder(model: LoadableModel): model is LoadableModel & TransformerDecoderModel {
  const candidate = model as Partial<TransformerDecoderModel>;
  return typeof candidate.forward === 'function' && typeof candidate.generate === 'function' && typeof candidate.config === 'object';
}

export default defineThreadGangWorker(
  async ({ gang, rank, size, initData }: ThreadGangWorkerContext<TensorParallelWorkerInit>): Promise<TensorParallelWorkerApi> => {
    const { family: familyName, source } = initData;
    // Each rank is one of the tensor-parallel threads: its CPU kernels run on this thread alone,
    // or the ranks' kernel threads would oversubscribe the cores.
    configureCpuKernels({ threads: 1 });
    await useDevice(initData.device);
    const setup = initData.setup === undefined ? undefined : await importSetup(initData.setup, familyName);
    const resolver = await createFairseq2({
      env: initData.env,
      cwd: initData.cwd,
      noProgress: true,
      ...(setup === undefined ? {} : { extras: (container: DependencyContainer) => setup(container, { rank, size }) }),
    });
    const families = resolver.lookup(ModelFamily);
    const family = families.maybeGet(familyName);
    if (family === undefined) {
      throw new TensorParallelWorkerError(
        familyName,
        `The ${familyName} model family is not registered in the tensor-parallel workers, which build their own fs2 with the extensions installed where ${initData.cwd} sees them (${families.keys().map(String).sort().join(', ') || 'none'}): install it as an fs2 extension, or register it in a \`workerSetup\` module.`,
      );
    }
    const gangs = createParallelGangs(gang, { tpSize: size });
    const loaded =
      source.kind === 'checkpoint'
        ? await family.loadCustomModel(source.path, initData.config, { gangs, progress: false })
        : await family.createNewModel(initData.config, { gangs, seed: source.seed });
    if (!isDecoder(loaded)) {
      loaded.dispose();
      throw new TensorParallelWorkerError(familyName, `The ${familyName} model family does not build decoder-only language models, so it cannot run as a tensor-parallel model.`);
    }
    const model = loaded;
    const tp = gangs.tp;
    const sessions = new Map<number, AsyncGenerator<GeneratedToken, GenerationResult, undefined>>();
    const session = (id: number): AsyncGenerator<GeneratedToken, GenerationResult, undefined> => {
      const generator = sessions.get(id);
      if (generator === undefined) {
        throw new InternalError(`Rank ${rank} of the tensor-parallel model has no generation ${id}.`);
      }
      return generator;
    };

    return {
      describe() {
        return {
          vocabSize: model.config.vocabSize,
          maxSeqLen: model.config.maxSeqLen,
          maxCacheLength: model.maxCacheLength,
          localParameters: model.numParameters(),
        };
      },

      logits({ tokens, logits }) {
        const tensor = model.forward(tokens, { logits });
        try {
          // Every rank holds the same logits; one copy crosses to the host.
          if (rank !== 0) {
            return undefined;
          }
          const data = tensor.dataSync() as Float32Array;
          // The cpu backend's dataSync() returns the tensor's own storage (js-ecosystem.md §2.4).
          return { shape: [...tensor.shape], data: tf.getBackend() === 'cpu' ? data.slice() : data };
        } finally {
          tensor.dispose();
        }
      },

      generateStart({ session: id, prompt, options }) {
        sessions.set(id, model.generate(prompt, options));
      },

      async generateNext({ session: id }) {
        const step = await session(id).next();
        const token = step.done === true ? -1 : step.value.token;
        // The ranks sample the same token from bit-identical logits with the same seed; check it (one
        // 1-float broadcast per token) rather than feed different tokens into the same collectives.
        const chosen = Float32Array.of(token);
        tp.broadcast(chosen, 0);
        if (chosen[0] !== token) {
          throw new TensorParallelDivergenceError(rank, step.done === true ? -1 : step.value.index, token, chosen[0] as number);
        }
        if (step.done === true) {
          sessions.delete(id);
          return rank === 0 ? { done: true, result: step.value } : undefined;
        }
        return rank === 0 ? { done: false, token, index: step.value.index } : undefined;
      },

      async generateEnd({ session: id }) {
        const generator = sessions.get(id);
        sessions.delete(id);
        await generator?.return(undefined as never);
      },

      liveTensors() {
        return tf.memory().numTensors;
      },
    };
  },
);
