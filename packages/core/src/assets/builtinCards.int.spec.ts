import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { StandardAssetStore } from './AssetStore.js';
import { BUILTIN_CARDS_SOURCE, builtinCardsDir } from './builtinCards.js';
import { FileAssetMetadataSource } from './FileAssetMetadataSource.js';
import { validateAssetStore } from './validateAssetStore.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

const LLAMA = [
  'llama2_7b', 'llama2_7b_chat', 'llama2_13b', 'llama2_13b_chat', 'llama2_70b', 'llama2_70b_chat',
  'llama3_8b', 'llama3_8b_instruct', 'llama3_70b', 'llama3_70b_instruct',
  'llama3_1_8b', 'llama3_1_8b_instruct', 'llama3_1_70b', 'llama3_1_70b_instruct', 'llama3_1_405b', 'llama3_1_405b_instruct',
  'llama3_2_1b', 'llama3_2_1b_instruct', 'llama3_2_3b', 'llama3_2_3b_instruct', 'llama3_3_70b_instruct',
];
const QWEN25 = ['0.5b', '1.5b', '3b', '7b', '14b', '32b', '72b'].flatMap((s) => [`qwen25_${s}`, `qwen25_${s}_instruct`]);
const QWEN3 = ['0.6b', '1.7b', '4b', '8b', '14b', '32b'].map((s) => `qwen3_${s}`);
const MISTRAL = ['mistral_7b', 'mistral_7b_instruct', 'mistral_7b_v03', 'mistral_7b_instruct_v03'];

async function builtinStore(): Promise<StandardAssetStore> {
  return StandardAssetStore.load([new FileAssetMetadataSource(builtinCardsDir(), { source: BUILTIN_CARDS_SOURCE })]);
}

/** The architecture a card name implies: the name without its chat/instruct suffix. */
function expectedArch(name: string): string {
  if (name === 'llama3_3_70b_instruct') {
    return 'llama3_1_70b';
  }
  if (name.startsWith('mistral')) {
    return name.endsWith('v03') ? 'mistral_7b_v03' : 'mistral_7b';
  }
  return name.replace(/_(chat|instruct)$/, '');
}

describe('the built-in cards', () => {
  it('live in the repository cards/ folder, reached through packages/core/cards', () => {
    expect(builtinCardsDir()).toBe(join(REPO, 'packages/core/cards'));
    expect(realpathSync(builtinCardsDir())).toBe(realpathSync(join(REPO, 'cards')));
    expect(existsSync(join(builtinCardsDir(), 'models/qwen.yaml'))).toBe(true);
  });

  it('load strictly and pass validation', async () => {
    const store = await builtinStore();
    const { problems, checked } = await validateAssetStore(store, []);

    expect(problems.map((p) => p.message)).toEqual([]);
    expect(checked).toBe(store.assetNames.length);
  });

  it('hold every model of the llama, qwen and mistral families', async () => {
    const store = await builtinStore();

    for (const name of [...LLAMA, ...QWEN25, ...QWEN3, ...MISTRAL]) {
      const card = store.retrieveCard(name);
      expect([name, card.field('model_arch').asString()]).toEqual([name, expectedArch(name)]);
      expect(card.field('tokenizer_family').asString()).toBe(card.field('model_family').asString());
    }
    expect(store.findCards('model_family', 'llama').map((c) => c.name)).toEqual(
      expect.arrayContaining(LLAMA),
    );
  });

  it('point public Qwen weights at Hugging Face, tokenizer included', async () => {
    const store = await builtinStore();
    const repo = (name: string): string => {
      const [, version, size, instruct] = /^qwen(25|3)_([0-9.]+b)(_instruct)?$/.exec(name) ?? [];
      const prefix = version === '25' ? 'Qwen2.5' : 'Qwen3';
      return `Qwen/${prefix}-${(size ?? '').toUpperCase()}${instruct === undefined ? '' : '-Instruct'}`;
    };

    for (const name of [...QWEN25, ...QWEN3]) {
      const card = store.retrieveCard(name);
      expect(card.field('checkpoint').asUri().rest).toBe(repo(name));
      expect(card.field('tokenizer').asString()).toBe(card.field('checkpoint').asString());
      expect([name, card.maybeField('tokenizer_config')?.value]).toEqual([
        name,
        name.endsWith('_instruct') || name.startsWith('qwen3') ? { use_im_end: true } : undefined,
      ]);
    }
  });

  it('treat Meta and Mistral weights as gated: a url, no checkpoint or tokenizer', async () => {
    const store = await builtinStore();

    for (const name of [...LLAMA, ...MISTRAL]) {
      const card = store.retrieveCard(name);
      expect([name, card.hasField('checkpoint'), card.hasField('tokenizer')]).toEqual([name, false, false]);
      expect(card.field('url').asUri().scheme).toBe('https');
    }
    for (const name of LLAMA.filter((n) => n.startsWith('llama3'))) {
      expect([name, store.retrieveCard(name).maybeField('tokenizer_config')?.value]).toEqual([
        name,
        name.endsWith('_instruct') ? { use_eot: true } : undefined,
      ]);
    }
  });
});
