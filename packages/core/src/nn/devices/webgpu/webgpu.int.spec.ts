import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from '@jest/globals';

import { FIXTURE_TOKENS, FIXTURES_DIR, readExpectedLogits } from '../../../../../../test/support/fixtures.js';
import { loadHfFixtureModel } from '../../../../../../test/support/hf-fixture-model.js';
import { bundleForNode, spawnNode } from '../../../../../../test/support/node-child.js';
import type { FixtureReport, WebGpuChildReport, WebGpuChildRequest } from '../../../../../../test/support/webgpu-child.js';
import { useDevice } from '../DeviceRegistry.js';
import { diagnoseVulkan, privateVulkanDir, privateVulkanEnv, processVulkanProbe } from './vulkan.js';

// The webgpu device's tests run in child processes: the Vulkan loader is found through
// LD_LIBRARY_PATH, which a process reads when it starts. The children import the compiled
// packages/core/dist (`npm run build` first; `npm test` does), and use fs2's private software
// Vulkan driver (Mesa lavapipe, installed by scripts/setup-vulkan.sh, which .ci/setup-system runs).

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..', '..');
const VULKAN_DIR = privateVulkanDir(processVulkanProbe());

/** Logits against the float64 reference: as on the other devices (1e-3 would be acceptable on a GPU; lavapipe and an H100 both gave < 1e-5). */
const TOLERANCE = 1e-4;
const VARIANTS = ['llama3', 'qwen2', 'qwen3', 'mistral'] as const;

function skipReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `the software Vulkan driver is set up for linux-x64 only (this is ${process.platform}-${process.arch})`;
  }
  if (!existsSync(join(ROOT, 'node_modules', 'webgpu', 'package.json'))) {
    return 'the optional package webgpu is not installed';
  }
  if (!existsSync(join(VULKAN_DIR, 'lvp_icd.json'))) {
    return `no software Vulkan driver in ${VULKAN_DIR}: run scripts/setup-vulkan.sh`;
  }
  return undefined;
}

/**
 * Throws when a source file of @fs2/core has no compiled output: the children run `dist/`. (Not an
 * mtime comparison: `tsc -b` leaves an output alone when a touched source compiles to the same code.)
 */
function assertBuilt(): void {
  const src = join(ROOT, 'packages', 'core', 'src');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const file of walk(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
    const compiled = join(ROOT, 'packages', 'core', 'dist', relative(src, file).replace(/\.ts$/, '.js'));
    if (!existsSync(compiled)) {
      throw new Error(`packages/core/dist has no output for src/${relative(src, file)}: run \`npm run build\` first.`);
    }
  }
}

let bundle: Promise<string> | undefined;

