import {
  CheckpointError,
  ConfigFileReader,
  KeyMap,
  convertDecoderTensor,
  decoderParameterShapes,
  exportDecoderTensor,
  interleavedRotaryRows,
  readHuggingFaceDecoderConfig,
  type CheckpointConverter,
  type HuggingFaceInterop,
  type Llama3RopeScaling,
  type MetaInterop,
  type SourceTensor,
  type StateEntry,
} from '@fs2/core';

import { llamaDefaultConfig } from './archs.js';
import { LLAMA_FAMILY, llamaFfnInnerDim, type LlamaConfig, type LlamaRopeScaleConfig } from './config.js';
import { llamaDecoderConfig } from './factory.js';

// prettier-ignore
/**
 * Hugging Face (`LlamaForCausalLM`) -> fs2 parameter names: fairseq2's `_HG_KEY_MAP`
 * (`models/llama/interop.py`), verbatim. HF's q/k rows are in rotate-half order, which is also
 * fs2's: they need no permutation (fairseq2, which rotates interleaved pairs, permutes them).
 * `rotary_emb.inv_freq` (a buffer transformers saved before 4.31) is dropped: fs2 computes it.
 */
export const LLAMA_HF_KEY_MAP = new KeyMap('llama Hugging Face', [
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.q_proj\.`,        String.raw`decoder.layers.\1.self_attn.q_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.k_proj\.`,        String.raw`decoder.layers.\1.self_attn.k_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.v_proj\.`,        String.raw`decoder.layers.\1.self_attn.v_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.o_proj\.`,        String.raw`decoder.layers.\1.self_attn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.post_attention_layernorm\.`, String.raw`decoder.layers.\1.ffn_layer_norm.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.gate_proj\.`,           String.raw`decoder.layers.\1.ffn.gate_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.down_proj\.`,           String.raw`decoder.layers.\1.ffn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.up_proj\.`,             String.raw`decoder.layers.\1.ffn.inner_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.input_layernorm\.`,          String.raw`decoder.layers.\1.self_attn_layer_norm.`],
  [String.raw`^model\.norm\.`,                                       String.raw`decoder.layer_norm.`],
  [String.raw`^model\.embed_tokens\.`,                               String.raw`decoder_frontend.embed.`],
  [String.raw`^lm_head\.`,                                           String.raw`final_proj.`],
], { ignore: [/\.rotary_emb\.inv_freq$/] });

// prettier-ignore
/**
 * Meta reference (`consolidated.NN.pth`) -> fs2 parameter names: fairseq2's reference key map,
 * verbatim. `rope.freqs` (a buffer some releases saved) is dropped: fs2 computes the frequencies.
 * Meta rotates interleaved pairs, so q/k rows are permuted to rotate-half order on the way in.
 */
export const LLAMA_META_KEY_MAP = new KeyMap(
  'llama Meta reference',
  [
    [String.raw`^layers\.([0-9]+)\.attention\.wq\.`,    String.raw`decoder.layers.\1.self_attn.q_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention\.wk\.`,    String.raw`decoder.layers.\1.self_attn.k_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention\.wv\.`,    String.raw`decoder.layers.\1.self_attn.v_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention\.wo\.`,    String.raw`decoder.layers.\1.self_attn.output_proj.`],
    [String.raw`^layers\.([0-9]+)\.attention_norm\.`,   String.raw`decoder.layers.\1.self_attn_layer_norm.`],
    [String.raw`^layers\.([0-9]+)\.feed_forward\.w1\.`, String.raw`decoder.layers.\1.ffn.gate_proj.`],
    [String.raw`^layers\.([0-9]+)\.feed_forward\.w2\.`, String.raw`decoder.layers.\1.ffn.output_proj.`],
    [String.raw`^layers\.([0-9]+)\.feed_forward\.w3\.`, String.raw`decoder.layers.\1.ffn.inner_proj.`],
    [String.raw`^layers\.([0-9]+)\.ffn_norm\.`,         String.raw`decoder.layers.\1.ffn_layer_norm.`],
    [String.raw`^norm\.`,                               String.raw`decoder.layer_norm.`],
    [String.raw`^tok_embeddings\.`,                     String.raw`decoder_frontend.embed.`],
    [String.raw`^output\.`,                             String.raw`final_proj.`],
  ],
  { ignore: [/(^|\.)rope\.freqs$/] },
);

/** fs2 -> Hugging Face names, for export: the reverse of {@link LLAMA_HF_KEY_MAP}. */
export const LLAMA_HF_EXPORT_KEY_MAP = LLAMA_HF_KEY_MAP.reverse('llama Hugging Face export');

/** What export errors name as the source of a tensor. */
const EXPORTED_STATE = 'the exported llama state';

const shapeCache = new WeakMap<LlamaConfig, Map<string, number[]>>();

/** The fs2 parameter shapes of the model `config` describes (computed once per config object). */
function llamaShapes(config: LlamaConfig): Map<string, number[]> {
  let shapes = shapeCache.get(config);
  if (shapes === undefined) {
    shapes = decoderParameterShapes(llamaDecoderConfig(config));
    shapeCache.set(config, shapes);
  }
  return shapes;
}

/** The width of one attention head of `config`. */
export function llamaHeadDim(config: LlamaConfig): number {
  return config.head_dim ?? config.model_dim / config.num_attn_heads;
}

/**
 * Reads Hugging Face `LlamaForCausalLM` checkpoints (recognised by `model.embed_tokens.weight`):
 * renames through {@link LLAMA_HF_KEY_MAP}, checks each shape against the model's, transposes linear
 * weights to `[in, out]`. With tied embeddings an `lm_head.weight` (some exports keep a copy) is
 * dropped, and so are old `rotary_emb.inv_freq` buffers.
 */
export const llamaHuggingFaceConverter: CheckpointConverter<LlamaConfig> = {
  format: 'hf',
  matches: (keys) => keys.has('model.embed_tokens.weight'),
  isIgnored: (key) => LLAMA_HF_KEY_MAP.isIgnored(key),
  *convert(tensor, config, path) {
    if (LLAMA_HF_KEY_MAP.isIgnored(tensor.key)) {
      return;
    }
    const name = LLAMA_HF_KEY_MAP.convert(tensor.key, path);
    if (name === 'final_proj.weight' && config.tied_embeddings) {
      return;
    }
    yield convertDecoderTensor(tensor, name, { family: LLAMA_FAMILY, shapes: llamaShapes(config), path });
  },
};

/**
 * Reads Meta reference checkpoints (`consolidated.NN.pth`, recognised by `tok_embeddings.weight`):
 * renames through {@link LLAMA_META_KEY_MAP} (dropping `rope.freqs`), permutes the rows of `wq`
 * (per query head) and `wk` (per key/value head) from interleaved to rotate-half order, checks
 * shapes and transposes linear weights. With tied embeddings `output.weight` is dropped.
 */
export const llamaMetaConverter: CheckpointConverter<LlamaConfig> = {
  format: 'meta',
  matches: (keys) => keys.has('tok_embeddings.weight'),
  isIgnored: (key) => LLAMA_META_KEY_MAP.isIgnored(key),
  *convert(tensor, config, path) {
    if (LLAMA_META_KEY_MAP.isIgnored(tensor.key)) {
      return;
    }
    const name = LLAMA_META_KEY_MAP.convert(tensor.key, path);
    if (name === 'final_proj.weight' && config.tied_embeddings) {
      return;
    }
    yield convertDecoderTensor(tensor, name, {
      family: LLAMA_FAMILY,
      shapes: llamaShapes(config),
      path,
      ...interleavedRotaryRows(name, config.num_attn_heads, config.num_key_value_heads, llamaHeadDim(config)),
    });
  },
};

/** A rope scale from a `rope_scaling` dict of type `llama3` (HF `config.json`). */
function ropeScaleOf(scaling: Llama3RopeScaling): LlamaRopeScaleConfig {
  return {
    factor: scaling.factor,
    frequency_factors: [scaling.lowFreqFactor, scaling.highFreqFactor],
    original_context_length: scaling.originalMaxPositionEmbeddings,
  };
}

/**
 * Hugging Face interop of the llama family: `config.json` (`model_type` `llama`) to
 * {@link LlamaConfig} and back, and fs2 weights to HF names and layout for export.
 *
 * Reading `config.json`: `intermediate_size` becomes `ffn_inner_dim` used as is (scale, multiplier
 * and multiple 1); a missing `num_key_value_heads` means no grouping, a missing `rope_theta` 10000
 * (Llama 2), a missing `rms_norm_eps` 1e-6 and a missing `tie_word_embeddings` false
 * (transformers' `LlamaConfig` defaults); `rope_scaling` of type `llama3` sets `use_scaled_rope`
 * with its own factors; `head_dim` is kept when it differs from `hidden_size / num_attention_heads`.
 */
export const llamaHuggingFaceInterop: HuggingFaceInterop<LlamaConfig> = {
  modelTypes: ['llama'],

  fromConfigJson(json, path) {
    const hf = readHuggingFaceDecoderConfig(json, path);
    const scaling = hf.ropeScaling;
    if (scaling !== undefined && scaling.type !== 'llama3') {
      throw new CheckpointError(
        path,
        `\`rope_scaling\` in ${path} is of type \`${scaling.type}\`, but the llama model family implements only \`llama3\` scaling.`,
      );
    }
    if (hf.attentionBias === true || hf.mlpBias === true) {
      throw new CheckpointError(
        path,
        `${path} sets \`${hf.attentionBias === true ? 'attention_bias' : 'mlp_bias'}\`, but llama models in the llama model family have no biases.`,
      );
    }
    const defaults = llamaDefaultConfig();
    return {
      ...defaults,
      model_dim: hf.hiddenSize,
      max_seq_len: hf.maxPositionEmbeddings,
      vocab_size: hf.vocabSize,
      pad_idx: hf.padTokenId ?? null,
      tied_embeddings: hf.tieWordEmbeddings ?? false,
      num_layers: hf.numHiddenLayers,
      num_attn_heads: hf.numAttentionHeads,
      num_key_value_heads: hf.numKeyValueHeads ?? hf.numAttentionHeads,
      // Only a width other than the default is kept, so that a written config reads back unchanged.
      head_dim: hf.headDim === undefined || hf.headDim * hf.numAttentionHeads === hf.hiddenSize ? null : hf.headDim,
      ffn_inner_dim: hf.intermediateSize,
      ffn_inner_dim_scale: 1.0,
      ffn_inner_dim_multiplier: 1.0,
      ffn_inner_dim_multiple_of: 1,
      rope_theta: hf.ropeTheta ?? 10_000.0, // transformers' LlamaConfig default
      use_scaled_rope: scaling !== undefined,
      rope_scale: scaling === undefined ? defaults.rope_scale : ropeScaleOf(scaling),
      norm_eps: hf.rmsNormEps ?? 1e-6, // transformers' LlamaConfig default
    };
  },

  toConfigJson(config) {
    const [lowFreqFactor, highFreqFactor] = config.rope_scale.frequency_factors;
    // fairseq2's exporter: Llama 2's SentencePiece ids 1/2, Llama 3's 128000/128001; none for other vocabularies.
    const specials =
      config.vocab_size === 32_000
        ? { bos_token_id: 1, eos_token_id: 2 }
        : config.vocab_size === 128_256
          ? { bos_token_id: 128_000, eos_token_id: 128_001 }
          : {};
    return {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: config.model_dim,
      intermediate_size: llamaFfnInnerDim(config),
      num_hidden_layers: config.num_layers,
      num_attention_heads: config.num_attn_heads,
      num_key_value_heads: config.num_key_value_heads,
      head_dim: llamaHeadDim(config),
      max_position_embeddings: config.max_seq_len,
      vocab_size: config.vocab_size,
      rms_norm_eps: config.norm_eps,
      rope_theta: config.rope_theta,
      rope_scaling: config.use_scaled_rope
        ? {
            rope_type: 'llama3',
            factor: config.rope_scale.factor,
            low_freq_factor: lowFreqFactor,
            high_freq_factor: highFreqFactor,
            original_max_position_embeddings: config.rope_scale.original_context_length,
          }
        : null,
      tie_word_embeddings: config.tied_embeddings,
      attention_bias: false,
      mlp_bias: false,
      hidden_act: 'silu',
      ...specials,
      ...(config.pad_idx === null ? {} : { pad_token_id: config.pad_idx }),
      torch_dtype: 'float32',
    };
  },

  *exportTensor(entry: StateEntry): Generator<SourceTensor> {
    yield exportDecoderTensor(entry, LLAMA_HF_EXPORT_KEY_MAP.convert(entry.name, EXPORTED_STATE));
  },
};

