import { describe, expect, it } from '@jest/globals';

import { interpolateEnvVariables } from './interpolateEnvVariables.js';

const env: Record<string, string> = { DATA: '/data', EMPTY: '' };
const lookup = (name: string): string | undefined => env[name];

describe(interpolateEnvVariables, () => {
  it('replaces ${env:NAME} and ${env:NAME:default} in every string', () => {
    expect(
      interpolateEnvVariables(
        { path: '${env:DATA}/x', list: ['${env:MISSING:fallback}', 3, true, null], deep: { v: 'a${env:DATA}b${env:DATA}' } },
        lookup,
      ),
    ).toEqual({ path: '/data/x', list: ['fallback', 3, true, null], deep: { v: 'a/datab/data' } });
  });

  it('turns an unset variable without default into the empty string, as fairseq2 does', () => {
    expect(interpolateEnvVariables('[${env:MISSING}]', lookup)).toBe('[]');
  });

  it('keeps a variable set to the empty string', () => {
    expect(interpolateEnvVariables('${env:EMPTY:default}', lookup)).toBe('');
  });

  it('leaves other ${...} text alone', () => {
    expect(interpolateEnvVariables('${dir}/${env:1BAD}/${env:}', lookup)).toBe('${dir}/${env:1BAD}/${env:}');
  });

  it('does not change its argument', () => {
    const value = { a: '${env:DATA}' };
    interpolateEnvVariables(value, lookup);

    expect(value).toEqual({ a: '${env:DATA}' });
  });
});
