import {
  CheckpointError,
  KeyMap,
  UnmappedKeyError,
  type CheckpointConverter,
  type HuggingFaceInterop,
  type SourceTensor,
  type StateEntry,
} from '@fs2/core';

import type { Gpt2Config } from './config.js';

// Begin-example: key-map
/**
 * Hugging Face GPT-2 (`GPT2LMHeadModel`) names -> fs2 names, first match wins; a key no rule
 * matches is an error naming it. HF GPT-2's linear layers are `Conv1D` modules, whose weights are
 * already `[in, out]`, fs2's layout: unlike LLaMA's `nn.Linear` weights, nothing is transposed.
 * `c_attn` holds q, k and v side by side (`[in, 3 * dim]`) and stays fused as `qkv_proj`. The
 * table is column-aligned by hand (fairseq2's key maps are, under `# fmt: off`).
 */
export const GPT2_HF_KEY_MAP = new KeyMap(
  'gpt2 HF',
  [
    [/^transformer\.wte\.weight$/,                                 'decoder_frontend.embed.weight'],
    [/^transformer\.wpe\.weight$/,                                 'decoder_frontend.pos_encoder.weight'],
    [/^transformer\.h\.([0-9]+)\.ln_1\.(weight|bias)$/,            'decoder.layers.$1.self_attn_layer_norm.$2'],
    [/^transformer\.h\.([0-9]+)\.attn\.c_attn\.(weight|bias)$/,    'decoder.layers.$1.self_attn.qkv_proj.$2'],
    [/^transformer\.h\.([0-9]+)\.attn\.c_proj\.(weight|bias)$/,    'decoder.layers.$1.self_attn.output_proj.$2'],
    [/^transformer\.h\.([0-9]+)\.ln_2\.(weight|bias)$/,            'decoder.layers.$1.ffn_layer_norm.$2'],
    [/^transformer\.h\.([0-9]+)\.mlp\.c_fc\.(weight|bias)$/,       'decoder.layers.$1.ffn.inner_proj.$2'],
    [/^transformer\.h\.([0-9]+)\.mlp\.c_proj\.(weight|bias)$/,     'decoder.layers.$1.ffn.output_proj.$2'],
    [/^transformer\.ln_f\.(weight|bias)$/,                         'decoder.layer_norm.$1'],
  ],
  {
    ignore: [
      /^lm_head\.weight$/,                                  // tied to wte (absent from `save_pretrained` output)
      /^transformer\.h\.[0-9]+\.attn\.(?:masked_)?bias$/,   // the causal mask buffers of older checkpoints
    ],
  },
);

/** fs2 names -> HF names, for export: {@link GPT2_HF_KEY_MAP} reversed. */
export const GPT2_HF_EXPORT_KEY_MAP = GPT2_HF_KEY_MAP.reverse('gpt2 HF export');
// End-example: key-map

/**
 * The keys of OpenAI's original upload (`openai-community/gpt2`'s `model.safetensors`, saved from
 * `GPT2Model`) lack the `transformer.` prefix that `GPT2LMHeadModel` checkpoints carry.
 */
const UNPREFIXED_KEY = /^(?:wte|wpe|h|ln_f)\./;

function prefixed(key: string): string {
  return UNPREFIXED_KEY.test(key) ? `transformer.${key}` : key;
}

// Begin-example: converter
/**
 * Reads Hugging Face GPT-2 checkpoints (with or without the `transformer.` prefix), one tensor at
 * a time.
 *
 * @throws UnmappedKeyError for a key that is neither mapped nor dropped.
 */
export const gpt2HuggingFaceConverter: CheckpointConverter<Gpt2Config> = {
  format: 'hf',
  matches: (keys) => keys.has('transformer.wte.weight') || keys.has('wte.weight'),
  isIgnored: (key) => GPT2_HF_KEY_MAP.isIgnored(prefixed(key)),
  *convert(tensor, _config, path) {
    const key = prefixed(tensor.key);
    if (GPT2_HF_KEY_MAP.isIgnored(key)) {
      return;
    }
    const name = GPT2_HF_KEY_MAP.maybeConvert(key);
    if (name === undefined) {
      throw new UnmappedKeyError(path, tensor.key, GPT2_HF_KEY_MAP.name);
    }
    yield { name, shape: tensor.shape, data: tensor.data };
  },
};
// End-example: converter

/** `config.json` values that change GPT-2's math in ways this family does not implement. */
const UNSUPPORTED_FLAGS: readonly (readonly [key: string, supported: unknown])[] = [
  ['scale_attn_weights', true],
  ['scale_attn_by_inverse_layer_idx', false],
  ['add_cross_attention', false],
  ['tie_word_embeddings', true],
];

