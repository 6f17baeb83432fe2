import {
  CheckpointError,
  CheckpointReaderBase,
  narrowHostTensor,
  type CheckpointTensorInfo,
  type HostTensor,
  type StorageDtype,
  type TensorArray,
  type TensorSlice,
} from '../../packages/core/src/checkpoint/index.js';

/** A checkpoint held in memory (a map of host tensors), for tests of code built on readers. */
export class MemoryCheckpointReader extends CheckpointReaderBase {
  readonly format = 'memory';
  closed = false;

  constructor(
    readonly path: string,
    private readonly tensors: ReadonlyMap<string, HostTensor>,
  ) {
    super();
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  info(key: string): CheckpointTensorInfo {
    const tensor = this.tensors.get(key);
    if (tensor === undefined) {
      throw new CheckpointError(this.path, `${this.path} has no tensor named ${key}.`, key);
    }
    const dtype: StorageDtype = tensor.data instanceof Float32Array ? 'F32' : 'I32';
    return { key, shape: tensor.shape, dtype, path: this.path };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  protected async readInto(info: CheckpointTensorInfo, slice: TensorSlice | undefined, out: TensorArray): Promise<void> {
    const tensor = this.tensors.get(info.key) as HostTensor;
    out.set(slice === undefined ? tensor.data : narrowHostTensor(tensor, slice.dim, slice.start, slice.length).data);
  }
}
