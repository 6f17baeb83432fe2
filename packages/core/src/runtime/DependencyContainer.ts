import { Container } from 'inversify';
import type { Newable } from 'inversify';

import { InternalError, InvalidOperationError } from '../errors/Fs2Error.js';
import {
  ContainerFrozenError,
  DependencyCycleError,
  DependencyNotFoundError,
  DuplicateRegistrationError,
  type ServiceRef,
} from './errors.js';
import { describeService, type ServiceIdentifier, type ServiceKey } from './ServiceIdentifier.js';

/** A function that builds a service from the resolver, the analogue of fairseq2's `DependencyProvider`. */
export type DependencyProvider<T> = (resolver: DependencyResolver) => T;

/** A provider whose work is asynchronous (file or network I/O); its result is a singleton. */
export type AsyncDependencyProvider<T> = (resolver: DependencyResolver) => Promise<T>;

/** Options of a registration. */
export interface RegistrationOptions {
  /** The key, for keyed registrations (a `ModelFamily` under `"llama"`). Default: none. */
  readonly key?: ServiceKey;
  /** Build once and reuse the value. Default: `false` (transient, as in fairseq2). */
  readonly singleton?: boolean;
}

/** Options of a resolve. */
export interface ResolveOptions {
  /** The key of a keyed registration. Default: the unkeyed registration. */
  readonly key?: ServiceKey;
}

/** Keyed access to the registrations of one service, e.g. every `ModelFamily` by name. */
export interface Lookup<T> {
  /** The keys registered, in registration order. */
  keys(): ServiceKey[];
  has(key: ServiceKey): boolean;
  /** The service under `key`; throws {@link DependencyNotFoundError} when there is none. */
  get(key: ServiceKey): T;
  /** The service under `key`, or `undefined` when there is none. */
  maybeGet(key: ServiceKey): T | undefined;
}

/**
 * Read access to the container. Providers receive one; after `initFairseq2()` the process-global
 * one is {@link getDependencyResolver}.
 */
export interface DependencyResolver {
  /** The service registered for `id` (and `key`); throws {@link DependencyNotFoundError}. */
  resolve<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): T;
  /** Like {@link resolve}, but `undefined` when nothing is registered for `id` and `key`. */
  maybeResolve<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): T | undefined;
  /** Every member of the collection `id` (and `key`), in registration order; empty when none. */
  resolveAll<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): T[];
  /** Like {@link resolve}, for services that are (or depend on) asynchronous providers. */
  resolveAsync<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): Promise<T>;
  /** The keys registered for `id`, in registration order (`undefined` for the unkeyed one). */
  iterKeys(id: symbol): (ServiceKey | undefined)[];
  /** Keyed access to the registrations of `id`. */
  lookup<T>(id: ServiceIdentifier<T>): Lookup<T>;
  /** Whether `id` (and `key`) has a single-valued registration. */
  isRegistered(id: symbol, options?: ResolveOptions): boolean;
}

type RegistrationKind = 'factory' | 'instance' | 'type' | 'async';

interface Registration {
  readonly ref: ServiceRef;
  readonly kind: RegistrationKind;
  readonly singleton: boolean;
  readonly origin: string;
  readonly collection: boolean;
  readonly provider: (resolver: DependencyResolver) => unknown;
  /** Set once a singleton (or instance) has a value. */
  value?: { readonly v: unknown };
  /** Set while an async provider runs, so concurrent requests share it. */
  pending?: Promise<unknown> | undefined;
}

const DEFAULT_ORIGIN = 'user code';

function sameRef(a: ServiceRef, b: ServiceRef): boolean {
  return a.id === b.id && a.key === b.key && a.collection === b.collection;
}

function keyOf(ref: ServiceRef): string {
  return `${String(ref.id.description)}\u0000${ref.key === undefined ? '' : `${typeof ref.key}:${String(ref.key)}`}`;
}

/** The identifier under which inversify holds the members of a collection. */
function collectionSymbol(id: symbol): symbol {
  return Symbol.for(`${id.description ?? ''}[]`);
}

