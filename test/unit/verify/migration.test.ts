/** The migration test's pure parts: guest recipe, address choice, rounds, parsers, and the client probe against a loopback server. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLeftovers, leftoversRead, parseLeftovers } from '../../../installer/verify/migration/cleanup.js';
import { scriptText } from '../../../installer/engine/change.js';
import {
  CHECK_CGI,
  WRITE_CGI,
  buildGuestScript,
  defaultGuestAddress,
  domainXml,
  guestMac,
  inSubnet,
  initScript,
  parseBootId,
  ipv4WithPrefix,
  parseMd5,
} from '../../../installer/verify/migration/guest.js';
import { MIGRATION_PHASES, migrationLegs, migrationRounds } from '../../../installer/verify/migration/index.js';
import { HttpProbe, httpGet, longestGap, parseJobInfo } from '../../../installer/verify/migration/probe.js';

const FIXTURES = new URL('../../fixtures/migration/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

describe('guest address', () => {
  it('defaults to host .200 of the management subnet', () => {
    expect(defaultGuestAddress('198.18.2.1/24')).toBe('198.18.2.200/24');
    expect(defaultGuestAddress('198.18.7.77/23')).toBe('198.18.6.200/23');
    expect(() => defaultGuestAddress('198.18.2.1/26')).toThrow(/too small/);
  });
  it('parses and checks subnets', () => {
    expect(ipv4WithPrefix('198.18.2.200/24')).toEqual({ address: '198.18.2.200', prefix: 24 });
    expect(ipv4WithPrefix(' 198.18.2.200/24\n')).toEqual({ address: '198.18.2.200', prefix: 24 });
    expect(() => ipv4WithPrefix('198.18.2.300/24')).toThrow(/expected an IPv4 address with prefix/);
    expect(() => ipv4WithPrefix('198.18.2.200')).toThrow(/expected an IPv4 address with prefix/);
    expect(() => ipv4WithPrefix('198.18.2.200/33')).toThrow(/expected an IPv4 address with prefix/);
    expect(inSubnet('198.18.2.200', '198.18.2.1/24')).toBe(true);
    expect(inSubnet('198.18.3.200', '198.18.2.1/24')).toBe(false);
  });
  it('derives a locally administered unicast MAC', () => {
    expect(guestMac('198.18.2.200')).toBe('02:68:76:12:02:c8');
  });
});

describe('rounds and legs', () => {
  const nodes = (names: string[]) => names.map((name) => ({ name }));
  it('two nodes: one round, out and back', () => {
    const rounds = migrationRounds({ nodes: nodes(['hv1', 'hv2']) as never, drbdPairs: [['hv1', 'hv2']] });
    expect(rounds).toEqual([{ holders: ['hv1', 'hv2'], home: 'hv1' }]);
    expect(migrationLegs(rounds[0]!)).toEqual([
      { from: 'hv1', to: 'hv2' },
      { from: 'hv2', to: 'hv1' },
    ]);
  });
  it('three nodes on 8.4: a round per pair, so every node sends to and receives from every other', () => {
    const rounds = migrationRounds({
      nodes: nodes(['hv1', 'hv2', 'hv3']) as never,
      drbdPairs: [
        ['hv1', 'hv2'],
        ['hv2', 'hv3'],
        ['hv3', 'hv1'],
      ],
    });
    const legs = rounds.flatMap(migrationLegs).map((l) => `${l.from}>${l.to}`);
    expect(legs.sort()).toEqual(['hv1>hv2', 'hv1>hv3', 'hv2>hv1', 'hv2>hv3', 'hv3>hv1', 'hv3>hv2']);
  });
  it('three nodes on DRBD 9: one volume on all, to every other node and back', () => {
    const rounds = migrationRounds({ nodes: nodes(['hv1', 'hv2', 'hv3']) as never, drbdPairs: [] });
    expect(rounds.flatMap(migrationLegs).map((l) => `${l.from}>${l.to}`)).toEqual(['hv1>hv2', 'hv2>hv1', 'hv1>hv3', 'hv3>hv1']);
  });
  it('names the phases in order, clean-up last', () => {
    expect(MIGRATION_PHASES[0]).toBe('cleanup-before');
    expect(MIGRATION_PHASES.at(-1)).toBe('cleanup-after');
  });
});

describe('the guest recipe', () => {
  const guest = { address: '198.18.2.200', prefix: 24 };
  it('is valid shell (sh -n), init included', () => {
    for (const script of [buildGuestScript(guest), initScript(guest), WRITE_CGI, CHECK_CGI]) {
      execFileSync('sh', ['-n'], { input: script });
    }
  });
  it('loads the virtio modules in order, sets the static address and serves HTTP', () => {
    const init = initScript(guest);
    expect(init).toContain('for m in virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net virtio_blk virtio_console;');
    expect(init).toContain('ip addr add 198.18.2.200/24 dev eth0');
    expect(init).toContain('httpd -p 80 -h /www');
    expect(init.indexOf('/bin/busybox mount -t proc')).toBeLessThan(init.indexOf('--install'));
  });
  it("with its agent: the node's qemu-ga and its libraries copied in, started on the agent's port with the hang hook; without, none", () => {
    const guest = ipv4WithPrefix('198.18.2.200/24');
    expect(buildGuestScript(guest)).not.toContain('/bin/qemu-ga"');
    const withAgent = buildGuestScript(guest, { agent: true });
    expect(withAgent).toContain('cp "$QGA" "$W/bin/qemu-ga"');
    expect(withAgent).toContain('exit 5; }');
    expect(withAgent).toContain('"$W/www/cgi-bin/agent"');
    expect(initScript(guest)).toContain('qemu-ga -m virtio-serial -p "$port" -F/etc/qga-hook');
    const sc = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: withAgent, encoding: 'utf8' });
    expect(sc.stdout).toBe('');
  });
  it('writes 4 MiB with fsync and reads them back after dropping the caches, on vda or the disk its query names', () => {
    expect(WRITE_CGI).toContain('dd if=/dev/urandom of=/dev/$dev bs=65536 seek=$skip count=64 conv=fsync');
    // The disk and offset: vda from 0 unless the query names dev=vd? and at=MiB (nothing else reaches a device path).
    const where = (query: string) => {
      const head = WRITE_CGI.split('\n');
      const script = head.slice(2, head.findIndex((l) => l.startsWith('dd '))).join('\n');
      return spawnSync('sh', ['-c', `${script}\necho $dev $skip`], { env: { QUERY_STRING: query }, encoding: 'utf8' }).stdout.trim();
    };
    expect([where(''), where('dev=vdb'), where('dev=vdb&at=8'), where('dev=../sda'), where('dev=vdb;reboot'), where('at=1;x&dev=vdc')]).toEqual(['vda 0', 'vdb 0', 'vdb 128', 'vda 0', 'vda 0', 'vdc 0']);
    expect(CHECK_CGI).toContain('echo 3 > /proc/sys/vm/drop_caches');
    expect(parseMd5('md5=0123456789abcdef0123456789abcdef\n')).toBe('0123456789abcdef0123456789abcdef');
    expect(parseMd5('write-failed')).toBeNull();
    expect(parseBootId('hvcluster migration test guest boot=3f1e2d4c-1111-2222-3333-444455556666\n')).toBe('3f1e2d4c-1111-2222-3333-444455556666');
    expect(parseBootId('<html>something else boot=3f1e2d4c-1111-2222-3333-444455556666')).toBeNull();
  });
  it('is a KVM domain with the DRBD device, no host cache, on the bridge', () => {
    const xml = domainXml({ name: 'hvc-migtest', memoryMiB: 96, device: '/dev/drbd1', bridge: 'br0', mac: '02:68:76:12:02:c8' });
    expect(xml).toContain("<domain type='kvm'>");
    expect(xml).toContain("<memory unit='MiB'>96</memory>");
    expect(xml).toContain("<driver name='qemu' type='raw' cache='none' io='native'/>");
    expect(xml).toContain("<source dev='/dev/drbd1'/>");
    expect(xml).toContain("<source bridge='br0'/>");
    expect(xml).toContain('<kernel>/var/lib/libvirt/boot/hvc-migtest.vmlinuz</kernel>');
  });
});

describe('virsh domjobinfo --completed', () => {
  it('reads downtime and elapsed time from a real capture', () => {
    const job = parseJobInfo(fixture('domjobinfo-completed.txt'));
    expect(job.downtimeMs).toBeGreaterThan(0);
    expect(job.elapsedMs).toBeGreaterThan(job.downtimeMs!);
    expect(job.fields['Job type']).toBe('Completed');
  });
  it('gives null for what is not there', () => {
    expect(parseJobInfo('Job type:         None\n')).toMatchObject({ downtimeMs: null, elapsedMs: null });
  });
});

describe('leftovers', () => {
  it('parses the clean state', () => {
    const clean = parseLeftovers('domain=\nup=no\nrole=\nresfile=no\nlv=no\n');
    expect(describeLeftovers(clean)).toEqual([]);
  });
  it('names everything left, Primary role included', () => {
    const l = parseLeftovers('domain=running\nup=yes\nrole=Primary/Secondary\nresfile=yes\nlv=yes\nfile=/var/lib/libvirt/boot/hvc-migtest.xml\n');
    expect(describeLeftovers(l)).toEqual([
      'test domain hvc-migtest (running)',
      'DRBD resource hvc-migtest up (Primary/Secondary)',
      'hvc-migtest is Primary',
      '/etc/drbd.d/hvc-migtest.res',
      'logical volume hvc-migtest',
      '/var/lib/libvirt/boot/hvc-migtest.xml',
    ]);
  });
  it('names an armed dual-primary timer (a run killed inside the window, before its deadline)', () => {
    expect(describeLeftovers(parseLeftovers('domain=\nup=yes\nrole=Secondary/Primary\nclosetimer=yes\n'))).toEqual([
      'DRBD resource hvc-migtest up (Secondary/Primary)',
      'timer hvcluster-dual-primary-hvc-migtest (it closes the dual-primary window of hvc-migtest)',
    ]);
    const read = leftoversRead('hvdata', null);
    expect(read.script).toBe('migration-leftovers.sh');
    expect(read.args.slice(0, 5)).toEqual(['hvdata', 'hvc-migtest', 'hvc-migtest', 'hvcluster-dual-primary-hvc-migtest', '/etc/drbd.d/hvc-migtest.res']);
    // No HA: no CIB ids, so the script does not read the cluster stack; on an HA cluster it looks for the test guest's objects.
    expect(read.args[5]).toBe('');
    expect(leftoversRead('hvdata', ['hv1', 'hv2']).args[5]!.split(',')).toContain('vm-hvc-migtest');
    expect(parseLeftovers('domain=\ncib=vm-hvc-migtest\ncib=drbd-hvc-migtest-clone\n').cib).toEqual(['vm-hvc-migtest', 'drbd-hvc-migtest-clone']);
    expect(scriptText(read.script)).toContain('systemctl is-active "$unit.timer" "$unit.service"');
  });
});

describe('client probe', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('longestGap counts the window edges', () => {
    expect(longestGap([], 1000, 1500)).toEqual({ maxGapMs: 500, maxGapAtMs: 0 });
    expect(longestGap([1010, 1020, 1300, 1310], 1000, 1320)).toEqual({ maxGapMs: 280, maxGapAtMs: 20 });
    expect(longestGap([1010, 1020], 1000, 1400)).toEqual({ maxGapMs: 380, maxGapAtMs: 20 });
  });

  it('measures a pause of the guest as a gap, and ignores answers from another boot', async () => {
    let mode: 'ok' | 'silent' | 'other' = 'ok';
    server = createServer((req, res) => {
      if (mode === 'silent') return; // hangs, like a guest in its stop-and-copy phase
      res.end(mode === 'ok' ? 'hvcluster migration test guest boot=A' : 'boot=B');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    expect(await httpGet('127.0.0.1', '/', 1000, port)).toContain('boot=A');

    const probe = new HttpProbe('127.0.0.1', 'boot=A', 20, 100, port);
    probe.start();
    await new Promise((r) => setTimeout(r, 300));
    mode = 'silent';
    await new Promise((r) => setTimeout(r, 400));
    mode = 'other';
    await new Promise((r) => setTimeout(r, 200));
    mode = 'ok';
    await new Promise((r) => setTimeout(r, 300));
    const summary = await probe.stop();
    expect(summary.answers).toBeGreaterThan(5);
    expect(summary.wrongAnswers).toBeGreaterThan(0);
    expect(summary.maxGapMs).toBeGreaterThanOrEqual(550);
    expect(summary.maxGapMs).toBeLessThan(900);
    expect(summary.maxGapAtMs).toBeGreaterThanOrEqual(250);
    server.closeAllConnections();
  });
});
