import { StandardDownloadFileSystem, type DownloadFileHandle } from '../../packages/core/src/assets/index.js';

/** An error as Node's file system reports it (`code: 'ENOSPC'`, ...), for injected faults. */
export function simulatedErrno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/**
 * A download file system whose writes fail with `code` once `limit` bytes were written, in all,
 * to files whose path contains `where` (every file by default): a disk that fills up, or a
 * folder that refuses writes (`limit` 0).
 */
export class FailingWrites extends StandardDownloadFileSystem {
  written = 0;

  constructor(
    private readonly code: string,
    private readonly limit: number,
    private readonly where = '',
  ) {
    super();
  }

  override async open(path: string, mode: 'truncate' | 'append'): Promise<DownloadFileHandle> {
    const handle = await super.open(path, mode);
    if (!path.includes(this.where)) {
      return handle;
    }
    return {
      write: async (data) => {
        if (this.written + data.byteLength > this.limit) {
          throw simulatedErrno(this.code);
        }
        this.written += data.byteLength;
        await handle.write(data);
      },
      close: () => handle.close(),
    };
  }
}

/** A download file system whose writes to files whose path contains `where` each wait `ms` first (a slow disk). */
export class SlowWrites extends StandardDownloadFileSystem {
  constructor(
    private readonly where: string,
    private readonly ms: number,
  ) {
    super();
  }

  override async open(path: string, mode: 'truncate' | 'append'): Promise<DownloadFileHandle> {
    const handle = await super.open(path, mode);
    if (!path.includes(this.where)) {
      return handle;
    }
    return {
      write: async (data) => {
        await new Promise((resolve) => setTimeout(resolve, this.ms));
        await handle.write(data);
      },
      close: () => handle.close(),
    };
  }
}
