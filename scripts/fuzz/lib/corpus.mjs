// Seed corpora, built from the test fixtures when a target starts. The fixtures' checkpoints are
// hundreds of KB; the seeds keep their tensor names, dtypes, metadata and layout but shrink every
// dim to at most MINI_DIM, so that an input is a few KB and a long run of 1,000,000 inputs fits in
// minutes. Cards and config files are small and used as they are.
import { open, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SafetensorsReader, TorchCheckpointReader, ZipArchive, encodeElements, STORAGE_DTYPE_BYTES } from '@fs2/core';

import { buildSafetensors, buildTorchPickle } from './formats.mjs';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** The largest dim a seed keeps: 3 makes a matrix 9 elements, and still not square-symmetric. */
export const MINI_DIM = 3;

/**
 * Whether a seed keeps the tensor `key`: those of the first layer and those outside the layers
 * (embeddings, final norm, output). The other layers repeat the first one's names and shapes, and
 * every tensor costs reads (and for zip archives, central-directory entries) on every input.
 */
export function keepTensor(key) {
  return !/(^|\.)layers\.[1-9]\d*\./.test(key);
}

function shrink(shape) {
  return shape.map((d) => Math.min(d, MINI_DIM));
}

function numelOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A safetensors fixture shrunk: `{header, data}` with the header as an ordered object (tensor
 * entries then `__metadata__`), offsets recomputed for the shrunk shapes, and each tensor's data
 * the first bytes of the original tensor's.
 */