async function runChild(request: WebGpuChildRequest, env: Record<string, string> = {}): Promise<WebGpuChildReport> {
  bundle ??= bundleForNode('test/support/webgpu-child.ts');
  const child = spawnNode(await bundle, [JSON.stringify(request)], { ...privateVulkanEnv(VULKAN_DIR), FS2_TEST_FIXTURES_DIR: FIXTURES_DIR, ...env });
  await child.exited;
  const line = child
    .stdout()
    .split('\n')
    .find((l) => l.startsWith('RESULT '));
  if (line === undefined) {
    throw new Error(`The webgpu child printed no result.\nstdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);
  }
  return JSON.parse(line.slice('RESULT '.length)) as WebGpuChildReport;
}

function expectReference(report: FixtureReport): void {
  const expected = readExpectedLogits(report.fixture as (typeof VARIANTS)[number], report.variant);
  expect(report.logitsDiff).toBeLessThan(TOLERANCE);
  expect(report.argmax).toEqual(expected.argmax);
  expect(report.greedy).toEqual({ tokens: expected.greedy_next_tokens, stopReason: 'max_new_tokens' });
  for (const diff of Object.values(report.incrementalDiff)) {
    expect(diff).toBeLessThan(TOLERANCE);
  }
  expect(report.lastDiff).toBeLessThan(1e-5);
  expect(report.leakedTensors).toBe(0);
}

const reason = skipReason();
if (reason !== undefined) {
  console.log(`webgpu device tests skipped: ${reason}`);
}
const describeWebGpu = reason === undefined ? describe : describe.skip;

describeWebGpu(`the webgpu device on lavapipe, in child processes${reason === undefined ? '' : ` (skipped: ${reason})`}`, () => {
  beforeAll(() => assertBuilt());

  describe("with fs2's WGSL kernels", () => {
    let report: WebGpuChildReport;
    beforeAll(async () => {
      report = await runChild({ kernels: 'fs2', fixtures: VARIANTS, behaviours: true });
    }, 120_000);

    it('loads on a software adapter', () => {
      expect(report.error).toBeUndefined();
      expect(report.adapter).toMatchObject({ vendor: 'mesa', architecture: 'software', decoderKernels: 'fs2', maxStorageBufferBindingSize: 134_217_728 });
    });

    it.each([...VARIANTS, 'mistral, window 4'])('matches the reference for %s: logits, argmax, greedy tokens, incremental decoding', (name) => {
      const fixture = report.fixtures.find((f) => (name === 'mistral, window 4' ? f.variant === 'expected_logits_window4.json' : f.fixture === name && f.variant === 'expected_logits.json'));
      expect(fixture).toBeDefined();
      expectReference(fixture as FixtureReport);
    });

    it('stops at a stop token and at the end of the cache, and batches sequences', () => {
      const greedy = readExpectedLogits('llama3').greedy_next_tokens;
      const b = report.behaviours!;
      expect(b.stopToken).toEqual({ tokens: greedy.slice(0, 3), stopReason: 'stop_token' });
      expect(b.maxLength).toEqual({ tokens: greedy.slice(0, 4), stopReason: 'max_length' });
      expect(b.batchDiff).toBeLessThan(1e-5);
    });

    it('decodes past 64 keys (attention split over blocks of keys), with and without a sliding window', () => {
      const { longDiff } = report.behaviours!;
      expect(Object.keys(longDiff)).toEqual(['llama3', 'mistral window 100']);
      for (const diff of Object.values(longDiff)) {
        expect(diff).toBeLessThan(TOLERANCE);
      }
    });

    it('samples on the host as the cpu device does, reproducibly', async () => {
      const cpu = await useDevice('cpu');
      const model = await loadHfFixtureModel('llama3', cpu, { maxCacheLength: FIXTURE_TOKENS.length + 3 });
      const onCpu = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 4, temperature: 0.8, topK: 50, seed: 7 });
      model.dispose();
      expect(report.behaviours!.sampled).toEqual(onCpu);
      expect(report.behaviours!.sampledAgain).toEqual(onCpu);
    });

    it('reads back only the token ids of greedy generations (and the logits row when sampling)', () => {
      const { stats } = report.behaviours!;
      const vocab = readExpectedLogits('llama3').shape[1];
      // 3 + 4 greedy tokens of 4 bytes; 2 x 4 sampled tokens, each from a row of logits.
      expect(stats.readbackBytes).toBe(4 * (3 + 4) + 2 * 4 * vocab * 4);
      expect(stats.readbacks).toBe(3 + 4 + 2 * 4);
    });

    it('refuses a cache of another model and keeps its keys in GPU buffers', () => {
      expect(report.behaviours!.foreignCacheError).toBe('The KV cache was made for a model of another shape.');
      expect(report.behaviours!.cacheKeysError).toBe('The keys of a webgpu KV cache live in GPU buffers, not in TF.js tensors.');
    });
  });

  it.each([
    ['transposed on the GPU', false],
    ['written as stored ([out, in])', true],
  ])('gives the same results with every weight split into 1 KiB buffers, linear weights %s', async (_, transposedLinears) => {
    const report = await runChild({ kernels: 'fs2', fixtures: ['llama3', 'qwen2'], maxWeightChunkBytes: 1024, transposedLinears });
    expect(report.error).toBeUndefined();
    expect(report.fixtures).toHaveLength(2);
    report.fixtures.forEach(expectReference);
  }, 120_000);

  it('takes linear weights as stored (transposed state entries) without transposing them, with 64-row matrix tiles', async () => {
    // The fixtures' products are small enough for 32-row tiles everywhere else.
    const report = await runChild({ kernels: 'fs2', fixtures: VARIANTS, transposedLinears: true, matrixTileRows: 64 });
    expect(report.error).toBeUndefined();
    expect(report.fixtures).toHaveLength(5);
    report.fixtures.forEach(expectReference);
  }, 120_000);

  it("matches the reference with the TF.js modules on tfjs-backend-webgpu's kernels", async () => {
    const report = await runChild({ kernels: 'tfjs', fixtures: VARIANTS });
    expect(report.error).toBeUndefined();
    expect(report.adapter).toMatchObject({ decoderKernels: 'tfjs' });
    expect(report.fixtures).toHaveLength(5);
    report.fixtures.forEach(expectReference);
  }, 180_000);

  it('names the missing driver when the loader finds none', async () => {
    const report = await runChild({ kernels: 'fs2', fixtures: [] }, { VK_DRIVER_FILES: '/nonexistent/fs2_icd.json' });
    const { LD_LIBRARY_PATH: lib, VK_DRIVER_FILES: icd } = privateVulkanEnv(VULKAN_DIR);
    if (diagnoseVulkan(processVulkanProbe()).nvidiaDriver) {
      // On an NVIDIA machine the advice is NVIDIA's (vulkan.spec.ts checks that text).
      expect(report.error).toMatchObject({ name: 'WebGpuUnavailableError', reason: 'no_adapter' });
      return;
    }
    expect(report.error).toEqual({
      name: 'WebGpuUnavailableError',
      reason: 'no_adapter',
      message:
        `The \`webgpu\` device found no GPU adapter: the Vulkan loader is there (${lib}), but no Vulkan driver offered an adapter. ` +
        'VK_DRIVER_FILES names /nonexistent/fs2_icd.json, which does not exist. ' +
        `Start Node with LD_LIBRARY_PATH=${lib} VK_DRIVER_FILES=${icd} to use the software driver installed in ${VULKAN_DIR}. ` +
        "Dawn's own warnings, printed above, give its reason.",
    });
  }, 60_000);
});
