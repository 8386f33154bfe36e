import { Writable } from 'node:stream';
import { jsonLinesReporter, lineReporter } from '../../../installer/engine/reporters.js';
import { palette } from '../../../installer/output.js';
import { describe, expect, it } from 'vitest';
import { Guard } from '../../../installer/engine/guard.js';
import { loadPlaybook, parsePlaybook } from '../../../installer/engine/playbook.js';
import { FENCE_PEER_HANDLER, FILE_RULES, rulePath } from '../../../installer/plan/index.js';
import { stepFileMatches } from '../../../installer/engine/steps/files.js';
import { parseAnswers } from '../../../installer/answers/load.js';
import { readFileSync } from 'node:fs';
import { STEP_KINDS } from '../../../installer/engine/steps/index.js';
import { aptInstall, installedPackages } from '../../../installer/engine/steps/packages.js';
import { aptStatus, lineSplitter } from '../../../installer/engine/apt-status.js';
import { commandLine, scriptText } from '../../../installer/engine/change.js';
import { probeResources } from '../../../installer/engine/steps/replication-probe.js';
import { authorizedKeyLine, parseNodeKeys, trustLines, unrestrictedLegacyKeys, updateAuthorizedKeys } from '../../../installer/engine/steps/trust.js';
import { allocate, parseResourceFiles, syncPercent } from '../../../installer/engine/volumes.js';
import type { EngineEvent } from '../../../installer/engine/events.js';

describe('the guard', () => {
  it('records every change and, in a dry run, runs none of them', async () => {
    const events: EngineEvent[] = [];
    const guard = new Guard(true, (e) => events.push(e));
    let ran = false;
    const result = await guard.change({ server: 'hv1', step: 'packages', description: 'install drbd-utils', actions: [] }, async () => {
      ran = true;
      return 1;
    });
    expect(ran).toBe(false);
    expect(result).toBeUndefined();
    expect(guard.changesOf('hv1', 'packages')).toEqual(['install drbd-utils']);
    expect(events).toEqual([{ type: 'change', server: 'hv1', step: 'packages', description: 'install drbd-utils', dryRun: true }]);
  });

  it('runs the change for real outside a dry run', async () => {
    const guard = new Guard(false, () => undefined);
    expect(await guard.change({ server: 'hv1', step: 's', description: 'd', actions: [] }, async () => 42)).toBe(42);
  });
});

