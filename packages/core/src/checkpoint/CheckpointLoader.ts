import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

import { createServiceIdentifier, type ServiceIdentifier } from '../runtime/ServiceIdentifier.js';
import type { CheckpointReader } from './CheckpointReader.js';
import { CheckpointNotFoundError, UnknownCheckpointFormatError } from './errors.js';
import { metaShardFileName, openMetaCheckpoint } from './openMetaCheckpoint.js';
import { openNativeCheckpoint } from './openNativeCheckpoint.js';
import { SafetensorsFolderReader } from './SafetensorsFolderReader.js';
import { SafetensorsReader } from './safetensors.js';
import type { ShardDims } from './ShardedCheckpointReader.js';
import { TorchCheckpointReader } from './TorchCheckpointReader.js';

/** Options every loader accepts. */
export interface CheckpointOpenOptions {
  /**
   * The shard dims of a tensor-parallel checkpoint, by source key. Default: the format's own (the
   * Meta reference layout for `consolidated.NN.pth`); none for fairseq2's `tp_NN` folders, which
   * then need it when there are several.
   */
  readonly shardDims?: ShardDims;
}

/**
 * One checkpoint format: whether a path is in it, and how to open it. fairseq2's
 * `ModelCheckpointLoader`; the library registers its four in the `CheckpointLoader` collection
 * of the container, and an extension adds a format by registering one more.
 */
export interface CheckpointLoader {
  /** A short name for messages (`safetensors`). */
  readonly name: string;
  /** Whether `path` (which exists) is in this format. Looks at names only, never at contents. */
  supportsPath(path: string): Promise<boolean>;
  /** Opens `path` for lazy reading. */
  open(path: string, options?: CheckpointOpenOptions): Promise<CheckpointReader>;
}

/**
 * The collection of checkpoint formats (`resolveAll(CheckpointLoader)`, in registration order) and,
 * resolved as a single service, the {@link DelegatingCheckpointLoader} over them.
 */
export const CheckpointLoader: ServiceIdentifier<CheckpointLoader> = createServiceIdentifier('CheckpointLoader');

async function kind(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? 'file' : info.isDirectory() ? 'dir' : undefined;
  } catch {
    return undefined;
  }
}

/** A `.pt`, `.pth` or `.bin` file written by `torch.save` (fairseq2's basic loader). */
export class TorchCheckpointLoader implements CheckpointLoader {
  readonly name = 'torch (.pt, .pth, .bin)';

  async supportsPath(path: string): Promise<boolean> {
    return ['.pt', '.pth', '.bin'].includes(extname(path)) && (await kind(path)) === 'file';
  }

  async open(path: string): Promise<CheckpointReader> {
    return TorchCheckpointReader.open(path);
  }
}

/** A folder with fairseq2's native `pp_00/tp_NN/sdp_NN.pt` layout. */
export class NativeCheckpointLoader implements CheckpointLoader {
  readonly name = 'fairseq2 (pp_00/tp_NN/sdp_NN.pt)';

  async supportsPath(path: string): Promise<boolean> {
    return (await kind(path)) === 'dir' && (await kind(join(path, 'pp_00'))) === 'dir';
  }

  async open(path: string, options: CheckpointOpenOptions = {}): Promise<CheckpointReader> {
    return openNativeCheckpoint(path, options.shardDims === undefined ? {} : { shardDims: options.shardDims });
  }
}

/**
 * A `.safetensors` file, a `model.safetensors.index.json`, or a folder holding an index or at least
 * one `*.safetensors` file.
 */
export class SafetensorsCheckpointLoader implements CheckpointLoader {
  readonly name = 'safetensors (file, folder, index)';

  async supportsPath(path: string): Promise<boolean> {
    const type = await kind(path);
    if (type === 'file') {
      return path.endsWith('.safetensors') || path.endsWith('.safetensors.index.json');
    }
    if (type === 'dir') {
      return (await readdir(path)).some((n) => n.endsWith('.safetensors') || n === 'model.safetensors.index.json');
    }
    return false;
  }

  async open(path: string): Promise<CheckpointReader> {
    if ((await kind(path)) === 'file' && path.endsWith('.safetensors')) {
      return SafetensorsReader.open(path);
    }
    return SafetensorsFolderReader.open(path);
  }
}

/** A folder with Meta's reference `consolidated.00.pth` (and more shards, and `params.json`). */
export class MetaCheckpointLoader implements CheckpointLoader {
  readonly name = 'meta (consolidated.NN.pth)';

  async supportsPath(path: string): Promise<boolean> {
    return (await kind(path)) === 'dir' && (await kind(join(path, metaShardFileName(0)))) === 'file';
  }

  async open(path: string, options: CheckpointOpenOptions = {}): Promise<CheckpointReader> {
    return openMetaCheckpoint(path, options.shardDims === undefined ? {} : { shardDims: options.shardDims });
  }
}

/** The library's formats, in fairseq2's order: torch file, native folder, safetensors, Meta folder. */
export function createStandardCheckpointLoaders(): CheckpointLoader[] {
  return [new TorchCheckpointLoader(), new NativeCheckpointLoader(), new SafetensorsCheckpointLoader(), new MetaCheckpointLoader()];
}

/**
 * Opens a checkpoint with the first loader that supports the path (fairseq2's
 * `_DelegatingModelCheckpointLoader`). The loaders may be given lazily (resolved from the container
 * on first use).
 */
export class DelegatingCheckpointLoader implements CheckpointLoader {
  readonly name = 'any known format';
  private resolved: readonly CheckpointLoader[] | undefined;

  constructor(private readonly loaders: readonly CheckpointLoader[] | (() => readonly CheckpointLoader[])) {}

  /** The loaders tried, in order. */
  get members(): readonly CheckpointLoader[] {
    this.resolved ??= typeof this.loaders === 'function' ? this.loaders() : this.loaders;
    return this.resolved;
  }

  async supportsPath(path: string): Promise<boolean> {
    return (await this.pick(path)) !== undefined;
  }

  /**
   * @throws CheckpointNotFoundError when nothing exists at `path`;
   *   UnknownCheckpointFormatError when no loader supports it.
   */
  async open(path: string, options: CheckpointOpenOptions = {}): Promise<CheckpointReader> {
    try {
      await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new CheckpointNotFoundError(path, { cause: error });
      }
      throw error;
    }
    const loader = await this.pick(path);
    if (loader === undefined) {
      throw new UnknownCheckpointFormatError(path, this.members.map((l) => l.name));
    }
    return loader.open(path, options);
  }

  private async pick(path: string): Promise<CheckpointLoader | undefined> {
    for (const loader of this.members) {
      if (await loader.supportsPath(path)) {
        return loader;
      }
    }
    return undefined;
  }
}

/**
 * Opens the checkpoint at `path` (a file or a folder, in any of the library's formats) for lazy
 * reading, without a container. Code that runs inside fs2 resolves `CheckpointLoader` instead, so
 * that formats registered by extensions are known too.
 *
 * ```ts
 * const checkpoint = await openCheckpoint('/models/llama3/');
 * try {
 *   for await (const { key, shape, data } of checkpoint.iterTensors()) { ... }
 * } finally {
 *   await checkpoint.close();
 * }
 * ```
 */
export async function openCheckpoint(path: string, options: CheckpointOpenOptions = {}): Promise<CheckpointReader> {
  return new DelegatingCheckpointLoader(createStandardCheckpointLoaders()).open(path, options);
}
