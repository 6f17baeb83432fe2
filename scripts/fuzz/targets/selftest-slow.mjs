// Tests the harness: an input of 7 never settles (a promise that nothing resolves); the harness
// must fail it once the per-input bound passes, with the input shrunk to 7.
import fc from 'fast-check';

export default {
  async setup() {
    return {
      arbitrary: fc.nat(20),
      run(value) {
        return value === 7 ? new Promise(() => {}) : 'ok';
      },
    };
  },
};