describe('the install playbook', () => {
  it('loads, and names only step kinds the engine implements', () => {
    const playbook = loadPlaybook('install', Object.keys(STEP_KINDS));
    const ha = (s: { when?: string }) => s.when === 'ha';
    const guests = (s: { when?: string }) => s.when === 'guests';
    const backup = (s: { when?: string }) => s.when === 'backup';
    expect(playbook.steps.filter((s) => !ha(s) && !guests(s) && !backup(s)).map((s) => s.name)).toEqual([
      'packages',
      'system-files',
      'network',
      'replication-path',
      'storage',
      'drbd-config',
      'drbd-module',
      'hypervisor',
      'services',
      'node-keys',
      'node-trust',
      'replication-probe',
      // Without spec.backup it removes what earlier backups left (nothing where there were none).
      'backup',
    ]);
    // HA: fencing proven before anything HA is written; Corosync's files and the quorum device before the services start them; Pacemaker's configuration, then the guests; their backups last.
    expect(playbook.steps.map((s) => `${s.name}${s.when ? ` (${s.when})` : ''}`)).toEqual([
      'packages',
      'fence-check (ha)',
      'system-files',
      'network',
      'replication-path',
      'storage',
      'drbd-config',
      'drbd-module',
      'hypervisor',
      'quorum-device (ha)',
      'cluster-files (ha)',
      'services',
      'node-keys',
      'node-trust',
      'replication-probe',
      // The watchdog level's sbd running everywhere before Pacemaker is told to count on it.
      'sbd (ha)',
      'cluster-config (ha)',
      'guests (guests)',
      'backup-files (backup)',
      // In every cluster: without spec.backup, it removes what earlier backups left.
      'backup',
    ]);
  });

  it('writes every file the plan renders in some step, in the order of the rules', () => {
    const playbook = loadPlaybook('install', Object.keys(STEP_KINDS));
    const written = playbook.steps.flatMap((s) => s.files ?? []);
    // Every rule's path, those the answers name included (the backup repository's NFS units).
    const answers = parseAnswers(readFileSync(new URL('../../fixtures/answers/valid/two-nodes-backup.yaml', import.meta.url), 'utf8'), 'site.yaml').answers;
    const paths = FILE_RULES.filter((r) => !r.notify.includes('network')).map((r) => rulePath(r, answers));
    expect(paths).toContain('/etc/systemd/system/var-lib-hvcluster-backup.mount');
    // (The network files are the network step's own, with its revert window.)
    expect(paths.filter((p) => p === undefined || !written.some((w) => stepFileMatches(w, p)))).toEqual([]);
    // Each planned file is written by one step only.
    for (const p of paths) expect(playbook.steps.filter((s) => (s.files ?? []).some((w) => stepFileMatches(w, p!))).map((s) => s.name)).toHaveLength(1);
    // A file another one names comes first: DRBD 8.4's fence-peer handler before global_common.conf.
    expect(written.indexOf(FENCE_PEER_HANDLER)).toBeLessThan(written.indexOf('/etc/drbd.d/global_common.conf'));
  });

  it('refuses an unknown step kind, naming it', () => {
    const text = 'apiVersion: hvcluster/v1\nkind: Playbook\nname: x\ndescription: x\nsteps:\n  - { name: a, title: A, kind: teleport }\n';
    expect(() => parsePlaybook(text, 'x.yaml', ['files'])).toThrow('x.yaml: steps[0] (a): unknown step kind teleport; known: files');
  });
});

describe('packages', () => {
  it('reads what dpkg says is installed', () => {
    expect([...installedPackages('lvm2 ii\ndrbd-utils un\nchrony rc\n')]).toEqual(['lvm2']);
  });
  it('installs offline only from the named cache, never downloading', () => {
    expect(commandLine(aptInstall(['drbd-utils'], { source: 'offline', offline: { path: '/srv/debs' } }))).toBe('sh -s -- /srv/debs drbd-utils');
    expect(commandLine(aptInstall(['drbd-utils', 'lvm2'], { source: 'online' }))).toBe('sh -s -- online drbd-utils lvm2');
    const script = scriptText('apt-install.sh');
    expect(script).toMatch(/--no-download -o "Dir::Cache::Archives=\$source" "\$@"/);
    expect(script.split('\n').filter((l) => !l.startsWith('#') && l.includes('--no-download'))).toHaveLength(1);
  });
  it("sends apt's status lines to stdout and its usual output to stderr", () => {
    const script = scriptText('apt-install.sh');
    expect(script).toContain('exec 3>&1 1>&2');
    expect(script.match(/-o APT::Status-Fd=3/g)).toHaveLength(2);
  });
  it("turns apt's status lines into progress: downloads the first 20 %, dpkg the rest", () => {
    // Lines as apt 2.6 (Debian 12) prints them with APT::Status-Fd.
    expect(aptStatus('dlstatus:1:50:Retrieving file 2 of 4')).toEqual({ phase: 'download', percent: 10, text: 'Retrieving file 2 of 4' });
    expect(aptStatus('pmstatus:drbd-utils:62.5:Setting up drbd-utils (9.22.0-1)')).toEqual({ phase: 'install', percent: 70, text: 'Setting up drbd-utils (9.22.0-1)' });
    expect(aptStatus('pmstatus:dpkg-exec:0.0000:Running dpkg')?.percent).toBe(20);
    expect(aptStatus('pmstatus:libc6:amd64:50:Unpacking libc6:amd64 (2.36-9)')).toEqual({ phase: 'install', percent: 60, text: 'Unpacking libc6:amd64 (2.36-9)' });
    expect(aptStatus('Reading package lists...')).toBeUndefined();
  });
  it('hands streamed output over a whole line at a time', () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    feed('pmstatus:a:1');
    feed('0:x\npmsta');
    feed('tus:b:20:y\n');
    expect(lines).toEqual(['pmstatus:a:10:x', 'pmstatus:b:20:y']);
  });
});

