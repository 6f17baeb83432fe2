import { describe, expect, it } from '@jest/globals';
import { pathToFileURL } from 'node:url';

import { makeTempDir } from '../../../../test/support/index.js';
import { OperationalError } from '../errors/Fs2Error.js';
import { compiledModuleUrl } from './compiledModuleUrl.js';

describe(compiledModuleUrl, () => {
  it('resolves next to a compiled module as it is', () => {
    expect(compiledModuleUrl('./worker.js', 'file:///app/node_modules/@fs2/core/dist/models/hub.js').href).toBe(
      'file:///app/node_modules/@fs2/core/dist/models/worker.js',
    );
  });

  it("maps a TypeScript source's sibling to its compiled twin under dist/", () => {
    const dir = makeTempDir();
    try {
      dir.write('pkg/dist/models/worker.js', '');
      dir.write('pkg/dist/other/thing.mjs', '');
      const base = pathToFileURL(`${dir.path}/pkg/src/models/hub.ts`);

      expect(compiledModuleUrl('./worker.js', base).href).toBe(pathToFileURL(`${dir.path}/pkg/dist/models/worker.js`).href);
      expect(compiledModuleUrl('../other/thing.mts', base.href).href).toBe(pathToFileURL(`${dir.path}/pkg/dist/other/thing.mjs`).href);
    } finally {
      dir.cleanup();
    }
  });

  it('finds the compiled worker bootstrap of @fs2/core itself (built by `npm run build`)', () => {
    expect(compiledModuleUrl('./workerBootstrap.js', import.meta.url).pathname).toMatch(/\/packages\/core\/dist\/gang\/workerBootstrap\.js$/);
  });

  it('names the missing compiled module and how to build it', () => {
    expect(() => compiledModuleUrl('./missing.js', 'file:///repo/packages/x/src/a.ts')).toThrow(
      new OperationalError(
        'The compiled worker module `/repo/packages/x/dist/missing.js` does not exist: this code runs from its TypeScript sources, and worker threads run compiled modules (run `npm run build`).',
      ),
    );
  });

  it('refuses a TypeScript source outside a src/ folder', () => {
    expect(() => compiledModuleUrl('./w.js', 'file:///scripts/run.ts')).toThrow(
      'The worker module `/scripts/w.js` is a sibling of a TypeScript source outside any `src/` folder, so its compiled `dist/` twin cannot be found.',
    );
  });
});
