export { createServiceIdentifier, serviceName, describeService } from './ServiceIdentifier.js';
export type { ServiceIdentifier, ServiceKey } from './ServiceIdentifier.js';
export { DependencyContainer } from './DependencyContainer.js';
export type {
  AsyncDependencyProvider,
  CollectionRegistrar,
  DependencyProvider,
  DependencyResolver,
  Lookup,
  RegistrationOptions,
  ResolveOptions,
} from './DependencyContainer.js';
export {
  ContainerFrozenError,
  DependencyCycleError,
  DependencyNotFoundError,
  DuplicateRegistrationError,
} from './errors.js';
export type { ServiceRef } from './errors.js';
export { Environment, StandardEnvironment } from './Environment.js';
export type { StandardEnvironmentOptions } from './Environment.js';
export { ExtensionError, discoverExtensions, loadExtension, packageSearchRoots, runExtension } from './extensions.js';
export type { ExtensionDescriptor, ExtensionFunction, InlineExtension, RunExtensionOptions } from './extensions.js';
export { createFairseq2, initFairseq2, shutdownFairseq2 } from './init.js';
export type { ExtrasFunction, InitFairseq2Options } from './init.js';
export { getDependencyResolver, maybeGetDependencyResolver } from './global.js';