describe('node trust', () => {
  const hv2 = {
    name: 'hv2',
    replicationName: 'hv2-repl',
    management: '198.18.1.2',
    replication: '198.19.1.2',
    keys: { migrateKey: 'ssh-ed25519 AAAA', hostKey: 'ssh-ed25519 BBBB', legacyKey: 'ssh-ed25519 OLD' },
  };
  const line = 'from="198.18.1.2,198.19.1.2",restrict ssh-ed25519 AAAA hvcluster-migrate@hv2';

  it("authorizes each peer's migration key from its addresses only, restricted, and knows its host key under every name", () => {
    expect(trustLines([hv2])).toEqual({ authorizedKeys: [line], knownHosts: ['hv2,hv2-repl,198.18.1.2,198.19.1.2 ssh-ed25519 BBBB'] });
    // The marker comment is hvcluster's own, whatever the .pub file's comment says.
    expect(authorizedKeyLine(hv2, 'ssh-ed25519 AAAA someone@else')).toBe(line);
  });

  it('reads the migration, host and legacy keys of a node', () => {
    expect(parseNodeKeys('ssh-ed25519 AAAA hvcluster-migrate@hv2\n@@hvcluster-keys\nssh-ed25519 BBBB root@hv2\n@@hvcluster-keys\nnone\n')).toEqual({
      migrateKey: 'ssh-ed25519 AAAA',
      hostKey: 'ssh-ed25519 BBBB',
      legacyKey: null,
    });
  });

  it("replaces earlier hvcluster lines, keeps everyone else's in place, and changes nothing the second time", () => {
    const current = [
      'ssh-ed25519 LAB hvcluster-lab',
      'ssh-ed25519 OLD hvcluster@hv2',
      '# admin keys',
      'from="198.18.9.9",restrict ssh-ed25519 GONE hvcluster-migrate@hv3',
      'ssh-rsa CUSTOMER admin@laptop',
      '',
    ].join('\n');
    const first = updateAuthorizedKeys(current, [line], ['hv1', 'hv2']);
    expect(first.content).toBe(['ssh-ed25519 LAB hvcluster-lab', '# admin keys', 'ssh-rsa CUSTOMER admin@laptop', line, ''].join('\n'));
    expect(first.removed).toEqual(['ssh-ed25519 OLD hvcluster@hv2', 'from="198.18.9.9",restrict ssh-ed25519 GONE hvcluster-migrate@hv3']);
    expect(updateAuthorizedKeys(first.content, [line], ['hv1', 'hv2'])).toEqual({ content: first.content, added: [], removed: [] });
    // A file without a final newline, and an absent one.
    expect(updateAuthorizedKeys('ssh-rsa CUSTOMER admin@laptop', [line], ['hv2']).content).toBe(`ssh-rsa CUSTOMER admin@laptop\n${line}\n`);
    expect(updateAuthorizedKeys('', [line], ['hv2']).content).toBe(`${line}\n`);
    // A migration line whose addresses changed is replaced, not kept beside the new one.
    const moved = updateAuthorizedKeys(`${line.replace('198.18.1.2', '198.18.1.20')}\n`, [line], ['hv2']);
    expect(moved.content).toBe(`${line}\n`);
    // A host named like hvcluster's marker but outside the cluster keeps its legacy-looking line.
    expect(updateAuthorizedKeys('ssh-ed25519 X hvcluster@backup\n', [], ['hv1', 'hv2']).content).toBe('ssh-ed25519 X hvcluster@backup\n');
  });

  it("reports a peer's own root key that stays authorized without restriction (hvcluster cannot tell who added it)", () => {
    expect(unrestrictedLegacyKeys(`ssh-ed25519 OLD root@hv2\n${line}\n`, [hv2])).toEqual(['hv2']);
    expect(unrestrictedLegacyKeys(`${line}\n`, [hv2])).toEqual([]);
  });
});

