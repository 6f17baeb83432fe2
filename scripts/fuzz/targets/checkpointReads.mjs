// Reading every tensor of an opened checkpoint every way fs2 reads: whole, sliced along each
// dim, and row by row where the format allows it; then closing it.
export async function readEverything(reader) {
  try {
    for (const key of reader.keys()) {
      const shape = reader.shape(key);
      await reader.read(key);
      for (let dim = 0; dim < shape.length; dim += 1) {
        if (shape[dim] > 0) {
          await reader.readSlice(key, dim, shape[dim] - 1, 1);
        }
      }
      const rows = reader.rowReader?.(key);
      if (rows !== undefined && rows.rows > 0) {
        rows.read(rows.rows - 1, 1, new Float32Array(rows.rowLength));
      }
    }
  } finally {
    await reader.close();
  }
}
