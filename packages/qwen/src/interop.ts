import {
  CheckpointError,
  KeyMap,
  NotSupportedError,
  convertDecoderTensor,
  decoderParameterShapes,
  exportDecoderTensor,
  readHuggingFaceDecoderConfig,
  type CheckpointConverter,
  type HuggingFaceInterop,
  type SourceTensor,
  type StateEntry,
} from '@fs2/core';

import { qwenDefaultConfig } from './archs.js';
import { QWEN_FAMILY, type QwenConfig } from './config.js';
import { qwenDecoderConfig } from './factory.js';

// prettier-ignore
/**
 * Hugging Face (`Qwen2ForCausalLM`, `Qwen3ForCausalLM`) -> fs2 parameter names: fairseq2's
 * `_HG_KEY_MAP` (`models/qwen/interop.py`), verbatim. The q/k/v biases map through the same
 * prefixes; rotary encodings are in rotate-half order on both sides, so nothing is permuted.
 */
export const QWEN_HF_KEY_MAP = new KeyMap('qwen Hugging Face', [
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.q_proj\.`,        String.raw`decoder.layers.\1.self_attn.q_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.k_proj\.`,        String.raw`decoder.layers.\1.self_attn.k_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.v_proj\.`,        String.raw`decoder.layers.\1.self_attn.v_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.q_norm\.`,        String.raw`decoder.layers.\1.self_attn.q_norm.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.k_norm\.`,        String.raw`decoder.layers.\1.self_attn.k_norm.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.o_proj\.`,        String.raw`decoder.layers.\1.self_attn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.post_attention_layernorm\.`, String.raw`decoder.layers.\1.ffn_layer_norm.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.up_proj\.`,             String.raw`decoder.layers.\1.ffn.inner_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.gate_proj\.`,           String.raw`decoder.layers.\1.ffn.gate_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.down_proj\.`,           String.raw`decoder.layers.\1.ffn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.input_layernorm\.`,          String.raw`decoder.layers.\1.self_attn_layer_norm.`],
  [String.raw`^model\.norm\.`,                                       String.raw`decoder.layer_norm.`],
  [String.raw`^model\.embed_tokens\.`,                               String.raw`decoder_frontend.embed.`],
  [String.raw`^lm_head\.`,                                           String.raw`final_proj.`],
], { ignore: [/\.rotary_emb\.inv_freq$/] });

/** fs2 -> Hugging Face names, for export: the reverse of {@link QWEN_HF_KEY_MAP}. */
export const QWEN_HF_EXPORT_KEY_MAP = QWEN_HF_KEY_MAP.reverse('qwen Hugging Face export');

/** What export errors name as the source of a tensor. */
const EXPORTED_STATE = 'the exported qwen state';

/** `<|endoftext|>` of the Qwen 2/2.5/3 vocabulary: BOS and EOS of the base models' `config.json`. */
const QWEN_ENDOFTEXT_ID = 151_643;

const shapeCache = new WeakMap<QwenConfig, Map<string, number[]>>();

function qwenShapes(config: QwenConfig): Map<string, number[]> {
  let shapes = shapeCache.get(config);
  if (shapes === undefined) {
    shapes = decoderParameterShapes(qwenDecoderConfig(config));
    shapeCache.set(config, shapes);
  }
  return shapes;
}

/**
 * Reads Hugging Face Qwen 2/2.5/3 checkpoints (recognised by `model.embed_tokens.weight`): renames
 * through {@link QWEN_HF_KEY_MAP}, checks each shape against the model's, transposes linear weights
 * to `[in, out]`. With tied embeddings an `lm_head.weight` (some exports keep a copy) is dropped.
 */
export const qwenHuggingFaceConverter: CheckpointConverter<QwenConfig> = {
  format: 'hf',
  matches: (keys) => keys.has('model.embed_tokens.weight'),
  isIgnored: (key) => QWEN_HF_KEY_MAP.isIgnored(key),
  *convert(tensor, config, path) {
    if (QWEN_HF_KEY_MAP.isIgnored(tensor.key)) {
      return; // A rotary buffer old transformers versions saved: fs2 computes the frequencies.
    }
    const name = QWEN_HF_KEY_MAP.convert(tensor.key, path);
    if (name === 'final_proj.weight' && config.tied_embeddings) {
      return;
    }
    yield convertDecoderTensor(tensor, name, { family: QWEN_FAMILY, shapes: qwenShapes(config), path });
  },
};

/**
 * Hugging Face interop of the qwen family: `config.json` (`model_type` `qwen2` or `qwen3`) to
 * {@link QwenConfig} and back, and fs2 weights to HF names and layout for export.
 *
 * Reading `config.json`: `qwen2` has q/k/v biases and no q/k norms (transformers' `Qwen2Attention`
 * hard-codes both); `qwen3` has q/k norms and biases only with `attention_bias`. A missing
 * `rope_theta` is 10000, a missing `rms_norm_eps` 1e-6, a missing `tie_word_embeddings` false
 * (transformers' defaults). Sliding-window attention (`use_sliding_window: true`, which Qwen
 * applies to some layers only) and `rope_scaling` (YaRN) are refused.
 *
 * Writing: a config with q/k norms is written as Qwen 3 (`attention_bias` for the biases), one
 * with biases and no norms as Qwen 2.
 */
export const qwenHuggingFaceInterop: HuggingFaceInterop<QwenConfig> = {
  modelTypes: ['qwen2', 'qwen3'],

  fromConfigJson(json, path) {
    const hf = readHuggingFaceDecoderConfig(json, path);
    if (hf.useSlidingWindow === true) {
      throw new CheckpointError(
        path,
        `${path} sets \`use_sliding_window\`, but the qwen model family implements only full attention.`,
      );
    }
    if (hf.ropeScaling !== undefined) {
      throw new CheckpointError(
        path,
        `\`rope_scaling\` in ${path} is of type \`${hf.ropeScaling.type}\`, but the qwen model family implements no rotary scaling.`,
      );
    }
    const qwen3 = hf.modelType === 'qwen3';
    return {
      ...qwenDefaultConfig(),
      model_dim: hf.hiddenSize,
      max_seq_len: hf.maxPositionEmbeddings,
      vocab_size: hf.vocabSize,
      tied_embeddings: hf.tieWordEmbeddings ?? false,
      num_layers: hf.numHiddenLayers,
      num_attn_heads: hf.numAttentionHeads,
      num_key_value_heads: hf.numKeyValueHeads ?? hf.numAttentionHeads,
      head_dim: hf.headDim ?? null,
      qkv_proj_bias: qwen3 ? (hf.attentionBias ?? false) : true,
      q_norm: qwen3,
      k_norm: qwen3,
      ffn_inner_dim: hf.intermediateSize,
      rope_theta: hf.ropeTheta ?? 10_000.0,
      norm_eps: hf.rmsNormEps ?? 1e-6,
    };
  },

  toConfigJson(config) {
    const qwen3 = config.q_norm && config.k_norm;
    if (!qwen3 && !config.qkv_proj_bias) {
      throw new NotSupportedError(
        'A qwen config without q/k/v biases and without q/k norms has no Hugging Face equivalent: Qwen 2 has the biases, Qwen 3 the norms.',
      );
    }
    const headDim = config.head_dim ?? config.model_dim / config.num_attn_heads;
    return {
      architectures: [qwen3 ? 'Qwen3ForCausalLM' : 'Qwen2ForCausalLM'],
      model_type: qwen3 ? 'qwen3' : 'qwen2',
      hidden_size: config.model_dim,
      intermediate_size: config.ffn_inner_dim,
      num_hidden_layers: config.num_layers,
      num_attention_heads: config.num_attn_heads,
      num_key_value_heads: config.num_key_value_heads,
      head_dim: headDim,
      max_position_embeddings: config.max_seq_len,
      vocab_size: config.vocab_size,
      rms_norm_eps: config.norm_eps,
      rope_theta: config.rope_theta,
      rope_scaling: null,
      tie_word_embeddings: config.tied_embeddings,
      use_sliding_window: false,
      sliding_window: null,
      max_window_layers: config.num_layers,
      ...(qwen3 ? { attention_bias: config.qkv_proj_bias } : {}),
      hidden_act: 'silu',
      ...(config.vocab_size > QWEN_ENDOFTEXT_ID ? { bos_token_id: QWEN_ENDOFTEXT_ID, eos_token_id: QWEN_ENDOFTEXT_ID } : {}),
      torch_dtype: 'float32',
    };
  },

  *exportTensor(entry: StateEntry): Generator<SourceTensor> {
    yield exportDecoderTensor(entry, QWEN_HF_EXPORT_KEY_MAP.convert(entry.name, EXPORTED_STATE));
  },
};
