#!/usr/bin/env node
// node examples/in-memory-cards/dist/main.js: completes the prompts of data/prompts.txt.
import { completeAppPrompts, createAppFairseq2 } from './appCards.js';

const resolver = await createAppFairseq2();
for (const { prompt, completion } of await completeAppPrompts(resolver)) {
  process.stdout.write(`${prompt} ${completion}\n---\n`);
}
