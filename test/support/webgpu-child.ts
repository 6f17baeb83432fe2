/**
 * Test support: the `webgpu` device's checks, run in a child Node process whose environment points
 * the Vulkan loader at a driver (LD_LIBRARY_PATH is read at process start, so a jest worker cannot
 * switch to it). Bundled by `bundleForNode`; `@fs2/core` stays external and resolves to the
 * compiled `packages/core/dist` (run `npm run build` first).
 *
 * Usage: node <bundle> '<json WebGpuChildRequest>'; prints `RESULT <json WebGpuChildReport>` as its
 * last line (Dawn may print warnings before it).
 */
import * as tf from '@tensorflow/tfjs';

import {
  DeviceRegistry,
  Fs2Error,
  WebGpuDeviceProvider,
  type TransformerDecoderModel,
  type Device,
  type GenerationOptions,
  type WebGpuDecoder,
  type WebGpuRuntimeStats,
} from '@fs2/core';

import { FIXTURE_TOKENS, readExpectedLogits, type FixtureName } from './fixtures.js';
import { loadHfFixtureModel, type HfFixtureOptions } from './hf-fixture-model.js';

/** What the parent asks for. */
export interface WebGpuChildRequest {
  /** `fs2` (the WGSL runtime) or `tfjs` (TF.js modules on tfjs-backend-webgpu). */
  readonly kernels: 'fs2' | 'tfjs';
  /** Splits every weight into buffers of at most this many bytes. */
  readonly maxWeightChunkBytes?: number;
  /** Forces the matrix-matrix kernel's tile height. */
  readonly matrixTileRows?: 32 | 64;
  /** The fixtures to check. */
  readonly fixtures: readonly FixtureName[];
  /** Also run the generation behaviours (stop tokens, cache limits, sampling, batches, errors). */
  readonly behaviours?: boolean;
  /** Hands the fixtures' linear weights over as stored (`[out, in]`, `transposed` state entries). */
  readonly transposedLinears?: boolean;
}

/** One fixture's measurements. */
export interface FixtureReport {
  readonly fixture: string;
  readonly variant: string;
  /** Max |logits - reference| of a full forward pass. */
  readonly logitsDiff: number;
  readonly argmax: number[];
  /** The greedy continuation of 8 tokens and its stop reason. */
  readonly greedy: { tokens: number[]; stopReason: string };
  /** Max |incremental - full| logits, per chunk size. */
  readonly incrementalDiff: Record<string, number>;
  /** Max |last-only logits - last row of the full logits|. */
  readonly lastDiff: number;
  /** TF.js tensors alive after the checks minus before. */
  readonly leakedTensors: number;
}

/** Everything the child measured. */
export interface WebGpuChildReport {
  readonly adapter: Readonly<Record<string, string | number | boolean>>;
  readonly fixtures: FixtureReport[];
  readonly behaviours?: {
    readonly stopToken: { tokens: number[]; stopReason: string };
    readonly maxLength: { tokens: number[]; stopReason: string };
    readonly sampled: { tokens: number[]; stopReason: string };
    readonly sampledAgain: { tokens: number[]; stopReason: string };
    readonly batchDiff: number;
    /**
     * Max |decoded one position at a time - full forward| over the last 10 positions of a
     * 150-token sequence (decode attention split over 3 blocks of keys): llama3, and mistral with
     * a sliding window of 100.
     */
    readonly longDiff: Record<string, number>;
    readonly foreignCacheError: string;
    readonly cacheKeysError: string;
    readonly stats: WebGpuRuntimeStats;
    readonly weightBytes: number;
  };
  readonly error?: { name: string; message: string; reason?: string };
}

function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let max = 0;
  a.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - (b[i]?.[j] ?? NaN))))));
  return Number.isNaN(max) ? Infinity : max;
}

async function rows(t: tf.Tensor): Promise<number[][]> {
  const data = (await t.array()) as number[][][] | number[][];
  t.dispose();
  return (Array.isArray(data[0]?.[0]) ? (data as number[][][])[0] : data) as number[][];
}

async function promptLogits(model: TransformerDecoderModel, tokens: readonly number[] = FIXTURE_TOKENS): Promise<number[][]> {
  return rows(model.forward(tokens));
}

async function incremental(model: TransformerDecoderModel, tokens: readonly number[], chunk: number): Promise<number[][]> {
  const cache = model.createCache({ capacity: tokens.length });
  const out: number[][] = [];
  try {
    for (let start = 0; start < tokens.length; start += chunk) {
      out.push(...(await rows(model.forward(tokens.slice(start, start + chunk), { cache }))));
    }
  } finally {
    cache.dispose();
  }
  return out;
}

async function checkFixture(
  name: FixtureName,
  device: Device,
  options: HfFixtureOptions,
  chunks: readonly number[],
  expectedFile?: string,
): Promise<FixtureReport> {
  const expected = readExpectedLogits(name, expectedFile);
  const before = tf.memory().numTensors;
  const model = await loadHfFixtureModel(name, device, options);
  let report: Omit<FixtureReport, 'leakedTensors'>;
  try {
    const full = await promptLogits(model);
    const greedy = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8 });
    const sequence = [...FIXTURE_TOKENS, ...expected.greedy_next_tokens];
    const fullSequence = await promptLogits(model, sequence);
    const incrementalDiff: Record<string, number> = {};
    for (const chunk of chunks) {
      incrementalDiff[chunk] = maxAbsDiff(await incremental(model, sequence, chunk), fullSequence);
    }
    const last = await rows(model.forward(FIXTURE_TOKENS, { logits: 'last' }));
    report = {
      fixture: name,
      variant: expectedFile ?? 'expected_logits.json',
      logitsDiff: maxAbsDiff(full, expected.logits),
      argmax: full.map((row) => row.indexOf(Math.max(...row))),
      greedy,
      incrementalDiff,
      lastDiff: maxAbsDiff(last, [full[full.length - 1]!]),
    };
  } finally {
    model.dispose();
  }
  return { ...report, leakedTensors: tf.memory().numTensors - before };
}

