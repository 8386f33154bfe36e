/** How a server, a jump chain and the options that go with them are read from what the user typed. */
import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../../installer/errors.js';
import { expandHome, isPort, parseConnectTimeout, parseHostKeyPins, parseJumpList, parseSpec } from '../../../installer/ssh/spec.js';

describe('parseSpec', () => {
  it('parses [user@]host[:port] and bracketed IPv6', () => {
    expect(parseSpec('hv1')).toEqual({ host: 'hv1' });
    expect(parseSpec('admin@10.0.0.1:2222')).toEqual({ user: 'admin', host: '10.0.0.1', port: 2222 });
    expect(parseSpec('[fe80::1]:22')).toEqual({ host: 'fe80::1', port: 22 });
    expect(parseSpec('root@fe80::1')).toEqual({ user: 'root', host: 'fe80::1' });
    expect(() => parseSpec('hv1:abc')).toThrow(ConfigError);
    expect(() => parseSpec('hv1:70000')).toThrow(/out of range/);
  });

  it('refuses an empty spec, a missing host and port 0', () => {
    expect(() => parseSpec('  ')).toThrow(/empty server address/);
    expect(() => parseSpec('root@')).toThrow(/no host name/);
    expect(() => parseSpec('hv1:0')).toThrow(/port 0 is out of range/);
    expect(parseSpec(' admin@hv1 ')).toEqual({ user: 'admin', host: 'hv1' });
  });
});

describe('isPort', () => {
  it('accepts whole numbers from 1 to 65535', () => {
    expect([1, 22, 65535].every(isPort)).toBe(true);
    expect([0, 65536, 22.5, Number.NaN].some(isPort)).toBe(false);
  });
});

describe('parseJumpList (ssh.jump, the wizard, ProxyJump)', () => {
  it('splits a chain outermost first and trims each hop', () => {
    expect(parseJumpList('admin@bastion:2222, hv-gw')).toEqual(['admin@bastion:2222', 'hv-gw']);
    expect(parseJumpList('bastion')).toEqual(['bastion']);
  });

  it('gives no hop for none, an empty text or nothing', () => {
    expect(parseJumpList('none')).toEqual([]);
    expect(parseJumpList('None')).toEqual([]);
    expect(parseJumpList('')).toEqual([]);
    expect(parseJumpList(undefined)).toEqual([]);
  });
});

describe('expandHome', () => {
  it('puts HOME in front of ~/ only', () => {
    expect(expandHome('~/.ssh/id_ed25519', '/home/ops')).toBe('/home/ops/.ssh/id_ed25519');
    expect(expandHome('/etc/keys/hv', '/home/ops')).toBe('/etc/keys/hv');
    expect(expandHome('~ops/key', '/home/ops')).toBe('~ops/key');
  });
});

describe('parseHostKeyPins', () => {
  const fp = 'SHA256:' + 'A'.repeat(43);
  it('reads HOST=SHA256:... pairs by host', () => {
    expect(parseHostKeyPins([`hv1=${fp}`, `198.18.1.12=${fp}`])).toEqual(new Map([['hv1', fp], ['198.18.1.12', fp]]));
  });
  it('refuses another form with a usage error that shows the expected one', () => {
    expect(() => parseHostKeyPins(['hv1=MD5:aa'])).toThrow(UsageError);
    expect(() => parseHostKeyPins([fp])).toThrow(/expected HOST=SHA256:<43 characters>/);
  });
});

describe('parseConnectTimeout', () => {
  it('reads a positive number of seconds', () => {
    expect(parseConnectTimeout('30')).toBe(30);
    expect(parseConnectTimeout('2.5')).toBe(2.5);
  });
  it('refuses zero, negatives, words and an empty value', () => {
    for (const bad of ['0', '-1', 'ten', '', 'Infinity']) expect(() => parseConnectTimeout(bad), bad).toThrow(/--connect-timeout .*: expected a number of seconds/);
  });
});
