// The safetensors header and offset parser (SafetensorsReader): byte-mutated files, and files
// whose header is edited field by field with hostile values (offsets that overlap, run backwards
// or past the end; shapes whose product overflows; unknown dtypes; a header length that lies).
// Every tensor of a file that opens is then read whole, sliced and by rows.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';
import { SafetensorsReader } from '@fs2/core';

import { buildSafetensors, layoutSafetensors, readSafetensorsHeader } from '../formats.mjs';
import { HOSTILE_NUMBERS, hostileJsonValue, mutatedBytes } from '../mutate.mjs';
import { readEverything } from './checkpointReads.mjs';

/** Small files in every dtype fs2 reads, with the fixture's real tensor names (and a scalar, an empty tensor). */
export const SAFETENSORS_CORPUS_SPECS = [
  [
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [4, 3] },
    { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'BF16', shape: [2, 3] },
    { name: 'model.norm.weight', dtype: 'F16', shape: [3] },
  ],
  [
    { name: 'a', dtype: 'I64', shape: [3] },
    { name: 'b', dtype: 'I32', shape: [2, 1] },
    { name: 'c', dtype: 'U8', shape: [5] },
    { name: 'd', dtype: 'BOOL', shape: [2] },
    { name: 'e', dtype: 'F64', shape: [] },
    { name: 'f', dtype: 'I8', shape: [0, 4] },
    { name: 'g', dtype: 'I16', shape: [1, 1, 2] },
  ],
  [{ name: 'lm_head.weight', dtype: 'F32', shape: [2, 2, 2] }],
];

const FIELDS = fc.constantFrom('dtype', 'shape', 'shapeDim', 'offsets', 'offset0', 'offset1', 'name', 'extra', 'metadata', 'remove');
const DTYPES = fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'U64', 'F8_E4M3', 'F8_E5M2', 'C64', 'f32', '', 'X');

function editHeader(header, data, edits, lengthDelta) {
  const h = structuredClone(header);
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  for (const { field, which, value, dtype } of edits) {
    const name = names.length === 0 ? 'x' : names[which % names.length];
    const entry = h[name] ?? (h[name] = {});
    switch (field) {
      case 'dtype': entry.dtype = dtype; break;
      case 'shape': entry.shape = Array.isArray(value) ? value : [value]; break;
      case 'shapeDim': if (Array.isArray(entry.shape) && entry.shape.length > 0) entry.shape[which % entry.shape.length] = value; else entry.shape = [value]; break;
      case 'offsets': entry.data_offsets = value; break;
      case 'offset0': if (Array.isArray(entry.data_offsets)) entry.data_offsets[0] = value; break;
      case 'offset1': if (Array.isArray(entry.data_offsets)) entry.data_offsets[1] = value; break;
      case 'name': h[typeof value === 'string' ? value : JSON.stringify(value)] = entry; delete h[name]; break;
      case 'extra': entry[typeof value === 'string' ? value : JSON.stringify(value)] = value; break;
      case 'metadata': h.__metadata__ = value; break;
      default: delete h[name];
    }
  }
  const bytes = buildSafetensors(h, data);
  if (lengthDelta !== 0) {
    const declared = bytes.readBigUInt64LE(0) + BigInt(lengthDelta);
    bytes.writeBigUInt64LE(declared < 0n ? 0n : declared & 0xffffffffffffffffn, 0);
  }
  return bytes;
}

export async function setup({ tmp }) {
  const corpus = SAFETENSORS_CORPUS_SPECS.map((tensors, i) => {
    const { header, data } = layoutSafetensors(tensors, i === 0 ? { format: 'pt' } : undefined);
    return buildSafetensors(header, data);
  });
  const hotRegions = (bytes) => [[0, 8 + Number(bytes.readBigUInt64LE(0))]];
  const mutated = mutatedBytes(corpus, { hotRegions });
  const structured = fc
    .record({
      file: fc.nat({ max: corpus.length - 1 }),
      edits: fc.array(
        fc.record({ field: FIELDS, which: fc.nat(), value: fc.oneof(hostileJsonValue, fc.array(fc.constantFrom(...HOSTILE_NUMBERS), { maxLength: 4 })), dtype: DTYPES }),
        { minLength: 1, maxLength: 3 },
      ),
      lengthDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -16, max: 16 }) }),
      truncate: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 64 }) }),
    })
    .map(({ file, edits, lengthDelta, truncate }) => {
      const { header, data } = readSafetensorsHeader(corpus[file]);
      const bytes = editHeader(header, data, edits, lengthDelta);
      return truncate < 0 ? bytes : bytes.subarray(0, Math.max(0, bytes.length - truncate));
    });
  const path = join(tmp, 'fuzz.safetensors');
  return {
    arbitrary: fc.oneof(mutated, structured),
    async run(bytes) {
      writeFileSync(path, bytes);
      await readEverything(await SafetensorsReader.open(path));
    },
    show: (bytes) => bytes,
  };
}
