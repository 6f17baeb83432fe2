/**
 * @fs2/core: fairseq2's asset system, model families and hubs, in TypeScript.
 *
 * The public surface, grouped by subsystem. Nothing else is public: import from `@fs2/core` only.
 */

// Errors shared by every subsystem.
export * from './errors/index.js';

// The dependency-injection runtime: container, init, extensions.
export * from './runtime/index.js';

// Composition functions: how the library, extensions and applications register things.
export * from './composition/index.js';
