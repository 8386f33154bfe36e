/** spec.guests: the schema (sizes with binary units, names, disks, NICs) and the relations it cannot express. */
import { describe, expect, it } from 'vitest';
import { GuestSchema, type GuestAnswers } from '../../../installer/answers/schema.js';
import { validateGuests } from '../../../installer/answers/validate-guests.js';

const parse = (g: unknown) => GuestSchema.safeParse(g);
const messages = (g: unknown) => {
  const r = parse(g);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('a guest in the answer file', () => {
  it('takes sizes with binary units as MiB, and fills in the defaults', () => {
    const r = parse({ name: 'web1', memory: '2GiB', disks: [{ size: '20GiB' }, { image: '/srv/images/old.qcow2' }] });
    expect(r.success && r.data).toEqual({
      name: 'web1',
      vcpus: 1,
      memory: 2048,
      disks: [{ size: 20480 }, { image: '/srv/images/old.qcow2' }],
      nics: [{}],
      autostart: true,
      boot: ['hd'],
      machine: 'q35',
      state: 'present',
    });
  });

  it('refuses what would be guessed: decimal or missing units, tiny sizes, bad names, a disk that is neither empty nor an image', () => {
    expect(messages({ name: 'web', memory: '2G', disks: [{ size: '20GiB' }] })).toEqual(['memory: expected a memory size with a binary unit (MiB, GiB or TiB), like 4GiB']);
    expect(messages({ name: 'web', memory: '32MiB', disks: [{ size: '20GiB' }] })).toEqual(['memory: expected a memory size of at least 64 MiB, found 32MiB']);
    expect(messages({ name: 'web', memory: '1GiB', disks: [{ size: 20 }] })[0]).toMatch(/^disks\.0: expected a disk: \{ size: 20GiB \} or \{ image: \/path\/to\/image\.qcow2 \}|^disks\.0\.size: expected a disk size/);
    expect(messages({ name: 'hvc-test', memory: '1GiB', disks: [{ size: '1GiB' }] })[0]).toMatch(/^name: expected a guest name/);
    expect(messages({ name: 'Web', memory: '1GiB', disks: [{ size: '1GiB' }] })[0]).toMatch(/^name: expected a guest name/);
    expect(messages({ name: 'web', memory: '1GiB', disks: [] })).toEqual(['disks: expected at least one disk']);
    expect(messages({ name: 'web', memory: '1GiB', disks: [{ size: '1GiB' }], nics: [{ mac: '52:54:00:AB:CD:EF' }] })).toEqual(['nics.0.mac: expected a MAC address in lowercase, like 52:54:00:12:34:56']);
  });
});

describe('guests against the cluster', () => {
  const guest = (g: Partial<GuestAnswers> & { name: string }): GuestAnswers => GuestSchema.parse({ memory: '1GiB', disks: [{ size: '1GiB' }], ...g });
  const check = (guests: GuestAnswers[], nodes = ['hv1', 'hv2', 'hv3'], haEnabled = true) =>
    validateGuests({ guests: guests.map((g, index) => ({ index, guest: g })), nodes, haEnabled }).map((i) => `${i.path.join('.')}: ${i.message}`);

  it('accepts guests with their own names and MACs, on pairs of the cluster', () => {
    expect(check([guest({ name: 'web', replicas: ['hv1', 'hv2'], preferredNode: 'hv2', ha: true }), guest({ name: 'db', nics: [{ mac: '52:54:00:00:00:01' }] })])).toEqual([]);
  });

  it('names every clash and unknown node where it is written', () => {
    expect(
      check([
        guest({ name: 'web', replicas: ['hv1', 'hv4'], preferredNode: 'hv3', nics: [{ mac: '52:54:00:00:00:01' }] }),
        guest({ name: 'web', replicas: ['hv2', 'hv2'], nics: [{ mac: '52:54:00:00:00:01' }, { mac: '01:00:5e:00:00:01' }] }),
      ]),
    ).toEqual([
      'spec.guests.0.replicas.1: hv4 is not a node of the cluster (hv1, hv2, hv3)',
      'spec.guests.0.preferredNode: hv3 holds none of its disks (replicas: hv1, hv4): a guest runs only where its disks are',
      'spec.guests.1.name: guest web is already declared at spec.guests[0]: every guest needs its own name',
      'spec.guests.1.replicas.1: hv2 is named twice: a guest\'s disks live on two different nodes',
      'spec.guests.1.nics.0.mac: 52:54:00:00:00:01 is already the MAC address of spec.guests[0].nics[0]: two NICs on one network need different ones',
      'spec.guests.1.nics.1.mac: 01:00:5e:00:00:01 is a multicast address: a NIC needs a unicast one (first octet even), like 52:54:00:12:34:56',
    ]);
  });

  it('refuses an HA guest without HA, and a pair on two nodes that is not both of them', () => {
    expect(check([guest({ name: 'web', ha: true })], ['hv1', 'hv2', 'hv3'], false)).toEqual([
      'spec.guests.0.ha: ha: true needs an HA cluster (spec.ha, enabled): without it nobody restarts the guest elsewhere',
    ]);
    expect(check([guest({ name: 'web', replicas: ['hv1', 'hv3'] })], ['hv1', 'hv2'])).toEqual([
      'spec.guests.0.replicas.1: hv3 is not a node of the cluster (hv1, hv2)',
      'spec.guests.0.replicas: on two nodes every guest\'s disks live on both (hv1, hv2): leave replicas out',
    ]);
    expect(check([guest({ name: 'web', replicas: ['hv2', 'hv1'] })], ['hv1', 'hv2'])).toEqual([]);
  });
});
