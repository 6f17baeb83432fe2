#!/usr/bin/env node
// node examples/generate-timings/dist/main.js [CARD] [PROMPT] [MAX_NEW_TOKENS]
import { initFairseq2 } from '@fs2/core';

import { formatTimings, generateWithTimings } from './timings.js';

const [card, prompt, maxNewTokens] = process.argv.slice(2);
const resolver = await initFairseq2();
const timings = await generateWithTimings(resolver, {
  ...(card === undefined ? {} : { card }),
  ...(prompt === undefined ? {} : { prompt }),
  ...(maxNewTokens === undefined ? {} : { maxNewTokens: Number(maxNewTokens) }),
});
process.stdout.write(formatTimings(timings));
