import { describe, expect, it } from 'vitest';
import { AnswersSchema, type Answers } from '../../../installer/answers/schema.js';
import { CPU_MODELS, chooseCpuModel, diskResource, guestDomainModel, guestModels, guestResourceNames, type GuestModelInput } from '../../../installer/plan/guest-model.js';
import { PlacementError, guestMac, guestUuid } from '../../../installer/plan/guests.js';

/** Answers of a cluster `acme` of `nodes` nodes (hv1...) with these guests, as written in a file. */
function answers(guests: unknown[], options: { nodes?: number; ha?: { enabled?: boolean } } = {}): Answers {
  return AnswersSchema.parse({
    apiVersion: 'hvcluster/v1',
    kind: 'Cluster',
    metadata: { name: 'acme' },
    spec: {
      nodes: Array.from({ length: options.nodes ?? 2 }, (_, i) => ({
        name: `hv${i + 1}`,
        management: { interface: 'ens3', address: `198.18.1.${11 + i}/24` },
        replication: { interface: 'ens4', address: `198.19.1.${11 + i}/24` },
        storage: { disk: `/dev/disk/by-id/virtio-hv${i + 1}-data` },
      })),
      ...(options.ha ? { ha: options.ha } : {}),
      network: { bridge: 'vmbr0' },
      guests,
    },
  });
}

const free = (mib: number, nodes = 3) => Object.fromEntries(Array.from({ length: nodes }, (_, i) => [`hv${i + 1}`, mib]));
const input = (a: Answers, rest: Partial<GuestModelInput> = {}): GuestModelInput => ({ answers: a, major: '8.4', freeMiB: free(100_000), existingHolders: {}, imageSizeMiB: {}, ...rest });
const where = (a: Answers, rest: Partial<GuestModelInput> = {}) => guestModels(input(a, rest)).map((g) => `${g.name}: ${g.holders.join('+')}${g.chosen ? ' (chosen)' : ''}, on ${g.preferredNode}`);

describe('disk resources', () => {
  it('names disk i of a guest NAME-diskI, for every disk of every declared guest (absent ones too)', () => {
    expect(diskResource('web', 0)).toBe('web-disk0');
    const a = answers([
      { name: 'web', memory: '1GiB', disks: [{ size: '10GiB' }, { size: '1GiB' }] },
      { name: 'old', memory: '1GiB', disks: [{ size: '10GiB' }], state: 'absent' },
    ]);
    expect(guestResourceNames(a)).toEqual(['web-disk0', 'web-disk1', 'old-disk0']);
    expect(guestResourceNames(answers([]))).toEqual([]);
  });
});

