import { DecoderConfigError } from './errors.js';

/**
 * Llama 3.1 frequency scaling of rotary encodings (HF `rope_scaling` with `rope_type: "llama3"`).
 * With `wavelen = 2π / invFreq`: wavelengths shorter than `originalMaxPositionEmbeddings /
 * highFreqFactor` keep their frequency, longer than `originalMaxPositionEmbeddings /
 * lowFreqFactor` are divided by `factor`, and the band between is interpolated smoothly
 * (`transformers`' `_compute_llama3_parameters`; fairseq2's `init_llama_rope_freqs`).
 * Every field comes from the checkpoint's config: none has a default.
 */
export interface Llama3RopeScaling {
  readonly type: 'llama3';
  /** The divisor of low frequencies (8 for Llama 3.1, 32 for Llama 3.2 1B/3B). */
  readonly factor: number;
  /** `low_freq_factor` (1 in Llama 3.x configs). */
  readonly lowFreqFactor: number;
  /** `high_freq_factor` (4 in Llama 3.x configs). */
  readonly highFreqFactor: number;
  /** `original_max_position_embeddings` (8192 in Llama 3.x configs). */
  readonly originalMaxPositionEmbeddings: number;
}

/**
 * Linear ("position interpolation") scaling of rotary encodings (HF `rope_type: "linear"`): every
 * frequency is divided by `factor`, which is the same as dividing positions by it.
 */
export interface LinearRopeScaling {
  readonly type: 'linear';
  readonly factor: number;
}

/** A rotary frequency scaling rule. */
export type RopeScaling = Llama3RopeScaling | LinearRopeScaling;

/**
 * The generic description of a pre-norm decoder-only transformer (LLaMA, Qwen 2/2.5/3, Mistral):
 * token embedding, `numLayers` layers of RMSNorm → grouped-query attention with rotary encodings →
 * residual, RMSNorm → SwiGLU feed-forward → residual, a final RMSNorm and a vocabulary projection.
 *
 * Model families map their own configs onto this one (fields in fairseq2's vocabulary, camelCase).
 * Optional fields show their default; {@link resolveTransformerDecoderConfig} fills them in.
 */
export interface TransformerDecoderConfig {
  /** Size of the vocabulary (rows of the embedding, outputs of the head). Required. */
  readonly vocabSize: number;
  /** Width of the residual stream (`model_dim`, HF `hidden_size`). Required. */
  readonly modelDim: number;
  /** Number of decoder layers (`num_layers`, HF `num_hidden_layers`). Required. */
  readonly numLayers: number;
  /** Number of query heads (`num_attn_heads`). Required. */
  readonly numHeads: number;
  /**
   * Number of key/value heads (`num_key_value_heads`); query head `h` uses key/value head
   * `floor(h / (numHeads / numKvHeads))`. Must divide `numHeads`. Default: `numHeads` (no grouping).
   */
  readonly numKvHeads?: number;
  /**
   * Width of one attention head. Default: `modelDim / numHeads`. Qwen 3 sets it explicitly
   * (128 for Qwen3-0.6B, whose `modelDim / numHeads` is 64). Must be even (rotary pairs).
   */
  readonly headDim?: number;
  /** Inner width of the SwiGLU feed-forward network (HF `intermediate_size`), used as is. Required. */
  readonly ffnInnerDim: number;
  /** Epsilon of every RMSNorm (HF `rms_norm_eps`). Default: `1e-5` (fairseq2's `RMSNorm`; Qwen uses 1e-6). */
  readonly normEps?: number;
  /** Base θ of the rotary frequencies `θ^(-2j/headDim)` (HF `rope_theta`). Default: `10000`. */
  readonly ropeTheta?: number;
  /** Rotary frequency scaling (HF `rope_scaling`). Default: none. */
  readonly ropeScaling?: RopeScaling;
  /**
   * Whether the output projection reuses the embedding matrix (HF `tie_word_embeddings`); the state
   * then has no `final_proj.weight`. Default: `false`.
   */
  readonly tiedEmbeddings?: boolean;
  /** Whether the q, k and v projections have biases (Qwen 2/2.5). Default: `false`. */
  readonly qkvBias?: boolean;
  /**
   * Whether q and k go through an RMSNorm over `headDim` (weights `q_norm`, `k_norm`, eps `normEps`)
   * after their projections and before the rotary encoding (Qwen 3). Default: `false`.
   */
  readonly qkNorm?: boolean;
  /**
   * Sliding attention window W (Mistral's `sliding_window`): the query at position i attends to the
   * keys j with `i - W < j <= i` (W keys including itself), as transformers, llama.cpp and vLLM do.
   * Default: none (full causal attention).
   */
  readonly slidingWindow?: number;
  /** Longest sequence the model supports (HF `max_position_embeddings`). Default: `2048` (fairseq2's LLaMA default). */
  readonly maxSeqLen?: number;
}

/** A {@link TransformerDecoderConfig} with every default filled in and every field checked. */
export interface ResolvedTransformerDecoderConfig {
  readonly vocabSize: number;
  readonly modelDim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly ffnInnerDim: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | undefined;
  readonly tiedEmbeddings: boolean;
  readonly qkvBias: boolean;
  readonly qkNorm: boolean;
  readonly slidingWindow: number | undefined;
  readonly maxSeqLen: number;
}

/** The defaults of the optional {@link TransformerDecoderConfig} fields that do not depend on others. */
export const TRANSFORMER_DECODER_DEFAULTS = {
  /** fairseq2's `RMSNorm` default eps. */
  normEps: 1e-5,
  /** The RoFormer paper's θ (arXiv:2104.09864, §3.2.2), LLaMA 1/2's and Mistral's. */
  ropeTheta: 10_000,
  tiedEmbeddings: false,
  qkvBias: false,
  qkNorm: false,
  /** fairseq2's `LLaMAConfig.max_seq_len` default. */
  maxSeqLen: 2048,
} as const;

