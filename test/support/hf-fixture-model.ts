import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  SafetensorsReader,
  TransformerDecoderModel,
  type Device,
  type RopeScaling,
  type StateEntry,
  type TransformerDecoderConfig,
  type TransformerDecoderModelOptions,
} from '@fs2/core';

import { fixturePath, type FixtureName } from './fixtures.js';

/**
 * Test support: loads the HF fixture checkpoints into `TransformerDecoderModel` until the family
 * packages (which will own the real converters) exist. Maps `config.json` onto
 * `TransformerDecoderConfig`, HF parameter names onto fairseq2's, and transposes linear weights
 * from HF's `[out, in]` to fs2's `[in, out]`.
 */

/** The `config.json` fields the fixtures use (transformers' LlamaConfig / Qwen2Config / Qwen3Config / MistralConfig). */
export interface HfDecoderConfig {
  readonly model_type: string;
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads?: number;
  readonly head_dim?: number | null;
  readonly intermediate_size: number;
  readonly rms_norm_eps: number;
  readonly rope_theta?: number;
  readonly rope_scaling?: Record<string, unknown> | null;
  readonly tie_word_embeddings?: boolean;
  readonly attention_bias?: boolean;
  readonly sliding_window?: number | null;
  readonly use_sliding_window?: boolean;
  readonly max_position_embeddings: number;
}

/** What the checkpoint itself says about optional tensors. */
export interface HfCheckpointFeatures {
  /** `model.layers.0.self_attn.q_proj.bias` is present. */
  readonly qkvBias: boolean;
  /** `model.layers.0.self_attn.q_norm.weight` is present. */
  readonly qkNorm: boolean;
}

/**
 * Maps an HF config onto the generic decoder config. Biases follow `attention_bias` or the
 * checkpoint (Qwen 2 has q/k/v biases without a config key); q/k norms follow the checkpoint
 * (Qwen 3); the sliding window applies to Mistral, and to Qwen only with `use_sliding_window`.
 */
export function hfConfigToDecoderConfig(hf: HfDecoderConfig, features: HfCheckpointFeatures): TransformerDecoderConfig {
  const window =
    hf.model_type === 'mistral'
      ? (hf.sliding_window ?? undefined)
      : hf.use_sliding_window === true
        ? (hf.sliding_window ?? undefined)
        : undefined;
  const ropeScaling = hfRopeScaling(hf.rope_scaling);
  return {
    vocabSize: hf.vocab_size,
    modelDim: hf.hidden_size,
    numLayers: hf.num_hidden_layers,
    numHeads: hf.num_attention_heads,
    numKvHeads: hf.num_key_value_heads ?? hf.num_attention_heads,
    ...(hf.head_dim === undefined || hf.head_dim === null ? {} : { headDim: hf.head_dim }),
    ffnInnerDim: hf.intermediate_size,
    normEps: hf.rms_norm_eps,
    ropeTheta: hf.rope_theta ?? 10_000,
    ...(ropeScaling === undefined ? {} : { ropeScaling }),
    tiedEmbeddings: hf.tie_word_embeddings ?? false,
    qkvBias: hf.attention_bias === true || features.qkvBias,
    qkNorm: features.qkNorm,
    ...(window === undefined ? {} : { slidingWindow: window }),
    maxSeqLen: hf.max_position_embeddings,
  };
}

function hfRopeScaling(raw: Record<string, unknown> | null | undefined): RopeScaling | undefined {
  if (raw === null || raw === undefined) {
    return undefined;
  }
  const type = raw['rope_type'] ?? raw['type'];
  if (type === 'default') {
    return undefined;
  }
  if (type === 'linear') {
    return { type: 'linear', factor: raw['factor'] as number };
  }
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: raw['factor'] as number,
      lowFreqFactor: raw['low_freq_factor'] as number,
      highFreqFactor: raw['high_freq_factor'] as number,
      originalMaxPositionEmbeddings: raw['original_max_position_embeddings'] as number,
    };
  }
  throw new Error(`Unsupported rope_scaling type ${JSON.stringify(type)}.`);
}

/** HF name → fs2 name, and whether the tensor is a linear weight (`[out, in]`, to transpose). */
const HF_KEY_MAP: readonly (readonly [RegExp, string, boolean])[] = [
  [/^model\.embed_tokens\.weight$/, 'decoder_frontend.embed.weight', false],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, 'decoder.layers.$1.self_attn_layer_norm.weight', false],
  [/^model\.layers\.(\d+)\.self_attn\.([qkv])_proj\.weight$/, 'decoder.layers.$1.self_attn.$2_proj.weight', true],
  [/^model\.layers\.(\d+)\.self_attn\.([qkv])_proj\.bias$/, 'decoder.layers.$1.self_attn.$2_proj.bias', false],
  [/^model\.layers\.(\d+)\.self_attn\.([qk])_norm\.weight$/, 'decoder.layers.$1.self_attn.$2_norm.weight', false],
  [/^model\.layers\.(\d+)\.self_attn\.o_proj\.weight$/, 'decoder.layers.$1.self_attn.output_proj.weight', true],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, 'decoder.layers.$1.ffn_layer_norm.weight', false],
  [/^model\.layers\.(\d+)\.mlp\.gate_proj\.weight$/, 'decoder.layers.$1.ffn.gate_proj.weight', true],
  [/^model\.layers\.(\d+)\.mlp\.up_proj\.weight$/, 'decoder.layers.$1.ffn.inner_proj.weight', true],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.weight$/, 'decoder.layers.$1.ffn.output_proj.weight', true],
  [/^model\.norm\.weight$/, 'decoder.layer_norm.weight', false],
  [/^lm_head\.weight$/, 'final_proj.weight', true],
];

