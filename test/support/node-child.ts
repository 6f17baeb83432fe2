import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Bundles a TypeScript entry (and the fs2 sources it imports) into one ES module that plain
 * `node` runs, so that a test can spawn a real child process against the current sources. The
 * bundle lives under `node_modules/.cache/fs2-test/`, so that its packages (`tar`,
 * `@huggingface/hub`, ...) resolve from the repository's `node_modules`; they stay external.
 */
export async function bundleForNode(entry: string): Promise<string> {
  const outDir = join(ROOT, 'node_modules', '.cache', 'fs2-test');
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    write: false,
  });
  const code = result.outputFiles[0]!.contents;
  // Named by content and written atomically: parallel test workers share one file per version.
  const outfile = join(outDir, `child-${createHash('sha1').update(code).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(outfile)) {
    const scratch = `${outfile}.${process.pid}.tmp`;
    writeFileSync(scratch, code);
    renameSync(scratch, outfile);
  }
  return outfile;
}

/** A running child, with its output collected. */
export interface NodeChild {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the child is gone. */
  readonly exited: Promise<number | string>;
}

/** Runs `node <script> ...args` with `env` added to this process's environment. */
export function spawnNode(script: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): NodeChild {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { process: child, stdout: () => out, stderr: () => err, exited };
}

/** Polls `condition` every 10 ms until it holds; throws `what` after `timeoutMs` (a safety net, not a timing assertion). */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) {
      throw new Error(`Timed out waiting until ${what}.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
