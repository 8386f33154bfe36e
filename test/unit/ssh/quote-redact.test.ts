import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redact } from '../../../installer/ssh/redact.js';
import { shellJoin, shellQuote } from '../../../installer/ssh/quote.js';

describe('shellQuote', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('abc-1.2_/x:y@z')).toBe('abc-1.2_/x:y@z');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$HOME `x` "y" \\ *')).toBe("'$HOME `x` \"y\" \\ *'");
  });

  it('round-trips through a real sh for awkward strings', () => {
    const samples = ["it's", "''", 'a\nb', '$(id)', '`id`', '"\\"', '*', ' lead', 'trail ', 'ünïcödé', "'; rm -rf / #"];
    for (const s of samples) {
      const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(s)}`], { encoding: 'utf8' });
      expect(out).toBe(s);
    }
    expect(execFileSync('sh', ['-c', `printf '[%s]' ${shellJoin(['a b', "c'd", ''])}`], { encoding: 'utf8' })).toBe("[a b][c'd][]");
  });

  it('refuses NUL bytes', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('redact', () => {
  it('replaces every occurrence of each secret with ***', () => {
    expect(redact('pw=hunter2 again hunter2', ['hunter2'])).toBe('pw=*** again ***');
    expect(redact('abc abcdef', ['abc', 'abcdef'])).toBe('*** ***');
    expect(redact('nothing here', [undefined, '', null])).toBe('nothing here');
    expect(redact('a.b*c a.b*c', ['a.b*c'])).toBe('*** ***');
  });
});
