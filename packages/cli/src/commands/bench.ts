import { loadavg } from 'node:os';

import * as tf from '@tensorflow/tfjs';
import {
  InvalidArgumentError,
  argMax,
  TensorParallelModel,
  DEFAULT_DEVICE,
  configureCpuKernels,
  cpuKernelsEnabledFor,
  getCpuKernels,
  useDevice,
  kernelMemoryBytes,
  type KVCache,
  type KernelTiming,
  type TransformerDecoderModel,
} from '@fs2/core';
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';

import type { CommandContext } from '../context.js';
import { loadCausalLM, modelOptions, type ModelOptions } from './causalLM.js';

/** The options of `fs2 bench`. */
interface BenchOptions extends ModelOptions {
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly warmup: number;
  readonly runs: number;
  readonly threads?: number;
  readonly kernels: boolean;
  readonly profile?: boolean;
  readonly json?: boolean;
}

/** Where one phase of the last timed run went: kernel name -> calls and milliseconds. */
export interface BenchPhaseProfile {
  readonly total_ms: number;
  readonly kernels: Record<string, KernelTiming>;
}

/** What `fs2 bench --json` prints (one object). */
export interface BenchResult {
  readonly engine: 'fs2';
  readonly model: string;
  readonly device: string;
  readonly tp: number;
  /** Threads of fs2's CPU kernels, or 0 when they were off (`--no-kernels`: TF.js's matMul). */
  readonly threads: number;
  readonly parameters: number;
  /** Float32 bytes of the weights (what the peak RSS target is measured against). */
  readonly weight_bytes: number;
  readonly prompt_tokens: number;
  readonly new_tokens: number;
  readonly warmup: number;
  readonly runs: number;
  /**
   * Starting fs2 (the DI world with its cards and extensions), the device and the CPU kernels'
   * threads, in seconds: what `getLlama()` is to node-llama-cpp, not counted in `load_s`.
   */
  readonly init_s: number;
  /** Card name (or folder) to a model ready to run, in seconds, in a started fs2. */
  readonly load_s: number;
  /** The first prefill after loading, in seconds (includes any one-time weight preparation). */
  readonly first_prefill_s: number;
  /** Prompt tokens per second of a prefill in one batch, up to the first generated token (median of the runs). */
  readonly prefill_tok_s: number;
  /** Greedy single-token steps per second with the KV cache (median of the runs). */
  readonly decode_tok_s: number;
  /** Each timed run's figures. */
  readonly prefill_tok_s_runs: readonly number[];
  readonly decode_tok_s_runs: readonly number[];
  /** The process's peak resident set size. */
  readonly peak_rss_bytes: number;
  /** The TF.js wasm heap's size at the end (it only grows: its high-water mark); 0 on other devices. */
  readonly wasm_heap_bytes: number;
  /** The fs2 CPU kernels' memory (weights laid out for them, KV caches, scratch); 0 when unused. */
  readonly kernel_memory_bytes: number;
  /** `tf.memory().numTensors` after the last run's decode steps minus before them (0: no leak). */
  readonly tensor_growth: number;
  /** Growth of the TF.js wasm heap and of the kernel memory over the last run's decode steps, in bytes. */
  readonly memory_growth_bytes: number;
  /** The greedy tokens of the last run (the same every run: a correctness check across engines). */
  readonly tokens: readonly number[];
  /** The 1-minute load average when the run ended: how busy the machine was. */
  readonly load_average: number;
  /** With `--profile`: the CPU kernels' time in the last run's prefill and decode. */
  readonly profile?: { readonly prefill: BenchPhaseProfile; readonly decode: BenchPhaseProfile };
}

function parsePositiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new CommanderArgumentError('expected a positive integer.');
  }
  return parsed;
}

function parseCount(value: string): number {
  const parsed = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new CommanderArgumentError('expected an integer >= 0.');
  }
  return parsed;
}

/**
 * The prompt the benchmark feeds: the reference harness's linear congruential sequence over the
 * non-special ids (`259 ..`: the first 259 ids of a SentencePiece vocabulary are control and byte
 * tokens), so that `bench/llamacpp/bench.mjs` evaluates the very same ids (`bench/prompt.mjs`).
 */
export function benchPrompt(length: number, vocabSize: number): number[] {
  const prompt: number[] = [];
  let state = 12345;
  const first = vocabSize > 259 ? 259 : 0;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    prompt.push(first + (state % (vocabSize - first)));
  }
  return prompt;
}

