/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

// Settings that jest 30 does not inherit from the root config into `projects`: each project
// repeats them (transform, extensionsToTreatAsEsm, moduleNameMapper, roots; measured: without them
// a project runs with jest's defaults and fails to load the ESM TypeScript sources).
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'es6' },
  },
] as const;

const projectDefaults: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc as unknown as [string, Record<string, unknown>] },
  moduleNameMapper: {
    // A compiled file of a workspace package (an extension entry found by discovery) runs from
    // its source under jest, so that no module exists twice.
    '^(?:file://)?(.*)/(packages|examples)/([^/]+)/dist/(.*)\\.js$': '$1/$2/$3/src/$4.ts',
    // Each workspace package resolves to its sources, so a class imported by package name is the
    // same class as the one imported relatively.
    '^@fs2/(core|llama|qwen|mistral|cli)$': '<rootDir>/packages/$1/src/index.ts',
    '^@fs2-examples/([a-z-]+)$': '<rootDir>/examples/$1/src/index.ts',
    // NodeNext-style ".js" specifiers in TypeScript sources.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  roots: ['<rootDir>/packages', '<rootDir>/examples', '<rootDir>/test'],
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/examples/.*/dist/'],
};

const config: Config = {
  // Recycles a worker that grows past this: jest's ESM mode keeps ~5 MB per file that imports tfjs.
  workerIdleMemoryLimit: '512MB',
  cacheDirectory: '<rootDir>/.jest-cache',
  testResultsProcessor: '<rootDir>/test/results-processor.mjs',
  projects: [
    {
      ...projectDefaults,
      displayName: 'unit',
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['\\.int\\.spec\\.ts$', '/node_modules/', '/dist/'],
    },
    {
      ...projectDefaults,
      displayName: 'integration',
      testMatch: ['**/*.int.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    },
  ],
};

export default config;
