// `npm run bench`: fs2 against llama.cpp (node-llama-cpp) on the same weights, in the same run.
//
//   1. generates the benchmark models with fs2's own generator (bench/models.mjs: perf_125m, and
//      perf_500m for the size section) as HF folders, f32 safetensors, and converts each to an f32
//      GGUF (bench/gguf.mjs);
//   2. installs node-llama-cpp on demand (bench/llamacpp, prebuilt CPU binary, no scripts);
//   3. runs `fs2 bench --json` and bench/llamacpp/bench.mjs alternately, each in a fresh process,
//      with the same prompt ids (bench/prompt.mjs), threads, warm-up and timed runs;
//   4. writes bench/out/report.json and bench/out/report.md (medians over the processes, ratios,
//      the machine, the load average around every run), and with --docs the report section of
//      docs/benchmarks.md.
//
// Usage: npm run bench -- [--quick] [--processes 5] [--threads 2] [--docs] [--no-llamacpp]
//        [--sections main,prompts,size,tp,soak,tfjs] [--max-load 0.5]
// --max-load L: before each process, wait (up to 10 minutes) until the 1-minute load average is
// below L, so that a shared machine's other jobs disturb the figures less.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const MODELS = join(OUT, 'models');
const FS2 = join(ROOT, 'packages', 'cli', 'bin', 'fs2.js');
const LLAMACPP = join(ROOT, 'bench', 'llamacpp');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const quick = flag('--quick');
const processes = Number(opt('--processes', quick ? 1 : 5));
const threads = Number(opt('--threads', 2));
const newTokens = Number(opt('--new-tokens', 64));
const sections = new Set(opt('--sections', quick ? 'main' : 'main,prompts,size,tp,soak,tfjs').split(','));
const withLlama = !flag('--no-llamacpp');
const maxLoad = Number(opt('--max-load', Infinity));
const log = (line) => process.stderr.write(`bench: ${line}\n`);

function waitForQuiet() {
  const until = Date.now() + 600_000;
  while (loadavg()[0] > maxLoad && Date.now() < until) {
    spawnSync('sleep', ['5']);
  }
}