/**
 * `fs2 bench <card|dir>`: measures, in this process, the load time (card name to a ready model),
 * the prefill rate (the prompt in one batch, up to the first generated token), the decode rate
 * (greedy, one token per step, KV cache), the peak RSS and the memory high-water marks. Warm-up
 * runs come first; the rates are medians of `--runs`. `--json` prints one object ({@link BenchResult}).
 */
export function registerBenchCommand(program: Command, context: CommandContext): void {
  const command = program
    .command('bench')
    .description('measure load time, prefill and decode tokens/s and peak memory of a model')
    .argument('<model>', 'a model card name, or a checkpoint folder without a card')
    .option('--prompt-tokens <n>', 'prompt length (one prefill batch)', parsePositiveInteger, 128)
    .option('--new-tokens <n>', 'greedy decode steps after the prompt', parsePositiveInteger, 64)
    .option('--warmup <n>', 'untimed runs before the timed ones', parseCount, 1)
    .option('--runs <n>', 'timed runs (the rates are their medians)', parsePositiveInteger, 3)
    .option('--threads <n>', "threads of fs2's CPU kernels (default: min(cores, 4))", parsePositiveInteger)
    .option('--no-kernels', "run linear layers on TF.js's matMul instead of fs2's CPU kernels")
    .option('--profile', "time every CPU kernel call of the last run (prefill and decode apart)")
    .option('--json', 'print one JSON object instead of a table');
  for (const option of modelOptions()) {
    command.addOption(option);
  }
  command.action(async (target: string, options: BenchOptions) => {
    await bench(context, target, options);
  });
}

async function bench(context: CommandContext, target: string, options: BenchOptions): Promise<void> {
  if ((options.tp ?? 1) > 1) {
    await benchParallel(context, target, options);
    return;
  }
  configureCpuKernels({ enabled: options.kernels, ...(options.threads === undefined ? {} : { threads: options.threads }) });
  const init = performance.now();
  const world = await context.openFairseq2();
  const device = await useDevice(options.device ?? DEFAULT_DEVICE);
  if (cpuKernelsEnabledFor(device)) {
    getCpuKernels();
  }
  const start = performance.now();
  const loaded = await loadCausalLM(context, target, options, world);
  const loadS = (performance.now() - start) / 1000;
  const initS = (start - init) / 1000;
  const model = loaded.local as TransformerDecoderModel;
  try {
    const { vocabSize, maxSeqLen } = model.config;
    const length = options.promptTokens + options.newTokens;
    if (length > Math.min(model.maxCacheLength, maxSeqLen)) {
      throw new InvalidArgumentError(
        'prompt-tokens',
        `A prompt of ${options.promptTokens} tokens and ${options.newTokens} new tokens need ${length} positions, but the model holds at most ${Math.min(model.maxCacheLength, maxSeqLen)}.`,
      );
    }
    const prompt = benchPrompt(options.promptTokens, vocabSize);
    const cache = model.createCache({ capacity: length });
    try {
      let firstPrefillS = Number.NaN;
      const prefillRates: number[] = [];
      const decodeRates: number[] = [];
      let tokens: number[] = [];
      let tensorGrowth = 0;
      let memoryGrowth = 0;
      const kernels = options.profile === true && model.runsOnCpuKernels ? getCpuKernels() : undefined;
      let profile: BenchResult['profile'];
      for (let run = 0; run < options.warmup + options.runs; run++) {
        const last = run === options.warmup + options.runs - 1;
        const phases: Partial<Record<'prefill' | 'decode', Map<string, KernelTiming>>> = {};
        const hooks =
          kernels === undefined || !last
            ? undefined
            : {
                start: () => kernels.startProfile(),
                stop: (phase: 'prefill' | 'decode') => {
                  phases[phase] = kernels.stopProfile();
                },
              };
        const timing = runOnce(model, cache, prompt, options.newTokens, hooks);
        if (hooks !== undefined) {
          profile = {
            prefill: { total_ms: timing.prefillS * 1000, kernels: Object.fromEntries(phases.prefill ?? []) },
            decode: { total_ms: timing.decodeS * 1000, kernels: Object.fromEntries(phases.decode ?? []) },
          };
        }
        if (run === 0) {
          firstPrefillS = timing.prefillS;
        }
        tensorGrowth = timing.tensorGrowth;
        memoryGrowth = timing.memoryGrowth;
        tokens = timing.tokens;
        if (run >= options.warmup) {
          prefillRates.push(options.promptTokens / timing.prefillS);
          decodeRates.push(options.newTokens / timing.decodeS);
        }
      }
      const parameters = model.numParameters();
      const result: BenchResult = {
        engine: 'fs2',
        model: target,
        device: model.device?.name ?? 'none',
        tp: 1,
        threads: options.kernels && model.device?.backendName === 'wasm' ? getCpuKernels().threads : 0,
        parameters,
        weight_bytes: parameters * 4,
        prompt_tokens: options.promptTokens,
        new_tokens: options.newTokens,
        warmup: options.warmup,
        runs: options.runs,
        init_s: initS,
        load_s: loadS,
        first_prefill_s: firstPrefillS,
        prefill_tok_s: median(prefillRates),
        decode_tok_s: median(decodeRates),
        prefill_tok_s_runs: prefillRates,
        decode_tok_s_runs: decodeRates,
        peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
        wasm_heap_bytes: wasmHeapBytes(),
        kernel_memory_bytes: kernelMemoryBytes(),
        tensor_growth: tensorGrowth,
        memory_growth_bytes: memoryGrowth,
        tokens,
        load_average: loadavg()[0] as number,
        ...(profile === undefined ? {} : { profile }),
      };
      context.options.stdout.write(options.json === true ? `${JSON.stringify(result)}\n` : formatResult(result));
    } finally {
      cache.dispose();
    }
  } finally {
    model.dispose();
  }
}