describe('a guest with every default decided', () => {
  it('two nodes: on both, preferring the first; one NIC on the cluster bridge with a derived MAC; its UUID; sizes summed', () => {
    const a = answers([{ name: 'web', memory: '4GiB', disks: [{ size: '20GiB' }, { image: '/srv/images/data.qcow2' }] }]);
    expect(guestModels(input(a, { freeMiB: free(100_000, 2), imageSizeMiB: { '/srv/images/data.qcow2': 2049 }, imageFormat: { '/srv/images/data.qcow2': 'qcow2' } }))).toEqual([
      {
        name: 'web',
        index: 0,
        state: 'present',
        holders: ['hv1', 'hv2'],
        chosen: false,
        preferredNode: 'hv1',
        ha: false,
        autostart: true,
        disks: [
          { index: 0, resource: 'web-disk0', sizeMiB: 20_480, target: 'vda' },
          { index: 1, resource: 'web-disk1', sizeMiB: 2049, image: '/srv/images/data.qcow2', imageFormat: 'qcow2', target: 'vdb' },
        ],
        sizeMiB: 22_529,
        vcpus: 1,
        memoryMiB: 4096,
        machine: 'q35',
        boot: ['hd'],
        nics: [{ bridge: 'vmbr0', mac: guestMac('acme', 'web', 0) }],
        uuid: guestUuid('acme', 'web'),
      },
    ]);
  });

  it('ha: as given, else on when spec.ha is there and enabled', () => {
    const guests = [
      { name: 'web', memory: '1GiB', disks: [{ size: '1GiB' }] },
      { name: 'db', memory: '1GiB', disks: [{ size: '1GiB' }], ha: false },
    ];
    const ha = (options: Parameters<typeof answers>[1]) => guestModels(input(answers(guests, options), { freeMiB: free(100_000, 2) })).map((g) => g.ha);
    expect(ha({})).toEqual([false, false]);
    expect(ha({ ha: {} })).toEqual([true, false]);
    expect(ha({ ha: { enabled: false } })).toEqual([false, false]);
  });

  it('MACs: given ones kept; derived ones away from every given one and from each other', () => {
    // web's first derived MAC is given to db (later in the file): web's NIC moves on to the next one.
    const clash = guestMac('acme', 'web', 0);
    const a = answers([
      { name: 'web', memory: '1GiB', disks: [{ size: '1GiB' }], nics: [{}, { bridge: 'br9' }] },
      { name: 'db', memory: '1GiB', disks: [{ size: '1GiB' }], nics: [{ mac: clash }] },
    ]);
    const [web, db] = guestModels(input(a, { freeMiB: free(100_000, 2) }));
    expect(db!.nics).toEqual([{ bridge: 'vmbr0', mac: clash }]);
    expect(web!.nics).toEqual([
      { bridge: 'vmbr0', mac: guestMac('acme', 'web', 0, new Set([clash])) },
      { bridge: 'br9', mac: guestMac('acme', 'web', 1) },
    ]);
    expect(web!.nics[0]!.mac).not.toBe(clash);
  });
});

