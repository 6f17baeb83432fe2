import type { TensorRowReader } from '../checkpoint/CheckpointReader.js';
import { InvalidArgumentError } from '../errors/Fs2Error.js';
import type { Device } from './devices/Device.js';
import { ParameterShapeMismatchError, StateKeyMismatchError, formatShape } from './errors.js';
import { transpose2d } from './Embedding.js';
import { numel, type Module } from './Module.js';

/** One tensor of a state: its fs2 name, its float32 data (row-major) and its fs2 shape. */
export interface StateEntry {
  readonly name: string;
  /** The values in fs2 layout; may be computed on first access when {@link StateEntry.rows} is given. */
  readonly data: Float32Array;
  readonly shape: readonly number[];
  /**
   * The values as rows of a file, when the source can stream them (see `TensorRowReader`): a
   * parameter slot that can lay them out itself reads these and never touches `data`. Default: none.
   */
  readonly rows?: StateRows;
  /**
   * The 2-D `data` holds the fs2 tensor transposed: `[shape[1], shape[0]]` row-major, as PyTorch and
   * Hugging Face store a linear weight (`[out, in]`). A parameter that can take it so (the `webgpu`
   * runtime keeps `[out, in]`) does; any other gets it transposed by the loader. Default: `false`.
   */
  readonly transposed?: boolean;
}

/** Rows of a state entry's values where they are stored (see {@link StateEntry.rows}). */
export interface StateRows {
  /**
   * `fs2`: rows of the entry's `shape` (one row for 1-D); `transposed`: rows of the transposed
   * 2-D shape, i.e. PyTorch's `[out, in]` of an fs2 `[in, out]` linear weight.
   */
  readonly layout: 'fs2' | 'transposed';
  readonly reader: TensorRowReader;
}

/**
 * A state, one tensor at a time (a checkpoint reader converting as it reads), so that a model loads
 * without a second full copy of its weights in memory. The source may reuse an entry's array once
 * the next entry is requested.
 */
export type StateSource = Iterable<StateEntry> | AsyncIterable<StateEntry>;

/**
 * Streams `source` into `module`'s parameters on `device` (which must be active): checks every
 * shape, then checks that every parameter arrived exactly once, then lets the modules build their
 * constants. On any error the module is left unloaded (every tensor it had is freed).
 *
 * @throws ParameterShapeMismatchError when a tensor's shape differs from the parameter's.
 * @throws StateKeyMismatchError listing the missing, unexpected and duplicated keys.
 */
export async function loadModuleState(module: Module, source: StateSource, device: Device): Promise<void> {
  device.assertActive();
  module.unload();
  const slots = new Map(module.parameterSlots().map((s) => [s.name, s]));
  const seen = new Set<string>();
  const unexpected: string[] = [];
  const duplicated: string[] = [];
  try {
    for await (const entry of source) {
      const slot = slots.get(entry.name);
      if (slot === undefined) {
        unexpected.push(entry.name);
        continue;
      }
      if (seen.has(entry.name)) {
        duplicated.push(entry.name);
        continue;
      }
      if (!sameShape(entry.shape, slot.shape)) {
        throw new ParameterShapeMismatchError(entry.name, slot.shape, entry.shape);
      }
      device.assertActive();
      if (entry.rows !== undefined && rowsFit(entry.rows, entry.shape) && slot.receiveRows?.(entry.rows, device) === true) {
        seen.add(entry.name);
        continue;
      }
      if (entry.data.length !== numel(entry.shape)) {
        throw new InvalidArgumentError(
          'source',
          `The state entry \`${entry.name}\` has the shape ${formatShape(entry.shape)} (${numel(entry.shape)} elements), but ${entry.data.length} values.`,
        );
      }
      device.assertActive();
      if (entry.transposed === true) {
        if (entry.shape.length !== 2) {
          throw new InvalidArgumentError('source', `The state entry \`${entry.name}\` is marked transposed, but is not 2-D (${formatShape(entry.shape)}).`);
        }
        const [rows, cols] = entry.shape as [number, number];
        await (slot.receiveTransposed?.(entry.data, device) ?? slot.receive(transpose2d(entry.data, cols, rows), device));
      } else {
        await slot.receive(entry.data, device);
      }
      seen.add(entry.name);
    }
    const missing = [...slots.keys()].filter((name) => !seen.has(name));
    if (missing.length > 0 || unexpected.length > 0 || duplicated.length > 0) {
      throw new StateKeyMismatchError(missing, unexpected, duplicated);
    }
    device.assertActive();
    module.prepare(device);
  } catch (error) {
    module.unload();
    throw error;
  }
}

/** Whether `rows` hold exactly the elements of `shape` in their layout. */
function rowsFit(rows: StateRows, shape: readonly number[]): boolean {
  const { reader } = rows;
  if (rows.layout === 'transposed') {
    return shape.length === 2 && reader.rows === shape[1] && reader.rowLength === shape[0];
  }
  const expectedRows = shape.length <= 1 ? 1 : (shape[0] as number);
  return reader.rows === expectedRows && reader.rows * reader.rowLength === numel(shape);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
