import { describe, expect, it } from 'vitest';
import { PlacementError, drbdMetadataMiB, guestMac, guestUuid, placeGuests } from '../../../installer/plan/guests.js';

const three = ['hv1', 'hv2', 'hv3'];

describe('where guests live', () => {
  it('two nodes: every guest on both, as long as both have the space (disks and DRBD metadata)', () => {
    expect(placeGuests(['hv1', 'hv2'], '8.4', { hv1: 50_000, hv2: 50_000 }, [{ name: 'web', sizeMiB: 20_480 }])).toEqual([{ name: 'web', holders: ['hv1', 'hv2'], chosen: false }]);
    expect(() => placeGuests(['hv1', 'hv2'], '8.4', { hv1: 50_000, hv2: 10_000 }, [{ name: 'web', sizeMiB: 20_480 }])).toThrow(
      'guest web needs 20482 MiB on every node (its disks and DRBD\'s metadata); hv1 50000 MiB free, hv2 10000 MiB free',
    );
  });

  it('three nodes with DRBD 8.4: spread by free space, the fuller node of each pair deciding; a named pair kept', () => {
    const placed = placeGuests(three, '8.4', { hv1: 100_000, hv2: 60_000, hv3: 90_000 }, [
      { name: 'a', sizeMiB: 40_000 },
      { name: 'b', sizeMiB: 40_000 },
      { name: 'c', sizeMiB: 10_000, replicas: ['hv2', 'hv1'] },
    ]);
    // a: pairs hv1-hv2 (min 60000), hv2-hv3 (60000), hv3-hv1 (90000) -> hv3+hv1; then hv1 60000-2, hv3 50000-2:
    // b: hv1-hv2 (59998), hv2-hv3 (49998), hv3-hv1 (49998) -> hv1+hv2.
    expect(placed).toEqual([
      { name: 'a', holders: ['hv3', 'hv1'], chosen: true },
      { name: 'b', holders: ['hv1', 'hv2'], chosen: true },
      { name: 'c', holders: ['hv2', 'hv1'], chosen: false },
    ]);
  });

  it('three nodes with DRBD 8.4: a guest that names its preferred node gets a pair with it', () => {
    const free = { hv1: 100_000, hv2: 100_000, hv3: 50_000 };
    expect(placeGuests(three, '8.4', free, [{ name: 'web', sizeMiB: 10_000 }])[0]!.holders).toEqual(['hv1', 'hv2']);
    expect(placeGuests(three, '8.4', free, [{ name: 'web', sizeMiB: 10_000, preferredNode: 'hv3' }])[0]!.holders).toEqual(['hv2', 'hv3']);
    expect(() => placeGuests(three, '8.4', free, [{ name: 'web', sizeMiB: 60_000, preferredNode: 'hv3' }])).toThrow(
      "guest web needs 60003 MiB on hv3 (its preferredNode) and another node (its disks and DRBD's metadata); no pair has it: hv1 100000 MiB free, hv2 100000 MiB free, hv3 50000 MiB free",
    );
  });

  it('refuses a guest no pair can hold, an unknown node and a node named twice, saying which and why', () => {
    expect(() => placeGuests(three, '8.4', { hv1: 30_000, hv2: 30_000, hv3: 5_000 }, [{ name: 'big', sizeMiB: 40_000 }])).toThrow(
      'guest big needs 40003 MiB on two nodes (its disks and DRBD\'s metadata); no pair has it: hv1 30000 MiB free, hv2 30000 MiB free, hv3 5000 MiB free',
    );
    expect(() => placeGuests(three, '8.4', { hv1: 1e6, hv2: 1e6, hv3: 1e6 }, [{ name: 'x', sizeMiB: 1, replicas: ['hv1', 'hv4'] }])).toThrow(PlacementError);
    expect(() => placeGuests(three, '8.4', { hv1: 1e6, hv2: 1e6, hv3: 1e6 }, [{ name: 'x', sizeMiB: 1, replicas: ['hv1', 'hv4'] }])).toThrow('replicas name hv4, which is not a node of the cluster (hv1, hv2, hv3)');
    expect(() => placeGuests(three, '8.4', { hv1: 1e6, hv2: 1e6, hv3: 1e6 }, [{ name: 'x', sizeMiB: 1, replicas: ['hv2', 'hv2'] }])).toThrow('replicas name hv2 twice');
  });

  it("counts DRBD 8.4's internal metadata: about 32 KiB per GiB, rounded up, plus 1 MiB", () => {
    expect(drbdMetadataMiB(1024)).toBe(2);
    expect(drbdMetadataMiB(102_400)).toBe(5);
    expect(drbdMetadataMiB(1_048_576)).toBe(33);
  });
});

describe("a guest's identity on every node", () => {
  it('MAC: QEMU prefix, stable for the cluster, guest and NIC, different per NIC, moving on from a taken one', () => {
    const mac = guestMac('acme', 'web', 0);
    expect(mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(guestMac('acme', 'web', 0)).toBe(mac);
    expect(guestMac('acme', 'web', 1)).not.toBe(mac);
    expect(guestMac('other', 'web', 0)).not.toBe(mac);
    const next = guestMac('acme', 'web', 0, new Set([mac]));
    expect(next).not.toBe(mac);
    expect(next).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  it('UUID: stable, RFC 4122 layout (variant 10, version 8), different per guest and cluster', () => {
    const u = guestUuid('acme', 'web');
    expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(guestUuid('acme', 'web')).toBe(u);
    expect(guestUuid('acme', 'db')).not.toBe(u);
    expect(guestUuid('other', 'web')).not.toBe(u);
  });
});

describe("a guest's libvirt domain (templates/guest-domain.xml.hbs)", () => {
  it('is well-formed XML with one virtio disk per DRBD device, one NIC per bridge, the agent channel and the CPU model', async () => {
    const { TemplateEnvironment } = await import('../../../installer/render/environment.js');
    const { parseXml, descendants } = await import('../../../installer/facts/parse/xml.js');
    const { GUESTS, GUEST_TEMPLATE } = await import('../templates/fixtures.js');
    const db = GUESTS.find((g) => g.name === 'db')!;
    const text = new TemplateEnvironment().render(GUEST_TEMPLATE, db);
    const xml = parseXml(text.replace(/<!--[\s\S]*?-->/g, ''));
    expect(descendants(xml, 'source').map((s) => s.attrs.dev ?? s.attrs.bridge)).toEqual(['/dev/drbd11', '/dev/drbd12', 'br0', 'br0']);
    expect(descendants(xml, 'target').map((t) => t.attrs.dev ?? t.attrs.name)).toEqual(['vda', 'vdb', 'org.qemu.guest_agent.0']);
    expect(descendants(xml, 'driver').every((d) => d.attrs.cache === 'none' && d.attrs.type === 'raw')).toBe(true);
    expect(descendants(xml, 'mac').map((m) => m.attrs.address)).toEqual(db.nics.map((n) => n.mac));
    // (the parser keeps elements and attributes, not text)
    expect(text).toContain(`<uuid>${db.uuid}</uuid>`);
    expect(text).toContain("<model fallback='forbid'>qemu64</model>");
  });

  it('names disks as the guest sees them: vda ... vdz, vdaa', async () => {
    const { diskTarget } = await import('../../../installer/plan/guests.js');
    expect([0, 1, 25, 26, 27].map(diskTarget)).toEqual(['vda', 'vdb', 'vdz', 'vdaa', 'vdab']);
  });
});
