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

// Asset cards, stores, configs, URIs and downloads.
export * from './assets/index.js';

// Checkpoint readers and writers (safetensors, torch zip), key maps, resharding.
export * from './checkpoint/index.js';

// Model families, hubs and the global loader.
export * from './models/index.js';

// TF.js building blocks: devices, layers, the transformer decoder, generation.
export * from './nn/index.js';

// Gangs (collectives) for tensor parallelism.
export * from './gang/index.js';

// Tokenizer families and hubs.
export * from './tokenizers/index.js';

// Dataset families and hubs.
export * from './datasets/index.js';

// Recipes, the trainer and its units.
export * from './recipes/index.js';
