import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askLine, stopOnSignals } from '../../installer/commands/terminal.js';
import { EXIT, exitCodeOf } from '../../installer/errors.js';

function streams() {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c) => (text += c));
  return { streams: { stdout: new PassThrough(), stderr, env: {} }, text: () => text };
}

describe('askLine', () => {
  it('resolves with the line typed', async () => {
    const input = new PassThrough();
    const io = streams();
    const answer = askLine(io.streams, 'Trust it? [y/N] ', input);
    input.write('y\r');
    expect(await answer).toBe('y');
    expect(io.text()).toContain('Trust it? [y/N] ');
  });

  it('turns Ctrl-C at the question into an interruption (exit 130), not a no', async () => {
    const input = new PassThrough();
    const io = streams();
    const answer = askLine(io.streams, 'Apply? [y/N] ', input);
    input.write('\u0003');
    const error = await answer.catch((e: unknown) => e);
    expect(exitCodeOf(error)).toBe(EXIT.interrupted);
  });

  it('answers an empty line at the end of the input (Ctrl-D)', async () => {
    const input = new PassThrough();
    const answer = askLine(streams().streams, 'Apply? [y/N] ', input);
    input.end();
    expect(await answer).toBe('');
  });
});

describe('stopOnSignals', () => {
  it('asks the work to stop at the first Ctrl-C or SIGTERM, says so, and lets go of the signals when disposed', () => {
    const warnings: string[] = [];
    const before = process.listenerCount('SIGINT');
    const stop = stopOnSignals((m) => warnings.push(m), 'stopping after the current step');
    expect(stop.requested).toBe(false);
    process.emit('SIGTERM');
    expect(stop.requested).toBe(true);
    expect(warnings).toEqual(['stopping after the current step (press Ctrl-C again to stop now)']);
    stop.dispose();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
