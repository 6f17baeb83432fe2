// Begin-example: service
import { createServiceIdentifier, type ServiceIdentifier } from '@fs2/core';

/** What the extension provides: a service any fs2 user can resolve from the container. */
export interface Greeter {
  greet(name: string): string;
}

/** The typed identifier shares the interface's name. Third-party names carry a prefix. */
export const Greeter: ServiceIdentifier<Greeter> = createServiceIdentifier('hello-extension.Greeter');

export class StandardGreeter implements Greeter {
  constructor(private readonly greeting: string) {}

  greet(name: string): string {
    return `${this.greeting}, ${name}!`;
  }
}
// End-example: service