/**
 * `fs2 bench --tp n`: the model split over n worker threads. The host drives greedy generations
 * through the workers: prefill is the time to the first generated token, decode the rate of the
 * `--new-tokens` after it. The peak RSS is the whole process's (the workers are its threads).
 */
async function benchParallel(context: CommandContext, target: string, options: BenchOptions): Promise<void> {
  const init = performance.now();
  const world = await context.openFairseq2();
  const start = performance.now();
  const loaded = await loadCausalLM(context, target, options, world);
  const loadS = (performance.now() - start) / 1000;
  const { model } = loaded;
  try {
    const length = options.promptTokens + options.newTokens + 1;
    if (length > Math.min(model.maxCacheLength, model.maxSeqLen)) {
      throw new InvalidArgumentError(
        'prompt-tokens',
        `A prompt of ${options.promptTokens} tokens and ${options.newTokens} new tokens need ${length} positions, but the model holds at most ${Math.min(model.maxCacheLength, model.maxSeqLen)}.`,
      );
    }
    const prompt = benchPrompt(options.promptTokens, model.vocabSize);
    const prefillRates: number[] = [];
    const decodeRates: number[] = [];
    let firstPrefillS = Number.NaN;
    let tokens: number[] = [];
    for (let run = 0; run < options.warmup + options.runs; run++) {
      const t0 = performance.now();
      let t1 = t0;
      const generated: number[] = [];
      for await (const { token } of model.generate(prompt, { maxNewTokens: options.newTokens + 1, stopTokens: [] })) {
        if (generated.length === 0) {
          t1 = performance.now();
        }
        generated.push(token);
      }
      const t2 = performance.now();
      if (run === 0) {
        firstPrefillS = (t1 - t0) / 1000;
      }
      tokens = generated;
      if (run >= options.warmup) {
        prefillRates.push(options.promptTokens / ((t1 - t0) / 1000));
        decodeRates.push(options.newTokens / ((t2 - t1) / 1000));
      }
    }
    const parameters = model instanceof TensorParallelModel ? model.rankParameters.reduce((a, b) => a + b, 0) : 0;
    const result: BenchResult = {
      engine: 'fs2',
      model: target,
      device: options.device ?? DEFAULT_DEVICE,
      tp: options.tp ?? 1,
      threads: 1,
      parameters,
      weight_bytes: parameters * 4,
      prompt_tokens: options.promptTokens,
      new_tokens: options.newTokens,
      warmup: options.warmup,
      runs: options.runs,
      init_s: (start - init) / 1000,
      load_s: loadS,
      first_prefill_s: firstPrefillS,
      prefill_tok_s: median(prefillRates),
      decode_tok_s: median(decodeRates),
      prefill_tok_s_runs: prefillRates,
      decode_tok_s_runs: decodeRates,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
      wasm_heap_bytes: 0,
      kernel_memory_bytes: 0,
      tensor_growth: 0,
      memory_growth_bytes: 0,
      tokens,
      load_average: loadavg()[0] as number,
    };
    context.options.stdout.write(options.json === true ? `${JSON.stringify(result)}\n` : formatResult(result));
  } finally {
    await model.dispose();
  }
}

