import type { TensorRowReader } from '../checkpoint/CheckpointReader.js';
import { checkTensorShape } from '../checkpoint/checkTensorShape.js';
import { CheckpointError } from '../checkpoint/errors.js';
import { interleavedToRotateHalf, rotateHalfToInterleaved } from '../checkpoint/rotaryPermutation.js';
import { transpose2d } from './Embedding.js';
import type { StateEntry } from './loadModuleState.js';
import type { TransformerDecoderConfig } from './TransformerDecoderConfig.js';
import { TransformerDecoderModel } from './TransformerDecoderModel.js';

/**
 * The parameters of the decoder `config` describes, fs2 name -> fs2 shape, from a shape-only model
 * (nothing is allocated). What a family's checkpoint converter checks each tensor against.
 */
export function decoderParameterShapes(config: TransformerDecoderConfig): Map<string, number[]> {
  return new TransformerDecoderModel(config).parameterShapes();
}

/**
 * Whether the fs2 parameter `name` of `shape` is a linear weight, stored `[in, out]` (the transpose
 * of PyTorch's `[out, in]`): every 2-D parameter of a decoder but the embedding table.
 */
export function isDecoderLinearWeight(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && !name.startsWith('decoder_frontend.embed.');
}

/** One checkpoint tensor in its own name and layout (PyTorch's: linear weights `[out, in]`). */
export interface DecoderCheckpointTensor {
  readonly key: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Row access in the file (see `SourceTensor.rows`), passed on as the entry's `rows`. Default: none. */
  readonly rows?: TensorRowReader;
}

/** Options of {@link convertDecoderTensor}. */
export interface ConvertDecoderTensorOptions {
  /** The family, for messages (`llama`). */
  readonly family: string;
  /** The fs2 parameter shapes of the model being loaded ({@link decoderParameterShapes}). */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** The checkpoint file, for messages. */
  readonly path: string;
  /**
   * Permutes the rows of a q or k projection from Meta's interleaved rotary layout to the
   * rotate-half layout fs2 computes in (`interleavedToRotateHalf`): the number of heads of the
   * projection (query heads for q, key/value heads for k) and the head width. Default: none.
   */
  readonly interleavedRotary?: { readonly heads: number; readonly headDim: number };
}

/**
 * One checkpoint tensor as the fs2 parameter `name`: its shape checked against the model's (a
 * linear weight is expected as `[out, in]` and transposed to `[in, out]`), and with
 * `interleavedRotary` its q/k rows permuted to rotate-half order.
 *
 * @throws CheckpointError naming the key and the file when the model has no parameter `name`
 *   (a bias the configuration does not have, an output projection of a tied model).
 * @throws TensorShapeError naming the key, the file and both shapes.
 */
export function convertDecoderTensor(tensor: DecoderCheckpointTensor, name: string, options: ConvertDecoderTensorOptions): StateEntry {
  const plan = planDecoderTensor(tensor.key, tensor.shape, name, options);
  if (tensor.rows !== undefined && plan.interleavedRotary === undefined) {
    // Renamed (and for a linear weight transposed) only: the model may stream the rows in place,
    // and `data` (with its transposition) is computed only if it asks for it.
    const rows = tensor.rows;
    let converted: StateEntry | undefined;
    return {
      name: plan.name,
      shape: [...plan.shape],
      get data() {
        converted ??= applyTensorConversionPlan(plan, tensor.data);
        return converted.data;
      },
      rows: { layout: plan.transpose ? 'transposed' : 'fs2', reader: rows },
    };
  }
  return applyTensorConversionPlan(plan, tensor.data);
}

/**
 * How one checkpoint tensor becomes one fs2 parameter, stated rather than done: a
 * `CheckpointConverter`'s `plan`. Because a plan is declarative, a tensor-parallel rank can apply it
 * to its slice of the source tensor alone (reading only that slice): the fs2 shard dim maps to the
 * source dim through `transpose`, and a q/k row permutation works head by head.
 */
