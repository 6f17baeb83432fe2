import { parseAssetCards } from '../../packages/core/src/assets/parseAssetCards.js';
import { StandardAssetStore, type StandardAssetStoreOptions } from '../../packages/core/src/assets/AssetStore.js';
import type { AssetMetadataProvider } from '../../packages/core/src/assets/AssetMetadata.js';

/**
 * A provider made of YAML texts under made-up absolute paths (nothing touches the disk):
 * `yamlProvider('test', { '/cards/a.yaml': 'name: a\n' })`.
 */
export function yamlProvider(source: string, files: Readonly<Record<string, string>>): AssetMetadataProvider {
  const entries = [];
  const problems = [];
  for (const [file, text] of Object.entries(files)) {
    const parsed = parseAssetCards(text, { file, source });
    entries.push(...parsed.entries);
    problems.push(...parsed.problems);
  }
  return { source, entries, problems };
}

/** A store over one {@link yamlProvider} per source: `yamlStore({ test: { '/cards/a.yaml': '...' } })`. */
export function yamlStore(
  sources: Readonly<Record<string, Readonly<Record<string, string>>>>,
  options: StandardAssetStoreOptions = {},
): StandardAssetStore {
  return new StandardAssetStore(
    Object.entries(sources).map(([source, files]) => yamlProvider(source, files)),
    options,
  );
}

/** What a call throws, for assertions on its class and fields as well as its message. */
export function caught(body: () => unknown): Error {
  try {
    body();
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the call to throw, but it returned.');
}

/** Like {@link caught}, for a promise. */
export async function caughtAsync(body: () => Promise<unknown>): Promise<Error> {
  try {
    await body();
  } catch (error) {
    return error as Error;
  }
  throw new Error('Expected the call to reject, but it resolved.');
}
