// Reads every tensor of an open checkpoint the ways a loader does: whole (`read`), as rows
// (`rowReader`, floating tensors of safetensors files) and as a slice along the last dim (how a
// tensor-parallel rank reads its shard). A tensor that fails with an fs2 error (an int64 value
// beyond int32, a truncated file) does not stop the others; the first such error is thrown at the
// end. Anything else is thrown at once.
import { Fs2Error } from '@fs2/core';

export async function readEveryTensor(reader) {
  let first;
  for (const key of reader.keys()) {
    try {
      const info = reader.info(key);
      await reader.read(key);
      const rows = reader.rowReader?.(key);
      if (rows !== undefined) {
        rows.read(0, rows.rows, new Float32Array(rows.rows * rows.rowLength));
      }
      const last = info.shape.length - 1;
      if (last >= 0 && info.shape[last] > 1) {
        await reader.readSlice(key, last, 1, info.shape[last] - 1);
      }
    } catch (error) {
      if (!Fs2Error.is(error)) {
        throw error;
      }
      first ??= error;
    }
  }
  if (first !== undefined) {
    throw first;
  }
}