describe('where guests live', () => {
  const three = (guests: unknown[]) => answers(guests, { nodes: 3 });
  const g = (name: string, extra: Record<string, unknown> = {}) => ({ name, memory: '1GiB', disks: [{ size: '40000MiB' }], ...extra });

  it('three nodes with DRBD 8.4: new guests placed in answer-file order, a preferred node kept in the pair chosen', () => {
    const a = three([g('web'), g('db', { preferredNode: 'hv3' }), g('mail', { replicas: ['hv2', 'hv1'], disks: [{ size: '10000MiB' }] })]);
    expect(where(a, { freeMiB: { hv1: 100_000, hv2: 60_000, hv3: 90_000 } })).toEqual([
      'web: hv3+hv1 (chosen), on hv3',
      // Without its preferredNode, db would go to hv1+hv2 (the pair with the most room left).
      'db: hv2+hv3 (chosen), on hv3',
      'mail: hv2+hv1, on hv2',
    ]);
  });

  it('an existing guest stays where its disks are, its space not counted again; the new ones fill what is left', () => {
    const a = three([g('new'), g('old')]);
    // old is on hv1+hv2 (its space already gone from their free space): new takes the pair with most room.
    expect(where(a, { freeMiB: { hv1: 45_000, hv2: 50_000, hv3: 90_000 }, existingHolders: { old: ['hv2', 'hv1'] } })).toEqual([
      'new: hv2+hv3 (chosen), on hv2',
      'old: hv1+hv2 (chosen), on hv1',
    ]);
    // Even when there is no room for it any more.
    expect(where(three([g('old')]), { freeMiB: { hv1: 0, hv2: 0, hv3: 90_000 }, existingHolders: { old: ['hv1', 'hv2'] } })).toEqual(['old: hv1+hv2 (chosen), on hv1']);
  });

  it('an existing guest whose pair lacks a node (a creation cut short) is completed, on the node with room', () => {
    const a = three([g('half')]);
    expect(where(a, { freeMiB: { hv1: 0, hv2: 60_000, hv3: 90_000 }, existingHolders: { half: ['hv1'] } })).toEqual(['half: hv3+hv1 (chosen), on hv3']);
    expect(() => guestModels(input(a, { freeMiB: { hv1: 0, hv2: 1000, hv3: 1000 }, existingHolders: { half: ['hv1'] } }))).toThrow(
      "guest half needs 40003 MiB on one of hv2, hv3 beside hv1, where its disks are (its disks and DRBD's metadata); hv2 1000 MiB free, hv3 1000 MiB free",
    );
    // Two nodes: the other node needs the room.
    const two = answers([g('half')]);
    expect(where(two, { freeMiB: { hv1: 50_000, hv2: 0 }, existingHolders: { half: ['hv2'] } })).toEqual(['half: hv1+hv2, on hv1']);
  });

  it('refuses answers that would move an existing guest: other replicas, a preferred node without its disks', () => {
    const existing = { existingHolders: { old: ['hv1', 'hv2'] } };
    expect(() => guestModels(input(three([g('old', { replicas: ['hv1', 'hv3'] })]), existing))).toThrow(
      "guest old: its disks are on hv1 and hv2 already, but replicas names hv1 and hv3; hvcluster does not move a guest's disks: write the nodes that hold them, or leave replicas out",
    );
    expect(() => guestModels(input(three([g('old', { preferredNode: 'hv3' })]), existing))).toThrow(
      "guest old: its disks are on hv1 and hv2 already, and its preferredNode hv3 holds none of them; hvcluster does not move a guest's disks: name one of hv1, hv2, or leave preferredNode out",
    );
    expect(where(three([g('old', { replicas: ['hv2', 'hv1'], preferredNode: 'hv1' })]), existing)).toEqual(['old: hv2+hv1, on hv1']);
  });

  it('throws a PlacementError naming the guest when there is no room', () => {
    const a = three([g('ok'), g('big', { disks: [{ size: '2TiB' }] })]);
    const thrown = (() => {
      try {
        guestModels(input(a));
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(PlacementError);
    expect((thrown as Error).message).toMatch(/^guest big needs 2097217 MiB on two nodes/);
  });

  it('absent guests: where their disks still are (or nowhere), never placed, their space not needed', () => {
    const a = three([g('gone', { state: 'absent', disks: [{ image: '/srv/unknown.img' }] }), g('left', { state: 'absent' }), g('kept')]);
    const models = guestModels(input(a, { freeMiB: { hv1: 50_000, hv2: 50_000, hv3: 0 }, existingHolders: { gone: ['hv3', 'hv1'] } }));
    expect(models.map((m) => [m.name, m.state, m.holders, m.preferredNode, m.sizeMiB])).toEqual([
      ['gone', 'absent', ['hv3', 'hv1'], 'hv3', 0],
      ['left', 'absent', [], '', 40_000],
      ['kept', 'present', ['hv1', 'hv2'], 'hv1', 40_000],
    ]);
  });
});

describe('disk images', () => {
  const withImage = (disk: Record<string, unknown>) => answers([{ name: 'erp', memory: '2GiB', disks: [{ size: '10GiB' }, { image: '/srv/erp.qcow2', ...disk }] }]);
  const models = (a: Answers, imageSizeMiB: Record<string, number>) => guestModels(input(a, { freeMiB: free(1_000_000, 2), imageSizeMiB }));

  it("take the image's virtual size, or a larger size given", () => {
    expect(models(withImage({}), { '/srv/erp.qcow2': 30_721 })[0]!.disks[1]!.sizeMiB).toBe(30_721);
    expect(models(withImage({ size: '40GiB' }), { '/srv/erp.qcow2': 30_721 })[0]!.disks[1]!.sizeMiB).toBe(40_960);
  });

  it('refuse a size smaller than the image (it would cut the image), and an image of unknown size without one', () => {
    expect(() => models(withImage({ size: '20GiB' }), { '/srv/erp.qcow2': 30_721 })).toThrow(
      'guest erp: disk 1 (vdb) is 20480 MiB, smaller than the virtual size of /srv/erp.qcow2 (30721 MiB): writing the image into it would cut the image; give it a size of at least 30721 MiB, or no size',
    );
    expect(() => models(withImage({}), {})).toThrow(PlacementError);
    expect(() => models(withImage({}), {})).toThrow('guest erp: disk 1 (vdb) has no size and the virtual size of /srv/erp.qcow2 is not known; give it a size, like { image: /srv/erp.qcow2, size: 40GiB }');
    // A size given: the image's size is needed only to check it.
    expect(models(withImage({ size: '40GiB' }), {})[0]!.sizeMiB).toBe(10_240 + 40_960);
  });
});

describe("a guest's libvirt domain model", () => {
  it('takes the DRBD device of each disk and the chosen CPU model', () => {
    const a = answers([{ name: 'db', memory: '8GiB', vcpus: 4, disks: [{ size: '10GiB' }, { size: '5GiB' }], nics: [{ mac: '52:54:00:12:34:56' }], machine: 'pc', boot: ['hd', 'cdrom'], ha: true }], { ha: {} });
    const [db] = guestModels(input(a, { freeMiB: free(100_000, 2) }));
    expect(guestDomainModel('acme', db!, ['/dev/drbd11', '/dev/drbd12'], 'Haswell')).toEqual({
      cluster: 'acme',
      name: 'db',
      uuid: guestUuid('acme', 'db'),
      memoryMiB: 8192,
      vcpus: 4,
      machine: 'pc',
      boot: ['hd', 'cdrom'],
      cpuModel: 'Haswell',
      ha: true,
      holders: ['hv1', 'hv2'],
      disks: [
        { resource: 'db-disk0', device: '/dev/drbd11', target: 'vda' },
        { resource: 'db-disk1', device: '/dev/drbd12', target: 'vdb' },
      ],
      nics: [{ bridge: 'vmbr0', mac: '52:54:00:12:34:56' }],
    });
    expect(() => guestDomainModel('acme', db!, ['/dev/drbd11'], 'Haswell')).toThrow('guest db: 1 DRBD devices given for 2 disks');
  });
});

describe('the CPU model of a guest', () => {
  const usable = ['Haswell-noTSX', 'IvyBridge', 'SandyBridge', 'qemu64'];

  it("the holders' host model when they all report it and can run it", () => {
    expect(chooseCpuModel([{ hostModel: 'Cascadelake-Server', usable: ['Cascadelake-Server', ...usable] }, { hostModel: 'Cascadelake-Server', usable: ['Cascadelake-Server'] }])).toBe('Cascadelake-Server');
    // A holder that reported no usable models is not held against it.
    expect(chooseCpuModel([{ hostModel: 'Skylake-Client-IBRS', usable: [] }, { hostModel: 'Skylake-Client-IBRS', usable: [] }])).toBe('Skylake-Client-IBRS');
  });

  it('else the newest common model usable on every holder', () => {
    expect(chooseCpuModel([{ hostModel: 'Cascadelake-Server', usable: ['Cascadelake-Server', 'Skylake-Server', ...usable] }, { hostModel: 'Haswell-noTSX', usable }])).toBe('Haswell-noTSX');
    // The same host model, not usable as such on one of them.
    expect(chooseCpuModel([{ hostModel: 'EPYC-Rome', usable: ['EPYC-Rome', 'EPYC', 'qemu64'] }, { hostModel: 'EPYC-Rome', usable: ['EPYC', 'qemu64'] }])).toBe('EPYC');
    expect(chooseCpuModel([{ hostModel: null, usable: ['qemu64', 'Nehalem'] }, { hostModel: null, usable: ['Nehalem', 'qemu64'] }])).toBe('Nehalem');
  });

  it('undefined when nothing is usable on all, or no holder is given', () => {
    expect(chooseCpuModel([{ hostModel: 'EPYC', usable: ['EPYC'] }, { hostModel: 'Haswell', usable: ['Haswell'] }])).toBeUndefined();
    expect(chooseCpuModel([{ hostModel: 'EPYC', usable: ['EPYC'] }, { hostModel: null, usable: [] }])).toBeUndefined();
    expect(chooseCpuModel([])).toBeUndefined();
  });

  it('lists libvirt models newest first, qemu64 last', () => {
    expect(CPU_MODELS.indexOf('EPYC-Milan')).toBeLessThan(CPU_MODELS.indexOf('EPYC-Rome'));
    expect(CPU_MODELS.indexOf('Skylake-Server')).toBeLessThan(CPU_MODELS.indexOf('Haswell'));
    expect(CPU_MODELS.at(-1)).toBe('qemu64');
    expect(new Set(CPU_MODELS).size).toBe(CPU_MODELS.length);
  });
});
