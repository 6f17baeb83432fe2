import { parseAssetCards, StandardAssetStore, StandardAssetConfigLoader } from '@fs2/core';
import { LlamaConfigSchema, llamaDefaultConfig } from '@fs2/llama';
for (const text of ['name: c0\nmodel_family: llama\nmodel_config: &a {x: *a}\n', 'name: c0\nmodel_config: &a [*a]\n', 'name: c0\nmodel_config:\n  model_dim: &a {b: *a}\n']) {
  try {
    const parsed = parseAssetCards(text, { file: '/x.yaml', source: 'x' });
    console.log('problems', parsed.problems.map(p => p.message), parsed.entries.length);
    const store = new StandardAssetStore([{ source: 'x', entries: parsed.entries, problems: parsed.problems }], { lenient: true });
    const loader = new StandardAssetConfigLoader({ get: () => undefined }, () => {});
    for (const n of store.cardNames) { const c = store.retrieveCard(n); console.log(loader.load(c, llamaDefaultConfig(), 'model', LlamaConfigSchema)); }
  } catch (e) { console.log(e.constructor.name, e.message.slice(0, 200)); }
}