/**
 * Fills in the defaults of `config` and checks every field.
 *
 * @throws DecoderConfigError naming the first invalid field.
 */
export function resolveTransformerDecoderConfig(
  config: TransformerDecoderConfig | ResolvedTransformerDecoderConfig,
): ResolvedTransformerDecoderConfig {
  const positive = (field: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new DecoderConfigError(
        field,
        `\`${field}\` of the transformer decoder config is expected to be a positive integer, but is ${describe(value)} instead.`,
      );
    }
    return value;
  };
  const positiveReal = (field: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new DecoderConfigError(
        field,
        `\`${field}\` of the transformer decoder config is expected to be a positive number, but is ${describe(value)} instead.`,
      );
    }
    return value;
  };
  const flag = (field: string, value: unknown, fallback: boolean): boolean => {
    if (value === undefined) {
      return fallback;
    }
    if (typeof value !== 'boolean') {
      throw new DecoderConfigError(
        field,
        `\`${field}\` of the transformer decoder config is expected to be a boolean, but is ${describe(value)} instead.`,
      );
    }
    return value;
  };

  const vocabSize = positive('vocabSize', config.vocabSize);
  const modelDim = positive('modelDim', config.modelDim);
  const numLayers = positive('numLayers', config.numLayers);
  const numHeads = positive('numHeads', config.numHeads);
  const numKvHeads = positive('numKvHeads', config.numKvHeads ?? numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new DecoderConfigError(
      'numKvHeads',
      `\`numKvHeads\` (${numKvHeads}) of the transformer decoder config must divide \`numHeads\` (${numHeads}).`,
    );
  }
  let headDim: number;
  if (config.headDim === undefined) {
    if (modelDim % numHeads !== 0) {
      throw new DecoderConfigError(
        'headDim',
        `\`headDim\` of the transformer decoder config is not set and \`modelDim\` (${modelDim}) is not a multiple of \`numHeads\` (${numHeads}).`,
      );
    }
    headDim = modelDim / numHeads;
  } else {
    headDim = positive('headDim', config.headDim);
  }
  if (headDim % 2 !== 0) {
    throw new DecoderConfigError(
      'headDim',
      `\`headDim\` (${headDim}) of the transformer decoder config must be even: rotary encodings rotate pairs of dimensions.`,
    );
  }
  const ffnInnerDim = positive('ffnInnerDim', config.ffnInnerDim);
  const normEps = positiveReal('normEps', config.normEps ?? TRANSFORMER_DECODER_DEFAULTS.normEps);
  const ropeTheta = positiveReal('ropeTheta', config.ropeTheta ?? TRANSFORMER_DECODER_DEFAULTS.ropeTheta);
  const ropeScaling = config.ropeScaling === undefined ? undefined : checkRopeScaling(config.ropeScaling);
  const slidingWindow =
    config.slidingWindow === undefined ? undefined : positive('slidingWindow', config.slidingWindow);
  const maxSeqLen = positive('maxSeqLen', config.maxSeqLen ?? TRANSFORMER_DECODER_DEFAULTS.maxSeqLen);
  return {
    vocabSize,
    modelDim,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    ffnInnerDim,
    normEps,
    ropeTheta,
    ropeScaling,
    tiedEmbeddings: flag('tiedEmbeddings', config.tiedEmbeddings, TRANSFORMER_DECODER_DEFAULTS.tiedEmbeddings),
    qkvBias: flag('qkvBias', config.qkvBias, TRANSFORMER_DECODER_DEFAULTS.qkvBias),
    qkNorm: flag('qkNorm', config.qkNorm, TRANSFORMER_DECODER_DEFAULTS.qkNorm),
    slidingWindow,
    maxSeqLen,
  };
}

function checkRopeScaling(scaling: RopeScaling): RopeScaling {
  const real = (field: string, value: unknown): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new DecoderConfigError(
        `ropeScaling.${field}`,
        `\`ropeScaling.${field}\` of the transformer decoder config is expected to be a positive number, but is ${describe(value)} instead.`,
      );
    }
    return value;
  };
  switch (scaling.type) {
    case 'linear':
      return { type: 'linear', factor: real('factor', scaling.factor) };
    case 'llama3': {
      const result: Llama3RopeScaling = {
        type: 'llama3',
        factor: real('factor', scaling.factor),
        lowFreqFactor: real('lowFreqFactor', scaling.lowFreqFactor),
        highFreqFactor: real('highFreqFactor', scaling.highFreqFactor),
        originalMaxPositionEmbeddings: real('originalMaxPositionEmbeddings', scaling.originalMaxPositionEmbeddings),
      };
      if (result.highFreqFactor <= result.lowFreqFactor) {
        throw new DecoderConfigError(
          'ropeScaling.highFreqFactor',
          `\`ropeScaling.highFreqFactor\` (${result.highFreqFactor}) of the transformer decoder config must be greater than \`ropeScaling.lowFreqFactor\` (${result.lowFreqFactor}).`,
        );
      }
      return result;
    }
    default:
      throw new DecoderConfigError(
        'ropeScaling.type',
        `\`ropeScaling.type\` of the transformer decoder config is expected to be 'llama3' or 'linear', but is ${describe((scaling as { type?: unknown }).type)} instead.`,
      );
  }
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'missing';
  }
  return `${JSON.stringify(value)} (${typeof value})`;
}
