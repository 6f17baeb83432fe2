// Tests the harness (test/fuzz/fuzz.int.spec.ts): a planted bug. Most inputs succeed or end in a
// named error; an input whose value is 1000 or more throws a TypeError, which the harness must
// report with the seed, a shrunk counterexample (exactly 1000) and the stack.
import fc from 'fast-check';
import { CheckpointError } from '@fs2/core';

export default {
  async setup() {
    return {
      arbitrary: fc.nat(5000),
      run(value) {
        if (value >= 1000) {
          throw new TypeError(`planted crash for ${value}`);
        }
        if (value % 2 === 0) {
          throw new CheckpointError('/selftest', `${value} is even.`);
        }
        return 'ok';
      },
      materialize: (value) => ({ 'selftest-input.txt': Buffer.from(String(value)) }),
    };
  },
};
