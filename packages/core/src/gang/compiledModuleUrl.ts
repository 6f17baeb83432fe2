import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OperationalError } from '../errors/Fs2Error.js';

/**
 * The URL of the compiled JavaScript module `specifier` (NodeNext style, `./tpWorker.js`) relative to
 * the module `base` (pass `import.meta.url`): the entry of a worker thread, which Node imports itself.
 *
 * When `base` is a TypeScript source (`.../src/models/hub.ts`, as under jest or a TypeScript loader),
 * Node cannot run the sibling source in a worker, so this returns the compiled twin in the package's
 * `dist/` (`.../dist/models/tpWorker.js`): build first (`npm run build`; `npm test` does).
 *
 * @throws OperationalError when `base` is a source and the compiled module does not exist, or does not
 *   live under a `src/` folder.
 */
export function compiledModuleUrl(specifier: string, base: string | URL): URL {
  const baseHref = typeof base === 'string' ? base : base.href;
  const url = new URL(specifier, baseHref);
  if (!/\.[cm]?ts$/.test(new URL(baseHref).pathname)) {
    return url;
  }
  const path = url.pathname;
  const src = path.lastIndexOf('/src/');
  if (src < 0) {
    throw new OperationalError(
      `The worker module \`${fileURLToPath(url)}\` is a sibling of a TypeScript source outside any \`src/\` folder, so its compiled \`dist/\` twin cannot be found.`,
    );
  }
  const compiled = new URL(url.href);
  compiled.pathname = `${path.slice(0, src)}/dist/${path.slice(src + '/src/'.length)}`.replace(/\.([cm]?)ts$/, '.$1js');
  if (!existsSync(fileURLToPath(compiled))) {
    throw new OperationalError(
      `The compiled worker module \`${fileURLToPath(compiled)}\` does not exist: this code runs from its TypeScript sources, and worker threads run compiled modules (run \`npm run build\`).`,
    );
  }
  return compiled;
}