export interface TensorConversionPlan {
  /** The fs2 parameter. */
  readonly name: string;
  /** Its full fs2 shape (linear weights `[in, out]`). */
  readonly shape: readonly number[];
  /**
   * Whether the source holds the transpose of the fs2 layout: PyTorch's linear weights `[out, in]`
   * (2-D tensors only).
   */
  readonly transpose: boolean;
  /**
   * Permutes the source rows (dim 0) from Meta's interleaved rotary layout to rotate-half order,
   * head by head (`interleavedToRotateHalf`): the heads of the whole tensor and the head width.
   * Default: none.
   */
  readonly interleavedRotary?: { readonly heads: number; readonly headDim: number };
}

/**
 * The {@link TensorConversionPlan} of the checkpoint tensor `key` of `sourceShape` as the fs2
 * parameter `name`: its shape checked against the model's (a linear weight is expected as `[out,
 * in]`, to be transposed), and with `interleavedRotary` its q/k rows to be permuted.
 *
 * @throws CheckpointError naming the key and the file when the model has no parameter `name`.
 * @throws TensorShapeError naming the key, the file and both shapes.
 */
export function planDecoderTensor(
  key: string,
  sourceShape: readonly number[],
  name: string,
  options: ConvertDecoderTensorOptions,
): TensorConversionPlan {
  const { path } = options;
  const shape = options.shapes.get(name);
  if (shape === undefined) {
    throw new CheckpointError(
      path,
      `${key} in ${path} is the ${options.family} parameter ${name}, which the model's configuration does not have.`,
      key,
    );
  }
  const linear = isDecoderLinearWeight(name, shape);
  const [rows, columns] = shape as [number, number];
  checkTensorShape(path, key, linear ? [columns, rows] : shape, sourceShape);
  return {
    name,
    shape: [...shape],
    transpose: linear,
    ...(options.interleavedRotary === undefined ? {} : { interleavedRotary: options.interleavedRotary }),
  };
}

/**
 * Applies `plan` to `data`, the whole source tensor (of the plan's shape, transposed when the plan
 * says so): the permutation, then the transposition.
 */
export function applyTensorConversionPlan(plan: TensorConversionPlan, data: Float32Array): StateEntry {
  let out = data;
  if (plan.interleavedRotary !== undefined) {
    out = interleavedToRotateHalf(out, plan.interleavedRotary.heads, plan.interleavedRotary.headDim);
  }
  if (plan.transpose) {
    const [rows, columns] = plan.shape as [number, number];
    out = transpose2d(out, columns, rows);
  }
  return { name: plan.name, shape: [...plan.shape], data: out };
}

/**
 * The `interleavedRotary` option of {@link convertDecoderTensor} for the fs2 parameter `name` of a
 * checkpoint that rotates interleaved pairs (Meta's reference format): q projections have `heads`
 * heads, k projections `kvHeads`; anything else is not permuted (an empty object).
 */
export function interleavedRotaryRows(
  name: string,
  heads: number,
  kvHeads: number,
  headDim: number,
): { interleavedRotary?: { heads: number; headDim: number } } {
  if (/\.self_attn\.q_proj\./.test(name)) {
    return { interleavedRotary: { heads, headDim } };
  }
  if (/\.self_attn\.k_proj\./.test(name)) {
    return { interleavedRotary: { heads: kvHeads, headDim } };
  }
  return {};
}

/** Options of {@link exportDecoderTensor}. */
export interface ExportDecoderTensorOptions {
  /**
   * Permutes q/k rows back to Meta's interleaved layout (`rotateHalfToInterleaved`); for export
   * to a format that computes rotary encodings on interleaved pairs. Default: none (HF layout).
   */
  readonly interleavedRotary?: { readonly heads: number; readonly headDim: number };
}

/**
 * One fs2 state entry as a checkpoint tensor named `key` in PyTorch's layout: the inverse of
 * {@link convertDecoderTensor} (linear weights transposed back to `[out, in]`).
 */
export function exportDecoderTensor(entry: StateEntry, key: string, options: ExportDecoderTensorOptions = {}): DecoderCheckpointTensor {
  let data = entry.data;
  let shape = [...entry.shape];
  if (isDecoderLinearWeight(entry.name, entry.shape)) {
    const [rows, columns] = entry.shape as [number, number];
    data = transpose2d(data, rows, columns);
    shape = [columns, rows];
  }
  if (options.interleavedRotary !== undefined) {
    data = rotateHalfToInterleaved(data, options.interleavedRotary.heads, options.interleavedRotary.headDim);
  }
  return { key, shape, data };
}
