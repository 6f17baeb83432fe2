import { CheckpointError } from '../checkpoint/errors.js';
import { ConfigFileReader, describeJson } from './ConfigFileReader.js';
import type { RopeScaling } from './TransformerDecoderConfig.js';

/**
 * The fields of a Hugging Face `config.json` that describe a decoder-only transformer of the kind
 * {@link TransformerDecoderModel} runs (transformers' `LlamaConfig`, `Qwen2Config`, `Qwen3Config`,
 * `MistralConfig`), read and type-checked by {@link readHuggingFaceDecoderConfig}. A field a
 * config may omit is `undefined` here, so that each family applies its own transformers default.
 */
export interface HuggingFaceDecoderConfig {
  /** `model_type` (`llama`, `qwen2`, ...). */
  readonly modelType: string;
  /** `vocab_size`. */
  readonly vocabSize: number;
  /** `hidden_size`. */
  readonly hiddenSize: number;
  /** `num_hidden_layers`. */
  readonly numHiddenLayers: number;
  /** `num_attention_heads`. */
  readonly numAttentionHeads: number;
  /** `num_key_value_heads` (absent in Llama 1 configs: no grouping). */
  readonly numKeyValueHeads: number | undefined;
  /** `head_dim` (absent or `null` in many configs: `hidden_size / num_attention_heads`). */
  readonly headDim: number | undefined;
  /** `intermediate_size`: the feed-forward width, as is. */
  readonly intermediateSize: number;
  /** `rms_norm_eps`. */
  readonly rmsNormEps: number | undefined;
  /** `rope_theta` (absent in Llama 2 configs, whose θ is 10000). */
  readonly ropeTheta: number | undefined;
  /**
   * `rope_scaling`: `llama3` (with its own `low_freq_factor`, `high_freq_factor` and
   * `original_max_position_embeddings`) or `linear`; `undefined` when absent, `null` or of type
   * `default`.
   */
  readonly ropeScaling: RopeScaling | undefined;
  /** `tie_word_embeddings`. */
  readonly tieWordEmbeddings: boolean | undefined;
  /** `max_position_embeddings`. */
  readonly maxPositionEmbeddings: number;
  /** `sliding_window` (`null` reads as `undefined`). */
  readonly slidingWindow: number | undefined;
  /** `use_sliding_window` (Qwen 2's switch). */
  readonly useSlidingWindow: boolean | undefined;
  /** `attention_bias`. */
  readonly attentionBias: boolean | undefined;
  /** `mlp_bias`. */
  readonly mlpBias: boolean | undefined;
  /** `bos_token_id`. */
  readonly bosTokenId: number | undefined;
  /** `eos_token_id`, which may be one id or a list (Llama 3.1 Instruct: `[128001, 128008, 128009]`). Empty when absent. */
  readonly eosTokenIds: readonly number[];
  /** `pad_token_id`. */
  readonly padTokenId: number | undefined;
}

function readRopeScaling(config: ConfigFileReader): RopeScaling | undefined {
  const scaling = config.maybeObject('rope_scaling');
  if (scaling === undefined) {
    return undefined;
  }
  // transformers reads `rope_type`, and `type` in configs written before 4.43.
  const type = scaling.json['rope_type'] ?? scaling.json['type'];
  switch (type) {
    case 'default':
      return undefined;
    case 'linear':
      return { type: 'linear', factor: scaling.positiveNumber('factor') };
    case 'llama3':
      return {
        type: 'llama3',
        factor: scaling.positiveNumber('factor'),
        lowFreqFactor: scaling.positiveNumber('low_freq_factor'),
        highFreqFactor: scaling.positiveNumber('high_freq_factor'),
        originalMaxPositionEmbeddings: scaling.positiveNumber('original_max_position_embeddings'),
      };
    default:
      throw new CheckpointError(
        config.path,
        `\`rope_scaling\` in ${config.path} is of type ${describeJson(type)}, which fs2 does not implement (it implements \`llama3\` and \`linear\`).`,
      );
  }
}

/**
 * Reads the decoder fields of a Hugging Face `config.json` (already parsed), checking each type.
 * `path` names the file in messages.
 *
 * @throws CheckpointError naming the field, the file and the value, when a required field is
 *   missing or a field has the wrong type.
 */
export function readHuggingFaceDecoderConfig(json: Readonly<Record<string, unknown>>, path: string): HuggingFaceDecoderConfig {
  const config = new ConfigFileReader(json, path);
  return {
    modelType: config.string('model_type'),
    vocabSize: config.positiveInteger('vocab_size'),
    hiddenSize: config.positiveInteger('hidden_size'),
    numHiddenLayers: config.positiveInteger('num_hidden_layers'),
    numAttentionHeads: config.positiveInteger('num_attention_heads'),
    numKeyValueHeads: config.maybePositiveInteger('num_key_value_heads'),
    headDim: config.maybePositiveInteger('head_dim'),
    intermediateSize: config.positiveInteger('intermediate_size'),
    rmsNormEps: config.maybePositiveNumber('rms_norm_eps'),
    ropeTheta: config.maybePositiveNumber('rope_theta'),
    ropeScaling: readRopeScaling(config),
    tieWordEmbeddings: config.maybeBoolean('tie_word_embeddings'),
    maxPositionEmbeddings: config.positiveInteger('max_position_embeddings'),
    slidingWindow: config.maybePositiveInteger('sliding_window'),
    useSlidingWindow: config.maybeBoolean('use_sliding_window'),
    attentionBias: config.maybeBoolean('attention_bias'),
    mlpBias: config.maybeBoolean('mlp_bias'),
    bosTokenId: config.maybeTokenId('bos_token_id'),
    eosTokenIds: config.tokenIds('eos_token_id'),
    padTokenId: config.maybeTokenId('pad_token_id'),
  };
}
