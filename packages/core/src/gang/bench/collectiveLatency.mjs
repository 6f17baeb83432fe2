#!/usr/bin/env node
// Measures the latency of a thread gang's collectives, with and without spinning before
// Atomics.wait. Not a test: run it on a machine that is otherwise idle (see the gang's README).
//
//   npm run build && node packages/core/src/gang/bench/collectiveLatency.mjs [--quick]
//
// Prints one line per configuration: ranks, spin iterations, collective, floats, busy work per
// rank between collectives (µs), and the mean µs per iteration minus the largest rank's work.
import { availableParallelism } from 'node:os';
import { ThreadGangHost } from '../../../dist/gang/ThreadGangHost.js';

const quick = process.argv.includes('--quick');
const scale = quick ? 0.2 : 1;
const entry = new URL('./latencyWorker.mjs', import.meta.url);

const configurations = [];
for (const size of [2, 3]) {
  for (const spinIterations of [0, 1_000, 10_000, 100_000]) {
    configurations.push({ size, spinIterations });
  }
}

const workloads = [
  { op: 'barrier', length: 0, iterations: 4000, workUs: [] },
  { op: 'allReduce', length: 768, iterations: 4000, workUs: [] },
  { op: 'allReduce', length: 4096, iterations: 4000, workUs: [] },
  { op: 'allReduce', length: 98_304, iterations: 400, workUs: [] },
  { op: 'allReduce', length: 1_048_576, iterations: 40, workUs: [] },
  { op: 'allGather', length: 32_000, iterations: 1000, workUs: [] },
  // A decode step: ~100 µs of work per rank, one rank 20 µs slower, then an all-reduce.
  { op: 'allReduce', length: 768, iterations: 2000, workUs: [100, 120, 100] },
];

console.log(`# node ${process.version}, ${availableParallelism()} CPUs`);
console.log('ranks\tspin\tcollective\tfloats\twork_us\tus_per_collective');
for (const { size, spinIterations } of configurations) {
  if (size > availableParallelism()) continue;
  const host = await ThreadGangHost.start({ entry, size, spinIterations });
  try {
    for (const workload of workloads) {
      const iterations = Math.max(10, Math.round(workload.iterations * scale));
      const times = await host.requestAll('time', { ...workload, iterations });
      const work = Math.max(0, ...workload.workUs.slice(0, size));
      const us = Math.max(...times) - work;
      console.log(
        [size, spinIterations, workload.op, workload.length, workload.workUs.slice(0, size).join('/') || '0', us.toFixed(1)].join('\t'),
      );
    }
  } finally {
    await host.close();
  }
}
