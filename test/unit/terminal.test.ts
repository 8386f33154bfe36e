import { describe, expect, it } from 'vitest';
import { inCi } from '../../installer/commands/terminal.js';

describe('inCi', () => {
  it('reads CI and CONTINUOUS_INTEGRATION as ink does: set (even empty) unless 0 or false', () => {
    expect(inCi({})).toBe(false);
    expect(inCi({ CI: '' })).toBe(true);
    expect(inCi({ CI: 'true' })).toBe(true);
    expect(inCi({ CI: '0' })).toBe(false);
    expect(inCi({ CI: 'false' })).toBe(false);
    expect(inCi({ CONTINUOUS_INTEGRATION: '1' })).toBe(true);
    expect(inCi({ CONTINUOUS_INTEGRATION: 'false' })).toBe(false);
  });
});
