import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { AssetCardValidator, AssetStore, ModelFamily, createFairseq2, registerInMemoryAssets, validateAssetStore } from '@fs2/core';
import { LLAMA_FAMILY, LlamaConfigSchema, getLlamaModelHub } from '@fs2/llama';
import { MISTRAL_FAMILY, getMistralModelHub } from '@fs2/mistral';
import { QWEN_FAMILY, getQwenModelHub } from '@fs2/qwen';

import { isolatedEnv, makeTempDir, type TempDir } from '../../../test/support/index.js';

describe('the family packages as fs2 extensions', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.cleanup());

  it('are found by createFairseq2() discovery (after `npm run build`) and register llama, mistral and qwen', async () => {
    const resolver = await createFairseq2({ env: isolatedEnv(dir.path), cwd: dir.path, log: () => undefined });
    const families = resolver.lookup(ModelFamily);

    expect(families.keys().map(String).sort()).toEqual(expect.arrayContaining([LLAMA_FAMILY, MISTRAL_FAMILY, QWEN_FAMILY]));
    expect([LLAMA_FAMILY, MISTRAL_FAMILY, QWEN_FAMILY].map((name) => families.get(name).origin)).toEqual(['@fs2/llama', '@fs2/mistral', '@fs2/qwen']);
    expect(families.get(LLAMA_FAMILY).configSchema).toBe(LlamaConfigSchema);
    expect(families.get(LLAMA_FAMILY).capabilities).toEqual({ meta: true, tensorParallel: false, huggingFaceExport: true });

    expect(getLlamaModelHub(resolver).getArchs()).toContain('llama3_2_1b');
    expect(getQwenModelHub(resolver).getArchs()).toContain('qwen3_0.6b');
    expect(getMistralModelHub(resolver).getArchs()).toEqual(['mistral_7b', 'mistral_7b_v03']);
    expect(getQwenModelHub(resolver).getModelConfig('qwen25_7b_instruct').model_dim).toBe(3584);
  });

  it('make every built-in model card valid (known family and architecture, overrides that fit the schema)', async () => {
    const resolver = await createFairseq2({
      env: isolatedEnv(dir.path),
      cwd: dir.path,
      log: () => undefined,
      extras: (container) =>
        registerInMemoryAssets(container, 'test', [
          { name: 'bad_arch', model_family: 'llama', model_arch: 'llama9_7b' },
          { name: 'bad_override', model_family: 'qwen', model_arch: 'qwen3_0.6b', model_config: { num_layerz: 2 } },
        ]),
    });
    const store = resolver.resolve(AssetStore);
    const report = await validateAssetStore(store, resolver.resolveAll(AssetCardValidator));

    // Only the two broken cards of this test: every built-in card passes.
    expect(report.problems.map((p) => p.message)).toEqual([
      '`model_arch` field of the `bad_arch` asset card is expected to be a supported llama model architecture, but is `llama9_7b` instead.',
      "`model_config` field of the `bad_override` asset card is not a valid model configuration: `num_layerz` is not a known key.",
    ]);
    expect([...getLlamaModelHub(resolver).iterCards()].map((card) => card.name)).toContain('llama3_3_70b_instruct');
  });
});
