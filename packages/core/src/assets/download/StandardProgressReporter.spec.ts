import { describe, expect, it } from '@jest/globals';

import { formatAmount, StandardProgressReporter } from './StandardProgressReporter.js';

function capture(isTTY = false): { stream: { isTTY: boolean; columns: number; write(text: string): boolean }; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: {
      isTTY,
      columns: 100,
      write(text: string) {
        chunks.push(text);
        return true;
      },
    },
    text: () => chunks.join(''),
  };
}

describe(StandardProgressReporter, () => {
  it('prints a line at every 10 % without a terminal, not one per chunk', () => {
    const { stream, text } = capture();
    let now = 0;
    const reporter = new StandardProgressReporter({ stream, clock: () => now, quietMs: 0 });
    const task = reporter.startTask({ description: 'Downloading llama3', total: 1000 * 1024, unit: 'bytes' });

    for (let i = 0; i < 1000; i += 1) {
      task.advance(1024);
      now += 1;
    }
    task.finish();

    expect(text().split('\n')).toEqual([
      'Downloading llama3: started (1000.0 KiB)',
      'Downloading llama3: 10% (100.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 20% (200.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 30% (300.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 40% (400.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 50% (500.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 60% (600.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 70% (700.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 80% (800.0 KiB of 1000.0 KiB)',
      'Downloading llama3: 90% (900.0 KiB of 1000.0 KiB)',
      'Downloading llama3: done (1000.0 KiB)',
      '',
    ]);
  });

  it('prints a line every interval when the total is unknown, and says where a resume starts', () => {
    const { stream, text } = capture();
    let now = 0;
    const reporter = new StandardProgressReporter({ stream, clock: () => now, lineIntervalMs: 5000 });
    const task = reporter.startTask({ description: 'Loading', completed: 3, unit: 'items' });

    task.advance(1);
    now = 5000;
    task.advance(1);
    now = 6000;
    task.advance(1);
    task.abort();
    task.finish();

    expect(text()).toBe('Loading: resuming at 3\nLoading: 5\n');
  });

  it('draws cli-progress bars on a terminal and prints messages above them', () => {
    const { stream, text } = capture(true);
    const reporter = new StandardProgressReporter({ stream });
    const task = reporter.startTask({ description: 'Downloading qwen3', total: 2048, unit: 'bytes' });

    task.advance(1024);
    reporter.message('Waiting for process 42 on host, which is downloading x.');
    task.finish();

    expect(text()).toContain('Downloading qwen3');
    expect(text()).toContain('2.0 KiB of 2.0 KiB');
    expect(text()).toContain('Waiting for process 42 on host, which is downloading x.\n');
  });

  it('shows no tasks when disabled, but still prints messages', () => {
    const { stream, text } = capture();
    const reporter = new StandardProgressReporter({ stream, enabled: false });
    const task = reporter.startTask({ description: 'Downloading', total: 10 });

    task.advance(10);
    task.finish();
    reporter.message('Taking over a stale lock.');

    expect(reporter.enabled).toBe(false);
    expect(text()).toBe('Taking over a stale lock.\n');
  });
});

describe(formatAmount, () => {
  it('uses binary units for bytes and plain counts for items', () => {
    expect(formatAmount(512, 'bytes')).toBe('512 B');
    expect(formatAmount(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatAmount(3 * 1024 ** 3, 'bytes')).toBe('3.0 GiB');
    expect(formatAmount(12, 'items')).toBe('12');
  });
});

describe('StandardProgressReporter quiet start', () => {
  it('prints only the start and end lines of a task quicker than quietMs', () => {
    const lines: string[] = [];
    let now = 0;
    const reporter = new StandardProgressReporter({ stream: { write: (t: string) => lines.push(t) }, clock: () => now, tty: false });
    const task = reporter.startTask({ description: 'Loading tiny', total: 40 });
    for (let i = 0; i < 40; i++) {
      now += 10;
      task.advance(1);
    }
    task.finish();

    expect(lines).toEqual(['Loading tiny: started (40)\n', 'Loading tiny: done (40)\n']);
  });

  it('names the items when told what they are', () => {
    const lines: string[] = [];
    const reporter = new StandardProgressReporter({ stream: { write: (t: string) => lines.push(t) }, clock: () => 0, tty: false });
    const task = reporter.startTask({ description: 'Loading tiny', total: 3, unit: 'items', itemName: 'tensors' });
    task.advance(3);
    task.finish();

    expect(lines).toEqual(['Loading tiny: started (3 tensors)\n', 'Loading tiny: done (3 tensors)\n']);
  });
});
