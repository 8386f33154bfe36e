/**
 * `hvcluster inspect` as a process against a real OpenSSH server started by the test (loopback):
 * the facts it prints are this machine's, read in one connection and one exec; an unknown host key
 * is refused with the fingerprint and how to pin it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorDocument, InspectDocument } from '../../../installer/output-schemas.js';
import { atTerminal, BIN, runCli } from '../../helpers/cli.js';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

const hvcluster = runCli;

describe('hvcluster inspect against a real sshd', () => {
  let sshd: SshdServer;
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;
  let knownHosts: string;

  beforeAll(async () => {
    tmp = tempDir();
    sshd = await startSshd();
    key = await generateKey(tmp.path, 'id_ed25519');
    sshd.authorize('root', key.publicKey);
    knownHosts = join(tmp.path, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  });
  afterAll(async () => {
    await sshd?.stop();
    tmp?.remove();
  });

  it('prints the real facts of the server, read with one connection and one exec', { timeout: 60_000 }, async () => {
    const result = await hvcluster(['inspect', '--json', '--host', `root@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', knownHosts], { HVCLUSTER_SSH_STATS: '1' });
    expect(result.code, result.stderr).toBe(0);
    const document = JSON.parse(result.stdout) as { schemaVersion: number; tool: string; version: string; exitCode: number; servers: { ok: boolean; hostKeyFingerprint: string; facts: any }[] };
    expect(document).toMatchObject({ schemaVersion: 1, tool: 'hvcluster inspect', version: expect.stringMatching(/^\d+\.\d+\.\d+/), exitCode: 0 });
    expect(InspectDocument.safeParse(document).error).toBeUndefined(); // the published contract
    const { servers } = document;
    expect(servers).toHaveLength(1);
    const { facts, hostKeyFingerprint } = servers[0]!;
    expect(hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(facts.hostname.value.nodeName).toBe(hostname());
    expect(facts.kernel.value.release).toBe(release());
    expect(facts.os.value).toMatchObject({ id: 'debian', versionId: '12' });
    expect(facts.session.value.managementAddress).toBe('127.0.0.1');
    expect(facts.memory.value.totalBytes).toBeGreaterThan(0);
    // The clock's section arrived while the script ran: the skew's error bar is that, not the whole run.
    const { startedAtMs, clockReadByMs, finishedAtMs } = facts.timing;
    expect(clockReadByMs).toBeGreaterThanOrEqual(startedAtMs);
    expect(clockReadByMs).toBeLessThanOrEqual(finishedAtMs);
    expect(Math.abs(facts.clock.value.epochSeconds * 1000 - (startedAtMs + clockReadByMs) / 2)).toBeLessThan(clockReadByMs - startedAtMs + 50);
    const stats = result.stderr.split('\n').filter((l) => l.startsWith('hvcluster-ssh-stats '));
    expect(stats.map((l) => JSON.parse(l.slice('hvcluster-ssh-stats '.length)))).toEqual([
      expect.objectContaining({ handshakes: 1, channelOpens: 1, execs: 1 }),
    ]);
  });

  it('refuses an unknown host key, printing its fingerprint and how to pin it', { timeout: 60_000 }, async () => {
    const empty = join(tmp.path, 'empty_known_hosts');
    writeFileSync(empty, '');
    const result = await hvcluster(['inspect', '--host', `root@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', empty]);
    expect(result.code).toBe(4);
    // With --json, the same envelope on failure: the exit code and the server's error.
    const json = await hvcluster(['inspect', '--json', '--host', `root@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', empty]);
    expect(JSON.parse(json.stdout)).toMatchObject({ schemaVersion: 1, tool: 'hvcluster inspect', exitCode: 4, servers: [{ ok: false, error: { kind: 'host-key' } }] });
    expect(InspectDocument.safeParse(JSON.parse(json.stdout)).error).toBeUndefined();
    // And for a command line that cannot run at all: an error object.
    const usage = await hvcluster(['inspect', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ schemaVersion: 1, tool: 'hvcluster inspect', exitCode: 2, error: { kind: 'usage', message: 'no servers given' } });
    expect(ErrorDocument.safeParse(JSON.parse(usage.stdout)).error).toBeUndefined();
    expect(result.stderr).toContain(sshd.hostKeyFingerprint);
    // Servers given with --host: the pin is a flag, not an answer-file key.
    expect(result.stderr).toContain(`pin it with \`--host-key root@${sshd.host}:${sshd.port}=${sshd.hostKeyFingerprint}\``);
    expect(result.stderr).not.toContain('answer file');
  });

  it('resolves --host ALIAS as ssh does: Include, and the known_hosts file the config names', { timeout: 60_000 }, async () => {
    const included = join(tmp.path, 'hosts.conf');
    writeFileSync(
      included,
      ['Host hv-alias', `  HostName ${sshd.host}`, `  Port ${sshd.port}`, '  User root', `  IdentityFile ${key.path}`, `  UserKnownHostsFile ${knownHosts}`, ''].join('\n'),
    );
    const config = join(tmp.path, 'ssh_config');
    writeFileSync(config, `Include ${included}\n`);
    const result = await hvcluster(['inspect', '--json', '--host', 'hv-alias', '--ssh-config', config]);
    expect(result.code, result.stderr).toBe(0);
    const { servers } = JSON.parse(result.stdout) as { servers: { server: string; ok: boolean; hostKeyFingerprint: string }[] };
    expect(servers).toEqual([expect.objectContaining({ server: 'hv-alias', ok: true, hostKeyFingerprint: sshd.hostKeyFingerprint })]);
  });

  it('refuses a --known-hosts file that does not exist before connecting', { timeout: 60_000 }, async () => {
    const missing = join(tmp.path, 'no_such_known_hosts');
    const logins = () => sshd.logs().split('Accepted publickey').length;
    const before = logins();
    const result = await hvcluster(['inspect', '--host', `root@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', missing]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--known-hosts ${missing}: no such file`);
    expect(logins()).toBe(before);
  });

  it('takes Ctrl-C at the host-key question as an interruption: exit 130, no connection made', { timeout: 30_000 }, async () => {
    const empty = join(tmp.path, 'empty_known_hosts_tty');
    writeFileSync(empty, '');
    const logins = () => sshd.logs().split('Accepted publickey').length;
    const before = logins();
    // A terminal from util-linux's script(1): the question is asked only at a terminal.
    const cmd = `exec ${process.execPath} ${BIN} inspect --host root@${sshd.host}:${sshd.port} -i ${key.path} --known-hosts ${empty}`;
    const { code, screen, answered: asked } = await atTerminal(cmd, (s) => (s.includes('Trust it? [y] for this run, [s] and save it to') ? '\x03' : undefined));
    expect(asked, screen).toBe(true);
    expect(code, screen).toBe(130);
    expect(screen).not.toContain('internal error');
    expect(logins()).toBe(before);
  });

  it('saves a key trusted at the question to known_hosts when asked to, as ssh does', { timeout: 30_000 }, async () => {
    const file = join(tmp.path, 'known_hosts_saved');
    writeFileSync(file, '');
    const cmd = `exec ${process.execPath} ${BIN} inspect --host root@${sshd.host}:${sshd.port} -i ${key.path} --known-hosts ${file}`;
    const { code, screen } = await atTerminal(cmd, (s) => (s.includes(`[s] and save it to ${file}`) ? 's\r' : undefined));
    expect(code, screen).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine}\n`);
    // Known from now on: no question, also without a terminal.
    const again = await hvcluster(['inspect', '--json', '--host', `root@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', file]);
    expect(again.code, again.stderr).toBe(0);
  });
});
