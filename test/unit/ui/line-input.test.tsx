import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';
import { editLine, LineInput } from '../../../installer/ui/line-input.js';
import { KEY, tick, waitFor } from './helpers.js';

describe('LineInput', () => {
  it('submits what was typed even when Enter comes before React rendered the text (a paste, a fast typist)', async () => {
    const onSubmit = vi.fn();
    const { stdin, lastFrame } = render(<LineInput placeholder="like 198.18.1.11" onSubmit={onSubmit} />);
    await waitFor(lastFrame, 'like 198.18.1.11');
    await tick(20); // the input is listening
    stdin.write('198.18.1.1');
    stdin.write(KEY.enter);
    await vi.waitFor(() => expect(onSubmit).toHaveBeenCalledWith('198.18.1.1'));
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it('takes a paste that ends with its Enter as typed and submitted', async () => {
    const onSubmit = vi.fn();
    const { stdin } = render(<LineInput defaultValue="ad" onSubmit={onSubmit} />);
    await tick(20);
    stdin.write('min\r');
    await vi.waitFor(() => expect(onSubmit).toHaveBeenCalledWith('admin'));
  });
});

describe('editLine', () => {
  const at = (value: string, cursor = value.length) => ({ value, cursor });
  it('inserts at the cursor, moves, deletes before the cursor, clears on Ctrl-U', () => {
    expect(editLine(at('hv'), '1', {})).toEqual(at('hv1'));
    expect(editLine(at('hv1', 2), 'x', {})).toEqual({ value: 'hvx1', cursor: 3 });
    expect(editLine(at('hv1'), '', { leftArrow: true })).toEqual({ value: 'hv1', cursor: 2 });
    expect(editLine(at('hv1', 0), '', { leftArrow: true })).toEqual({ value: 'hv1', cursor: 0 });
    expect(editLine(at('hv1', 3), '', { rightArrow: true })).toEqual({ value: 'hv1', cursor: 3 });
    expect(editLine(at('hv1', 2), '', { backspace: true })).toEqual({ value: 'h1', cursor: 1 });
    expect(editLine(at('hv1', 0), '', { delete: true })).toEqual(at('hv1', 0));
    expect(editLine(at('hv1'), 'u', { ctrl: true })).toEqual(at(''));
    expect(editLine(at('hv1'), 'a', { ctrl: true })).toEqual({ value: 'hv1', cursor: 0 });
    expect(editLine(at('hv1', 0), 'e', { ctrl: true })).toEqual(at('hv1'));
    expect(editLine(at('hv1'), 'x', { meta: true })).toEqual(at('hv1'));
  });

  it('submits on Enter, and at the first newline of a paste (the rest is dropped)', () => {
    expect(editLine(at('hv1'), '', { return: true })).toEqual({ ...at('hv1'), submit: 'hv1' });
    expect(editLine(at(''), '198.18.1.1\rgarbage', {})).toEqual({ ...at('198.18.1.1'), submit: '198.18.1.1' });
  });
});
