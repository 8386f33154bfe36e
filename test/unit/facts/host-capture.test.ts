/**
 * Parsers against real captures of this project's Debian 12 development host (see
 * test/fixtures/facts/README.md for how they were made): loop devices set up as blank, ext4,
 * DOS-partitioned, stale-DRBD-metadata and junk-at-the-end disks, plus the host's own root disk.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatFactsText, parseFactsOutput, type Disk, type ServerFacts } from '../../../installer/facts/index.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/${name}`, import.meta.url), 'utf8');

function ok<T>(fact: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!fact.ok) throw new Error(`fact unavailable: ${fact.reason}`);
  return fact.value;
}

describe('host-debian12 capture', () => {
  const facts: ServerFacts = parseFactsOutput(fixture('host-debian12.txt'));
  const disk = (name: string): Disk => {
    const d = ok(facts.disks).find((x) => x.name === name);
    if (!d) throw new Error(`no disk ${name}`);
    return d;
  };

  it('reads os-release: Debian 12 bookworm', () => {
    expect(ok(facts.os)).toEqual({
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      codename: 'bookworm',
      idLike: [],
    });
  });

  it('reads the names, kernel and clock', () => {
    expect(ok(facts.hostname)).toEqual({ nodeName: 'vm', fqdn: 'vm', fqdnError: null });
    expect(ok(facts.kernel).architecture).toBe('x86_64');
    expect(ok(facts.kernel).release).toMatch(/^\d+\.\d+/);
    expect(ok(facts.clock).epochSeconds).toBeGreaterThan(1.7e9);
    expect(ok(facts.hosts).loopbackHostLine).toBeNull();
    expect(ok(facts.hosts).entries[0]).toEqual({ address: '127.0.0.1', names: ['localhost'] });
  });

  it('reads CPU and memory', () => {
    const cpu = ok(facts.cpu);
    expect(cpu.vendor).toBe('AuthenticAMD');
    expect(cpu.threads).toBe(2);
    expect(cpu.cores).toBe(2);
    expect(cpu.flags).toContain('sse2');
    const mem = ok(facts.memory);
    expect(mem.totalBytes).toBeGreaterThan(1024 ** 3);
    expect(mem.availableBytes).toBeLessThanOrEqual(mem.totalBytes);
  });

  it('sees /dev/kvm but no vmx/svm flag on this host (a gVisor sandbox), and no /proc/modules', () => {
    expect(ok(facts.virtualization)).toEqual({ cpuFlag: null, kvmDevice: true, kvmModules: [] });
  });

  it('calls the mounted root disk in use and says why', () => {
    const vda = disk('vda');
    expect(vda.type).toBe('disk');
    expect(vda.sizeBytes).toBe(256 * 1024 ** 3);
    expect(vda.verdict.blank).toBe(false);
    expect(vda.verdict.reasons).toContain('mounted at /');
    // The sandbox refuses to read the raw disk: reported, never taken as blank.
    expect(vda.signatures).toBeNull();
    expect(vda.headZero).toBeNull();
    expect(vda.verdict.reasons).toContain('first MiB unreadable');
  });

  it('calls an all-zero loop device blank', () => {
    const d = disk('loop1');
    expect(d.verdict).toEqual({ blank: true, reasons: [] });
    expect(d.signatures).toEqual([]);
    expect(d.headZero).toBe(true);
    expect(d.tailZero).toBe(true);
  });

  it('calls a mkfs.ext4 loop device in use: filesystem ext4', () => {
    const d = disk('loop0');
    expect(d.verdict.blank).toBe(false);
    expect(d.verdict.reasons).toContain('filesystem ext4');
    expect(d.signatures?.[0]).toMatchObject({ type: 'ext4', offset: '0x438' });
    expect(d.headZero).toBe(false);
  });

  it('calls a DOS-partitioned loop device in use: partition table dos', () => {
    const d = disk('loop2');
    expect(d.partitionTable).toBe('dos');
    expect(d.verdict.reasons).toContain('partition table dos');
  });

  it('finds stale DRBD metadata at the end of a disk', () => {
    const d = disk('loop3');
    expect(d.verdict.reasons).toEqual(['signature drbd', 'last MiB not zero']);
    expect(d.headZero).toBe(true);
  });

  it('finds data without any signature in the last MiB', () => {
    const d = disk('loop4');
    expect(d.signatures).toEqual([]);
    expect(d.verdict).toEqual({ blank: false, reasons: ['last MiB not zero'] });
  });

  it('finds a swap signature', () => {
    expect(disk('loop5').verdict.reasons).toEqual(['swap signature', 'first MiB not zero']);
  });

  it('finds a GPT with its backup header at the end', () => {
    const d = disk('loop6');
    expect(d.partitionTable).toBe('gpt');
    expect(d.signatures?.map((s) => s.type)).toEqual(['gpt', 'gpt', 'PMBR']);
    expect(d.verdict.reasons).toEqual(['partition table gpt', 'protective MBR', 'first MiB not zero', 'last MiB not zero']);
  });

  it('lists no zram or empty devices as disks', () => {
    expect(ok(facts.disks).map((d) => d.name)).toEqual(['loop0', 'loop1', 'loop2', 'loop3', 'loop4', 'loop5', 'loop6', 'vda']);
  });

  it('reads NICs: carrier, unknown speed, MTU, kind, addresses, default route', () => {
    const net = ok(facts.network);
    const eth0 = net.nics.find((n) => n.name === 'eth0')!;
    expect(eth0).toMatchObject({
      kind: 'physical',
      driver: 'virtio_net',
      state: 'UP',
      adminUp: true,
      carrier: true,
      speedMbps: null, // sysfs says -1
      mtu: 1400,
      mac: '02:fc:00:00:00:01',
      master: null,
    });
    expect(eth0.addresses.map((a) => a.cidr)).toContain('192.0.2.2/24');
    const ifb0 = net.nics.find((n) => n.name === 'ifb0')!;
    expect(ifb0).toMatchObject({ kind: 'virtual', linkKind: 'ifb', carrier: null, adminUp: false });
    expect(net.nics.find((n) => n.name === 'lo')?.kind).toBe('loopback');
    expect(net.defaultRoutes[0]).toMatchObject({ family: 'inet', gateway: '192.0.2.1', dev: 'eth0' });
    expect(net.defaultRoutes.some((r) => r.family === 'inet6')).toBe(true);
  });

  it('reads drbd-utils without a DRBD module and says why the module is unknown', () => {
    expect(ok(facts.drbd)).toMatchObject({
      utilsVersion: '9.22.0',
      utilsKernelVersion: null,
      moduleVersion: null,
      moduleError: 'modinfo: command not found',
      loadedVersion: null,
      major: null,
      resources: [],
    });
  });

  it('reads installed packages with versions', () => {
    const pkgs = ok(facts.packages);
    expect(pkgs.find((p) => p.name === 'drbd-utils')).toEqual({ name: 'drbd-utils', installed: true, version: '9.22.0-1', status: 'ii' });
    expect(pkgs.find((p) => p.name === 'chrony')).toEqual({ name: 'chrony', installed: false, version: null, status: 'un' });
    expect(pkgs.find((p) => p.name === 'lvm2')).toEqual({ name: 'lvm2', installed: false, version: null, status: null });
  });

  it('reports facts whose commands failed as unavailable, with the reason, and keeps the rest', () => {
    expect(facts.timeSync).toEqual({
      ok: false,
      reason: expect.stringContaining('System has not been booted with systemd'),
    });
    expect(facts.session).toEqual({ ok: false, reason: expect.stringContaining('SSH_CONNECTION not found') });
    expect(ok(facts.libvirt)).toEqual({ virshVersion: null, libvirtdState: null, libvirtdSocketState: null });
  });

  it('keeps the raw sections', () => {
    expect(Object.keys(facts.raw)).toContain('disks');
    expect(facts.raw.drbd).toContain('DRBDADM_VERSION=9.22.0');
  });

  it('formats the inventory as aligned plain text', () => {
    const text = formatFactsText(facts);
    expect(text).toContain('OS:             Debian GNU/Linux 12 (bookworm)');
    expect(text).toMatch(/\/dev\/loop1 +- +64 MiB +yes +- +blank\n/);
    expect(text).toContain('in use: filesystem ext4, first MiB not zero');
    expect(text).toContain('drbd-utils         9.22.0-1');
    expect(text).not.toMatch(/\u001b\[/); // no colour codes
    const lines = text.split('\n');
    const header = lines.find((l) => l.includes('PATH') && l.includes('VERDICT'))!;
    const row = lines.find((l) => l.includes('/dev/loop0'))!;
    expect(row.indexOf('in use')).toBe(header.indexOf('VERDICT'));
  });
});

describe('host-debian12 capture over SSH under sudo', () => {
  const facts = parseFactsOutput(fixture('host-debian12-ssh-sudo.txt'));

  it('finds the management address although sudo dropped SSH_CONNECTION', () => {
    expect(ok(facts.session)).toEqual({
      managementAddress: '127.0.0.1',
      managementPort: 22947,
      clientAddress: '127.0.0.1',
      source: 'ancestor',
    });
  });
});

describe('host-debian12 capture in a network namespace with a bridge and a veth pair', () => {
  // ip netns add; br0 (198.18.0.11/24, default route via 198.18.0.1) with veth0 enslaved; veth1 at MTU 9000.
  const net = ok(parseFactsOutput(fixture('host-debian12-netns-bridge.txt')).network);
  const nic = (name: string) => net.nics.find((n) => n.name === name)!;

  it('reads bridge membership, kinds, MTU and addresses', () => {
    expect(nic('br0')).toMatchObject({ kind: 'bridge', linkKind: 'bridge', master: null, carrier: true, mtu: 1500 });
    expect(nic('br0').addresses).toEqual([
      expect.objectContaining({ family: 'inet', address: '198.18.0.11', prefixLength: 24, cidr: '198.18.0.11/24' }),
      ...nic('br0').addresses.slice(1),
    ]);
    expect(nic('veth0')).toMatchObject({ kind: 'virtual', linkKind: 'veth', master: 'br0', masterKind: 'bridge' });
    expect(nic('veth1')).toMatchObject({ kind: 'virtual', master: null, mtu: 9000 });
    expect(net.defaultRoutes).toEqual([{ family: 'inet', gateway: '198.18.0.1', dev: 'br0', metric: null, protocol: null }]);
  });
});