async function message(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

/** Full-forward logits of a long sequence against prefilling all but 10 positions and decoding those one by one. */
async function longDecodeDiff(device: Device, name: FixtureName, options: HfFixtureOptions): Promise<number> {
  const sequence = Array.from({ length: 150 }, (_, i) => FIXTURE_TOKENS[i % FIXTURE_TOKENS.length]!);
  const model = await loadHfFixtureModel(name, device, options);
  try {
    const full = (await promptLogits(model, sequence)).slice(140);
    const cache = model.createCache({ capacity: sequence.length });
    const stepped: number[][] = [];
    try {
      await rows(model.forward(sequence.slice(0, 140), { cache, logits: 'last' }));
      for (let t = 140; t < 150; t++) {
        stepped.push(...(await rows(model.forward([sequence[t]!], { cache }))));
      }
    } finally {
      cache.dispose();
    }
    return maxAbsDiff(stepped, full);
  } finally {
    model.dispose();
  }
}

async function behaviours(device: Device): Promise<NonNullable<WebGpuChildReport['behaviours']>> {
  const expected = readExpectedLogits('llama3');
  const model = await loadHfFixtureModel('llama3', device, { maxCacheLength: FIXTURE_TOKENS.length + 3 });
  const other = await loadHfFixtureModel('qwen3', device);
  try {
    const stopToken = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8, stopTokens: [expected.greedy_next_tokens[2]!] });
    const maxLength = await model.generateAll(FIXTURE_TOKENS, { maxNewTokens: 8 });
    const sampling: GenerationOptions = { maxNewTokens: 4, temperature: 0.8, topK: 50, seed: 7 };
    const sampled = await model.generateAll(FIXTURE_TOKENS, sampling);
    const sampledAgain = await model.generateAll(FIXTURE_TOKENS, sampling);
    const second = [...FIXTURE_TOKENS].reverse();
    const batch = (await model.forward([FIXTURE_TOKENS, second]).array()) as number[][][];
    const single = [await promptLogits(model), await promptLogits(model, second)];
    const foreign = other.createCache({ capacity: 4 });
    const foreignCacheError = await message(() => model.forward([1], { cache: foreign }));
    const cacheKeysError = await message(() => foreign.keys(0));
    foreign.dispose();
    const runtime = model.runtime as WebGpuDecoder;
    const stats = { ...runtime.stats };
    const weightBytes = runtime.weights.bytes;
    const longDiff = {
      llama3: await longDecodeDiff(device, 'llama3', {}),
      'mistral window 100': await longDecodeDiff(device, 'mistral', { config: { slidingWindow: 100 } }),
    };
    return {
      stopToken,
      maxLength,
      sampled,
      sampledAgain,
      batchDiff: Math.max(maxAbsDiff(batch[0]!, single[0]!), maxAbsDiff(batch[1]!, single[1]!)),
      longDiff,
      foreignCacheError,
      cacheKeysError,
      stats,
      weightBytes,
    };
  } finally {
    model.dispose();
    other.dispose();
  }
}

async function main(request: WebGpuChildRequest): Promise<WebGpuChildReport> {
  const provider = new WebGpuDeviceProvider({
    decoderKernels: request.kernels,
    ...(request.maxWeightChunkBytes === undefined ? {} : { maxWeightChunkBytes: request.maxWeightChunkBytes }),
    ...(request.matrixTileRows === undefined ? {} : { matrixTileRows: request.matrixTileRows }),
  });
  const registry = new DeviceRegistry([provider]);
  let device: Device;
  try {
    device = await registry.use('webgpu');
  } catch (error) {
    const e = error as Error & { reason?: string };
    return { adapter: {}, fixtures: [], error: { name: e.name, message: e.message, ...(e.reason === undefined ? {} : { reason: e.reason }) } };
  }
  const fixtures: FixtureReport[] = [];
  const layout: HfFixtureOptions = request.transposedLinears === true ? { transposedLinears: true } : {};
  for (const name of request.fixtures) {
    fixtures.push(await checkFixture(name, device, layout, [1, 5]));
  }
  if (request.fixtures.includes('mistral')) {
    // Chunks of 3 make prefill chunks continue the cache with keys partly out of the window.
    fixtures.push(await checkFixture('mistral', device, { config: { slidingWindow: 4 }, prefillChunkSize: 3 }, [1, 3], 'expected_logits_window4.json'));
  }
  const report: WebGpuChildReport = { adapter: provider.details(), fixtures };
  if (request.behaviours === true && request.kernels === 'fs2') {
    return { ...report, behaviours: await behaviours(device) };
  }
  return report;
}

const request = JSON.parse(process.argv[2] ?? '{}') as WebGpuChildRequest;
main(request).then(
  (report) => {
    process.stdout.write(`RESULT ${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    const e = error as Error;
    process.stdout.write(`RESULT ${JSON.stringify({ adapter: {}, fixtures: [], error: { name: e.name, message: Fs2Error.is(e) ? e.message : String(e.stack) } })}\n`);
    process.exit(1);
  },
);
