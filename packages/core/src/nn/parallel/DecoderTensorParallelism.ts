import type { Gang } from '../../gang/Gang.js';
import { Embedding } from '../Embedding.js';
import { Linear } from '../Linear.js';
import type { ProjectionFactory } from '../Projection.js';
import type { ResolvedTransformerDecoderConfig } from '../TransformerDecoderConfig.js';
import { ColumnShardedLinear } from './ColumnShardedLinear.js';
import { checkTensorParallelSplit, type SplitProblem } from './errors.js';
import type { ParameterSharding } from './ParameterSharding.js';
import { RowShardedLinear } from './RowShardedLinear.js';
import { ShardedEmbedding } from './ShardedEmbedding.js';
import { VocabShardedEmbedding } from './VocabShardedEmbedding.js';

/**
 * How a family splits a decoder over a tensor-parallel gang: the choices fairseq2's factories make
 * per family (fairseq2-reference.md §3.4). What every decoder shares is fixed: q/k/v and gate/inner
 * are column-parallel (whole heads per rank, key/value heads split as query heads are), the
 * attention and feed-forward output projections row-parallel (all-reduced), norms replicated.
 */
export interface DecoderTensorParallelLayout {
  /**
   * The token embedding: split along the vocabulary (`vocab`: LLaMA 3, Qwen), along the model dim
   * (`model_dim`: LLaMA 1 and 2), or whole on every rank (`replicated`: Mistral).
   */
  readonly embedding: 'vocab' | 'model_dim' | 'replicated';
  /**
   * The output projection (`final_proj`): column-parallel over the vocabulary with the logits
   * all-gathered (`vocab`: LLaMA, Qwen), or whole on every rank (`replicated`: Mistral). With tied
   * embeddings the embedding projects, in its own layout, and this is not used.
   */
  readonly finalProjection: 'vocab' | 'replicated';
}

/** Shard dims (fs2 layout, linear weights `[in, out]`) of the parts every decoder splits the same way. */
const LAYER_SHARD_DIMS: readonly (readonly [RegExp, number])[] = [
  [/^decoder\.layers\.[0-9]+\.self_attn\.[qkv]_proj\.weight$/, 1],
  [/^decoder\.layers\.[0-9]+\.self_attn\.[qkv]_proj\.bias$/, 0],
  [/^decoder\.layers\.[0-9]+\.self_attn\.output_proj\.weight$/, 0],
  [/^decoder\.layers\.[0-9]+\.ffn\.(gate|inner)_proj\.weight$/, 1],
  [/^decoder\.layers\.[0-9]+\.ffn\.(gate|inner)_proj\.bias$/, 0],
  [/^decoder\.layers\.[0-9]+\.ffn\.output_proj\.weight$/, 0],
];

/**
 * A decoder split over the tensor-parallel gang `gang` in `layout`: what `TransformerDecoderModel`
 * builds its sharded modules with (`new TransformerDecoderModel(config, { tensorParallel })`), and
 * the {@link ParameterSharding} a checkpoint loader reads this rank's slices by.
 *
 * Rank `r` of `size` holds query heads `[r * h / size, (r + 1) * h / size)` and key/value heads
 * `[r * kv / size, ...)` (so each rank's query heads use its own key/value heads, as grouped-query
 * attention groups them), the matching columns of the feed-forward network, and its part of the
 * embedding and output projection by `layout`. The ranks meet twice per layer (after each output
 * projection) plus once for the embedding and once for the logits.
 */
export class DecoderTensorParallelism implements ParameterSharding {
  constructor(
    readonly gang: Gang,
    readonly layout: DecoderTensorParallelLayout,
  ) {}

  get rank(): number {
    return this.gang.rank;
  }

  get size(): number {
    return this.gang.size;
  }

  /**
   * Checks that the gang's size divides what `config` splits (in the decoder config's names; a
   * family's sharder checks first, in its own).
   *
   * @throws TensorParallelSplitError naming each dimension that does not divide.
   */
  check(config: ResolvedTransformerDecoderConfig): void {
    const dims: SplitProblem[] = [
      { label: '`numHeads`', value: config.numHeads },
      { label: '`numKvHeads`', value: config.numKvHeads },
      { label: '`ffnInnerDim`', value: config.ffnInnerDim },
    ];
    const embedding = this.layout.embedding;
    if (embedding === 'vocab' || (!config.tiedEmbeddings && this.layout.finalProjection === 'vocab')) {
      dims.push({ label: '`vocabSize`', value: config.vocabSize });
    }
    if (embedding === 'model_dim') {
      dims.push({ label: '`modelDim`', value: config.modelDim });
    }
    checkTensorParallelSplit('The transformer decoder', this.size, dims);
  }

  /**
   * The config of this rank's part, for sizing it (memory, KV cache): the heads, key/value heads and
   * feed-forward width of one rank, and the vocabulary of its embedding and head when they are split.
   */
  localConfig(config: ResolvedTransformerDecoderConfig): ResolvedTransformerDecoderConfig {
    const size = this.size;
    // The head's weights and logits: split when the head is (the embedding's layout when tied).
    const vocabSplit = config.tiedEmbeddings ? this.layout.embedding !== 'replicated' : this.layout.finalProjection === 'vocab';
    return {
      ...config,
      numHeads: config.numHeads / size,
      numKvHeads: config.numKvHeads / size,
      ffnInnerDim: config.ffnInnerDim / size,
      vocabSize: vocabSplit ? config.vocabSize / size : config.vocabSize,
    };
  }

  /** The token embedding (`decoder_frontend.embed`) in the layout's kind. */
  createEmbedding(config: ResolvedTransformerDecoderConfig): Embedding {
    const name = 'decoder_frontend.embed';
    const options = { tiedProjection: config.tiedEmbeddings };
    switch (this.layout.embedding) {
      case 'vocab':
        return new VocabShardedEmbedding(name, config.vocabSize, config.modelDim, this.gang, options);
      case 'model_dim':
        return new ShardedEmbedding(name, config.vocabSize, config.modelDim, this.gang, options);
      case 'replicated':
        return new Embedding(name, config.vocabSize, config.modelDim, options);
    }
  }

  /** The output projection (`final_proj`) of an untied model, in the layout's kind. */
  createFinalProjection(config: ResolvedTransformerDecoderConfig): Linear {
    return this.layout.finalProjection === 'vocab'
      ? new ColumnShardedLinear('final_proj', config.modelDim, config.vocabSize, this.gang)
      : new Linear('final_proj', config.modelDim, config.vocabSize);
  }

  /** The attention and feed-forward output projections: row-parallel, all-reduced. */
  readonly outputProjection: ProjectionFactory = (name, inDim, outDim) => new RowShardedLinear(name, inDim * this.size, outDim, this.gang);

  shardDim(name: string): number | undefined {
    const layer = LAYER_SHARD_DIMS.find(([pattern]) => pattern.test(name));
    if (layer !== undefined) {
      return layer[1];
    }
    if (name === 'decoder_frontend.embed.weight') {
      return this.layout.embedding === 'vocab' ? 0 : this.layout.embedding === 'model_dim' ? 1 : undefined;
    }
    if (name === 'final_proj.weight') {
      return this.layout.finalProjection === 'vocab' ? 1 : undefined;
    }
    if (name === 'final_proj.bias') {
      return this.layout.finalProjection === 'vocab' ? 0 : undefined;
    }
    return undefined;
  }
}
