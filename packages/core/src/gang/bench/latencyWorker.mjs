// The worker of collectiveLatency.mjs: times collectives on its rank.
export default function setup({ gang, rank }) {
  /** Busy work of about `us` microseconds (a stand-in for a layer's matmuls). */
  const work = (us) => {
    const end = performance.now() + us / 1000;
    while (performance.now() < end);
  };
  return {
    /** Runs `iterations` collectives of `length` floats; returns the microseconds per collective. */
    time({ op, length, iterations, workUs }) {
      const data = new Float32Array(length).fill(rank);
      const run = () => {
        if (op === 'barrier') gang.barrier();
        else if (op === 'allGather') gang.allGather(data.subarray(0, length / gang.size));
        else gang.allReduce(data, 'sum');
      };
      for (let i = 0; i < Math.min(50, iterations); i++) run();
      gang.barrier();
      const mine = workUs[rank] ?? 0;
      const start = performance.now();
      for (let i = 0; i < iterations; i++) {
        if (mine > 0) work(mine);
        run();
      }
      return ((performance.now() - start) * 1000) / iterations;
    },
  };
}
