import { describe, expect, it } from '@jest/globals';
import { inject, injectable } from 'inversify';

import { InternalError, InvalidOperationError } from '../errors/Fs2Error.js';
import { DependencyContainer } from './DependencyContainer.js';
import {
  ContainerFrozenError,
  DependencyCycleError,
  DependencyNotFoundError,
  DuplicateRegistrationError,
} from './errors.js';
import { createServiceIdentifier, type ServiceIdentifier } from './ServiceIdentifier.js';

interface Named {
  readonly name: string;
}

const A: ServiceIdentifier<Named> = createServiceIdentifier('test.A');
const B: ServiceIdentifier<Named> = createServiceIdentifier('test.B');
const C: ServiceIdentifier<Named> = createServiceIdentifier('test.C');
const Family: ServiceIdentifier<Named> = createServiceIdentifier('test.Family');
const Source: ServiceIdentifier<Named> = createServiceIdentifier('test.Source');

describe(DependencyContainer, () => {
  describe('.register', () => {
    it('builds a transient service on every resolve', () => {
      const container = new DependencyContainer();
      let calls = 0;
      container.register(A, () => ({ name: `a${++calls}` }));

      expect(container.resolve(A).name).toBe('a1');
      expect(container.resolve(A).name).toBe('a2');
    });

    it('builds a singleton once', () => {
      const container = new DependencyContainer();
      let calls = 0;
      container.register(A, () => ({ name: `a${++calls}` }), { singleton: true });

      expect(container.resolve(A)).toBe(container.resolve(A));
      expect(calls).toBe(1);
    });

    it('passes the resolver to the provider', () => {
      const container = new DependencyContainer();
      container.registerInstance(B, { name: 'b' });
      container.register(A, (r) => ({ name: `a(${r.resolve(B).name})` }));

      expect(container.resolve(A).name).toBe('a(b)');
    });

    it('throws naming both origins when a (service, key) pair is registered twice', () => {
      const container = new DependencyContainer();
      container.withOrigin('@fs2/llama', () => container.registerInstance(Family, { name: 'x' }, { key: 'llama' }));

      expect(() =>
        container.withOrigin('@acme/llama', () => container.registerInstance(Family, { name: 'y' }, { key: 'llama' })),
      ).toThrow(
        new DuplicateRegistrationError({ id: Family, key: 'llama' }, '@fs2/llama', '@acme/llama'),
      );
      expect(() =>
        container.withOrigin('@acme/llama', () => container.registerInstance(Family, { name: 'y' }, { key: 'llama' })),
      ).toThrow('`test.Family[llama]` is already registered by @fs2/llama; the registration by @acme/llama is a duplicate.');
    });

    it('throws for an unkeyed duplicate with the default origin', () => {
      const container = new DependencyContainer();
      container.registerInstance(A, { name: 'a' });

      expect(() => container.register(A, () => ({ name: 'b' }))).toThrow(
        '`test.A` is already registered by user code; the registration by user code is a duplicate.',
      );
    });

    it('throws once the container is frozen by a resolve', () => {
      const container = new DependencyContainer();
      container.registerInstance(A, { name: 'a' });
      container.resolve(A);

      let error: unknown;
      try {
        container.withOrigin('extras', () => container.registerInstance(B, { name: 'b' }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ContainerFrozenError);
      expect((error as Error).message).toBe(
        '`test.B` cannot be registered by extras: no registration is accepted after the first `resolve()` call.',
      );
    });

    it('is frozen by resolveAll too', () => {
      const container = new DependencyContainer();
      container.resolveAll(Source);

      expect(() => container.collection.registerInstance(Source, { name: 's' })).toThrow(
        '`test.Source` cannot be registered by user code: no registration is accepted after the first `resolve()` call.',
      );
      expect(container.isFrozen).toBe(true);
    });
  });

  describe('.resolve', () => {
    it('names the service and who asked when a dependency is missing', () => {
      const container = new DependencyContainer();
      container.register(A, (r) => ({ name: r.resolve(B).name }));

      expect(() => container.resolve(A)).toThrow(new DependencyNotFoundError({ id: B }, { id: A }, []));
      expect(() => container.resolve(A)).toThrow('`test.B` is not registered (requested by `test.A`).');
    });

    it('names the key and lists the registered keys when a keyed service is missing', () => {
      const container = new DependencyContainer();
      container.registerInstance(Family, { name: 'llama' }, { key: 'llama' });
      container.registerInstance(Family, { name: 'qwen' }, { key: 'qwen' });

      expect(() => container.resolve(Family, { key: 'gpt2' })).toThrow(
        '`test.Family[gpt2]` is not registered. Registered keys: llama, qwen.',
      );
    });

    it('says the top-level request has no requester', () => {
      const container = new DependencyContainer();

      expect(() => container.resolve(A)).toThrow('`test.A` is not registered.');
    });

    it('detects a cycle and prints its path', () => {
      const container = new DependencyContainer();
      container.register(A, (r) => r.resolve(B));
      container.register(B, (r) => r.resolve(C));
      container.register(C, (r) => r.resolve(A));

      expect(() => container.resolve(A)).toThrow(DependencyCycleError);
      expect(() => container.resolve(A)).toThrow('Dependency cycle detected: test.A -> test.B -> test.C -> test.A.');
    });

    it('detects a self-cycle through a keyed registration', () => {
      const container = new DependencyContainer();
      container.register(Family, (r) => r.resolve(Family, { key: 'x' }), { key: 'x' });

      expect(() => container.resolve(Family, { key: 'x' })).toThrow(
        'Dependency cycle detected: test.Family[x] -> test.Family[x].',
      );
    });

    it('keeps keyed and unkeyed registrations apart', () => {
      const container = new DependencyContainer();
      container.registerInstance(Family, { name: 'default' });
      container.registerInstance(Family, { name: 'llama' }, { key: 'llama' });

      expect(container.resolve(Family).name).toBe('default');
      expect(container.resolve(Family, { key: 'llama' }).name).toBe('llama');
      expect(container.maybeResolve(Family, { key: 'qwen' })).toBeUndefined();
    });

    it('rejects a provider that returns undefined', () => {
      const container = new DependencyContainer();
      container.withOrigin('@acme/broken', () => container.register(A, () => undefined as unknown as Named));

      expect(() => container.resolve(A)).toThrow(InternalError);
      expect(() => container.resolve(A)).toThrow(
        'The provider of `test.A` registered by @acme/broken returned `undefined`.',
      );
    });

    it('lets a provider error through unchanged', () => {
      const container = new DependencyContainer();
      const failure = new RangeError('bad');
      container.register(A, () => {
        throw failure;
      });

      expect(() => container.resolve(A)).toThrow(failure);
    });
  });

  describe('.maybeResolve', () => {
    it('returns undefined only for its own missing registration', () => {
      const container = new DependencyContainer();
      container.register(A, (r) => r.resolve(B));

      expect(container.maybeResolve(C)).toBeUndefined();
      expect(() => container.maybeResolve(A)).toThrow('`test.B` is not registered (requested by `test.A`).');
    });
  });

  describe('.collection', () => {
    it('returns every member in registration order, skipping undefined', () => {
      const container = new DependencyContainer();
      container.collection.registerInstance(Source, { name: 'built-in' });
      container.collection.register(Source, () => ({ name: 'system' }));
      container.collection.register(Source, () => undefined);
      container.collection.register(Source, () => ({ name: 'user' }));

      expect(container.resolveAll(Source).map((s) => s.name)).toEqual(['built-in', 'system', 'user']);
    });

    it('returns an empty list for an empty collection', () => {
      expect(new DependencyContainer().resolveAll(Source)).toEqual([]);
    });

    it('is separate from single registrations of the same service', () => {
      const container = new DependencyContainer();
      container.registerInstance(Source, { name: 'single' });
      container.collection.registerInstance(Source, { name: 'member' });

      expect(container.resolve(Source).name).toBe('single');
      expect(container.resolveAll(Source).map((s) => s.name)).toEqual(['member']);
    });

    it('supports keyed collections', () => {
      const container = new DependencyContainer();
      container.collection.registerInstance(Source, { name: 'a' }, { key: 'x' });
      container.collection.registerInstance(Source, { name: 'b' }, { key: 'y' });
      container.collection.registerInstance(Source, { name: 'c' }, { key: 'x' });

      expect(container.resolveAll(Source, { key: 'x' }).map((s) => s.name)).toEqual(['a', 'c']);
      expect(container.resolveAll(Source)).toEqual([]);
    });
  });

  describe('.lookup', () => {
    it('gives keyed access and the keys in registration order', () => {
      const container = new DependencyContainer();
      container.registerInstance(Family, { name: 'Q' }, { key: 'qwen' });
      container.registerInstance(Family, { name: 'L' }, { key: 'llama' });
      const families = container.lookup(Family);

      expect(families.keys()).toEqual(['qwen', 'llama']);
      expect(families.has('llama')).toBe(true);
      expect(families.get('llama').name).toBe('L');
      expect(families.maybeGet('mistral')).toBeUndefined();
      expect(() => families.get('mistral')).toThrow('`test.Family[mistral]` is not registered. Registered keys: qwen, llama.');
    });
  });

  describe('.registerType', () => {
    it('instantiates a class with @inject constructor parameters through inversify', () => {
      @injectable()
      class Composite implements Named {
        readonly name: string;
        constructor(@inject(B) b: Named, @inject(C) c: Named) {
          this.name = `${b.name}+${c.name}`;
        }
      }
      const container = new DependencyContainer();
      container.registerInstance(B, { name: 'b' });
      container.register(C, () => ({ name: 'c' }));
      container.registerType(A, Composite, { singleton: true });

      expect(container.resolve(A).name).toBe('b+c');
      expect(container.resolve(A)).toBe(container.resolve(A));
    });

    it('reports a missing constructor dependency with the requester', () => {
      @injectable()
      class NeedsC implements Named {
        readonly name: string;
        constructor(@inject(C) c: Named) {
          this.name = c.name;
        }
      }
      const container = new DependencyContainer();
      container.registerType(A, NeedsC);

      expect(() => container.resolve(A)).toThrow('`test.C` is not registered (requested by `test.A`).');
    });
  });

  describe('.registerAsync', () => {
    it('builds asynchronous singletons in prepare(), then resolves them synchronously', async () => {
      const container = new DependencyContainer();
      container.registerInstance(B, { name: 'b' });
      container.registerAsync(A, async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return { name: `async(${r.resolve(B).name})` };
      });

      await container.prepare();

      expect(container.resolve(A).name).toBe('async(b)');
      expect(container.resolve(A)).toBe(container.resolve(A));
    });

    it('refuses a synchronous resolve before prepare()', () => {
      const container = new DependencyContainer();
      container.registerAsync(A, async () => ({ name: 'a' }));

      expect(() => container.resolve(A)).toThrow(InvalidOperationError);
      expect(() => container.resolve(A)).toThrow(
        '`test.A` has an asynchronous provider and is not built yet: call `await initFairseq2()` (or `await container.prepare()`) first, or use `resolveAsync()`.',
      );
    });

    it('lets an asynchronous provider await another and detects async cycles', async () => {
      const container = new DependencyContainer();
      container.registerAsync(A, async (r) => ({ name: `a(${(await r.resolveAsync(B)).name})` }));
      container.registerAsync(B, async () => ({ name: 'b' }));
      container.registerAsync(C, async (r) => r.resolveAsync(C));

      expect((await container.resolveAsync(A)).name).toBe('a(b)');
      await expect(container.resolveAsync(C)).rejects.toThrow('Dependency cycle detected: test.C -> test.C.');
    });

    it('shares one pending build between concurrent requests', async () => {
      const container = new DependencyContainer();
      let calls = 0;
      container.registerAsync(A, async () => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { name: 'a' };
      });

      const [x, y] = await Promise.all([container.resolveAsync(A), container.resolveAsync(A)]);

      expect(x).toBe(y);
      expect(calls).toBe(1);
    });
  });

  describe('.iterKeys', () => {
    it('lists keys in registration order, undefined for the unkeyed registration', () => {
      const container = new DependencyContainer();
      container.registerInstance(Family, { name: '' }, { key: 'b' });
      container.registerInstance(Family, { name: '' });
      container.registerInstance(Family, { name: '' }, { key: 'a' });

      expect(container.iterKeys(Family)).toEqual(['b', undefined, 'a']);
      expect(container.originOf(Family, { key: 'a' })).toBe('user code');
    });
  });
});

describe('DependencyContainer collections beside a single registration', () => {
  it('lets a single registration resolve the collection of its own identifier (a delegating service)', () => {
    const container = new DependencyContainer();
    container.collection.registerInstance(A, { name: 'x' });
    container.collection.register(A, () => ({ name: 'y' }));
    container.register(A, (r) => ({ name: r.resolveAll(A).map((a) => a.name).join('+') }));

    expect(container.resolve(A).name).toBe('x+y');
  });

  it('still detects a member that resolves its own collection', () => {
    const container = new DependencyContainer();
    container.collection.register(A, (r) => ({ name: String(r.resolveAll(A).length) }));

    expect(() => container.resolveAll(A)).toThrow('Dependency cycle detected: test.A[] -> test.A[].');
  });
});
