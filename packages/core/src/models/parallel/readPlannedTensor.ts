import type { CheckpointReader } from '../../checkpoint/CheckpointReader.js';
import { CheckpointError } from '../../checkpoint/errors.js';
import { interleavedToRotateHalf } from '../../checkpoint/rotaryPermutation.js';
import { applyTensorConversionPlan, type TensorConversionPlan } from '../../nn/decoderCheckpoint.js';
import { transpose2d } from '../../nn/Embedding.js';
import type { StateEntry } from '../../nn/loadModuleState.js';
import { shardRange, type ParameterSharding } from '../../nn/parallel/ParameterSharding.js';

/** Reads `key` whole as float32; integers are an error naming the key. */
async function readFloats(reader: CheckpointReader, key: string, read: () => Promise<unknown>): Promise<Float32Array> {
  const data = await read();
  if (!(data instanceof Float32Array)) {
    throw new CheckpointError(reader.path, `${key} in ${reader.path} holds integers, but model weights are floating-point.`, key);
  }
  return data;
}

/**
 * The fs2 state entry of the checkpoint tensor `key` as `plan` converts it, for this rank of
 * `sharding`: when the plan's parameter is sharded, only its slice is read (`readSlice` along the
 * source dim the fs2 shard dim maps to: a column-parallel weight `[in, out / tp]` is the PyTorch rows
 * `[out / tp, in]`), the q/k rows of that slice are permuted head by head (a rank holds whole heads)
 * and the slice alone is transposed. Otherwise the tensor is read whole and converted.
 *
 * @throws CheckpointError when a slice would cut a rotary head in two (the sharding does not split
 *   the heads evenly), or the tensor holds integers.
 */
export async function readPlannedTensor(
  reader: CheckpointReader,
  key: string,
  plan: TensorConversionPlan,
  sharding: ParameterSharding | undefined,
): Promise<StateEntry> {
  const dim = sharding === undefined || sharding.size === 1 ? undefined : sharding.shardDim(plan.name);
  if (sharding === undefined || dim === undefined) {
    return applyTensorConversionPlan(plan, await readFloats(reader, key, () => reader.read(key)));
  }
  const { start, length } = shardRange(plan.name, plan.shape[dim] as number, dim, sharding.rank, sharding.size);
  const sourceDim = plan.transpose ? 1 - dim : dim;
  const sourceShape = plan.transpose ? [plan.shape[1] as number, plan.shape[0] as number] : [...plan.shape];
  sourceShape[sourceDim] = length;
  let data = await readFloats(reader, key, () => reader.readSlice(key, sourceDim, start, length));
  const rotary = plan.interleavedRotary;
  if (rotary !== undefined) {
    let heads = rotary.heads;
    if (sourceDim === 0) {
      // Rows are split: this slice holds whole heads, which permute on their own.
      if (start % rotary.headDim !== 0 || length % rotary.headDim !== 0) {
        throw new CheckpointError(
          reader.path,
          `${key} in ${reader.path} cannot be split over ${sharding.size} tensor-parallel ranks: rank ${sharding.rank}'s rows [${start}, ${start + length}) cut a rotary head of ${rotary.headDim} rows.`,
          key,
        );
      }
      heads = length / rotary.headDim;
    }
    data = interleavedToRotateHalf(data, heads, rotary.headDim);
  }
  if (plan.transpose) {
    data = transpose2d(data, sourceShape[0] as number, sourceShape[1] as number);
  }
  const shape = [...plan.shape];
  shape[dim] = length;
  return { name: plan.name, shape, data };
}
