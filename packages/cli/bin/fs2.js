#!/usr/bin/env node
// The `fs2` command: runs the compiled CLI (`npm run build` first in a checkout).
import { runCli } from '../dist/main.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
