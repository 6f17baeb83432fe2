declare const SERVICE_TYPE: unique symbol;

/**
 * A typed key for the dependency container: a registered symbol that remembers, at the type
 * level only, the type `T` of the service it names.
 *
 * Identifiers are made with {@link createServiceIdentifier}, which uses `Symbol.for`, so the same
 * name gives the same identifier in every copy of `@fs2/core` loaded in a process. By convention
 * the constant shares its name with the interface it stands for (VS Code style):
 *
 * ```ts
 * export interface Greeter { greet(name: string): string }
 * export const Greeter: ServiceIdentifier<Greeter> = createServiceIdentifier('acme.Greeter');
 * ```
 */
export type ServiceIdentifier<T> = symbol & { readonly [SERVICE_TYPE]?: T };

const PREFIX = 'fs2.service:';

/**
 * Creates (or finds) the identifier named `name`. Names are global: third parties should prefix
 * theirs (`acme.Greeter`); fs2's own services use their bare class name (`AssetStore`).
 */
export function createServiceIdentifier<T>(name: string): ServiceIdentifier<T> {
  return Symbol.for(PREFIX + name) as ServiceIdentifier<T>;
}

/** The name an identifier was created with, for messages. */
export function serviceName(id: symbol): string {
  const description = id.description ?? '<anonymous>';
  return description.startsWith(PREFIX) ? description.slice(PREFIX.length) : description;
}

/** A registration key: the `"llama"` in "the `ModelFamily` registered under `llama`". */
export type ServiceKey = string | number;

/** `X` or `X[key]`, the way messages name a registration. */
export function describeService(id: symbol, key?: ServiceKey): string {
  return key === undefined ? serviceName(id) : `${serviceName(id)}[${String(key)}]`;
}
