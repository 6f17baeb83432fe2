import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Type } from '@sinclair/typebox';

import { caught, caughtAsync, makeTempDir, type TempDir } from '../../../../test/support/index.js';
import { RecipeConfigError } from './errors.js';
import { loadRecipeConfig, parseRecipeConfigArgs } from './loadRecipeConfig.js';

const Schema = Type.Object({
  model: Type.Object({ name: Type.Union([Type.String(), Type.Null()]), overrides: Type.Record(Type.String(), Type.Unknown()) }),
  optimizer: Type.Object({ lr: Type.Number({ exclusiveMinimum: 0 }), betas: Type.Array(Type.Number()) }),
  steps: Type.Integer({ minimum: 1 }),
  output: Type.String(),
});
const defaults = () => ({ model: { name: null, overrides: {} }, optimizer: { lr: 1e-3, betas: [0.9, 0.99] }, steps: 10, output: 'out' });

let tmp: TempDir;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

describe('parseRecipeConfigArgs', () => {
  it('reads key=value as a YAML override and anything else as a file, resolved against the working directory', () => {
    expect(parseRecipeConfigArgs('r', ['a.yaml', 'optimizer.lr=3e-4', 'model.name=null', 'optimizer.betas=[0.9, 0.95]', 'output=a=b', 'x/y=z.yaml'], '/work')).toEqual([
      { kind: 'file', path: '/work/a.yaml' },
      { kind: 'override', key: 'optimizer.lr', value: 3e-4, text: 'optimizer.lr=3e-4' },
      { kind: 'override', key: 'model.name', value: null, text: 'model.name=null' },
      { kind: 'override', key: 'optimizer.betas', value: [0.9, 0.95], text: 'optimizer.betas=[0.9, 0.95]' },
      { kind: 'override', key: 'output', value: 'a=b', text: 'output=a=b' },
      { kind: 'file', path: '/work/x/y=z.yaml' },
    ]);
  });

  it('names an override whose value is not YAML', () => {
    const error = caught(() => parseRecipeConfigArgs('train', ['optimizer.betas=[0.9'], '/'));
    expect(error).toBeInstanceOf(RecipeConfigError);
    expect(error.message).toMatch(/^The configuration of the train recipe is not valid: The value of `optimizer\.betas` is not valid YAML: .+ \(--config optimizer\.betas=\[0\.9\)$/);
  });
});

describe('loadRecipeConfig', () => {
  it('merges files and overrides over the defaults, in order, with directives and ${env:...}', async () => {
    const first = tmp.write('a.yaml', 'optimizer:\n  lr: 0.5\n  betas: [0.8, 0.9]\nmodel:\n  overrides: {a: 1, b: 2}\n');
    const second = tmp.write('b.yaml', 'model:\n  overrides:\n    _del_: [a]\n    c: 3\noutput: ${env:RUN_DIR:runs}/x\n');
    const config = await loadRecipeConfig('r', Schema, defaults(), [
      { kind: 'file', path: first },
      ...parseRecipeConfigArgs('r', ['optimizer.lr=0.25', 'steps=5'], tmp.path),
      { kind: 'file', path: second },
    ]);
    expect(config).toEqual({ model: { name: null, overrides: { b: 2, c: 3 } }, optimizer: { lr: 0.25, betas: [0.8, 0.9] }, steps: 5, output: 'runs/x' });
    const third = tmp.write('c.yaml', 'output: ${env:RUN_DIR:runs}/x\n');
    const withEnv = await loadRecipeConfig('r', Schema, defaults(), [{ kind: 'file', path: third }], { env: (n) => (n === 'RUN_DIR' ? '/data' : undefined) });
    expect(withEnv.output).toBe('/data/x');
  });

  it('lists every problem with where it was written: a file position, or the override', async () => {
    const file = tmp.write('bad.yaml', 'optimizer:\n  lr: fast\n  momentum: 0.9\nsteps: 3\n');
    const error = await caughtAsync(() =>
      loadRecipeConfig('train', Schema, defaults(), [{ kind: 'file', path: file }, ...parseRecipeConfigArgs('train', ['steps=0', 'modle.name=x'], tmp.path)]),
    );
    expect(error).toBeInstanceOf(RecipeConfigError);
    expect((error as RecipeConfigError).problems).toHaveLength(4);
    expect(error.message).toBe(
      'The configuration of the train recipe is not valid:\n' +
        '  `modle` is not a known key. (--config modle.name=x)\n' +
        `  \`optimizer.momentum\` is not a known key. (${file}:3:3)\n` +
        `  \`optimizer.lr\` is expected to be of type number, but is of type string instead. (${file}:2:7)\n` +
        '  `steps` must be >= 1, but is 0. (--config steps=0)',
    );
  });

  it('names a missing file, YAML that does not parse, and a file that is not a mapping', async () => {
    const missing = `${tmp.path}/none.yaml`;
    expect((await caughtAsync(() => loadRecipeConfig('r', Schema, defaults(), [{ kind: 'file', path: missing }]))).message).toBe(
      `The configuration of the r recipe is not valid: The config file ${missing} does not exist.`,
    );
    const broken = tmp.write('broken.yaml', 'steps: [1,\n');
    expect((await caughtAsync(() => loadRecipeConfig('r', Schema, defaults(), [{ kind: 'file', path: broken }]))).message).toMatch(
      new RegExp(`^The configuration of the r recipe is not valid: The config file is not valid YAML: .+ \\(${broken}:[0-9]+:[0-9]+\\)$`),
    );
    const list = tmp.write('list.yaml', '- 1\n- 2\n');
    expect((await caughtAsync(() => loadRecipeConfig('r', Schema, defaults(), [{ kind: 'file', path: list }]))).message).toBe(
      `The configuration of the r recipe is not valid: The config file is expected to hold a mapping of sections. (${list}:1:1)`,
    );
    const directive = tmp.write('del.yaml', 'model:\n  _del_: [nope]\n');
    expect((await caughtAsync(() => loadRecipeConfig('r', Schema, defaults(), [{ kind: 'file', path: directive }]))).message).toBe(
      `The configuration of the r recipe is not valid: \`model._del_\` names \`nope\`, which is not a key of \`model\`. (${directive}:2:10)`,
    );
  });
});
