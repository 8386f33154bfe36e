/**
 * The facts of a lab node (a real Debian 12 VM: see test/lab/), captured with
 *   sh -c "$(factsScript)" over the lab's SSH as root, saved as test/fixtures/facts/lab-hv1.txt.
 * Skipped until that capture exists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blankDisks, findDisk, formatFactsText, managementNic, parseFactsOutput } from '../../../installer/facts/index.js';

const path = fileURLToPath(new URL('../../fixtures/facts/lab-hv1.txt', import.meta.url));

function ok<T>(fact: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!fact.ok) throw new Error(`fact unavailable: ${fact.reason}`);
  return fact.value;
}

describe('lab node hv1 capture', () => {
  const facts = parseFactsOutput(readFileSync(path, 'utf8'));

  it('is Debian 12', () => {
    expect(ok(facts.os)).toMatchObject({ id: 'debian', versionId: '12', codename: 'bookworm' });
  });

  it("has the kernel's in-tree DRBD 8.4 module available", () => {
    const drbd = ok(facts.drbd);
    expect(drbd.moduleVersion).toMatch(/^8\.4\.\d+$/);
    expect(drbd.moduleFile).toMatch(/\/kernel\/drivers\/block\/drbd\/drbd\.ko$/);
    expect(drbd.major).toBe(8);
    // Loaded or not depends on what ran on the lab before the capture; if loaded, /proc/drbd says 8.4.
    if (drbd.loadedVersion !== null) expect(drbd.loadedVersion).toBe(drbd.moduleVersion);
  });

  it('has a blank data disk with a /dev/disk/by-id name', () => {
    const blank = ok(facts.disks).filter((d) => d.verdict.blank);
    expect(blank).toHaveLength(1);
    expect(blank[0]!.byIdPaths.some((p) => p.startsWith('/dev/disk/by-id/virtio-'))).toBe(true);
    expect(blank[0]!.headZero).toBe(true);
    expect(blank[0]!.tailZero).toBe(true);
  });

  it('calls the system disk in use', () => {
    const system = ok(facts.disks).find((d) => d.mountpoints.includes('/') || d.children.some((c) => c.mountpoints.includes('/')));
    expect(system?.verdict.blank).toBe(false);
  });

  it('has two physical NICs with carrier', () => {
    const physical = ok(facts.network).nics.filter((n) => n.kind === 'physical');
    expect(physical.map((n) => n.name).sort()).toEqual(['ens3', 'ens4']);
    for (const n of physical) expect(n.carrier).toBe(true);
  });

  it('has AMD-V (svm) and /dev/kvm (nested KVM under TCG)', () => {
    expect(ok(facts.virtualization)).toMatchObject({ cpuFlag: 'svm', kvmDevice: true });
  });

  it('knows the management address the SSH session came in on', () => {
    const s = ok(facts.session);
    expect(s.managementAddress).toMatch(/^198\.1[89]\./);
    const ens3 = ok(facts.network).nics.find((n) => n.name === 'ens3')!;
    expect(ens3.addresses.map((a) => a.address)).toContain(s.managementAddress);
  });

  it('reads time sync without D-Bus: no service active, sync state unknown', () => {
    const t = ok(facts.timeSync);
    expect(t).toMatchObject({ ntpEnabled: false, synchronized: null, activeService: null, chrony: null });
    expect(t.services.map((s) => s.state)).toEqual(['inactive', 'inactive', 'inactive', 'inactive', 'inactive']);
    expect(t.notes[0]).toMatch(/^timedatectl show: exit 1: Failed to connect to bus/);
  });

  it('answers the planner: management NIC, blank disks, disks by by-id path', () => {
    expect(managementNic(facts)?.name).toBe('ens3');
    const [data] = blankDisks(facts);
    expect(data).toBeDefined();
    expect(findDisk(facts, data!.byIdPaths[0]!)?.path).toBe(data!.path);
    expect(findDisk(facts, data!.name)).toBe(data);
    expect(findDisk(facts, '/dev/disk/by-id/nothing')).toBeNull();
  });

  it('formats', () => {
    expect(formatFactsText(facts)).toMatch(/\/dev\/vd\w +virtio-\S+ .* blank\n/);
  });
});
