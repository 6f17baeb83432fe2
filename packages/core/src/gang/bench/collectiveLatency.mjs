#!/usr/bin/env node
// Measures the latency of a thread gang's collectives, with and without spinning before
// Atomics.wait. Not a test: run it on a machine that is otherwise idle.
//
//   npm run build
//   node packages/core/src/gang/bench/collectiveLatency.mjs [--rounds=5] [--spins=0,1000,10000] [--sizes=2,3]
//
// Each round starts one host per (ranks, spin) configuration, in turn, so that a noisy neighbour
// hits every configuration alike. Prints, per configuration and workload, the median over the
// rounds of the µs per iteration minus the slowest rank's busy work (the cost of the collective,
// waiting for the slower rank included).
import { availableParallelism } from 'node:os';
import { ThreadGangHost } from '../../../dist/gang/ThreadGangHost.js';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const rounds = Number(arg('rounds', '5'));
const spins = arg('spins', '0,1000,10000').split(',').map(Number);
const sizes = arg('sizes', '2,3').split(',').map(Number).filter((size) => size <= availableParallelism());
const entry = new URL('./latencyWorker.mjs', import.meta.url);

const workloads = [
  { name: 'barrier', op: 'barrier', length: 0, iterations: 2000, workUs: [] },
  { name: 'allReduce 768 (a decode hidden state)', op: 'allReduce', length: 768, iterations: 2000, workUs: [] },
  { name: 'allReduce 4096', op: 'allReduce', length: 4096, iterations: 2000, workUs: [] },
  { name: 'allReduce 98304 (128 x 768, a prefill)', op: 'allReduce', length: 98_304, iterations: 200, workUs: [] },
  { name: 'allReduce 1 Mi', op: 'allReduce', length: 1_048_576, iterations: 20, workUs: [] },
  { name: 'allGather 32000 (logits)', op: 'allGather', length: 32_000, iterations: 500, workUs: [] },
  { name: 'allReduce 768 after 100/120 µs of work', op: 'allReduce', length: 768, iterations: 1000, workUs: [100, 120, 100] },
  { name: 'allReduce 768 after 100/400 µs of work', op: 'allReduce', length: 768, iterations: 500, workUs: [100, 400, 100] },
];

const samples = new Map();
for (let round = 0; round < rounds; round++) {
  for (const size of sizes) {
    for (const spinIterations of spins) {
      const host = await ThreadGangHost.start({ entry, size, spinIterations });
      try {
        for (const workload of workloads) {
          const times = await host.requestAll('time', workload);
          const work = Math.max(0, ...workload.workUs.slice(0, size));
          const key = `${size}\t${spinIterations}\t${workload.name}`;
          samples.set(key, [...(samples.get(key) ?? []), Math.max(...times) - work]);
        }
      } finally {
        await host.close();
      }
    }
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`# node ${process.version}, ${availableParallelism()} CPUs, ${rounds} rounds, median µs per collective`);
console.log('ranks\tspin\tworkload\tmedian_us\tmin_us\tmax_us');
for (const [key, values] of samples) {
  console.log(`${key}\t${median(values).toFixed(1)}\t${Math.min(...values).toFixed(1)}\t${Math.max(...values).toFixed(1)}`);
}