export async function miniSafetensors(path) {
  const reader = await SafetensorsReader.open(path);
  try {
    const header = {};
    const parts = [];
    let offset = 0;
    for (const key of reader.keys().filter(keepTensor)) {
      const info = reader.info(key);
      const shape = shrink(info.shape);
      const bytes = numelOf(shape) * STORAGE_DTYPE_BYTES[info.dtype];
      const raw = await reader.readBytes(key);
      parts.push(Buffer.from(raw.subarray(0, bytes)));
      header[key] = { dtype: info.dtype, shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    if (Object.keys(reader.metadata).length > 0) {
      header.__metadata__ = { ...reader.metadata };
    }
    return { name: relative(FIXTURES, path), header, data: Buffer.concat(parts) };
  } finally {
    await reader.close();
  }
}

/** Hand-made safetensors seeds for what the fixtures lack: every dtype, a scalar, empty tensors, no tensors. */
export function syntheticSafetensors() {
  const dtypes = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
  const header = {};
  const parts = [];
  let offset = 0;
  dtypes.forEach((dtype, i) => {
    const shape = i % 3 === 0 ? [2, 3] : i % 3 === 1 ? [3] : [];
    const bytes = numelOf(shape) * STORAGE_DTYPE_BYTES[dtype];
    const data = Buffer.alloc(bytes);
    for (let b = 0; b < bytes; b++) {
      data[b] = dtype === 'BOOL' ? b & 1 : (b * 37 + i) & 0xff;
    }
    if (dtype === 'I64') {
      data.writeBigInt64LE(-5n, 0); // fits in int32; the next element does not
    }
    parts.push(data);
    header[`t.${dtype.toLowerCase()}`] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  });
  header['t.empty'] = { dtype: 'F32', shape: [0, 4], data_offsets: [offset, offset] };
  header.__metadata__ = { format: 'pt' };
  return [
    { name: 'synthetic/dtypes', header, data: Buffer.concat(parts) },
    { name: 'synthetic/empty', header: {}, data: Buffer.alloc(0) },
    { name: 'synthetic/metadata-only', header: { __metadata__: { format: 'pt' } }, data: Buffer.alloc(0) },
  ];
}

/** The structured safetensors seeds: the fixtures shrunk, and the synthetic ones. */
export async function safetensorsSeeds() {
  const files = [
    'llama3/model.safetensors',
    'mistral/model.safetensors',
    'qwen2/model.safetensors',
    'qwen3/model.safetensors',
    'llama3_bf16_sharded/model-00001-of-00002.safetensors',
    'llama3_bf16_sharded/model-00002-of-00002.safetensors',
  ];
  const minis = [];
  for (const file of files) {
    minis.push(await miniSafetensors(join(FIXTURES, file)));
  }
  return [...minis, ...syntheticSafetensors()].map((s) => ({ ...s, bytes: buildSafetensors(s.header, s.data) }));
}

/** The sharded fixture shrunk: two shards and its index. */
export async function indexSeed() {
  const dir = join(FIXTURES, 'llama3_bf16_sharded');
  const full = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
  const index = { ...full, weight_map: Object.fromEntries(Object.entries(full.weight_map).filter(([key]) => keepTensor(key))) };
  const shards = {};
  let total = 0;
  for (const name of [...new Set(Object.values(index.weight_map))].sort()) {
    const mini = await miniSafetensors(join(dir, name));
    shards[name] = buildSafetensors(mini.header, mini.data);
    total += mini.data.length;
  }
  return { index: { ...index, metadata: { ...index.metadata, total_size: total } }, shards };
}

/** The entries of a zip archive: `{name, body, method}` in central-directory order. */
export async function readZipEntries(path) {
  const handle = await open(path, 'r');
  try {
    const archive = await ZipArchive.open(path, handle);
    try {
      const entries = [];
      for (const name of archive.names()) {
        const info = archive.maybeEntry(name);
        entries.push({ name, body: Buffer.from(await archive.readEntry(name, 1 << 24)), method: info.compressionMethod });
      }
      return entries;
    } finally {
      archive.close();
    }
  } finally {
    await handle.close();
  }
}

/**
 * The Meta reference fixture (`consolidated.00.pth`) shrunk: the same tensor names, dtype (BF16)
 * and archive layout, shapes of at most {@link MINI_DIM} per dim, written as `torch.save` does.
 */
export async function miniTorch(path, { deflate = false } = {}) {
  const reader = await TorchCheckpointReader.open(path);
  try {
    const prefix = reader.tensor(reader.keys()[0]).storage.entry.split('/')[0];
    const tensors = [];
    const entries = [];
    for (const [i, key] of reader.keys().filter(keepTensor).entries()) {
      const info = reader.info(key);
      const shape = shrink(info.shape);
      const numel = numelOf(shape);
      const values = await reader.read(key);
      const raw = Buffer.alloc(numel * STORAGE_DTYPE_BYTES[info.dtype]);
      encodeElements(info.dtype, values, 0, raw, numel);
      tensors.push({ key, dtype: info.dtype, shape, numel });
      entries.push({ name: `${prefix}/data/${i}`, body: raw, method: deflate ? 8 : 0 });
    }
    return [
      { name: `${prefix}/data.pkl`, body: buildTorchPickle(tensors), method: deflate ? 8 : 0 },
      ...entries,
      { name: `${prefix}/version`, body: Buffer.from('3\n'), method: 0 },
      { name: `${prefix}/byteorder`, body: Buffer.from('little'), method: 0 },
    ];
  } finally {
    await reader.close();
  }
}

/** The torch seeds, as entry lists: the synthetic fixtures as they are, the Meta fixture shrunk (STORED and DEFLATE). */
export async function torchSeeds() {
  const dir = join(FIXTURES, 'torch_synthetic');
  const seeds = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.pt')).sort()) {
    seeds.push({ name: `torch_synthetic/${file}`, entries: await readZipEntries(join(dir, file)) });
  }
  const meta = join(FIXTURES, 'llama3_meta', 'consolidated.00.pth');
  seeds.push({ name: 'llama3_meta/consolidated.00.pth (mini)', entries: await miniTorch(meta) });
  seeds.push({ name: 'llama3_meta/consolidated.00.pth (mini, deflate)', entries: await miniTorch(meta, { deflate: true }) });
  return seeds;
}

/** Every `*.yaml` under `dir`, recursively, as `{name, text}`. */
async function yamlFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) {
      const path = join(entry.parentPath ?? entry.path, entry.name);
      out.push({ name: relative(ROOT, path), text: await readFile(path, 'utf8') });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * The card seeds: the card fixtures (good and malformed) and the built-in cards, split into their
 * documents (a few hundred bytes each: the YAML parser takes about a microsecond per byte), plus
 * the small files whole (documents that refer to each other). The deep-nesting fixture (10 KB of
 * brackets) is replaced by a bracket run just past the nesting limit.
 */
export async function cardSeeds() {
  const files = [...(await yamlFiles(join(FIXTURES, 'cards'))), ...(await yamlFiles(join(ROOT, 'cards')))];
  const seeds = [];
  const seen = new Set();
  const add = (name, text) => {
    if (!seen.has(text) && Buffer.byteLength(text) <= 2048) {
      seen.add(text);
      seeds.push({ name, text });
    }
  };
  for (const file of files) {
    if (file.name.endsWith('deep-nesting.yaml')) {
      add(file.name, `name: toy_deep\nmodel_config: ${'['.repeat(66)}${']'.repeat(66)}\n`);
      continue;
    }
    add(file.name, file.text);
    file.text.split(/^---[ \t]*$/m).forEach((doc, i) => add(`${file.name}#${i}`, doc.trim() + '\n'));
  }
  return seeds;
}

/** The config seeds: every fixture `config.json` and `params.json`, parsed. */
export async function configSeeds() {
  const seeds = [];
  for (const dir of (await readdir(FIXTURES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    for (const file of ['config.json', 'params.json']) {
      try {
        const text = await readFile(join(FIXTURES, dir, file), 'utf8');
        seeds.push({ name: `${dir}/${file}`, kind: file === 'config.json' ? 'hf' : 'meta', text, json: JSON.parse(text) });
      } catch (error) {
        if (error.code !== 'ENOENT') {
          throw error;
        }
      }
    }
  }
  return seeds;
}