/** The fs2 name of an HF key and whether to transpose it; throws naming an unknown key. */
export function mapHfKey(key: string): { name: string; transpose: boolean } {
  for (const [pattern, replacement, transpose] of HF_KEY_MAP) {
    if (pattern.test(key)) {
      return { name: key.replace(pattern, replacement), transpose };
    }
  }
  throw new Error(`The HF checkpoint key ${key} has no fs2 equivalent.`);
}

/** `[rows, cols]` row-major → `[cols, rows]`. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[c * rows + r] = data[r * cols + c] as number;
    }
  }
  return out;
}

/** The safetensors files of a checkpoint folder and which keys each holds (single file or sharded index). */
async function openCheckpoint(dir: string): Promise<{ readers: SafetensorsReader[]; keys: Map<string, SafetensorsReader> }> {
  const index = join(dir, 'model.safetensors.index.json');
  const files = existsSync(index)
    ? [...new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const readers = await Promise.all(files.map((f) => SafetensorsReader.open(join(dir, f))));
  const keys = new Map<string, SafetensorsReader>();
  for (const reader of readers) {
    for (const key of reader.keys()) {
      keys.set(key, reader);
    }
  }
  return { readers, keys };
}

/**
 * The fs2 state of an HF checkpoint folder, one tensor at a time (read, widened to float32, renamed,
 * linear weights transposed to `[in, out]`, or with `transposedLinears` left `[out, in]` and marked
 * `transposed`). With `tiedEmbeddings`, an `lm_head.weight` is skipped.
 */
export async function* hfStateSource(dir: string, options: { tiedEmbeddings: boolean; transposedLinears?: boolean }): AsyncGenerator<StateEntry> {
  const { readers, keys } = await openCheckpoint(dir);
  try {
    for (const [key, reader] of keys) {
      const { name, transpose: linear } = mapHfKey(key);
      if (name === 'final_proj.weight' && options.tiedEmbeddings) {
        continue;
      }
      const info = reader.info(key);
      const data = await reader.readFloat32(key);
      if (linear) {
        const [out, inp] = info.shape as [number, number];
        yield options.transposedLinears === true
          ? { name, data, shape: [inp, out], transposed: true }
          : { name, data: transpose(data, out, inp), shape: [inp, out] };
      } else {
        yield { name, data, shape: info.shape };
      }
    }
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

/** The decoder config of a fixture, from its `config.json` and its tensors. */
export async function readHfFixtureConfig(name: FixtureName): Promise<TransformerDecoderConfig> {
  const dir = fixturePath(name);
  const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as HfDecoderConfig;
  const { readers, keys } = await openCheckpoint(dir);
  await Promise.all(readers.map((r) => r.close()));
  return hfConfigToDecoderConfig(hf, {
    qkvBias: keys.has('model.layers.0.self_attn.q_proj.bias'),
    qkNorm: keys.has('model.layers.0.self_attn.q_norm.weight'),
  });
}

/** Options of {@link loadHfFixtureModel}, for negative tests and variations. */
export interface HfFixtureOptions extends Omit<TransformerDecoderModelOptions, 'device'> {
  /**
   * Overrides of the config mapped from `config.json` (a deliberately wrong setting); `undefined`
   * removes a field (`{ ropeScaling: undefined }`: no scaling).
   */
  readonly config?: { readonly [K in keyof TransformerDecoderConfig]?: TransformerDecoderConfig[K] | undefined };
  /** Leaves out the fs2 keys it returns true for. */
  readonly omit?: (name: string) => boolean;
  /** Rewrites an entry before it is loaded. */
  readonly mapEntry?: (entry: StateEntry) => StateEntry;
  /** Hands linear weights over as stored (`[out, in]`, `transposed: true`). Default: `false`. */
  readonly transposedLinears?: boolean;
}

/** Builds a `TransformerDecoderModel` on `device` (which must be active) and loads a fixture into it. */
export async function loadHfFixtureModel(
  name: FixtureName,
  device: Device,
  options: HfFixtureOptions = {},
): Promise<TransformerDecoderModel> {
  const merged: Record<string, unknown> = { ...(await readHfFixtureConfig(name)) };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    if (value === undefined) {
      delete merged[key];
    } else {
      merged[key] = value;
    }
  }
  const config = merged as unknown as TransformerDecoderConfig;
  const { config: _config, omit, mapEntry, transposedLinears, ...modelOptions } = options;
  const model = new TransformerDecoderModel(config, { ...modelOptions, device });
  const source = hfStateSource(fixturePath(name), { tiedEmbeddings: config.tiedEmbeddings ?? false, transposedLinears: transposedLinears === true });
  async function* filtered(): AsyncGenerator<StateEntry> {
    for await (const entry of source) {
      if (omit?.(entry.name) === true) {
        continue;
      }
      yield mapEntry === undefined ? entry : mapEntry(entry);
    }
  }
  try {
    await model.loadState(filtered());
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
