// Tests the harness: an input of 7 loops forever, synchronously; only the watchdog of the main
// thread can stop it (it terminates the worker, then regenerates the input from the seed).
import fc from 'fast-check';

export default {
  async setup() {
    return {
      arbitrary: fc.nat(20),
      run(value) {
        if (value === 7) {
          for (;;) {
            // A hang.
          }
        }
        return 'ok';
      },
      materialize: (value) => ({ 'selftest-input.txt': Buffer.from(String(value)) }),
    };
  },
};