/**
 * fairseq2's `DependencyContainer` on top of inversify 8.
 *
 * - Register first, then resolve: the first resolve freezes the container, and a late registration
 *   throws {@link ContainerFrozenError}.
 * - A `(service, key)` pair has at most one single-valued registration; a second throws
 *   {@link DuplicateRegistrationError} naming both origins (the package whose extension made each).
 * - Collections (`container.collection`) hold many registrations per `(service, key)`, in order.
 * - Transient by default; `singleton: true` caches the value; instances are always shared.
 * - A provider that asks, directly or not, for its own service gets {@link DependencyCycleError}
 *   with the path (`A -> B -> A`); a missing registration names who asked for it.
 * - Asynchronous providers ({@link registerAsync}) are singletons built by {@link prepare}, which
 *   `initFairseq2()` awaits, so that every later lookup is synchronous.
 *
 * Inversify stores the bindings, matches keys (`whenNamed` / `whenDefault`, so an unkeyed binding
 * never answers a keyed request) and instantiates decorated classes ({@link registerType}); this
 * class adds the bookkeeping fairseq2 has and inversify does not (origins, freezing, cycle paths).
 */
export class DependencyContainer implements DependencyResolver {
  private readonly inversify = new Container({ defaultScope: 'Transient' });
  private readonly single = new Map<string, Registration>();
  private readonly collections = new Map<string, Registration[]>();
  private readonly keysById = new Map<symbol, (ServiceKey | undefined)[]>();
  private readonly asyncRegistrations: Registration[] = [];
  private readonly stack: ServiceRef[] = [];
  private frozen = false;
  private origin = DEFAULT_ORIGIN;
  private typeCounter = 0;

  /** Multi-valued registrations: every registered member is returned by `resolveAll`. */
  readonly collection: CollectionRegistrar = {
    register: (id, provider, options) => this.add(id, 'factory', provider, options, true),
    registerInstance: (id, value, options) =>
      this.add(id, 'instance', () => value, { ...(options?.key === undefined ? {} : { key: options.key }), singleton: true }, true),
    registerType: (id, type, options) => this.add(id, 'type', this.typeProvider(type), options, true),
  };

  /** Whether the container has been frozen by a resolve. */
  get isFrozen(): boolean {
    return this.frozen;
  }

  /** The name that the registrations made now are attributed to (a package name, `extras`, ...). */
  get currentOrigin(): string {
    return this.origin;
  }

  /**
   * Runs `body` with registrations attributed to `origin`, so that a duplicate names who made
   * each registration. Used for the library, each extension and `extras`.
   */
  withOrigin<R>(origin: string, body: () => R): R {
    const previous = this.origin;
    this.origin = origin;
    try {
      const result = body();
      if (result instanceof Promise) {
        return result.finally(() => {
          this.origin = previous;
        }) as R;
      }
      this.origin = previous;
      return result;
    } catch (error) {
      this.origin = previous;
      throw error;
    }
  }

  /** Registers a provider, called on every resolve unless `singleton` is set. */
  register<T>(id: ServiceIdentifier<T>, provider: DependencyProvider<T>, options?: RegistrationOptions): void {
    this.add(id, 'factory', provider, options, false);
  }

  /** Registers a ready-made value. */
  registerInstance<T>(id: ServiceIdentifier<T>, value: T, options?: Pick<RegistrationOptions, 'key'>): void {
    this.add(id, 'instance', () => value, { ...(options?.key === undefined ? {} : { key: options.key }), singleton: true }, false);
  }

  /**
   * Registers a class that inversify instantiates, its constructor parameters decorated with
   * `@inject(ServiceIdentifier)` (the class itself with `@injectable()`).
   */
  registerType<T>(id: ServiceIdentifier<T>, type: Newable<T>, options?: RegistrationOptions): void {
    this.add(id, 'type', this.typeProvider(type), options, false);
  }

  /**
   * Registers an asynchronous provider. Its value is a singleton, built by {@link prepare} (or on
   * the first {@link resolveAsync}); a synchronous {@link resolve} before that throws.
   */
  registerAsync<T>(id: ServiceIdentifier<T>, provider: AsyncDependencyProvider<T>, options?: Pick<RegistrationOptions, 'key'>): void {
    const registration = this.add(id, 'async', provider, { ...(options?.key === undefined ? {} : { key: options.key }), singleton: true }, false);
    this.asyncRegistrations.push(registration);
  }

  /**
   * Freezes the container and builds every asynchronous registration, in registration order.
   * `initFairseq2()` calls it; isolated containers in tests call it after registering.
   */
  async prepare(): Promise<this> {
    this.frozen = true;
    for (const registration of this.asyncRegistrations) {
      await this.invokeAsync(registration, []);
    }
    return this;
  }

