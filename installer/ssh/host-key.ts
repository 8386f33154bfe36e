/**
 * The host-key policy: a presented key is accepted when it is pinned or listed in known_hosts,
 * refused loudly when it differs from a pinned or listed one, and otherwise refused or put to the
 * user according to HostKeyPolicy.onUnknown.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HostKeyError } from '../errors.js';
import { fingerprintOf, keyTypeLabel, keyTypeOf, normalizeFingerprint } from './fingerprint.js';
import { checkKnownHosts, knownHostsName, loadKnownHosts, type KnownHostEntry } from './known-hosts.js';
import type { HostKeyPolicy, PresentedHostKey } from './types.js';

export function defaultKnownHostsFiles(home = homedir()): string[] {
  return [join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

export function defaultHostKeyPolicy(overrides: Partial<HostKeyPolicy> = {}): HostKeyPolicy {
  return { knownHostsFiles: defaultKnownHostsFiles(), onUnknown: 'refuse', ...overrides };
}

export interface VerifiedHostKey {
  fingerprint: string;
  keyType: string;
  /** How it was accepted. */
  via: 'pinned' | 'known_hosts' | 'user';
}

function hostKeyFileHint(keyType: string): string {
  const label = keyTypeLabel(keyType).toLowerCase().replace(/-sk$/, '');
  return `ssh-keygen -lf /etc/ssh/ssh_host_${label}_key.pub`;
}

/** How a pin is written where the servers were named: in the answer file, or with --host-key. */
function pinText(pinWith: HostKeyPolicy['pinWith'], server: string, fingerprint: string): string {
  return pinWith === 'flag' ? `\`--host-key ${server}=${fingerprint}\`` : `\`hostKey: ${fingerprint}\` in the answer file`;
}

/** The error for a key that is neither pinned nor known. */
export function unknownHostKeyError(server: string, host: string, port: number, keyType: string, fingerprint: string, pinWith?: HostKeyPolicy['pinWith']): HostKeyError {
  return new HostKeyError(
    server,
    `host key of ${server} is not known: ${keyTypeLabel(keyType)} ${fingerprint} ; pin it with ${pinText(pinWith, server, fingerprint)} ` +
      `or add it to known_hosts (ssh-keyscan -p ${port} ${host} >> ~/.ssh/known_hosts) after checking it ` +
      `on the server's console with \`${hostKeyFileHint(keyType)}\``,
    fingerprint,
    false,
    { hint: `check the fingerprint on the server's console with \`${hostKeyFileHint(keyType)}\`, then pin it or add it to known_hosts` },
  );
}

/** The error for a key that differs from the pinned or known one. */
export function changedHostKeyError(
  server: string,
  host: string,
  port: number,
  keyType: string,
  fingerprint: string,
  expected: { pinned?: string; entries?: KnownHostEntry[] },
  pinWith?: HostKeyPolicy['pinWith'],
): HostKeyError {
  const label = keyTypeLabel(keyType);
  const where = expected.pinned
    ? `the answer file pins ${expected.pinned}`
    : `known_hosts has ${expected.entries!.map((e) => `${keyTypeLabel(e.keyType)} ${fingerprintOf(e.keyBlob)} (${e.file}:${e.line})`).join(', ')}`;
  const files = [...new Set((expected.entries ?? []).map((e) => e.file))];
  const remove = expected.pinned
    ? pinWith === 'flag'
      ? `give the new key with \`--host-key ${server}=${fingerprint}\``
      : `update the pinned \`hostKey:\` in the answer file`
    : `remove the old entry with ${files.map((f) => `\`ssh-keygen -R '${knownHostsName(host, port)}' -f ${f}\``).join(' and ')}`;
  return new HostKeyError(
    server,
    `WARNING: the host key of ${server} has CHANGED: the server presents ${label} ${fingerprint}, but ${where}. ` +
      `Someone may be intercepting the connection (man-in-the-middle attack), so hvcluster refuses to connect. ` +
      `If the server was reinstalled, ${remove}, after checking the new key on the server's console with \`${hostKeyFileHint(keyType)}\`.`,
    fingerprint,
    true,
    { hint: `do not proceed unless you know why the key of ${server} changed` },
  );
}

type AskHostKey = (server: string, fingerprint: string, keyType: string, presented?: PresentedHostKey) => Promise<boolean>;

/**
 * Wraps a host-key question so that a key the user answered for is not asked about again in this
 * run: reconnects (the network step's, a retry's) reuse the answer, and two connections to the same
 * server presenting the same key share one question. A different key for the same server is asked
 * about afresh.
 */
export function rememberAnswers(ask: AskHostKey): AskHostKey {
  const answers = new Map<string, Promise<boolean>>();
  return (server, fingerprint, keyType, presented) => {
    const key = `${server}\u0000${fingerprint}`;
    let answer = answers.get(key);
    if (!answer) {
      answer = ask(server, fingerprint, keyType, presented);
      answers.set(key, answer);
      // A question that failed (Ctrl-C, a closed terminal) is not an answer: ask again next time.
      answer.catch(() => answers.delete(key));
    }
    return answer;
  };
}

/**
 * Decides on a presented host key blob. Resolves when it is accepted, rejects with HostKeyError
 * otherwise.
 */
export async function verifyHostKey(
  server: string,
  host: string,
  port: number,
  keyBlob: Buffer,
  policy: HostKeyPolicy,
  pinned?: string,
): Promise<VerifiedHostKey> {
  const fingerprint = fingerprintOf(keyBlob);
  const keyType = keyTypeOf(keyBlob);
  const entries = loadKnownHosts(policy.knownHostsFiles);
  const verdict = checkKnownHosts(entries, host, port, keyBlob);

  if (verdict.status === 'revoked') {
    throw new HostKeyError(
      server,
      `the host key of ${server} (${keyTypeLabel(keyType)} ${fingerprint}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; refusing to connect`,
      fingerprint,
      false,
      { hint: 'the key was revoked on purpose: find out why before connecting' },
    );
  }
  // A key that differs from a known one is refused even when a pin matches: both must agree.
  if (verdict.status === 'changed') {
    throw changedHostKeyError(server, host, port, keyType, fingerprint, { entries: verdict.entries }, policy.pinWith);
  }
  if (pinned !== undefined) {
    const want = normalizeFingerprint(pinned);
    if (want === fingerprint) return { fingerprint, keyType, via: 'pinned' };
    throw changedHostKeyError(server, host, port, keyType, fingerprint, { pinned: want }, policy.pinWith);
  }
  if (verdict.status === 'known') return { fingerprint, keyType, via: 'known_hosts' };
  if (policy.onUnknown !== 'refuse' && (await policy.onUnknown(server, fingerprint, keyTypeLabel(keyType), { host, port, blob: keyBlob }))) {
    return { fingerprint, keyType, via: 'user' };
  }
  throw unknownHostKeyError(server, host, port, keyType, fingerprint, policy.pinWith);
}

/** The known_hosts line of a presented key, as ssh writes it (unhashed): `[host]:port type base64`. Pure. */
export function knownHostsLine(presented: PresentedHostKey): string {
  return `${knownHostsName(presented.host, presented.port)} ${keyTypeOf(presented.blob)} ${presented.blob.toString('base64')}`;
}
