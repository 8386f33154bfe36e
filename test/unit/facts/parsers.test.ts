/**
 * Cases the development host cannot produce (no partition scanning, device-mapper or DRBD module in
 * its sandbox). The inputs follow the formats of lsblk 2.38, DRBD 8.4's /proc/drbd and drbd-utils 9's
 * events2; the lab captures (lab-*.txt) check them against the real thing.
 */
import { describe, expect, it } from 'vitest';
import { diskVerdict, type VerdictInput } from '../../../installer/facts/defs/disks.js';
import { drbdMinorFacts, drbdResourceFacts } from '../../../installer/facts/defs/drbd.js';
import { parseEvents2 } from '../../../installer/facts/parse/drbd-events2.js';
import { parseProcDrbd } from '../../../installer/facts/parse/proc-drbd.js';
import { parseChronyTracking } from '../../../installer/facts/defs/timesync.js';
import { parseByIdListing } from '../../../installer/facts/defs/disks.js';
import { hostsFact, osFact } from '../../../installer/facts/defs/system.js';
import { splitOutput } from '../../../installer/facts/section.js';

const clean: VerdictInput = {
  sizeBytes: 1024 ** 3,
  readOnly: false,
  partitionTable: null,
  fstype: null,
  signatures: [],
  signatureProblem: null,
  mountpoints: [],
  children: [],
  holders: [],
  head: 'zero',
  tail: 'zero',
};

describe('diskVerdict', () => {
  it('blank only when every check passed', () => {
    expect(diskVerdict(clean)).toEqual({ blank: true, reasons: [] });
  });

  it('a partitioned system disk: mounts first, then partitions', () => {
    const v = diskVerdict({
      ...clean,
      partitionTable: 'gpt',
      signatures: [{ type: 'PMBR', offset: '0x1fe', usage: null, uuid: null, label: null }],
      children: [
        { name: 'sda1', path: '/dev/sda1', type: 'part', sizeBytes: 1, fstype: 'vfat', mountpoints: ['/boot/efi'], children: [] },
        { name: 'sda2', path: '/dev/sda2', type: 'part', sizeBytes: 1, fstype: 'ext4', mountpoints: ['/'], children: [] },
      ],
      head: 'skipped',
      tail: 'skipped',
    });
    expect(v.blank).toBe(false);
    expect(v.reasons).toEqual([
      'mounted at /boot/efi (child device)',
      'mounted at / (child device)',
      'partition table gpt',
      'partitions: sda1, sda2',
      'protective MBR',
    ]);
  });

  it('an LVM physical volume held by device-mapper', () => {
    const v = diskVerdict({
      ...clean,
      fstype: 'LVM2_member',
      signatures: [{ type: 'LVM2_member', offset: '0x218', usage: null, uuid: 'x', label: null }],
      children: [{ name: 'vg0-data', path: '/dev/mapper/vg0-data', type: 'lvm', sizeBytes: 1, fstype: null, mountpoints: [], children: [] }],
      holders: ['dm-0', 'dm-1'],
      head: 'skipped',
      tail: 'skipped',
    });
    expect(v.reasons).toEqual(['holds lvm vg0-data', 'held by dm-0', 'held by dm-1', 'signature LVM2_member']);
  });

  it('a whole-disk swap, an unreadable disk, and a disk whose signatures could not be probed', () => {
    expect(diskVerdict({ ...clean, fstype: 'swap', mountpoints: ['[SWAP]'] }).reasons).toEqual(['active swap', 'swap signature']);
    expect(diskVerdict({ ...clean, head: 'unreadable', tail: 'unreadable' }).reasons).toEqual(['first MiB unreadable', 'last MiB unreadable']);
    expect(diskVerdict({ ...clean, signatures: null, signatureProblem: 'wipefs not installed' }).reasons).toEqual([
      'signatures not checked (wipefs not installed)',
    ]);
  });

  it('never calls a disk blank when the zero checks were skipped', () => {
    expect(diskVerdict({ ...clean, head: 'skipped', tail: 'skipped' })).toEqual({ blank: false, reasons: ['first/last MiB not checked'] });
  });
});