/** Meta's reference code hard-codes these when `use_scaled_rope` is true (`apply_scaling`, Llama 3.1). */
export const META_LLAMA3_ROPE_SCALE: Readonly<LlamaRopeScaleConfig> = Object.freeze({
  factor: 8,
  frequency_factors: [1, 4],
  original_context_length: 8192,
}) as Readonly<LlamaRopeScaleConfig>;

/**
 * The feed-forward width of Meta's reference code (`FeedForward` in `model.py`):
 * `int(2 * 4 * dim / 3)`, times `ffn_dim_multiplier` (truncated), rounded up to `multiple_of`.
 */
export function metaLlamaFfnDim(dim: number, multiplier: number | undefined, multipleOf: number): number {
  let hidden = Math.trunc((2 * 4 * dim) / 3);
  if (multiplier !== undefined) {
    hidden = Math.trunc(multiplier * hidden);
  }
  return multipleOf * Math.ceil(hidden / multipleOf);
}

/**
 * Meta interop of the llama family: `params.json` of a reference checkpoint to {@link LlamaConfig}.
 *
 * - `n_kv_heads` absent: no grouping (Llama 2 7B/13B); `vocab_size: -1` or absent: the
 *   embedding's row count (`vocabSize`);
 * - the feed-forward width is Meta's ({@link metaLlamaFfnDim}); it is written in fairseq2's terms
 *   (`ffn_inner_dim = 4 * dim`, `ffn_dim_multiplier`, `multiple_of`) when those give the same width;
 * - `use_scaled_rope: true` scales with Meta's hard-coded constants ({@link META_LLAMA3_ROPE_SCALE}),
 *   unless the file carries a `rope_scaling` dict (an extension of fs2's test harness, in HF's
 *   form): `params.json` of Llama 3.2 1B/3B does not say their factor is 32, so load those with a
 *   card (`model_arch: llama3_2_1b`) rather than from the bare folder;
 * - `rope_theta` absent: 10000 (Llama 2); `norm_eps` absent: 1e-5;
 * - `max_seq_len` absent: 131072 with `use_scaled_rope` (Llama 3.1+), 8192 with the Llama 3
 *   vocabulary, 4096 otherwise (Llama 2): the context lengths Meta published for each.
 */
