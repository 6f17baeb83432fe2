// What scripts/fuzz.mjs and its worker share without importing each other.

/** Indices in the shared Int32Array: property calls so far, and whether a run is under way. */
export const SHARED = { calls: 0, phase: 1 };

/**
 * An input broke a property that is not about exceptions: a secret shown in a message, a global
 * outside the allow-list that was not refused. Thrown by targets; always a failure.
 */
export class PropertyViolation extends Error {
  name = 'PropertyViolation';
}
