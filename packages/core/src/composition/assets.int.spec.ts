import { readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { Type } from '@sinclair/typebox';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { caughtAsync, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetStore, AssetStoreOptions } from '../assets/AssetStore.js';
import { AssetWarningListener } from '../assets/AssetWarningListener.js';
import { builtinCardsDir } from '../assets/builtinCards.js';
import { AssetMetadataError, AssetSourceNotFoundError } from '../assets/errors.js';
import { getAssetStore } from '../assets/getAssetStore.js';
import { parseAssetCards } from '../assets/parseAssetCards.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { DependencyContainer } from '../runtime/DependencyContainer.js';
import { packageSearchRoots } from '../runtime/extensions.js';
import { createFairseq2, initFairseq2, shutdownFairseq2 } from '../runtime/init.js';
import {
  registerAssetCardValidator,
  registerAssetEnvironmentResolver,
  registerFileAssets,
  registerInMemoryAssets,
  registerPackageAssets,
} from './assets.js';

describe('asset composition', () => {
  let dir: TempDir;
  let warnings: string[];
  let env: Record<string, string>;

  /** An isolated fs2 world: its own system and user folders, warnings captured, no extensions. */
  const world = (extras?: (container: DependencyContainer) => void, more: Record<string, string> = {}) =>
    createFairseq2({
      env: { ...env, ...more },
      cwd: dir.path,
      extensions: false,
      log: (line) => warnings.push(line),
      extras: (container) => {
        container.collection.registerInstance(AssetWarningListener, (w) => warnings.push(w));
        extras?.(container);
      },
    });

  beforeEach(() => {
    dir = makeTempDir();
    warnings = [];
    dir.mkdir('home');
    dir.write('system/site.yaml', 'name: site_model\nmodel_family: qwen\ncheckpoint: /site/model\n');
    dir.write('user/mine.yaml', 'name: qwen3_0.6b@user\ncheckpoint: ./local/qwen3\n---\nname: my_model@user\nbase: qwen3_0.6b\n');
    env = {
      HOME: join(dir.path, 'home'),
      FAIRSEQ2_ASSET_DIR: join(dir.path, 'system'),
      FAIRSEQ2_USER_ASSET_DIR: join(dir.path, 'user'),
    };
  });

  afterEach(() => {
    shutdownFairseq2();
    dir.cleanup();
  });

  it('loads the built-in, system and user cards, in that order', async () => {
    const store = (await world()).resolve(AssetStore);

    expect(store.sources).toEqual(['package:@fs2/core', `path:${dir.path}/system`, `path:${dir.path}/user`]);
    expect(store.retrieveCard('site_model').source).toBe(`path:${dir.path}/system`);
    expect(store.retrieveCard('qwen3_0.6b@').field('checkpoint').asString()).toBe('hg://Qwen/Qwen3-0.6B');
    expect(store.retrieveCard('qwen3_0.6b').field('checkpoint').asUri().toPath()).toBe(join(dir.path, 'user/local/qwen3'));
    expect(store.retrieveCard('my_model').field('model_family').asString()).toBe('qwen');
    expect(warnings).toEqual([]);
  });

  it('reads the user folder from XDG_CONFIG_HOME, then from HOME', async () => {
    dir.write('xdg/fairseq2/assets/x.yaml', 'name: from_xdg\n');
    dir.write('home/.config/fairseq2/assets/h.yaml', 'name: from_home\n');
    const { FAIRSEQ2_USER_ASSET_DIR: _unset, ...rest } = env;
    env = rest;

    const viaXdg = (await world(undefined, { XDG_CONFIG_HOME: join(dir.path, 'xdg') })).resolve(AssetStore);
    const viaHome = (await world()).resolve(AssetStore);

    expect(viaXdg.cardNames).toContain('from_xdg');
    expect(viaXdg.cardNames).not.toContain('from_home');
    expect(viaHome.cardNames).toContain('from_home');
  });

  it('warns about a variable naming a missing folder and falls back, as fairseq2 does', async () => {
    dir.write('home/.config/fairseq2/assets/h.yaml', 'name: from_home\n');
    const store = (await world(undefined, { FAIRSEQ2_USER_ASSET_DIR: join(dir.path, 'nowhere') })).resolve(AssetStore);

    expect(warnings).toEqual([
      `${dir.path}/nowhere path pointed to by the FAIRSEQ2_USER_ASSET_DIR environment variable is not found; the user asset cards are read from ${dir.path}/home/.config/fairseq2/assets instead.`,
    ]);
    expect(store.cardNames).toContain('from_home');
  });

  it('adds file, in-memory and package sources after the well-known ones, in registration order', async () => {
    dir.write('extra/cards.yaml', 'name: extra_model\ncheckpoint: weights/x.safetensors\n');
    dir.write('node_modules/acme-cards/package.json', JSON.stringify({ name: 'acme-cards', version: '1.0.0' }));
    dir.write('node_modules/acme-cards/cards/acme.yaml', 'name: acme_model\nmodel_family: acme\n');
    const entries = [{ name: 'mem_model', model_family: 'mem' }];

    const store = (
      await world((container) => {
        registerFileAssets(container, 'extra');
        registerInMemoryAssets(container, 'my_mem', entries);
        registerPackageAssets(container, 'acme-cards');
      })
    ).resolve(AssetStore);

    expect(store.sources.slice(3)).toEqual([`path:${dir.path}/extra`, 'my_mem', 'package:acme-cards']);
    expect(store.retrieveCard('extra_model').field('checkpoint').asUri().toPath()).toBe(join(dir.path, 'extra/weights/x.safetensors'));
    expect(store.retrieveCard('mem_model').source).toBe('my_mem');
    expect(store.retrieveCard('acme_model').file).toBe(join(dir.path, 'node_modules/acme-cards/cards/acme.yaml'));
    expect(entries).toEqual([{ name: 'mem_model', model_family: 'mem' }]);
  });

  it('finds a package in a parent folder, through a workspace link', async () => {
    dir.write('pkgs/acme/package.json', JSON.stringify({ name: '@acme/cards' }));
    dir.write('pkgs/acme/cards/a.yaml', 'name: linked_model\n');
    dir.mkdir('node_modules/@acme');
    symlinkSync(join(dir.path, 'pkgs/acme'), join(dir.path, 'node_modules/@acme/cards'));
    const sub = dir.mkdir('app/src');

    const store = (
      await createFairseq2({ env, cwd: sub, extensions: false, extras: (c) => registerPackageAssets(c, '@acme/cards') })
    ).resolve(AssetStore);

    expect(store.retrieveCard('linked_model').file).toBe(join(dir.path, 'pkgs/acme/cards/a.yaml'));
  });

  it('finds the package the working directory is in (self-reference)', async () => {
    dir.write('self/package.json', JSON.stringify({ name: 'self-cards' }));
    dir.write('self/cards/s.yaml', 'name: self_model\n');
    const sub = dir.mkdir('self/src/deep');

    const store = (
      await createFairseq2({ env, cwd: sub, extensions: false, extras: (c) => registerPackageAssets(c, 'self-cards') })
    ).resolve(AssetStore);

    expect(store.retrieveCard('self_model').source).toBe('package:self-cards');
  });

  it('registers card validators', async () => {
    const validator = { name: 'v', validate: () => [] };
    const resolver = await world((c) => registerAssetCardValidator(c, validator));

    // After the library's own (the model, tokenizer and dataset families' checks).
    expect(resolver.resolveAll(AssetCardValidator).map((v) => v.name)).toEqual(['model families', 'tokenizer families', 'dataset families', 'v']);
    expect(resolver.resolveAll(AssetCardValidator).at(-1)).toBe(validator);
  });

  it('names a missing package, a package without cards, and a missing path', async () => {
    dir.write('node_modules/no-cards/package.json', JSON.stringify({ name: 'no-cards' }));

    const missingPackage = await caughtAsync(() => world((c) => registerPackageAssets(c, 'acme-missing')));
    expect(missingPackage).toBeInstanceOf(AssetSourceNotFoundError);
    expect(missingPackage.message).toBe(
      `package:acme-missing asset source is not found: no node_modules folder visible from ${packageSearchRoots(dir.path).join(' or ')} has the acme-missing package.`,
    );
    expect((missingPackage as AssetSourceNotFoundError).category).toBe('not_found');

    expect((await caughtAsync(() => world((c) => registerPackageAssets(c, 'no-cards')))).message).toBe(
      `package:no-cards asset source is not found: the no-cards package (${dir.path}/node_modules/no-cards) has no cards folder.`,
    );
    expect((await caughtAsync(() => world((c) => registerFileAssets(c, 'absent.yaml')))).message).toBe(
      `path:${dir.path}/absent.yaml asset source is not found: ${dir.path}/absent.yaml does not exist.`,
    );
    await expect(world((c) => registerFileAssets(c, 'absent.yaml', { notExistOk: true }))).resolves.toBeDefined();
  });

  it('refuses an invalid package name at the call', async () => {
    const error = await caughtAsync(() => world((c) => registerPackageAssets(c, '../escape')));

    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe('../escape is not a valid npm package name.');
  });

  it('refuses a name that a later source defines again, naming both files', async () => {
    dir.write('user/dup.yaml', '# again\nname: qwen3_0.6b\n');
    const builtinFile = join(builtinCardsDir(), 'models/qwen.yaml');
    const { entries } = parseAssetCards(readFileSync(builtinFile, 'utf8'), { file: builtinFile, source: 'x' });
    const builtin = entries.find((e) => e.name === 'qwen3_0.6b@')?.location;
    const error = await caughtAsync(() => world());

    expect(error).toBeInstanceOf(AssetMetadataError);
    expect(error.message).toBe(
      `\`qwen3_0.6b\` asset is defined in both package:@fs2/core (${realpathSync(builtinFile)}:${builtin?.line}:${builtin?.column}) and path:${dir.path}/user. (${dir.path}/user/dup.yaml:2:7)`,
    );
  });

  it('overlays the environment a resolver detects, unless FAIRSEQ2_ASSET_ENV names another', async () => {
    dir.write('system/envs.yaml', 'name: site_model@cluster\ncheckpoint: /cluster\n---\nname: site_model@lab\ncheckpoint: /lab\n');
    const withResolver = (more: Record<string, string> = {}) =>
      world((c) => {
        registerAssetEnvironmentResolver(c, () => undefined);
        registerAssetEnvironmentResolver(c, () => 'cluster');
        registerAssetEnvironmentResolver(c, () => 'never');
      }, more);

    const detected = (await withResolver()).resolve(AssetStore);
    const named = (await withResolver({ FAIRSEQ2_ASSET_ENV: 'lab' })).resolve(AssetStore);

    expect(detected.environments).toEqual(['user', 'cluster']);
    expect(detected.retrieveCard('site_model').field('checkpoint').asString()).toBe('/cluster');
    expect(named.environments).toEqual(['user', 'lab']);
    expect(named.retrieveCard('site_model').field('checkpoint').asString()).toBe('/lab');
  });

  it('provides a config loader that reads ${env:...} from the environment', async () => {
    dir.write('system/cfg.yaml', 'name: cfg_model\ndataset_config: {path: "${env:DATA_ROOT}/train"}\n');
    const resolver = await world(undefined, { DATA_ROOT: '/datasets' });
    const card = resolver.resolve(AssetStore).retrieveCard('cfg_model');
    const Config = Type.Object({ path: Type.String() });

    expect(resolver.resolve(AssetConfigLoader).load(card, { path: '' }, 'dataset', Config)).toEqual({ path: '/datasets/train' });
    expect(resolver.resolve(AssetConfigLoader)).toBe(resolver.resolve(AssetConfigLoader));
  });

  it('builds a lenient store when asked through AssetStoreOptions', async () => {
    dir.write('user/broken.yaml', 'name: [x]\n');
    await expect(world()).rejects.toThrow(AssetMetadataError);

    const store = (await world((c) => c.registerInstance(AssetStoreOptions, { lenient: true }))).resolve(AssetStore);
    expect(store.problems.map((p) => p.message)).toEqual([
      `\`name\` field of the document at index 0 is expected to be of type string, but is of type list instead. (${dir.path}/user/broken.yaml:1:7)`,
    ]);
  });

  it('publishes the store through getAssetStore() after initFairseq2()', async () => {
    expect(() => getAssetStore()).toThrow('fs2 is not initialized: call `await initFairseq2()` first.');
    await initFairseq2({ env, cwd: dir.path, extensions: false });

    expect(getAssetStore().retrieveCard('site_model').name).toBe('site_model');
  });
});
