import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, keyTypeLabel, keyTypeOf, normalizeFingerprint } from '../../../installer/ssh/fingerprint.js';
import { checkKnownHosts, hostFieldMatches, knownHostsName, knownKeyTypes, parseKnownHosts } from '../../../installer/ssh/known-hosts.js';

// Two ed25519-shaped key blobs (type string + 32 bytes); fingerprints against ssh-keygen are checked in test/integration/ssh.
const ED_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIGHn1k6SFXmzYEFPpXyg7B8L1M7sk4pB9tk4CbVJCNdW';
const ED_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIMh0aTgldyPq1WGsXWqZmQ/C+Y7ePD4mEOtgOrl7pB+B';
const blob = (b64: string) => Buffer.from(b64, 'base64');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('fingerprints', () => {
  it('are SHA256: + unpadded base64 of the blob hash, with the type read from the blob', () => {
    const fp = fingerprintOf(blob(ED_A));
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(keyTypeOf(blob(ED_A))).toBe('ssh-ed25519');
    expect(keyTypeLabel('ssh-ed25519')).toBe('ED25519');
    expect(keyTypeLabel('ecdsa-sha2-nistp256')).toBe('ECDSA');
    expect(keyTypeLabel('ssh-rsa')).toBe('RSA');
    expect(normalizeFingerprint(` sha256:${fp.slice(7)}= `)).toBe(fp);
  });
});

describe('known_hosts', () => {
  it('names non-22 ports in brackets', () => {
    expect(knownHostsName('hv1', 22)).toBe('hv1');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('matches plain, listed, wildcard, negated and hashed host fields', () => {
    expect(hostFieldMatches('hv1,10.0.0.1', '10.0.0.1')).toBe(true);
    expect(hostFieldMatches('hv1,10.0.0.1', 'hv2')).toBe(false);
    expect(hostFieldMatches('HV1', 'hv1')).toBe(true);
    expect(hostFieldMatches('*.lab,!bad.lab', 'good.lab')).toBe(true);
    expect(hostFieldMatches('*.lab,!bad.lab', 'bad.lab')).toBe(false);
    expect(hostFieldMatches('hv?', 'hv3')).toBe(true);
    expect(hostFieldMatches('[10.0.0.1]:2222', '10.0.0.1')).toBe(false);
    expect(hostFieldMatches(hashed('[10.0.0.1]:2222'), '[10.0.0.1]:2222')).toBe(true);
    expect(hostFieldMatches(hashed('[10.0.0.1]:2222'), '10.0.0.1')).toBe(false);
  });

  it('parses markers, comments and skips garbage', () => {
    const entries = parseKnownHosts(
      ['# comment', '', `hv1 ssh-ed25519 ${ED_A}`, `@revoked * ssh-ed25519 ${ED_B}`, `@cert-authority *.lab ssh-ed25519 ${ED_A}`, 'broken line', '@weird x y z'].join('\n'),
      'kh',
    );
    expect(entries.map((e) => [e.line, e.marker ?? '', e.hosts])).toEqual([
      [3, '', 'hv1'],
      [4, 'revoked', '*'],
      [5, 'cert-authority', '*.lab'],
    ]);
  });

  it('decides known, changed, revoked and unknown', () => {
    const entries = parseKnownHosts(
      [`hv1,[hv1]:2222 ssh-ed25519 ${ED_A}`, `${hashed('hv2')} ssh-ed25519 ${ED_A}`, `hv3 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7`, `@cert-authority hv4 ssh-ed25519 ${ED_A}`].join('\n'),
    );
    expect(checkKnownHosts(entries, 'hv1', 22, blob(ED_A)).status).toBe('known');
    expect(checkKnownHosts(entries, 'hv1', 2222, blob(ED_A)).status).toBe('known');
    expect(checkKnownHosts(entries, 'hv1', 2223, blob(ED_A)).status).toBe('unknown');
    expect(checkKnownHosts(entries, 'hv2', 22, blob(ED_A)).status).toBe('known');
    expect(checkKnownHosts(entries, 'hv2', 22, blob(ED_B)).status).toBe('changed');
    // Only a key of another type is known: not "changed" (OpenSSH would ask), with the types reported.
    expect(checkKnownHosts(entries, 'hv3', 22, blob(ED_B))).toEqual({ status: 'unknown', otherTypes: ['ssh-rsa'] });
    // @cert-authority lines are not host keys.
    expect(checkKnownHosts(entries, 'hv4', 22, blob(ED_A)).status).toBe('unknown');
    const revoked = parseKnownHosts(`hv1 ssh-ed25519 ${ED_A}\n@revoked * ssh-ed25519 ${ED_A}`);
    expect(checkKnownHosts(revoked, 'hv1', 22, blob(ED_A)).status).toBe('revoked');
    expect(knownKeyTypes(entries, 'hv3', 22)).toEqual(['ssh-rsa']);
  });
});
