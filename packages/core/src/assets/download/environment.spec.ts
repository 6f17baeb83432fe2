import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { makeTempDir, type TempDir } from '../../../../../test/support/index.js';
import { StandardEnvironment } from '../../runtime/Environment.js';
import {
  getAssetCacheDir,
  getHuggingFaceEndpoint,
  getHuggingFaceHubCacheDir,
  isEnvironmentFlagOn,
  readHuggingFaceToken,
} from './environment.js';

function env(variables: Record<string, string>): StandardEnvironment {
  return new StandardEnvironment({ variables: { HOME: '/home/u', ...variables }, cwd: '/work' });
}

describe(getAssetCacheDir, () => {
  it('follows fairseq2: FAIRSEQ2_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(getAssetCacheDir(env({ FAIRSEQ2_CACHE_DIR: '/data/cache', XDG_CACHE_HOME: '/xdg' }))).toBe('/data/cache');
    expect(getAssetCacheDir(env({ FAIRSEQ2_CACHE_DIR: 'rel/cache' }))).toBe('/work/rel/cache');
    expect(getAssetCacheDir(env({ FAIRSEQ2_CACHE_DIR: '~/c' }))).toBe('/home/u/c');
    expect(getAssetCacheDir(env({ XDG_CACHE_HOME: '/xdg' }))).toBe('/xdg/fairseq2/assets');
    expect(getAssetCacheDir(env({ FAIRSEQ2_CACHE_DIR: '' }))).toBe('/home/u/.cache/fairseq2/assets');
  });
});

describe(getHuggingFaceHubCacheDir, () => {
  it('follows huggingface_hub: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME, ~/.cache', () => {
    expect(getHuggingFaceHubCacheDir(env({ HF_HUB_CACHE: '/hub', HF_HOME: '/hf' }))).toBe('/hub');
    expect(getHuggingFaceHubCacheDir(env({ HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: '/hf' }))).toBe('/legacy');
    expect(getHuggingFaceHubCacheDir(env({ HF_HOME: '/hf' }))).toBe('/hf/hub');
    expect(getHuggingFaceHubCacheDir(env({ XDG_CACHE_HOME: '/xdg' }))).toBe('/xdg/huggingface/hub');
    expect(getHuggingFaceHubCacheDir(env({}))).toBe('/home/u/.cache/huggingface/hub');
  });
});

describe(getHuggingFaceEndpoint, () => {
  it('reads HF_ENDPOINT without its trailing slash', () => {
    expect(getHuggingFaceEndpoint(env({}))).toBe('https://huggingface.co');
    expect(getHuggingFaceEndpoint(env({ HF_ENDPOINT: 'https://hf-mirror.example/' }))).toBe('https://hf-mirror.example');
  });
});

describe(isEnvironmentFlagOn, () => {
  it('accepts 1, true, yes and on in any case', () => {
    for (const value of ['1', 'TRUE', 'yes', 'On']) {
      expect(isEnvironmentFlagOn(env({ HF_HUB_OFFLINE: value }), 'HF_HUB_OFFLINE')).toBe(true);
    }
    for (const value of ['0', 'false', '', 'no']) {
      expect(isEnvironmentFlagOn(env({ HF_HUB_OFFLINE: value }), 'HF_HUB_OFFLINE')).toBe(false);
    }
    expect(isEnvironmentFlagOn(env({}), 'HF_HUB_OFFLINE')).toBe(false);
  });
});

describe(readHuggingFaceToken, () => {
  let dir: TempDir;

  beforeEach(() => {
    dir = makeTempDir();
  });

  afterEach(() => {
    dir.cleanup();
  });

  it('prefers HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the login token file', async () => {
    dir.write('hf/token', 'hf_from_file\n');

    expect(await readHuggingFaceToken(env({ HF_TOKEN: 'hf_a', HUGGING_FACE_HUB_TOKEN: 'hf_b', HF_HOME: `${dir.path}/hf` }))).toBe('hf_a');
    expect(await readHuggingFaceToken(env({ HUGGING_FACE_HUB_TOKEN: 'hf_b', HF_HOME: `${dir.path}/hf` }))).toBe('hf_b');
    expect(await readHuggingFaceToken(env({ HF_HOME: `${dir.path}/hf` }))).toBe('hf_from_file');
    expect(await readHuggingFaceToken(env({ HF_TOKEN_PATH: `${dir.path}/hf/token` }))).toBe('hf_from_file');
    expect(await readHuggingFaceToken(env({ HF_HOME: `${dir.path}/none` }))).toBeUndefined();
  });
});