describe('DRBD resources', () => {
  const files = `resource hvc-probe {\n\tdevice /dev/drbd0 minor 0;\n\ton hv1 {\n\t\taddress 198.19.1.1:7788;\n\t}\n}\nresource vm-web {\n\tdevice /dev/drbd2 minor 2;\n\ton hv1 { address 198.19.1.1:7790; }\n}\n`;
  it('keeps the minor and port of an existing resource', () => {
    expect(allocate('vm-web', parseResourceFiles(files), 7788)).toEqual({ minor: 2, port: 7790 });
  });
  it('gives a new resource the lowest free minor and its port', () => {
    expect(allocate('vm-new', parseResourceFiles(files), 7788)).toEqual({ minor: 1, port: 7789 });
  });
  it('reads sync progress of DRBD 8.4 and 9', () => {
    expect(syncPercent("\t[==>.................] sync'ed: 12.5% (900/1024)M")).toBe(12.5);
    expect(syncPercent('  peer-disk:Inconsistent done:47.10')).toBe(47.1);
    expect(syncPercent('cs:Connected')).toBeUndefined();
  });
  it('puts a probe on each pair of a three-node 8.4 cluster, one three-way probe on DRBD 9', () => {
    expect(probeResources(['a', 'b'], [['a', 'b']])).toEqual([{ name: 'hvc-probe', holders: ['a', 'b'] }]);
    expect(probeResources(['a', 'b', 'c'], [['a', 'b'], ['b', 'c'], ['c', 'a']]).map((p) => p.name)).toEqual(['hvc-probe1', 'hvc-probe2', 'hvc-probe3']);
    expect(probeResources(['a', 'b', 'c'], [])).toEqual([{ name: 'hvc-probe', holders: ['a', 'b', 'c'] }]);
  });
});

describe('apply --json event lines', () => {
  it('carry the time of each event, and the envelope version on run-started', () => {
    let out = '';
    const stream = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
    const report = jsonLinesReporter(stream, () => new Date('2026-12-05T15:00:00.000Z'));
    report({ type: 'run-started', runId: 'R', cluster: 'c', servers: ['hv1'], steps: ['packages'], dryRun: false, logFile: '/l' });
    report({ type: 'log', server: 'hv1', step: 'packages', level: 'info', text: 'x' });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ time: '2026-12-05T15:00:00.000Z', schemaVersion: 1, version: expect.any(String), type: 'run-started' });
    expect(lines[1]).toEqual({ time: '2026-12-05T15:00:00.000Z', type: 'log', server: 'hv1', step: 'packages', level: 'info', text: 'x' });
  });
});

describe('apply progress on a terminal', () => {
  it('is one live line rewritten in place, with each server’s latest figure, kept below the permanent lines', () => {
    let out = '';
    const stream = Object.assign(new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) }), { isTTY: true, columns: 200 });
    const report = lineReporter(stream, palette(false));
    report({ type: 'run-started', runId: 'R', cluster: 'c', servers: ['hv1', 'hv2'], steps: ['packages'], dryRun: false, logFile: '/l' });
    report({ type: 'progress', server: 'hv1', step: 'packages', percent: 41.2, text: 'Unpacking drbd-utils (amd64)' });
    report({ type: 'progress', server: 'hv2', step: 'packages', percent: 12, text: 'Running dpkg' });
    expect(out.endsWith('\r\u001b[Khv1 packages ████░░░░░░ 41% Unpacking drbd-utils (amd64)  |  hv2 packages █░░░░░░░░░ 12% Running dpkg')).toBe(true);
    report({ type: 'step-finished', server: 'hv1', step: 'packages', status: 'changed', durationMs: 1200, changes: ['install drbd-utils'] });
    // The finished step's line replaced the live line, which is drawn again below it with what still runs.
    expect(out.endsWith('\r\u001b[Khv1   packages           changed   1.2 s\n        - install drbd-utils\n\r\u001b[Khv2 packages █░░░░░░░░░ 12% Running dpkg')).toBe(true);
    // Not one permanent progress line: those are for logs.
    expect(out.split('\n').filter((l) => /\d+\.\d%/.test(l))).toEqual([]);
  });
});