describe('by-id links', () => {
  it('maps ls -l lines to kernel names, readable names first, partitions apart', () => {
    const map = parseByIdListing(
      [
        'total 0',
        'lrwxrwxrwx 1 root root  9 Nov 25 10:00 ata-Samsung_SSD_870_EVO_1TB_S6PUNX0R123456 -> ../../sda',
        'lrwxrwxrwx 1 root root 10 Nov 25 10:00 ata-Samsung_SSD_870_EVO_1TB_S6PUNX0R123456-part1 -> ../../sda1',
        'lrwxrwxrwx 1 root root  9 Nov 25 10:00 wwn-0x5002538f4212345a -> ../../sda',
        'lrwxrwxrwx 1 root root  9 Nov 25 10:00 virtio-hv1-data -> ../../vdb',
      ].join('\n'),
    );
    expect(map.get('sda')).toEqual([
      '/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_S6PUNX0R123456',
      '/dev/disk/by-id/wwn-0x5002538f4212345a',
    ]);
    expect(map.get('sda1')).toEqual(['/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_S6PUNX0R123456-part1']);
    expect(map.get('vdb')).toEqual(['/dev/disk/by-id/virtio-hv1-data']);
  });
});

describe('DRBD parsers', () => {
  /** What the drbd fact keeps of /proc/drbd and of events2 (the parsers are shared with verify). */
  const procFacts = (text: string) => {
    const { version, minors } = parseProcDrbd(text);
    return { version, minors: minors.map(drbdMinorFacts) };
  };
  const resourceFacts = (text: string) => parseEvents2(text).map(drbdResourceFacts);

  it('/proc/drbd of 8.4 with one connected minor', () => {
    const text = `version: 8.4.11 (api:1/proto:86-101)
srcversion: 211FB288A383ED945B83420
 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----
    ns:1048508 nr:0 dw:0 dr:1050620 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
`;
    expect(procFacts(text)).toEqual({
      version: '8.4.11',
      minors: [{ minor: 0, connectionState: 'Connected', roles: 'Primary/Secondary', diskStates: 'UpToDate/UpToDate' }],
    });
  });

  it('/proc/drbd of 9 lists no minors', () => {
    expect(procFacts('version: 9.2.12 (api:2/proto:86-122)\nGIT-hash: 1 build by x\nTransports (api:21): tcp (9.2.12)\n')).toEqual({
      version: '9.2.12',
      minors: [],
    });
  });

  it('events2 --now: resource, device, connection and peer device', () => {
    const text = `exists resource name:vm1 role:Secondary suspended:no write-ordering:flush
exists connection name:vm1 peer-node-id:1 conn-name:hv2 connection:Connected role:Secondary
exists device name:vm1 volume:0 minor:10 disk:UpToDate client:no
exists peer-device name:vm1 peer-node-id:1 conn-name:hv2 volume:0 replication:Established peer-disk:UpToDate resync-suspended:no
exists -
`;
    expect(resourceFacts(text)).toEqual([
      {
        name: 'vm1',
        role: 'Secondary',
        volumes: [{ volume: 0, minor: 10, diskState: 'UpToDate' }],
        connections: [{ peer: 'hv2', connectionState: 'Connected', peerRole: 'Secondary', peerDiskStates: ['UpToDate'] }],
      },
    ]);
  });

  it('events2 of DRBD 9 with two peers: a connection per peer, its peer disks, a peer without a name as null', () => {
    const text = `exists resource name:vm1 role:Primary suspended:no write-ordering:flush
exists connection name:vm1 peer-node-id:1 conn-name:hv2 connection:Connected role:Secondary
exists connection name:vm1 peer-node-id:2 conn-name:hv3 connection:Connecting role:Unknown
exists connection name:vm1 connection:StandAlone
exists device name:vm1 volume:0 minor:10 disk:UpToDate client:no
exists device name:vm1 volume:1 minor:11 disk:UpToDate client:no
exists peer-device name:vm1 peer-node-id:1 conn-name:hv2 volume:0 replication:Established peer-disk:UpToDate resync-suspended:no
exists peer-device name:vm1 peer-node-id:1 conn-name:hv2 volume:1 replication:SyncSource peer-disk:Inconsistent resync-suspended:no
exists peer-device name:vm1 peer-node-id:2 conn-name:hv3 volume:0 replication:Off peer-disk:DUnknown resync-suspended:no
exists -
`;
    expect(resourceFacts(text)).toEqual([
      {
        name: 'vm1',
        role: 'Primary',
        volumes: [
          { volume: 0, minor: 10, diskState: 'UpToDate' },
          { volume: 1, minor: 11, diskState: 'UpToDate' },
        ],
        connections: [
          { peer: 'hv2', connectionState: 'Connected', peerRole: 'Secondary', peerDiskStates: ['UpToDate', 'Inconsistent'] },
          { peer: 'hv3', connectionState: 'Connecting', peerRole: 'Unknown', peerDiskStates: ['DUnknown'] },
          { peer: null, connectionState: 'StandAlone', peerRole: null, peerDiskStates: [] },
        ],
      },
    ]);
  });

  it('events2 --statistics (what verify reads) gives the facts the same resource as events2 --now', () => {
    const now = `exists resource name:r0 role:Secondary suspended:no write-ordering:flush
exists connection name:r0 conn-name:peer connection:Connected role:Primary
exists device name:r0 volume:0 minor:0 disk:UpToDate
exists peer-device name:r0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no
exists -
`;
    const statistics = `exists resource name:r0 role:Secondary suspended:no write-ordering:flush
exists connection name:r0 conn-name:peer connection:Connected role:Primary congested:no
exists device name:r0 volume:0 minor:0 disk:UpToDate size:16344 read:0 written:0 al-writes:0 bm-writes:0 upper-pending:0 lower-pending:0 al-suspended:no blocked:no
exists peer-device name:r0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0
exists -
`;
    expect(resourceFacts(statistics)).toEqual(resourceFacts(now));
    expect(resourceFacts(now)[0]!.connections).toEqual([{ peer: 'peer', connectionState: 'Connected', peerRole: 'Primary', peerDiskStates: ['UpToDate'] }]);
  });
});

