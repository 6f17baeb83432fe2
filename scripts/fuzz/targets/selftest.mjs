// The harness's own check (not run by default): an input that makes the code under test throw
// something other than an fs2 error must fail the run, with the seed and the shrunk input.
import fc from 'fast-check';
import { InvalidArgumentError } from '@fs2/core';

export async function setup() {
  return {
    arbitrary: fc.integer({ min: 0, max: 1000 }),
    async run(n) {
      if (n % 2 === 1) throw new InvalidArgumentError('n', `${n} is odd.`);
      if (n > 900) throw new TypeError(`a planted bug at ${n}`);
    },
    show: (n) => String(n),
  };
}
