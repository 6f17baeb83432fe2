import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import type { TensorArray } from './dtypes.js';
import { CheckpointReaderBase, type CheckpointTensorInfo, type TensorRowReader, type TensorSlice } from './CheckpointReader.js';
import { CheckpointError, CheckpointNotFoundError } from './errors.js';
import { SafetensorsReader, openFile } from './safetensors.js';
import { readFully } from './stridedRead.js';

/** The index file of a sharded Hugging Face checkpoint. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/**
 * The largest index file accepted (100 MB, the cap safetensors puts on a header): an index of a
 * 400 B-parameter model is a few hundred KB.
 */
export const SAFETENSORS_MAX_INDEX_BYTES = 100_000_000;

/**
 * A safetensors checkpoint split over several files, read as one:
 *
 * - with `model.safetensors.index.json`, the index's `weight_map` is authoritative: its keys are
 *   the checkpoint's keys (in the index's order), a shard it names but that is missing is an error
 *   naming it, a key assigned to a shard that lacks it is an error, and `*.safetensors` files it
 *   does not name are ignored;
 * - without an index, every `*.safetensors` file of the folder is read (in name order), and a key
 *   present in two files is an error naming both (fairseq2 globs the same way).
 *
 * Each tensor is read from its own file with positioned reads ({@link SafetensorsReader}).
 */
export class SafetensorsFolderReader extends CheckpointReaderBase {
  readonly format = 'safetensors';

  private constructor(
    /** The folder (or the index file) the checkpoint was opened from. */
    readonly path: string,
    private readonly owners: ReadonlyMap<string, SafetensorsReader>,
    /** The shard files, in name order. */
    readonly files: readonly SafetensorsReader[],
    /** The index's `metadata` object (`{total_size}`), or `{}` without an index. */
    readonly metadata: Readonly<Record<string, unknown>>,
  ) {
    super();
  }

  /**
   * Opens a folder (through its index when it has one), or an index file given directly.
   *
   * @throws CheckpointError naming the index, the shard or the key when the files do not agree.
   */
  static async open(path: string): Promise<SafetensorsFolderReader> {
    const info = await stat(path).catch((error: unknown) => {
      throw new CheckpointNotFoundError(path, { cause: error });
    });
    if (info.isFile()) {
      return SafetensorsFolderReader.openIndex(path, path);
    }
    const index = join(path, SAFETENSORS_INDEX_FILE);
    if (await isFile(index)) {
      return SafetensorsFolderReader.openIndex(path, index);
    }
    const names = (await readdir(path, { withFileTypes: true }))
      .filter((e) => e.name.endsWith('.safetensors') && (e.isFile() || e.isSymbolicLink()))
      .map((e) => e.name)
      .sort();
    if (names.length === 0) {
      throw new CheckpointError(path, `${path} holds no *.safetensors file.`);
    }
    const files = await openAll(names.map((n) => join(path, n)));
    const owners = new Map<string, SafetensorsReader>();
    try {
      for (const file of files) {
        for (const key of file.keys()) {
          const first = owners.get(key);
          if (first !== undefined) {
            throw new CheckpointError(path, `${key} is in both ${first.path} and ${file.path}.`, key);
          }
          owners.set(key, file);
        }
      }
    } catch (error) {
      await closeAll(files);
      throw error;
    }
    return new SafetensorsFolderReader(path, owners, files, {});
  }

  private static async openIndex(path: string, indexPath: string): Promise<SafetensorsFolderReader> {
    const { weightMap, metadata } = await readIndex(indexPath);
    const folder = dirname(indexPath);
    const shardNames = [...new Set(weightMap.values())].sort();
    for (const name of shardNames) {
      if (!(await isFile(join(folder, name)))) {
        throw new CheckpointError(indexPath, `${indexPath} names the shard ${name}, which does not exist in ${folder}.`);
      }
    }
    const files = await openAll(shardNames.map((n) => join(folder, n)));
    const byName = new Map(shardNames.map((n, i) => [n, files[i] as SafetensorsReader]));
    const owners = new Map<string, SafetensorsReader>();
    for (const [key, name] of weightMap) {
      const file = byName.get(name) as SafetensorsReader;
      if (!file.has(key)) {
        await closeAll(files);
        throw new CheckpointError(indexPath, `${indexPath} assigns ${key} to ${name}, which has no such tensor.`, key);
      }
      owners.set(key, file);
    }
    return new SafetensorsFolderReader(path, owners, files, metadata);
  }

  keys(): string[] {
    return [...this.owners.keys()];
  }

  override has(key: string): boolean {
    return this.owners.has(key);
  }

  info(key: string): CheckpointTensorInfo {
    const owner = this.owners.get(key);
    if (owner === undefined) {
      throw new CheckpointError(this.path, `${this.path} has no tensor named ${key}.`, key);
    }
    return owner.info(key);
  }

  async close(): Promise<void> {
    await closeAll(this.files);
  }

  /** Row access through the shard that holds `key` (see `SafetensorsReader.rowReader`). */
  rowReader(key: string): TensorRowReader | undefined {
    this.info(key);
    return (this.owners.get(key) as SafetensorsReader).rowReader(key);
  }

  protected async readInto(info: CheckpointTensorInfo, slice: TensorSlice | undefined, out: TensorArray): Promise<void> {
    const owner = this.owners.get(info.key) as SafetensorsReader;
    if (slice === undefined) {
      await owner.read(info.key, out);
    } else {
      await owner.readSlice(info.key, slice.dim, slice.start, slice.length, out);
    }
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function openAll(paths: readonly string[]): Promise<SafetensorsReader[]> {
  const files: SafetensorsReader[] = [];
  try {
    for (const path of paths) {
      files.push(await SafetensorsReader.open(path));
    }
  } catch (error) {
    await closeAll(files);
    throw error;
  }
  return files;
}

async function closeAll(files: readonly { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(files.map((f) => f.close()));
}

/** Reads and validates `model.safetensors.index.json`: `{metadata?: {...}, weight_map: {key: file}}`. */
async function readIndex(
  indexPath: string,
): Promise<{ weightMap: Map<string, string>; metadata: Record<string, unknown> }> {
  const fail = (reason: string, tensor?: string): never => {
    throw new CheckpointError(indexPath, `${indexPath} is not a valid safetensors index: ${reason}`, tensor);
  };
  const handle = await openFile(indexPath);
  let text: string;
  try {
    const size = (await handle.stat()).size;
    if (size > SAFETENSORS_MAX_INDEX_BYTES) {
      fail(`the file has ${size} bytes, more than the limit of ${SAFETENSORS_MAX_INDEX_BYTES}.`);
    }
    const bytes = Buffer.alloc(size);
    await readFully(handle, bytes, 0);
    text = bytes.toString('utf8');
  } finally {
    await handle.close();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`it is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return fail('it is not a JSON object.');
  }
  const { weight_map: map, metadata } = json as { weight_map?: unknown; metadata?: unknown };
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    return fail('`weight_map` is missing or not an object.');
  }
  const weightMap = new Map<string, string>();
  for (const [key, file] of Object.entries(map)) {
    // A plain file name: not empty, no separator (`basename` is the platform's, so `\` counts on
    // Windows), not `.` or `..`, and no NUL (which `stat` refuses with a TypeError, not ENOENT).
    if (typeof file !== 'string' || file === '' || basename(file) !== file || file === '.' || file === '..' || file.includes('\0')) {
      fail(`the shard of ${key} is ${JSON.stringify(file)}, not a file name in the index's folder.`, key);
    }
    weightMap.set(key, file as string);
  }
  const meta = typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {};
  return { weightMap, metadata: meta };
}
