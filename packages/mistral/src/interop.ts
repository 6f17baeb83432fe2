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
  type MetaInterop,
  type SourceTensor,
  type StateEntry,
} from '@fs2/core';

import { mistralDefaultConfig } from './archs.js';
import { MISTRAL_FAMILY, type MistralConfig } from './config.js';
import { mistralDecoderConfig } from './factory.js';

// prettier-ignore
/**
 * Hugging Face (`MistralForCausalLM`) -> fs2 parameter names. fairseq2 has none (it reads only
 * Mistral's reference checkpoints); the table is LLaMA's, whose HF layout Mistral shares. HF's q/k
 * rows are in rotate-half order, which is also fs2's: nothing is permuted.
 */
export const MISTRAL_HF_KEY_MAP = new KeyMap('mistral Hugging Face', [
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
 * Mistral reference (`consolidated.00.pth` / `consolidated.safetensors`) -> fs2 parameter names:
 * fairseq2's `convert_mistral_state_dict` table (LLaMA's reference map), verbatim. The reference
 * code rotates interleaved pairs, so q/k rows are permuted to rotate-half order on the way in.
 */
export const MISTRAL_REFERENCE_KEY_MAP = new KeyMap('mistral reference', [
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
]);

/** fs2 -> Hugging Face names, for export: the reverse of {@link MISTRAL_HF_KEY_MAP}. */
export const MISTRAL_HF_EXPORT_KEY_MAP = MISTRAL_HF_KEY_MAP.reverse('mistral Hugging Face export');

/** What export errors name as the source of a tensor. */
const EXPORTED_STATE = 'the exported mistral state';

const shapeCache = new WeakMap<MistralConfig, Map<string, number[]>>();

function mistralShapes(config: MistralConfig): Map<string, number[]> {
  let shapes = shapeCache.get(config);
  if (shapes === undefined) {
    shapes = decoderParameterShapes(mistralDecoderConfig(config));
    shapeCache.set(config, shapes);
  }
  return shapes;
}

/**
 * Reads Hugging Face `MistralForCausalLM` checkpoints (recognised by `model.embed_tokens.weight`),
 * which fairseq2 itself cannot load: renames through {@link MISTRAL_HF_KEY_MAP}, checks each shape,
 * transposes linear weights to `[in, out]`.
 */
export const mistralHuggingFaceConverter: CheckpointConverter<MistralConfig> = {
  format: 'hf',
  matches: (keys) => keys.has('model.embed_tokens.weight'),
  isIgnored: (key) => MISTRAL_HF_KEY_MAP.isIgnored(key),
  *convert(tensor, config, path) {
    if (MISTRAL_HF_KEY_MAP.isIgnored(tensor.key)) {
      return; // A rotary buffer old transformers versions saved: fs2 computes the frequencies.
    }
    const name = MISTRAL_HF_KEY_MAP.convert(tensor.key, path);
    yield convertDecoderTensor(tensor, name, { family: MISTRAL_FAMILY, shapes: mistralShapes(config), path });
  },
};

/**
 * Reads Mistral's reference checkpoints (recognised by `tok_embeddings.weight`): renames through
 * {@link MISTRAL_REFERENCE_KEY_MAP}, permutes the rows of `wq` (per query head) and `wk` (per
 * key/value head) from interleaved to rotate-half order, checks shapes, transposes linear weights.
 */
export const mistralReferenceConverter: CheckpointConverter<MistralConfig> = {
  format: 'meta',
  matches: (keys) => keys.has('tok_embeddings.weight'),
  *convert(tensor, config, path) {
    const name = MISTRAL_REFERENCE_KEY_MAP.convert(tensor.key, path);
    const headDim = config.head_dim ?? config.model_dim / config.num_attn_heads;
    yield convertDecoderTensor(tensor, name, {
      family: MISTRAL_FAMILY,
      shapes: mistralShapes(config),
      path,
      ...interleavedRotaryRows(name, config.num_attn_heads, config.num_key_value_heads, headDim),
    });
  },
};

/**
 * Hugging Face interop of the mistral family: `config.json` (`model_type` `mistral`) to
 * {@link MistralConfig} and back, and fs2 weights to HF names and layout for export.
 *
 * Reading `config.json`: `sliding_window` becomes `attn_window_len` (`null`: full attention); a
 * missing `rope_theta` is 10000, a missing `rms_norm_eps` 1e-6 (transformers' `MistralConfig`
 * defaults); `head_dim` is kept when it differs from `hidden_size / num_attention_heads`. Tied embeddings and `rope_scaling` are refused.
 */
export const mistralHuggingFaceInterop: HuggingFaceInterop<MistralConfig> = {
  modelTypes: ['mistral'],

  fromConfigJson(json, path) {
    const hf = readHuggingFaceDecoderConfig(json, path);
    if (hf.tieWordEmbeddings === true) {
      throw new CheckpointError(path, `${path} sets \`tie_word_embeddings\`, but mistral models have an output projection of their own.`);
    }
    if (hf.ropeScaling !== undefined) {
      throw new CheckpointError(
        path,
        `\`rope_scaling\` in ${path} is of type \`${hf.ropeScaling.type}\`, but the mistral model family implements no rotary scaling.`,
      );
    }
    return {
      ...mistralDefaultConfig(),
      model_dim: hf.hiddenSize,
      max_seq_len: hf.maxPositionEmbeddings,
      vocab_size: hf.vocabSize,
      pad_idx: hf.padTokenId ?? null,
      attn_window_len: hf.slidingWindow ?? null,
      num_layers: hf.numHiddenLayers,
      num_attn_heads: hf.numAttentionHeads,
      num_key_value_heads: hf.numKeyValueHeads ?? hf.numAttentionHeads,
      // Only a width other than the default is kept, so that a written config reads back unchanged.
      head_dim: hf.headDim === undefined || hf.headDim * hf.numAttentionHeads === hf.hiddenSize ? null : hf.headDim,
      ffn_inner_dim: hf.intermediateSize,
      rope_theta: hf.ropeTheta ?? 10_000.0,
      norm_eps: hf.rmsNormEps ?? 1e-6,
    };
  },

  toConfigJson(config) {
    return {
      architectures: ['MistralForCausalLM'],
      model_type: 'mistral',
      hidden_size: config.model_dim,
      intermediate_size: config.ffn_inner_dim,
      num_hidden_layers: config.num_layers,
      num_attention_heads: config.num_attn_heads,
      num_key_value_heads: config.num_key_value_heads,
      head_dim: config.head_dim ?? config.model_dim / config.num_attn_heads,
      max_position_embeddings: config.max_seq_len,
      vocab_size: config.vocab_size,
      rms_norm_eps: config.norm_eps,
      rope_theta: config.rope_theta,
      sliding_window: config.attn_window_len,
      tie_word_embeddings: false,
      hidden_act: 'silu',
      // Mistral's SentencePiece vocabularies (32000 and 32768 tokens) put <s> at 1 and </s> at 2.
      ...(config.vocab_size === 32_000 || config.vocab_size === 32_768 ? { bos_token_id: 1, eos_token_id: 2 } : {}),
      ...(config.pad_idx === null ? {} : { pad_token_id: config.pad_idx }),
      torch_dtype: 'float32',
    };
  },

  *exportTensor(entry: StateEntry): Generator<SourceTensor> {
    yield exportDecoderTensor(entry, MISTRAL_HF_EXPORT_KEY_MAP.convert(entry.name, EXPORTED_STATE));
  },
};

/**
 * Reference interop of the mistral family: `params.json` of a Mistral reference checkpoint
 * (`dim`, `n_layers`, `head_dim`, `hidden_dim`, `n_heads`, `n_kv_heads`, `norm_eps`,
 * `sliding_window`, `vocab_size`, `rope_theta`, `max_seq_len`) to {@link MistralConfig}. Absent:
 * `n_kv_heads` = `n_heads`, `sliding_window` = full attention, `rope_theta` = 10000 (v0.1),
 * `norm_eps` = 1e-5, `vocab_size` (or `-1`) = the embedding's rows, `max_seq_len` = 8192 with a
 * window (v0.1's context) and 32768 without (v0.2 and later).
 */
export const mistralMetaInterop: MetaInterop<MistralConfig> = {
  fromParamsJson(json, path, vocabSize) {
    const params = new ConfigFileReader(json, path);
    const dim = params.positiveInteger('dim');
    const heads = params.positiveInteger('n_heads');
    const declaredVocab = params.maybeInteger('vocab_size');
    const vocab = declaredVocab !== undefined && declaredVocab > 0 ? declaredVocab : vocabSize;
    if (vocab === undefined) {
      throw new CheckpointError(
        path,
        `${path} does not give \`vocab_size\` (${declaredVocab ?? 'absent'}), and the checkpoint beside it has no \`tok_embeddings.weight\` to take it from.`,
      );
    }
    const window = params.maybePositiveInteger('sliding_window') ?? null;
    const headDim = params.maybePositiveInteger('head_dim');
    return {
      ...mistralDefaultConfig(),
      model_dim: dim,
      max_seq_len: params.maybePositiveInteger('max_seq_len') ?? (window === null ? 32_768 : 8192),
      vocab_size: vocab,
      attn_window_len: window,
      num_layers: params.positiveInteger('n_layers'),
      num_attn_heads: heads,
      num_key_value_heads: params.maybePositiveInteger('n_kv_heads') ?? heads,
      head_dim: headDim === undefined || headDim * heads === dim ? null : headDim,
      ffn_inner_dim: params.positiveInteger('hidden_dim'),
      rope_theta: params.maybePositiveNumber('rope_theta') ?? 10_000.0,
      norm_eps: params.maybePositiveNumber('norm_eps') ?? 1e-5,
    };
  },
};