describe('chronyc tracking', () => {
  it('reads the reference, stratum, signed offset and leap status', () => {
    const text = `Reference ID    : C6120001 (198.18.0.1)
Stratum         : 3
Ref time (UTC)  : Wed Nov 25 10:00:00 2026
System time     : 0.000123456 seconds slow of NTP time
Last offset     : -0.000010000 seconds
Leap status     : Normal
`;
    expect(parseChronyTracking(text)).toEqual({ referenceId: 'C6120001 (198.18.0.1)', stratum: 3, offsetSeconds: -0.000123456, leapStatus: 'Normal' });
  });
});

describe('os-release and /etc/hosts', () => {
  /** One fact section holding one successful command, as the script prints it. */
  const section = (fact: string, label: string, stdout: string) =>
    splitOutput(`@@hvc-fact ${fact}@@\n@@hvc-cmd ${label}@@\n${stdout}\n@@hvc-rc ${label} 0@@\n\n@@hvc-end ${fact} 0@@\n`).sections.get(fact)!;

  it('reads Ubuntu 24.04 os-release (quoted values, ID_LIKE)', () => {
    const text = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
`;
    expect(osFact.parse(section('os', 'os-release', text))).toEqual({
      id: 'ubuntu',
      versionId: '24.04',
      prettyName: 'Ubuntu 24.04.1 LTS',
      codename: 'noble',
      idLike: ['debian'],
    });
  });

  it("finds Debian's 127.0.1.1 line", () => {
    const text = '127.0.0.1\tlocalhost\n127.0.1.1\thv1.example.net\thv1\n::1     localhost ip6-localhost ip6-loopback\n';
    expect(hostsFact.parse(section('hosts', 'hosts', text)).loopbackHostLine).toEqual({
      address: '127.0.1.1',
      names: ['hv1.example.net', 'hv1'],
    });
  });
});
