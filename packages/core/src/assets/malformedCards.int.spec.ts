import { truncateSync } from 'node:fs';
import { join } from 'node:path';

import { Type } from '@sinclair/typebox';
import { describe, expect, it } from '@jest/globals';

import { FIXTURES_DIR, makeTempDir } from '../../../../test/support/index.js';
import { StandardAssetConfigLoader } from './AssetConfigLoader.js';
import type { AssetCardValidator } from './AssetCardValidator.js';
import { StandardAssetStore } from './AssetStore.js';
import { FileAssetMetadataSource } from './FileAssetMetadataSource.js';
import { MAX_CARD_FILE_BYTES } from './parseAssetCards.js';
import { formatLocation } from './SourceLocation.js';
import { validateAssetStore } from './validateAssetStore.js';

const CARDS = join(FIXTURES_DIR, 'cards');
const MALFORMED = join(CARDS, 'malformed');

/** What a model family validator does: the override keys and types of its config schema. */
const ToyConfig = Type.Object({ num_layers: Type.Integer(), model_dim: Type.Integer() });
const loader = new StandardAssetConfigLoader({ get: () => undefined }, () => undefined);
const toyValidator: AssetCardValidator = {
  name: 'toy model family',
  validate: (card) =>
    card.maybeField('model_family')?.value === 'toy' ? loader.check(card, { num_layers: 1, model_dim: 8 }, 'model', ToyConfig) : [],
};

async function report(...paths: string[]): Promise<string[]> {
  const store = await StandardAssetStore.load(
    paths.map((p) => new FileAssetMetadataSource(p)),
    { lenient: true },
  );
  const { problems } = await validateAssetStore(store, [toyValidator]);
  return problems.map((p) => `${p.location === undefined ? '-' : formatLocation(p.location)}: ${p.reason}`);
}

describe('the malformed card corpus', () => {
  it.each([
    ['bad-yaml.yaml', '4:1', 'YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }.'],
    ['unknown-override-key.yaml', '5:3', '`model_config` field of the `toy_unknown_key` asset card is not a valid model configuration: `num_layerz` is not a known key.'],
    ['wrong-override-type.yaml', '4:14', '`model_config` field of the `toy_wrong_type` asset card is not a valid model configuration: `model_dim` is expected to be of type integer, but is of type string instead.'],
    ['base-cycle.yaml', '6:7', 'The `toy_cycle_a` asset card has a cycle in its `base` chain: toy_cycle_a -> toy_cycle_b -> toy_cycle_a.'],
    ['missing-base.yaml', '2:7', '`toy_nowhere` base asset of the `toy_orphan` asset card does not exist.'],
    ['bad-name.yaml', '1:7', '`toy@cluster@user` is not a valid asset name: a name is `name` or `name@environment`, with a non-empty name part and at most one `@`.'],
    ['billion-laughs.yaml', '1:1', 'The document at index 0 expands aliases more than 100 times: a card never needs that many (an alias bomb?).'],
    ['deep-nesting.yaml', '2:78', 'The file nests collections more than 64 levels deep.'],
    ['custom-tag.yaml', '3:13', '`!!python/object:os.system` tag is not supported: asset cards use the YAML 1.2 core schema, without custom tags.'],
    ['duplicate-key.yaml', '5:3', '`num_layers` key is defined twice in the same mapping.'],
    ['reserved-field.yaml', '2:1', '`__base_path__` field of the `toy_reserved` asset card is reserved: fs2 sets the fields named `__x__` itself.'],
    ['not-a-mapping.yaml', '3:1', 'The document at index 1 is expected to be a mapping (one card), but is a list instead.'],
  ])('%s yields one located problem', async (file, position, message) => {
    expect(await report(join(MALFORMED, file))).toEqual([`${join(MALFORMED, file)}:${position}: ${message}`]);
  });

  it('a card file larger than MAX_CARD_FILE_BYTES (10 MiB) yields one problem, without being read', async () => {
    const tmp = makeTempDir();
    try {
      const file = tmp.write('huge.yaml', 'name: huge\n');
      truncateSync(file, MAX_CARD_FILE_BYTES + 1); // Sparse: nothing is written.

      expect(await report(file)).toEqual([`${file}:1:1: The file has 10485761 bytes, more than the 10485760-byte (10 MiB) limit for asset card files.`]);
    } finally {
      tmp.cleanup();
    }
  });

  it('a name in two sources yields one problem naming both files', async () => {
    const first = join(CARDS, 'duplicate', 'first');
    const second = join(CARDS, 'duplicate', 'second');

    expect(await report(first, second)).toEqual([
      `${second}/cards.yaml:2:7: \`toy_dup\` asset is defined in both path:${first} (${first}/cards.yaml:1:7) and path:${second}.`,
    ]);
  });

  it('the good cards yield none', async () => {
    expect(await report(join(CARDS, 'good'))).toEqual([]);
  });

  it('the whole corpus together yields each problem once', async () => {
    expect(await report(MALFORMED)).toHaveLength(12);
  });
});
