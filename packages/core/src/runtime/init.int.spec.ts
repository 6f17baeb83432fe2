import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { Greeter } from '@fs2-examples/hello-extension';

import { isolatedEnv, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { InvalidOperationError } from '../errors/Fs2Error.js';
import { createServiceIdentifier, type ServiceIdentifier } from './ServiceIdentifier.js';
import { ExtensionError } from './extensions.js';
import { getDependencyResolver } from './global.js';
import { createFairseq2, initFairseq2, shutdownFairseq2 } from './init.js';

const Order: ServiceIdentifier<string> = createServiceIdentifier('test.Order');

/** Writes a package with an fs2 extension into `dir/node_modules/<name>`. */
function writeExtensionPackage(dir: TempDir, name: string, code: string, entry = './extension.js'): void {
  dir.write(
    `node_modules/${name}/package.json`,
    JSON.stringify({ name, version: '1.0.0', type: 'module', fs2: { extension: entry } }),
  );
  if (code !== '') {
    dir.write(`node_modules/${name}/extension.js`, code);
  }
}

describe('initFairseq2 and extension discovery', () => {
  let dir: TempDir;
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
  };

  beforeEach(() => {
    dir = makeTempDir();
    lines.length = 0;
  });

  afterEach(() => {
    dir.cleanup();
    shutdownFairseq2();
  });

  it('finds the hello-extension example in node_modules and resolves its service', async () => {
    const resolver = await createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) });

    expect(resolver.resolve(Greeter).greet('fs2')).toBe('Hello, fs2!');
  });

  it('runs extras last, adding to what the extensions registered', async () => {
    const Farewell: ServiceIdentifier<string> = createServiceIdentifier('test.Farewell');
    const resolver = await createFairseq2({
      cwd: dir.path,
      log,
      env: isolatedEnv(dir.path),
      extras: (container) => container.register(Farewell, (r) => `${r.resolve(Greeter).greet('you')} Bye.`),
    });

    expect(resolver.resolve(Farewell)).toBe('Hello, you! Bye.');
  });

  it('names the extension package when extras registers the same service again', async () => {
    await expect(
      createFairseq2({
        cwd: dir.path,
        log,
        env: isolatedEnv(dir.path),
        extras: (container) => container.registerInstance(Greeter, { greet: () => 'hi' }),
      }),
    ).rejects.toThrow(
      '`hello-extension.Greeter` is already registered by @fs2-examples/hello-extension; the registration by extras is a duplicate.',
    );
  });

  it('runs extensions sorted by package name', async () => {
    const code = (tag: string): string =>
      `export default (c) => c.collection.registerInstance(Symbol.for('fs2.service:test.Order'), '${tag}');`;
    writeExtensionPackage(dir, 'zeta-ext', code('zeta'));
    writeExtensionPackage(dir, '@scope/alpha-ext', code('@scope/alpha'));
    writeExtensionPackage(dir, 'mid-ext', code('mid'));

    const resolver = await createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) });

    expect(resolver.resolveAll(Order)).toEqual(['@scope/alpha', 'mid', 'zeta']);
  });

  it('stops with an error naming the package when an extension throws', async () => {
    writeExtensionPackage(dir, 'broken-ext', `export default () => { throw new Error('boom'); };`);

    const error = await createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExtensionError);
    expect((error as ExtensionError).packageName).toBe('broken-ext');
    expect((error as Error).message).toBe('The fs2 extension of the broken-ext package failed: boom');
  });

  it('warns and goes on when FAIRSEQ2_EXTENSION_WARN is set', async () => {
    writeExtensionPackage(dir, 'broken-ext', `export default () => { throw new Error('boom'); };`);

    const resolver = await createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path, { FAIRSEQ2_EXTENSION_WARN: '1' }) });

    expect(resolver.resolve(Greeter).greet('x')).toBe('Hello, x!');
    expect(lines).toEqual([
      'fs2: warning: The fs2 extension of the broken-ext package failed: boom (continuing because FAIRSEQ2_EXTENSION_WARN is set)',
    ]);
  });

  it('traces each extension when FAIRSEQ2_EXTENSION_TRACE is set', async () => {
    await createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path, { FAIRSEQ2_EXTENSION_TRACE: '1' }) });

    expect(lines).toContain('fs2: extension @fs2-examples/hello-extension registered.');
  });

  it('rejects an extension without a default function', async () => {
    writeExtensionPackage(dir, 'no-default-ext', `export const setup = () => {};`);

    await expect(createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) })).rejects.toThrow(
      'The fs2 extension of the no-default-ext package (./extension.js) is expected to export a default function `(container) => void`, but exports no default instead.',
    );
  });

  it('rejects an extension entry that does not exist', async () => {
    writeExtensionPackage(dir, 'unbuilt-ext', '', './dist/extension.js');

    await expect(createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) })).rejects.toThrow(
      `The fs2 extension of the unbuilt-ext package points to ./dist/extension.js, but ${dir.path}/node_modules/unbuilt-ext/dist/extension.js does not exist. Is the package built?`,
    );
  });

  it('rejects an fs2.extension field that is not a string', async () => {
    dir.write('node_modules/odd-ext/package.json', JSON.stringify({ name: 'odd-ext', fs2: { extension: 42 } }));

    await expect(createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) })).rejects.toThrow(
      `The \`fs2.extension\` field of the odd-ext package (${dir.path}/node_modules/odd-ext/package.json) is expected to be a path string, but is of type number instead.`,
    );
  });

  it('runs no extension with extensions: false', async () => {
    const resolver = await createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path), extensions: false });

    expect(resolver.maybeResolve(Greeter)).toBeUndefined();
  });

  it('runs exactly the extensions listed, by package name or inline', async () => {
    const resolver = await createFairseq2({
      cwd: dir.path,
      log,
      env: isolatedEnv(dir.path),
      extensions: [
        '@fs2-examples/hello-extension',
        { name: 'inline', setup: (c) => c.collection.registerInstance(Order, 'inline') },
      ],
    });

    expect(resolver.resolve(Greeter).greet('y')).toBe('Hello, y!');
    expect(resolver.resolveAll(Order)).toEqual(['inline']);
  });

  it('rejects a listed package that has no extension', async () => {
    await expect(createFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path), extensions: ['left-pad'] })).rejects.toThrow(
      `${'left-pad'} is not an installed package with an fs2 extension (none of the node_modules folders visible from ${dir.path} has it).`,
    );
  });

  describe('the process-global resolver', () => {
    it('is an error to use before initFairseq2()', () => {
      expect(() => getDependencyResolver()).toThrow(InvalidOperationError);
      expect(() => getDependencyResolver()).toThrow('fs2 is not initialized: call `await initFairseq2()` first.');
    });

    it('is set by initFairseq2(), which cannot run twice', async () => {
      const resolver = await initFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) });

      expect(getDependencyResolver()).toBe(resolver);
      await expect(initFairseq2({ cwd: dir.path, log, env: isolatedEnv(dir.path) })).rejects.toThrow('`initFairseq2()` is already called.');

      shutdownFairseq2();
      expect(() => getDependencyResolver()).toThrow('fs2 is not initialized: call `await initFairseq2()` first.');
    });
  });
});