/**
 * The `activation_function` values that are GELU's tanh approximation, the one this family
 * computes (`transformers.activations.ACT2FN`: `gelu_new` is `NewGELUActivation`,
 * `gelu_pytorch_tanh` is `PytorchGELUTanh`).
 */
const TANH_GELU_NAMES: readonly string[] = ['gelu_new', 'gelu_pytorch_tanh'];

/** Reads one field of a `config.json`, with an error naming the file. */
class ConfigJsonReader {
  constructor(
    private readonly json: Readonly<Record<string, unknown>>,
    private readonly path: string,
  ) {}

  positiveInteger(key: string): number {
    const value = this.json[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw this.error(key, 'a positive integer', value);
    }
    return value;
  }

  maybePositiveInteger(key: string): number | undefined {
    return this.json[key] === undefined || this.json[key] === null ? undefined : this.positiveInteger(key);
  }

  number(key: string, fallback: number): number {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw this.error(key, 'a number', value);
    }
    return value;
  }

  check(key: string, expected: unknown, fallback: unknown, what = `\`${JSON.stringify(expected)}\``): void {
    const value = this.json[key] ?? fallback;
    if (value !== expected) {
      throw this.error(key, `${what} (the GPT-2 family computes nothing else)`, value);
    }
  }

  oneOf(key: string, choices: readonly string[], fallback: string): void {
    const value = this.json[key] ?? fallback;
    if (typeof value !== 'string' || !choices.includes(value)) {
      throw this.error(key, `one of ${choices.map((c) => `\`${c}\``).join(', ')} (the GPT-2 family computes GELU's tanh approximation)`, value);
    }
  }

  private error(key: string, expected: string, value: unknown): CheckpointError {
    return new CheckpointError(
      this.path,
      `\`${key}\` in ${this.path} is expected to be ${expected}, but is ${value === undefined ? 'missing' : `\`${JSON.stringify(value)}\``} instead.`,
    );
  }
}

// Begin-example: hugging-face
/**
 * How the GPT-2 family reads and writes Hugging Face folders: `config.json` (`model_type: gpt2`)
 * to and from a {@link Gpt2Config}, and fs2 tensors to HF names for export, so that a
 * `save_pretrained` folder loads with no card (`GlobalModelLoader.loadFromPath`) and
 * `saveModel(model, config, dir, { format: 'hf' })` writes one `transformers` reads.
 */
export const gpt2HuggingFaceInterop: HuggingFaceInterop<Gpt2Config> = {
  modelTypes: ['gpt2'],

  /** @throws CheckpointError naming the file and the field that is missing, malformed or unsupported. */
  fromConfigJson(json, path): Gpt2Config {
    const read = new ConfigJsonReader(json, path);
    read.oneOf('activation_function', TANH_GELU_NAMES, 'gelu_new');
    for (const [key, supported] of UNSUPPORTED_FLAGS) {
      read.check(key, supported, supported);
    }
    const modelDim = read.positiveInteger('n_embd');
    const dropout = read.number('resid_pdrop', 0.1);
    return {
      model_dim: modelDim,
      num_layers: read.positiveInteger('n_layer'),
      num_heads: read.positiveInteger('n_head'),
      max_seq_len: read.positiveInteger('n_positions'),
      vocab_size: read.positiveInteger('vocab_size'),
      ffn_inner_dim: read.maybePositiveInteger('n_inner') ?? 4 * modelDim,
      layer_norm_eps: read.number('layer_norm_epsilon', 1e-5),
      dropout_p: dropout,
    };
  },

  toConfigJson(config): Record<string, unknown> {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: config.vocab_size,
      n_positions: config.max_seq_len,
      n_embd: config.model_dim,
      n_layer: config.num_layers,
      n_head: config.num_heads,
      n_inner: config.ffn_inner_dim === 4 * config.model_dim ? null : config.ffn_inner_dim,
      activation_function: 'gelu_new',
      layer_norm_epsilon: config.layer_norm_eps,
      resid_pdrop: config.dropout_p,
      embd_pdrop: config.dropout_p,
      attn_pdrop: config.dropout_p,
      initializer_range: 0.02, // GPT-2's, and `transformers`' default
      scale_attn_weights: true,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
    };
  },

  *exportTensor(entry: StateEntry): Generator<SourceTensor> {
    yield { key: GPT2_HF_EXPORT_KEY_MAP.convert(entry.name, 'the GPT-2 model state'), shape: entry.shape, data: entry.data };
  },
};
// End-example: hugging-face