function run(command, argv, { timeoutS = 900 } = {}) {
  waitForQuiet();
  const before = loadavg()[0];
  const started = performance.now();
  const child = spawnSync(command, argv, { cwd: ROOT, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 << 20 });
  const wallS = (performance.now() - started) / 1000;
  if (child.status !== 0) {
    throw new Error(`${command} ${argv.join(' ')} failed (${child.status ?? child.signal}):\n${child.stderr.slice(-4000)}`);
  }
  const line = child.stdout.trim().split('\n').pop();
  return { ...JSON.parse(line), load_average_before: before, load_average_after: loadavg()[0], process_wall_s: wallS };
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function machine() {
  let lscpu = '';
  try {
    lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
  } catch {
    // Not on every system.
  }
  const flags = /Flags:\s*(.*)/.exec(lscpu)?.[1] ?? '';
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memory_gib: +(totalmem() / 2 ** 30).toFixed(1),
    avx512: flags.includes('avx512f'),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

async function prepareModel(name) {
  const { ensureBenchModel } = await import('./models.mjs');
  const dir = join(MODELS, name);
  await ensureBenchModel(name, dir, { log });
  const gguf = join(dir, 'model-f32.gguf');
  if (withLlama && !existsSync(gguf)) {
    log(`converting ${name} to GGUF`);
    const { convertHfToGguf } = await import('./gguf.mjs');
    await convertHfToGguf(dir, gguf, name);
  }
  return { dir, gguf };
}

function ensureLlamaCpp() {
  if (existsSync(join(LLAMACPP, 'node_modules', 'node-llama-cpp'))) return true;
  log('installing node-llama-cpp into bench/llamacpp (prebuilt CPU binary)');
  const npm = spawnSync('npm', ['install', '--prefix', LLAMACPP, '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return npm.status === 0;
}

/** `processes` fresh processes of each engine, alternating, on one configuration. */
function compare(label, model, { promptTokens, steps = newTokens, llama = withLlama, fs2Args = [], count = processes }) {
  const fs2 = [];
  const cpp = [];
  for (let i = 0; i < count; i++) {
    log(`${label}: fs2 ${i + 1}/${count}`);
    fs2.push(
      run('node', [FS2, 'bench', model.dir, '--json', '--prompt-tokens', `${promptTokens}`, '--new-tokens', `${steps}`, '--threads', `${threads}`, ...fs2Args]),
    );
    if (llama) {
      log(`${label}: llama.cpp ${i + 1}/${count}`);
      cpp.push(
        run('node', [join(LLAMACPP, 'bench.mjs'), '--model', model.gguf, '--prompt-tokens', `${promptTokens}`, '--new-tokens', `${steps}`, '--threads', `${threads}`]),
      );
    }
  }
  const summary = (rows) =>
    rows.length === 0
      ? undefined
      : {
          load_s: median(rows.map((r) => r.load_s)),
          first_prefill_s: median(rows.map((r) => r.first_prefill_s)),
          load_to_first_token_s: median(rows.map((r) => r.load_s + r.first_prefill_s)),
          prefill_tok_s: median(rows.map((r) => r.prefill_tok_s)),
          decode_tok_s: median(rows.map((r) => r.decode_tok_s)),
          peak_rss_bytes: median(rows.map((r) => r.peak_rss_bytes)),
          load_average: median(rows.map((r) => r.load_average_before)),
        };
  const a = summary(fs2);
  const b = summary(cpp);
  const agree = cpp.length === 0 || fs2.every((r) => JSON.stringify(r.tokens) === JSON.stringify(cpp[0].tokens));
  return {
    label,
    prompt_tokens: promptTokens,
    new_tokens: steps,
    fs2: a,
    llama_cpp: b,
    ratios:
      b === undefined
        ? undefined
        : {
            prefill: a.prefill_tok_s / b.prefill_tok_s,
            decode: a.decode_tok_s / b.decode_tok_s,
            load: a.load_s / b.load_s,
            peak_rss: a.peak_rss_bytes / b.peak_rss_bytes,
          },
    same_greedy_tokens: agree,
    runs: { fs2, llama_cpp: cpp },
  };
}

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const mib = (b) => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(0)} MiB` : '-');

function markdown(report) {
  const m = report.machine;
  const lines = [];
  lines.push(`Generated by \`npm run bench${report.command_args.length ? ` -- ${report.command_args.join(' ')}` : ''}\` on ${m.date.slice(0, 10)}.`);
  lines.push('');
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores${m.avx512 ? ' (AVX-512)' : ''}, ${m.memory_gib} GiB, Node ${m.node}. ` +
      `${report.threads} threads for both engines; ${report.processes} fresh process(es) per engine and configuration, ` +
      'each with 1 warm-up and 3 timed runs; figures are medians. llama.cpp: node-llama-cpp ' +
      `${report.llama_cpp_version ?? '(not run)'}, f32 weights, F32 KV cache, flash attention off.`,
  );
  lines.push('');
  for (const c of report.comparisons) {
    lines.push(`### ${c.label}`);
    lines.push('');
    lines.push('| | fs2 | llama.cpp | fs2 / llama.cpp |');
    lines.push('|---|---|---|---|');
    const r = c.ratios ?? {};
    lines.push(`| load (s) | ${fmt(c.fs2.load_s, 3)} | ${fmt(c.llama_cpp?.load_s, 3)} | ${fmt(r.load, 2)} |`);
    lines.push(`| prefill ${c.prompt_tokens} tokens (tok/s) | ${fmt(c.fs2.prefill_tok_s)} | ${fmt(c.llama_cpp?.prefill_tok_s)} | ${fmt(r.prefill, 2)} |`);
    lines.push(`| decode (tok/s) | ${fmt(c.fs2.decode_tok_s)} | ${fmt(c.llama_cpp?.decode_tok_s)} | ${fmt(r.decode, 2)} |`);
    lines.push(`| first prefill after load (s) | ${fmt(c.fs2.first_prefill_s, 3)} | ${fmt(c.llama_cpp?.first_prefill_s, 3)} | |`);
    lines.push(
      `| load + first prefill (s) | ${fmt(c.fs2.load_to_first_token_s, 3)} | ${fmt(c.llama_cpp?.load_to_first_token_s, 3)} | ${fmt(c.fs2.load_to_first_token_s / c.llama_cpp?.load_to_first_token_s, 2)} |`,
    );
    lines.push(`| peak RSS | ${mib(c.fs2.peak_rss_bytes)} | ${mib(c.llama_cpp?.peak_rss_bytes)} | ${fmt(r.peak_rss, 2)} |`);
    lines.push(`| load average (1 min, median before runs) | ${fmt(c.fs2.load_average, 2)} | ${fmt(c.llama_cpp?.load_average, 2)} | |`);
    lines.push('');
    lines.push(`Same greedy tokens from both engines: ${c.llama_cpp === undefined ? 'not compared' : c.same_greedy_tokens ? 'yes' : '**no**'}.`);
    lines.push('');
  }
  if (report.soak !== undefined) {
    const s = report.soak;
    lines.push(`### ${s.label}`);
    lines.push('');
    lines.push(
      `${s.new_tokens} greedy decode steps after a ${s.prompt_tokens}-token prompt: TF.js tensors before vs after ${s.tensor_growth >= 0 ? '+' : ''}${s.tensor_growth}, ` +
        `TF.js heap + kernel memory growth ${s.memory_growth_bytes} bytes, decode ${fmt(s.decode_tok_s)} tok/s, peak RSS ${mib(s.peak_rss_bytes)}.`,
    );
    lines.push('');
  }
  if (report.targets !== undefined) {
    const t = report.targets;
    lines.push('### Targets (~125M model, prompt 128)');
    lines.push('');
    lines.push('| target | measured | met |');
    lines.push('|---|---|---|');
    for (const row of t) lines.push(`| ${row.target} | ${row.measured} | ${row.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  return lines.join('\n');
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const report = { machine: machine(), threads, processes, max_load: Number.isFinite(maxLoad) ? maxLoad : null, command_args: args, comparisons: [] };
  const llamaOk = withLlama && ensureLlamaCpp();
  if (withLlama && !llamaOk) throw new Error('node-llama-cpp could not be installed; run with --no-llamacpp to measure fs2 alone.');
  const small = await prepareModel('perf_125m');
  let weightBytes;
  if (sections.has('main')) {
    const main = compare('perf_125m (124.7M parameters), prompt 128', small, { promptTokens: 128 });
    report.comparisons.push(main);
    report.llama_cpp_version = main.runs.llama_cpp[0]?.llama_cpp?.release;
    weightBytes = main.runs.fs2[0].weight_bytes;
    const f = main.fs2;
    const c = main.llama_cpp;
    if (c !== undefined) {
      report.targets = [
        { target: 'decode >= llama.cpp', measured: `${fmt(f.decode_tok_s)} vs ${fmt(c.decode_tok_s)} tok/s (${fmt(main.ratios.decode, 2)}x)`, met: main.ratios.decode >= 1 },
        { target: 'prefill >= 0.8x llama.cpp', measured: `${fmt(f.prefill_tok_s)} vs ${fmt(c.prefill_tok_s)} tok/s (${fmt(main.ratios.prefill, 2)}x)`, met: main.ratios.prefill >= 0.8 },
        { target: 'load <= llama.cpp', measured: `${fmt(f.load_s, 3)} vs ${fmt(c.load_s, 3)} s (${fmt(main.ratios.load, 2)}x)`, met: main.ratios.load <= 1 },
        {
          target: 'peak RSS <= 1.3x f32 weights',
          measured: `${mib(f.peak_rss_bytes)} = ${fmt(f.peak_rss_bytes / weightBytes, 2)}x ${mib(weightBytes)}`,
          met: f.peak_rss_bytes <= 1.3 * weightBytes,
        },
      ];
    }
  }
  if (sections.has('prompts')) {
    for (const promptTokens of [512, 1024]) {
      report.comparisons.push(compare(`perf_125m, prompt ${promptTokens}`, small, { promptTokens, count: Math.min(processes, 3) }));
    }
  }
  if (sections.has('size')) {
    const big = await prepareModel('perf_500m');
    report.comparisons.push(compare('perf_500m (~500M parameters), prompt 128', big, { promptTokens: 128, count: Math.min(processes, 3) }));
  }
  if (sections.has('tp')) {
    // Two worker threads, each a tensor-parallel rank with its own backend and one kernel thread.
    report.comparisons.push(
      compare('perf_125m, prompt 128, tensor parallel over 2 worker threads (`--tp 2`)', small, {
        promptTokens: 128,
        fs2Args: ['--tp', '2'],
        count: Math.min(processes, 3),
      }),
    );
  }
  if (sections.has('tfjs')) {
    const tfjs = compare("perf_125m, prompt 128, TF.js matMul (fs2's CPU kernels off, one thread)", small, {
      promptTokens: 128,
      llama: false,
      fs2Args: ['--no-kernels'],
      count: Math.min(processes, 3),
    });
    report.comparisons.push(tfjs);
  }
  if (sections.has('soak')) {
    log('soak: 1000 decode steps');
    const r = run('node', [FS2, 'bench', small.dir, '--json', '--prompt-tokens', '16', '--new-tokens', '1000', '--warmup', '0', '--runs', '1', '--threads', `${threads}`]);
    report.soak = { label: 'No growth over 1,000 decode steps (perf_125m)', ...r };
  }
  writeFileSync(join(OUT, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeFileSync(join(OUT, 'report.md'), `${md}\n`);
  log(`wrote ${join(OUT, 'report.md')} and report.json`);
  if (flag('--docs')) {
    const docs = join(ROOT, 'docs', 'benchmarks.md');
    const text = readFileSync(docs, 'utf8');
    const begin = '<!-- bench:begin -->';
    const end = '<!-- bench:end -->';
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${docs} has no ${begin} ... ${end} section`);
    writeFileSync(docs, `${text.slice(0, a + begin.length)}\n${md}\n${text.slice(b)}`);
    writeFileSync(join(ROOT, 'docs', 'benchmarks.json'), `${JSON.stringify(report, null, 2)}\n`);
    log(`updated ${docs} and docs/benchmarks.json`);
  }
  process.stdout.write(`${md}\n`);
}

await main();
