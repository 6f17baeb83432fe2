// Structured edits of a safetensors header (shared by the `safetensors` and `index` targets):
// offsets that overlap, leave gaps, run backwards or past the data; shapes whose product overflows
// or does not match the offsets; dtypes the data cannot hold; entries renamed, duplicated, removed
// or replaced; a forged header length; data cut or extended.
import fc from 'fast-check';

import { buildSafetensors } from './formats.mjs';
import { INTERESTING_INTEGERS, interestingJsonArb, rarely, setOwn } from './mutate.mjs';

const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const DTYPES = Object.keys(DTYPE_BYTES);

const OFFSET_FORMS = ['swap', 'shift', 'overlap-prev', 'gap', 'copy-next', 'huge', 'negative', 'float', 'string', 'single', 'triple', 'null', 'end-of-data'];

export const headerEditArb = fc
  .oneof(
    fc.record({ k: fc.constant('offsets'), t: fc.nat(), form: fc.constantFrom(...OFFSET_FORMS), n: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ k: fc.constant('dim'), t: fc.nat(), d: fc.nat(3), value: fc.oneof(fc.constantFrom(...INTERESTING_INTEGERS, 0.5, '2', null), fc.nat(5)) }),
    fc.record({ k: fc.constant('shape'), t: fc.nat(), value: fc.oneof(interestingJsonArb, fc.constantFrom([2 ** 26, 2 ** 26, 2 ** 26], [2 ** 53, 0], [0, 2 ** 53, 2 ** 53], [], [1, 1, 1, 1, 1, 1, 1, 1])) }),
    fc.record({ k: fc.constant('dtype'), t: fc.nat(), value: fc.constantFrom(...DTYPES, 'F8_E4M3', 'f32', '', 'I4', '__proto__', 'constructor', 'hasOwnProperty', null, 3) }),
    fc.record({ k: fc.constant('resize'), t: fc.nat(), dtype: fc.constantFrom(...DTYPES) }),
    fc.record({ k: fc.constant('delete'), t: fc.nat() }),
    fc.record({ k: fc.constant('duplicate'), t: fc.nat() }),
    fc.record({ k: fc.constant('rename'), t: fc.nat(), to: fc.constantFrom('__metadata__', '__proto__', '', 'x'.repeat(300), '\u0000', 'é', 'constructor', 'model.norm.weight') }),
    fc.record({ k: fc.constant('entry'), t: fc.nat(), value: interestingJsonArb }),
    fc.record({ k: fc.constant('field'), t: fc.nat(), field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra', '__proto__'), value: interestingJsonArb }),
    fc.record({ k: fc.constant('metadata'), value: fc.oneof(interestingJsonArb, fc.constantFrom({ format: 1 }, { a: { b: 1 } }, JSON.parse('{"__proto__": "x"}'), { format: 'pt', total_size: '9' })) }),
    fc.record({ k: fc.constant('root'), value: interestingJsonArb }),
    fc.record({ k: fc.constant('reverse') }),
  )
  // Fresh values: edits put them into the header, which later edits change.
  .map((edit) => structuredClone(edit));

export const headerLengthArb = fc.oneof(
  fc.record({ k: fc.constant('delta'), d: fc.integer({ min: -16, max: 16 }) }),
  fc.record({ k: fc.constant('abs'), value: fc.constantFrom(...INTERESTING_INTEGERS.filter((v) => v >= 0)) }),
);

export const dataEditArb = fc.oneof(
  fc.record({ k: fc.constant('cut'), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant('extend'), n: fc.integer({ min: 1, max: 64 }) }),
);

export const structuralArb = (seedCount) =>
  fc.record({
    seed: fc.nat(seedCount - 1),
    edits: fc.array(headerEditArb, { minLength: 1, maxLength: 4 }),
    headerLength: rarely(headerLengthArb, 6),
    data: rarely(dataEditArb, 4),
    pad: fc.boolean(),
  });

function tensorKeys(header) {
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

function applyOffsets(header, keys, i, form, n) {
  const entry = header[keys[i]];
  if (typeof entry !== 'object' || entry === null || !Array.isArray(entry.data_offsets)) {
    return;
  }
  const [begin, end] = entry.data_offsets;
  const prev = keys[i - 1] === undefined ? undefined : header[keys[i - 1]];
  const next = keys[i + 1] === undefined ? undefined : header[keys[i + 1]];
  const total = Math.max(0, ...keys.map((k) => (Array.isArray(header[k]?.data_offsets) ? header[k].data_offsets[1] : 0)).filter(Number.isFinite));
  switch (form) {
    case 'swap':
      entry.data_offsets = [end, begin];
      break;
    case 'shift':
      entry.data_offsets = [begin + n, end + n];
      break;
    case 'overlap-prev':
      if (Array.isArray(prev?.data_offsets)) {
        entry.data_offsets = [begin - n, end - n];
      }
      break;
    case 'gap':
      entry.data_offsets = [begin + n, end + n];
      if (Array.isArray(next?.data_offsets)) {
        next.data_offsets = [next.data_offsets[0] + n, next.data_offsets[1] + n];
      }
      break;
    case 'copy-next':
      if (Array.isArray(next?.data_offsets)) {
        entry.data_offsets = [...next.data_offsets];
      }
      break;
    case 'huge':
      entry.data_offsets = [begin, 2 ** 53 + n];
      break;
    case 'negative':
      entry.data_offsets = [-n, end];
      break;
    case 'float':
      entry.data_offsets = [begin + 0.5, end + 0.5];
      break;
    case 'string':
      entry.data_offsets = [String(begin), String(end)];
      break;
    case 'single':
      entry.data_offsets = [begin];
      break;
    case 'triple':
      entry.data_offsets = [begin, end, end];
      break;
    case 'null':
      entry.data_offsets = null;
      break;
    case 'end-of-data':
      entry.data_offsets = [total, total + (end - begin)];
      break;
  }
}

/** The header object and data of `seed` with `input`'s edits applied. */
export function applyStructural(seed, input) {
  let header = structuredClone(seed.header);
  let data = seed.data;
  for (const edit of input.edits) {
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      break;
    }
    const keys = tensorKeys(header);
    const i = keys.length === 0 ? -1 : edit.t % keys.length;
    const key = keys[i];
    const entry = key === undefined ? undefined : header[key];
    switch (edit.k) {
      case 'offsets':
        if (key !== undefined) {
          applyOffsets(header, keys, i, edit.form, edit.n);
        }
        break;
      case 'dim':
        if (Array.isArray(entry?.shape)) {
          const shape = [...entry.shape];
          shape[Math.min(edit.d, shape.length)] = edit.value;
          entry.shape = shape;
        }
        break;
      case 'shape':
        if (typeof entry === 'object' && entry !== null) {
          entry.shape = edit.value;
        }
        break;
      case 'dtype':
        if (typeof entry === 'object' && entry !== null) {
          entry.dtype = edit.value;
        }
        break;
      case 'resize':
        // A consistent entry of another dtype: the byte count follows, so the offsets after it move.
        if (typeof entry === 'object' && entry !== null && Array.isArray(entry.shape) && Array.isArray(entry.data_offsets) && DTYPE_BYTES[entry.dtype] !== undefined) {
          const numel = entry.shape.reduce((a, b) => a * b, 1);
          const delta = numel * (DTYPE_BYTES[edit.dtype] - DTYPE_BYTES[entry.dtype]);
          entry.dtype = edit.dtype;
          entry.data_offsets = [entry.data_offsets[0], entry.data_offsets[1] + delta];
          for (const later of keys.slice(i + 1)) {
            const o = header[later]?.data_offsets;
            if (Array.isArray(o) && typeof o[0] === 'number' && typeof o[1] === 'number') {
              header[later].data_offsets = [o[0] + delta, o[1] + delta];
            }
          }
          data = delta >= 0 ? Buffer.concat([data, Buffer.alloc(Math.min(delta, 1 << 16))]) : data.subarray(0, Math.max(0, data.length + delta));
        }
        break;
      case 'delete':
        if (key !== undefined) {
          delete header[key];
        }
        break;
      case 'duplicate':
        if (key !== undefined) {
          setOwn(header, `${key}.copy`, structuredClone(entry));
        }
        break;
      case 'rename':
        if (key !== undefined) {
          delete header[key];
          setOwn(header, edit.to, entry);
        }
        break;
      case 'entry':
        if (key !== undefined) {
          setOwn(header, key, edit.value);
        }
        break;
      case 'field':
        if (typeof entry === 'object' && entry !== null) {
          setOwn(entry, edit.field, edit.value);
        }
        break;
      case 'metadata':
        setOwn(header, '__metadata__', edit.value);
        break;
      case 'root':
        header = edit.value;
        break;
      case 'reverse': {
        const reversed = {};
        for (const k of Object.keys(header).reverse()) {
          setOwn(reversed, k, header[k]);
        }
        header = reversed;
        break;
      }
    }
  }
  if (input.data !== null) {
    data = input.data.k === 'cut' ? data.subarray(0, Math.max(0, data.length - input.data.n)) : Buffer.concat([data, Buffer.alloc(input.data.n, 0x7f)]);
  }
  return { header, data };
}

/** The bytes of a structurally edited seed. */
export function buildStructural(seed, input) {
  const { header, data } = applyStructural(seed, input);
  const plain = buildSafetensors(header, data, { pad: input.pad });
  if (input.headerLength === null) {
    return plain;
  }
  const length = plain.readBigUInt64LE(0);
  const forged = input.headerLength.k === 'delta' ? length + BigInt(input.headerLength.d) : BigInt(input.headerLength.value);
  plain.writeBigUInt64LE(BigInt.asUintN(64, forged));
  return plain;
}
