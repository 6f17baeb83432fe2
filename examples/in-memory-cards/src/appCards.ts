import { fileURLToPath } from 'node:url';

import {
  createFairseq2,
  getTextDatasetHub,
  loadModel,
  loadTokenizer,
  NotSupportedError,
  registerInMemoryAssets,
  TransformerDecoderModel,
  type DependencyResolver,
  type InitFairseq2Options,
} from '@fs2/core';

/** The folder of this package's prompts (in-memory cards cannot hold relative paths). */
const DATA_DIR = fileURLToPath(new URL('../data', import.meta.url));

// Begin-example: in-memory-cards
/**
 * The application's own cards, as plain objects (from its settings, a database, a service):
 * a model based on fs2's default one with a shorter context, and a dataset of prompts. Paths in
 * in-memory cards must be absolute: there is no file to be relative to.
 */
export function appCards(): Record<string, unknown>[] {
  return [
    { name: 'app_writer', base: 'fs2_tiny', model_config: { max_seq_len: 256 } },
    { name: 'app_prompts', dataset_family: 'text', data: DATA_DIR, dataset_config: { unit: 'line' } },
  ];
}

/** An fs2 world with the application's cards next to the built-in ones. */
export function createAppFairseq2(options: InitFairseq2Options = {}): Promise<DependencyResolver> {
  return createFairseq2({
    ...options,
    extras: async (container) => {
      registerInMemoryAssets(container, 'app-settings', appCards());
      await options.extras?.(container);
    },
  });
}
// End-example: in-memory-cards

/** One prompt of `app_prompts` and what `app_writer` wrote after it. */
export interface Completion {
  readonly prompt: string;
  readonly completion: string;
}

/** Completes every prompt of the `app_prompts` card with the `app_writer` card, greedily. */
export async function completeAppPrompts(resolver: DependencyResolver, maxNewTokens = 24): Promise<Completion[]> {
  const prompts = await (await getTextDatasetHub(resolver).openDataset('app_prompts')).readPrompts('prompts');
  const model = await loadModel('app_writer', { resolver, progress: false });
  if (!(model instanceof TransformerDecoderModel)) {
    model.dispose();
    throw new NotSupportedError('app_writer is not a decoder-only language model.');
  }
  try {
    const tokenizer = await loadTokenizer('app_writer', { resolver });
    const completions: Completion[] = [];
    for (const { prompt } of prompts) {
      const text = prompt as string;
      const result = await model.generateAll(tokenizer.encode(`${text} `), { maxNewTokens, stopTokens: tokenizer.vocabInfo.stopIds });
      completions.push({ prompt: text, completion: tokenizer.decode(result.tokens, { skipSpecialTokens: true }) });
    }
    return completions;
  } finally {
    model.dispose();
  }
}