  resolve<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): T {
    const ref = makeRef(id, options?.key);
    const registration = this.single.get(keyOf(ref));
    if (registration === undefined) {
      throw this.notFound(ref);
    }
    return this.invoke(registration) as T;
  }

  maybeResolve<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): T | undefined {
    const registration = this.single.get(keyOf(makeRef(id, options?.key)));
    return registration === undefined ? undefined : (this.invoke(registration) as T);
  }

  resolveAll<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): T[] {
    const ref = makeRef(id, options?.key);
    this.frozen = true;
    const members = this.collections.get(keyOf(ref)) ?? [];
    if (members.length === 0) {
      return [];
    }
    // Inversify answers the request; each binding's dynamic value calls back into `invoke`.
    const values = this.withStack(undefined, () =>
      this.inversify.getAll<unknown>(collectionSymbol(id), ref.key === undefined ? {} : { name: ref.key }),
    );
    return values.filter((v) => v !== undefined && v !== null) as T[];
  }

  async resolveAsync<T>(id: ServiceIdentifier<T>, options?: ResolveOptions): Promise<T> {
    return this.resolveAsyncFrom(id, options?.key, [...this.stack]);
  }

  iterKeys(id: symbol): (ServiceKey | undefined)[] {
    return [...(this.keysById.get(id) ?? [])];
  }

  lookup<T>(id: ServiceIdentifier<T>): Lookup<T> {
    return {
      keys: () => this.iterKeys(id).filter((k): k is ServiceKey => k !== undefined),
      has: (key) => this.single.has(keyOf(makeRef(id, key))),
      get: (key) => this.resolve(id, { key }),
      maybeGet: (key) => this.maybeResolve(id, { key }),
    };
  }

  isRegistered(id: symbol, options?: ResolveOptions): boolean {
    return this.single.has(keyOf(makeRef(id, options?.key)));
  }

  /** The origin (package, `extras`, ...) of the registration for `id` and `key`, if any. */
  originOf(id: symbol, options?: ResolveOptions): string | undefined {
    return this.single.get(keyOf(makeRef(id, options?.key)))?.origin;
  }

  // ---------------------------------------------------------------------------------------------

  private add(
    id: symbol,
    kind: RegistrationKind,
    provider: (resolver: DependencyResolver) => unknown,
    options: RegistrationOptions | undefined,
    collection: boolean,
  ): Registration {
    const ref = makeRef(id, options?.key);
    if (this.frozen) {
      throw new ContainerFrozenError(ref, this.origin);
    }
    const registration: Registration = {
      ref: collection ? { ...ref, collection: true } : ref,
      kind,
      singleton: options?.singleton ?? false,
      origin: this.origin,
      collection,
      provider,
    };
    const mapKey = keyOf(ref);
    const target = collection ? collectionSymbol(id) : id;
    if (collection) {
      const members = this.collections.get(mapKey) ?? [];
      members.push(registration);
      this.collections.set(mapKey, members);
    } else {
      const existing = this.single.get(mapKey);
      if (existing !== undefined) {
        throw new DuplicateRegistrationError(ref, existing.origin, this.origin);
      }
      this.single.set(mapKey, registration);
      const keys = this.keysById.get(id) ?? [];
      keys.push(ref.key);
      this.keysById.set(id, keys);
    }
    const binding = this.inversify.bind(target).toDynamicValue(() => this.invoke(registration));
    if (ref.key === undefined) {
      binding.whenDefault();
    } else {
      binding.whenNamed(ref.key);
    }
    return registration;
  }

  private typeProvider<T>(type: Newable<T>): DependencyProvider<T> {
    const implementation = Symbol(`${type.name}#${++this.typeCounter}`);
    this.inversify.bind(implementation).to(type).inTransientScope();
    return () => this.inversify.get<T>(implementation);
  }

  private invoke(registration: Registration): unknown {
    this.frozen = true;
    if (registration.value !== undefined) {
      return registration.value.v;
    }
    if (registration.kind === 'async') {
      throw new InvalidOperationError(
        `\`${describeService(registration.ref.id, registration.ref.key)}\` has an asynchronous provider and is not built yet: call \`await initFairseq2()\` (or \`await container.prepare()\`) first, or use \`resolveAsync()\`.`,
      );
    }
    const cycleStart = this.stack.findIndex((r) => sameRef(r, registration.ref));
    if (cycleStart >= 0) {
      throw new DependencyCycleError([...this.stack.slice(cycleStart), registration.ref]);
    }
    const value = this.withStack(registration.ref, () => {
      try {
        return registration.provider(this);
      } catch (error) {
        throw translateInversifyError(error, this.stack);
      }
    });
    if (value === undefined && !registration.collection) {
      throw new InternalError(
        `The provider of \`${describeService(registration.ref.id, registration.ref.key)}\` registered by ${registration.origin} returned \`undefined\`.`,
      );
    }
    if (registration.singleton) {
      registration.value = { v: value };
    }
    return value;
  }

  private async invokeAsync(registration: Registration, chain: ServiceRef[]): Promise<unknown> {
    if (registration.value !== undefined) {
      return registration.value.v;
    }
    if (registration.kind !== 'async') {
      return this.withStackReplaced(chain, () => this.invoke(registration));
    }
    const cycleStart = chain.findIndex((r) => sameRef(r, registration.ref));
    if (cycleStart >= 0) {
      throw new DependencyCycleError([...chain.slice(cycleStart), registration.ref]);
    }
    if (registration.pending === undefined) {
      const innerChain = [...chain, registration.ref];
      const resolver = this.chainedResolver(innerChain);
      registration.pending = (async () => {
        const value = await registration.provider(resolver);
        if (value === undefined) {
          throw new InternalError(
            `The provider of \`${describeService(registration.ref.id, registration.ref.key)}\` registered by ${registration.origin} returned \`undefined\`.`,
          );
        }
        registration.value = { v: value };
        return value;
      })();
      registration.pending.catch(() => {
        registration.pending = undefined;
      });
    }
    return registration.pending;
  }

  private async resolveAsyncFrom<T>(id: symbol, key: ServiceKey | undefined, chain: ServiceRef[]): Promise<T> {
    this.frozen = true;
    const ref = makeRef(id, key);
    const registration = this.single.get(keyOf(ref));
    if (registration === undefined) {
      throw this.notFound(ref, chain);
    }
    return (await this.invokeAsync(registration, chain)) as T;
  }

  /**
   * A resolver for an asynchronous provider: its synchronous calls run with the provider's own
   * resolution path (the container's stack may belong to someone else across an `await`).
   */
  private chainedResolver(chain: ServiceRef[]): DependencyResolver {
    return {
      resolve: (id, options) => this.withStackReplaced(chain, () => this.resolve(id, options)),
      maybeResolve: (id, options) => this.withStackReplaced(chain, () => this.maybeResolve(id, options)),
      resolveAll: (id, options) => this.withStackReplaced(chain, () => this.resolveAll(id, options)),
      resolveAsync: (id, options) => this.resolveAsyncFrom(id, options?.key, chain),
      iterKeys: (id) => this.iterKeys(id),
      lookup: (id) => this.lookup(id),
      isRegistered: (id, options) => this.isRegistered(id, options),
    };
  }

  private withStack<R>(ref: ServiceRef | undefined, body: () => R): R {
    if (ref !== undefined) {
      this.stack.push(ref);
    }
    try {
      return body();
    } finally {
      if (ref !== undefined) {
        this.stack.pop();
      }
    }
  }

  private withStackReplaced<R>(chain: ServiceRef[], body: () => R): R {
    const saved = this.stack.splice(0, this.stack.length, ...chain);
    try {
      return body();
    } finally {
      this.stack.splice(0, this.stack.length, ...saved);
    }
  }

  private notFound(ref: ServiceRef, chain: readonly ServiceRef[] = this.stack): DependencyNotFoundError {
    const keys = (this.keysById.get(ref.id) ?? []).filter((k): k is ServiceKey => k !== undefined);
    return new DependencyNotFoundError(ref, chain[chain.length - 1], keys);
  }
}

/** The registration side of `container.collection`. */
export interface CollectionRegistrar {
  register<T>(id: ServiceIdentifier<T>, provider: DependencyProvider<T | undefined>, options?: RegistrationOptions): void;
  registerInstance<T>(id: ServiceIdentifier<T>, value: T, options?: Pick<RegistrationOptions, 'key'>): void;
  registerType<T>(id: ServiceIdentifier<T>, type: Newable<T>, options?: RegistrationOptions): void;
}

function makeRef(id: symbol, key: ServiceKey | undefined): ServiceRef {
  return key === undefined ? { id } : { id, key };
}

/**
 * Inversify reports a constructor parameter with no binding as `No bindings found for service:
 * "Symbol(...)"`; this turns it into fs2's error naming the class that asked.
 */
function translateInversifyError(error: unknown, stack: readonly ServiceRef[]): unknown {
  if (!(error instanceof Error) || error.constructor.name !== 'InversifyCoreError') {
    return error;
  }
  const match = /No bindings found for service: "Symbol\((.*?)\)"/.exec(error.message);
  if (match?.[1] === undefined) {
    return error;
  }
  return new DependencyNotFoundError({ id: Symbol.for(match[1]) }, stack[stack.length - 1], []);
}
