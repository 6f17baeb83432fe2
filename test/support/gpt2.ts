import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { openCheckpoint } from '../../packages/core/src/checkpoint/CheckpointLoader.js';

/** The `@fs2-examples/custom-family` package folder (the GPT-2 example family). */
export const GPT2_EXAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'custom-family');

/** Its card file. */
export const GPT2_CARDS_FILE = join(GPT2_EXAMPLE_DIR, 'cards', 'gpt2.yaml');

/**
 * The committed `gpt2_tiny_random` checkpoint: a Hugging Face GPT-2 folder (`config.json`,
 * `model.safetensors`) with random weights, made by the example's `scripts/make-tiny-checkpoint.mjs`.
 */
export const GPT2_TINY_CHECKPOINT = join(GPT2_EXAMPLE_DIR, 'cards', 'gpt2_tiny_random');

/** One tensor of a checkpoint, read whole. */
export interface HostTensorData {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Every tensor of the checkpoint at `path`, by its own (unconverted) key, in file order. */
export async function readCheckpointTensors(path: string): Promise<Map<string, HostTensorData>> {
  const reader = await openCheckpoint(path);
  const tensors = new Map<string, HostTensorData>();
  try {
    for await (const { key, shape, data } of reader.iterTensors()) {
      if (!(data instanceof Float32Array)) {
        throw new Error(`${key} of ${path} is not floating-point.`);
      }
      tensors.set(key, { shape, data });
    }
  } finally {
    await reader.close();
  }
  return tensors;
}
