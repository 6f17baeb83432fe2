import { Writable } from 'node:stream';

import { describe, expect, it } from '@jest/globals';

import { BarTrainingProgress, LineTrainingProgress } from './TrainingProgress.js';

/** A terminal-like stream that keeps what is written. */
function terminal(): { stream: Writable & { isTTY: boolean; columns: number }; text: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString('utf8');
        callback();
      },
    }),
    { isTTY: true, columns: 160 },
  );
  return { stream, text: () => text };
}

describe('training progress', () => {
  it('draws a bar with the step, the loss, tokens per second and an ETA, and prints log lines above it', () => {
    const { stream, text } = terminal();
    const progress = new BarTrainingProgress(stream);
    progress.start('Training', 100, 10);
    progress.update(20, { loss: 2.3456, tokensPerSecond: 1234.4 });
    progress.log('[train] step 20 | nll 2.346');
    progress.stop();
    progress.stop();
    const output = text();
    expect(output).toContain('20/100 | loss 2.346 | 1,234 tok/s | ETA ');
    expect(output).toContain('[train] step 20 | nll 2.346\n');
    expect(output).toMatch(/Training \|[█░]+\| 10\/100 \| loss - \| - tok\/s/);
  });

  it('prints only log lines without a terminal', () => {
    const lines: string[] = [];
    const progress = new LineTrainingProgress((line) => lines.push(line));
    progress.start();
    progress.update();
    progress.log('[train] step 1');
    progress.stop();
    expect(lines).toEqual(['[train] step 1']);
  });
});
