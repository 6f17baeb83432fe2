import { Fs2Error, InternalError } from '../errors/Fs2Error.js';
import { describeService, type ServiceKey } from './ServiceIdentifier.js';

/** One step of a resolution path: a service identifier and its key. */
export interface ServiceRef {
  readonly id: symbol;
  readonly key?: ServiceKey;
  /** Set for a member of a collection (shown as `X[]`), which is distinct from the single `X`. */
  readonly collection?: true;
}

function describeRef(ref: ServiceRef): string {
  return describeService(ref.id, ref.key) + (ref.collection === true ? '[]' : '');
}

/**
 * Nothing is registered for the requested service and key. `requestedBy` is the registration whose
 * provider asked for it, or `undefined` for a request from outside the container.
 */
export class DependencyNotFoundError extends Fs2Error {
  override readonly category = 'internal' as const;

  constructor(
    readonly service: ServiceRef,
    readonly requestedBy: ServiceRef | undefined,
    readonly registeredKeys: readonly ServiceKey[],
  ) {
    const requester = requestedBy === undefined ? '' : ` (requested by \`${describeRef(requestedBy)}\`)`;
    const keys =
      service.key !== undefined && registeredKeys.length > 0
        ? ` Registered keys: ${registeredKeys.map(String).join(', ')}.`
        : '';
    super(`\`${describeRef(service)}\` is not registered${requester}.${keys}`);
  }
}

/** A provider asked, directly or not, for the service it provides. `cycle` starts and ends with it. */
export class DependencyCycleError extends Fs2Error {
  override readonly category = 'internal' as const;

  constructor(readonly cycle: readonly ServiceRef[]) {
    super(`Dependency cycle detected: ${cycle.map(describeRef).join(' -> ')}.`);
  }
}

/** A second registration for a `(service, key)` pair that already has one. */
export class DuplicateRegistrationError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly service: ServiceRef,
    readonly firstOrigin: string,
    readonly secondOrigin: string,
  ) {
    super(
      `\`${describeRef(service)}\` is already registered by ${firstOrigin}; the registration by ${secondOrigin} is a duplicate.`,
    );
  }
}

/** A registration arrived after the container was frozen by its first resolve. */
export class ContainerFrozenError extends Fs2Error {
  override readonly category = 'internal' as const;

  constructor(
    readonly service: ServiceRef,
    readonly origin: string,
  ) {
    super(
      `\`${describeRef(service)}\` cannot be registered by ${origin}: no registration is accepted after the first \`resolve()\` call.`,
    );
  }
}

export { InternalError };