/** One prefill of `prompt` into the (reset) cache, then `newTokens` greedy steps. */
function runOnce(
  model: TransformerDecoderModel,
  cache: KVCache,
  prompt: readonly number[],
  newTokens: number,
  hooks?: { start(): void; stop(phase: 'prefill' | 'decode'): void },
): { prefillS: number; decodeS: number; tokens: number[]; tensorGrowth: number; memoryGrowth: number } {
  cache.reset();
  hooks?.start();
  const t0 = performance.now();
  let token = nextToken(model.prefill(prompt, cache));
  const t1 = performance.now();
  hooks?.stop('prefill');
  const tensorsBefore = tf.memory().numTensors;
  const memoryBefore = wasmHeapBytes() + kernelMemoryBytes();
  hooks?.start();
  const t1b = performance.now();
  const tokens = [token];
  for (let i = 0; i < newTokens; i++) {
    token = nextToken(model.forward([token], { cache, logits: 'last' }));
    tokens.push(token);
  }
  const t2 = performance.now();
  hooks?.stop('decode');
  const decodeS = (t2 - t1b) / 1000;
  const tensorGrowth = tf.memory().numTensors - tensorsBefore;
  const memoryGrowth = wasmHeapBytes() + kernelMemoryBytes() - memoryBefore;
  return { prefillS: (t1 - t0) / 1000, decodeS, tokens, tensorGrowth, memoryGrowth };
}

function nextToken(logits: tf.Tensor): number {
  try {
    return argMax(logits.dataSync() as Float32Array);
  } finally {
    logits.dispose();
  }
}

/** The size of the TF.js wasm heap (0 when wasm is not the active backend). */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function formatResult(r: BenchResult): string {
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return [
    `model            ${r.model} (${(r.parameters / 1e6).toFixed(1)}M parameters, ${mb(r.weight_bytes)} f32) on ${r.device}` +
      (r.threads > 0 ? `, fs2 CPU kernels on ${r.threads} thread(s)` : ''),
    `init             ${r.init_s.toFixed(3)} s (fs2, device, kernel threads)`,
    `load             ${r.load_s.toFixed(3)} s`,
    `first prefill    ${r.first_prefill_s.toFixed(3)} s`,
    `prefill          ${r.prefill_tok_s.toFixed(1)} tok/s (${r.prompt_tokens} tokens; runs: ${r.prefill_tok_s_runs.map((v) => v.toFixed(1)).join(', ')})`,
    `decode           ${r.decode_tok_s.toFixed(1)} tok/s (${r.new_tokens} steps; runs: ${r.decode_tok_s_runs.map((v) => v.toFixed(1)).join(', ')})`,
    `peak RSS         ${mb(r.peak_rss_bytes)} (${(r.peak_rss_bytes / r.weight_bytes).toFixed(2)}x the weights)`,
    `wasm heap        ${mb(r.wasm_heap_bytes)}`,
    `kernel memory    ${mb(r.kernel_memory_bytes)}`,
    `tensor growth    ${r.tensor_growth}`,
    `memory growth    ${r.memory_growth_bytes} bytes`,
    `load average     ${r.load_average.toFixed(2)}`,
    ...(r.profile === undefined
      ? []
      : [
          '',
          ...formatPhase(`prefill (${r.prompt_tokens} tokens)`, r.profile.prefill, 1),
          '',
          ...formatPhase(`decode (per step, ${r.new_tokens} steps)`, r.profile.decode, r.new_tokens),
        ]),
    '',
  ].join('\n');
}

function formatPhase(title: string, phase: BenchPhaseProfile, per: number): string[] {
  const rows = Object.entries(phase.kernels).sort((a, b) => b[1].ms - a[1].ms);
  const inKernels = rows.reduce((total, [, t]) => total + t.ms, 0);
  const line = (name: string, ms: number, calls?: number): string =>
    `  ${name.padEnd(22)} ${(ms / per).toFixed(3).padStart(9)} ms ${((100 * ms) / phase.total_ms).toFixed(1).padStart(5)} %` +
    (calls === undefined ? '' : `  ${(calls / per).toFixed(0)} call(s)`);
  return [
    `${title}: ${(phase.total_ms / per).toFixed(3)} ms`,
    ...rows.map(([name, t]) => line(name, t.ms, t.calls)),
    line('other (JS, TF.js)', phase.total_ms - inKernels),
  ];
}
