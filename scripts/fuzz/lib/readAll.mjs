// Reads every tensor of an open checkpoint the ways a loader does: whole (`read`), as rows
// (`rowReader`, floating tensors of safetensors files) and as a slice along the last dim (how a
// tensor-parallel rank reads its shard).
export async function readEveryTensor(reader) {
  let values = 0;
  for (const key of reader.keys()) {
    const info = reader.info(key);
    const data = await reader.read(key);
    values += data.length;
    const rows = reader.rowReader?.(key);
    if (rows !== undefined) {
      rows.read(0, rows.rows, new Float32Array(rows.rows * rows.rowLength));
    }
    const last = info.shape.length - 1;
    if (last >= 0 && info.shape[last] > 1) {
      await reader.readSlice(key, last, 1, info.shape[last] - 1);
    }
  }
  return values;
}