export const llamaMetaInterop: MetaInterop<LlamaConfig> = {
  fromParamsJson(json, path, vocabSize) {
    const params = new ConfigFileReader(json, path);
    const dim = params.positiveInteger('dim');
    const heads = params.positiveInteger('n_heads');
    const declaredVocab = params.maybeInteger('vocab_size');
    let vocab: number;
    if (declaredVocab !== undefined && declaredVocab > 0) {
      vocab = declaredVocab;
    } else if (vocabSize !== undefined) {
      vocab = vocabSize;
    } else {
      throw new CheckpointError(
        path,
        `${path} does not give \`vocab_size\` (${declaredVocab ?? 'absent'}), and the checkpoint beside it has no \`tok_embeddings.weight\` to take it from.`,
      );
    }
    const multiplier = params.maybePositiveNumber('ffn_dim_multiplier');
    const multipleOf = params.maybePositiveInteger('multiple_of') ?? 256;
    const ffnDim = metaLlamaFfnDim(dim, multiplier, multipleOf);
    const fairseq2Ffn = {
      ffn_inner_dim: 4 * dim,
      ffn_inner_dim_scale: 2 / 3,
      ffn_inner_dim_multiplier: multiplier ?? 1.0,
      ffn_inner_dim_multiple_of: multipleOf,
    };
    const ffn =
      llamaFfnInnerDim(fairseq2Ffn) === ffnDim
        ? fairseq2Ffn
        : { ffn_inner_dim: ffnDim, ffn_inner_dim_scale: 1.0, ffn_inner_dim_multiplier: 1.0, ffn_inner_dim_multiple_of: 1 };

    const useScaledRope = params.maybeBoolean('use_scaled_rope') ?? false;
    let ropeScale: LlamaRopeScaleConfig = { ...META_LLAMA3_ROPE_SCALE, frequency_factors: [...META_LLAMA3_ROPE_SCALE.frequency_factors] };
    const scaling = params.maybeObject('rope_scaling');
    if (scaling !== undefined) {
      ropeScale = {
        factor: scaling.positiveNumber('factor'),
        frequency_factors: [scaling.positiveNumber('low_freq_factor'), scaling.positiveNumber('high_freq_factor')],
        original_context_length: scaling.positiveInteger('original_max_position_embeddings'),
      };
    }
    const maxSeqLen =
      params.maybePositiveInteger('max_seq_len') ?? (useScaledRope ? 131_072 : vocab >= 128_000 ? 8192 : 4096);
    return {
      ...llamaDefaultConfig(),
      model_dim: dim,
      max_seq_len: maxSeqLen,
      vocab_size: vocab,
      num_layers: params.positiveInteger('n_layers'),
      num_attn_heads: heads,
      num_key_value_heads: params.maybePositiveInteger('n_kv_heads') ?? heads,
      ...ffn,
      rope_theta: params.maybePositiveNumber('rope_theta') ?? 10_000.0,
      use_scaled_rope: useScaledRope,
      rope_scale: ropeScale,
      norm_eps: params.maybePositiveNumber('norm_eps') ?? 1e-5,
      shard_embed_dim: vocab < 128_000,
    };
  },
};
