/**
 * Render models for the template tests: a two-node DRBD 8.4 cluster (plain management NIC) and a
 * three-node DRBD 9 cluster (management bond). Addresses only from 198.18.0.0/15.
 */
import { AnswersSchema } from '../../../installer/answers/schema.js';
import { backupConfModel, type BackupConfModel } from '../../../installer/backup/conf.js';
import { guestDomainModel, guestModels } from '../../../installer/plan/guest-model.js';
import type { GuestDomainModel } from '../../../installer/plan/guests.js';
import type { HaTiming } from '../../../installer/plan/ha.js';
import type { BackupModel, ClusterNodeModel, DrbdMajor, DrbdResourceModel, Ipv4Cidr, NetworkModel, RenderModel } from '../../../installer/plan/model.js';

function ipv4(address: string, prefix = 24): Ipv4Cidr {
  if (prefix !== 24) throw new Error('fixtures use /24 only');
  return { address, prefix, cidr: `${address}/${prefix}`, netmask: '255.255.255.0' };
}

function node(index: number): ClusterNodeModel {
  const host = 11 + index;
  return {
    name: `hv${index + 1}`,
    nodeId: index,
    management: ipv4(`198.18.1.${host}`),
    replication: ipv4(`198.19.1.${host}`),
    replicationName: `hv${index + 1}-repl`,
  };
}

export interface ClusterFixture {
  /** Directory name under test/fixtures/templates/. */
  id: string;
  major: DrbdMajor;
  /** One RenderModel per node. */
  models: RenderModel[];
  resources: DrbdResourceModel[];
}

function cluster(options: {
  id: string;
  name: string;
  major: DrbdMajor;
  nodeCount: number;
  network: (self: ClusterNodeModel) => NetworkModel;
  timeServers: string[];
  resources: (nodes: ClusterNodeModel[]) => DrbdResourceModel[];
  /** Both fixtures are HA clusters: two nodes with a witness (emulated timing), three without. */
  ha: { timing: HaTiming; witness?: { address: string; port: number; tls: 'on' | 'off' }; watchdog?: { device: string; timeoutS: number; stonithWatchdogTimeoutS: number } };
  /** Both back up to an NFS export on a schedule, with encryption (every backup file is rendered). */
  backup: BackupModel;
}): ClusterFixture {
  const nodes = Array.from({ length: options.nodeCount }, (_, index) => node(index));
  const models = nodes.map(
    (self): RenderModel => ({
      cluster: { name: options.name },
      node: self,
      nodes,
      peers: nodes.filter((other) => other !== self),
      network: options.network(self),
      drbd: { major: options.major, protocol: 'C', resyncRate: '100M', sharedSecret: '0123456789abcdef0123456789abcdef0123456789abcdef', bootResources: ['hvc-probe'] },
      storage: { volumeGroup: 'hvdata', disk: '/dev/disk/by-id/ata-SAMSUNG_MZ7LH960_S45NNA0R123456' },
      time: { servers: options.timeServers },
      hypervisor: { migrationAddress: self.replication.address },
      ha: {
        timing: options.ha.timing,
        members: nodes.map((n) => ({ name: n.name, id: n.nodeId + 1, ring0: n.replication.address, ring1: n.management.address })),
        ...(options.ha.witness ? { witness: options.ha.witness } : {}),
        corosyncKey: 'K'.repeat(256),
        ...(options.ha.watchdog ? { watchdog: options.ha.watchdog } : {}),
      },
      backup: options.backup,
    }),
  );
  return { id: options.id, major: options.major, models, resources: options.resources(nodes) };
}

function resource(
  major: DrbdMajor,
  name: string,
  minor: number,
  hosts: ClusterNodeModel[],
  allowTwoPrimaries: boolean,
): DrbdResourceModel {
  return {
    name,
    major,
    minor,
    port: 7780 + minor,
    device: `/dev/drbd${minor}`,
    disk: `/dev/hvdata/${name}`,
    hosts: hosts.map((host) => ({ name: host.name, nodeId: host.nodeId, address: host.replication.address })),
    allowTwoPrimaries,
  };
}

function pick<T>(items: T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`fixture has no item ${index}`);
  return item;
}

/** Two nodes, DRBD 8.4 (Debian's in-tree module), management on a plain NIC. */
export const twoNode84 = cluster({
  id: 'two-node-drbd84',
  name: 'pair',
  major: '8.4',
  nodeCount: 2,
  network: (self) => ({
    bridge: 'vmbr0',
    managementInterface: 'eno1',
    managementMac: `52:54:00:00:01:${String(self.nodeId + 11).padStart(2, '0')}`,
    management: self.management,
    gateway: '198.18.1.1',
    dns: ['198.18.1.53'],
    replicationInterface: 'enp65s0f0',
    replication: self.replication,
    replicationMtu: 9000,
  }),
  timeServers: ['198.18.1.123'],
  ha: { timing: { profile: 'emulated', tokenMs: 10000, stonithTimeoutS: 180, fenceMonitorS: 120, fenceMonitorTimeoutS: 60, resourceTimeoutScale: 2 }, witness: { address: '198.18.1.10', port: 5403, tls: 'on' }, watchdog: { device: '/dev/watchdog', timeoutS: 30, stonithWatchdogTimeoutS: 60 } },
  // The default path, on the witness's NFS export (as the lab does), every night.
  backup: {
    path: '/var/lib/hvcluster/backup',
    root: '/var/lib/hvcluster/backup/pair',
    repo: '/var/lib/hvcluster/backup/pair/borg',
    encryption: 'repokey-blake2',
    passphrase: 'correct horse battery staple',
    nfs: { what: '198.18.1.10:/srv/hvbackup', options: 'vers=4.2,hard,_netdev,nofail', mount: 'var-lib-hvcluster-backup.mount', automount: 'var-lib-hvcluster-backup.automount' },
    schedule: '*-*-* 02:00:00',
    script: '/usr/local/lib/hvcluster/backup-node.sh',
    conf: '/etc/hvcluster/backup.conf',
  },
  resources: (nodes) => [
    resource('8.4', 'vm-test', 10, nodes, false),
    // A resource in its migration window.
    resource('8.4', 'vm-web', 11, nodes, true),
  ],
});

/** Three nodes, DRBD 9, management on an active-backup bond. */
export const threeNode9 = cluster({
  id: 'three-node-drbd9',
  name: 'trio',
  major: '9',
  nodeCount: 3,
  network: (self) => ({
    bridge: 'vmbr0',
    managementInterface: 'bond0',
    managementMac: `52:54:00:00:02:${String(self.nodeId + 11).padStart(2, '0')}`,
    bond: { name: 'bond0', slaves: ['eno1', 'eno2'], mode: 'active-backup' },
    management: self.management,
    gateway: '198.18.1.1',
    dns: ['198.18.1.53', '198.18.2.53'],
    replicationInterface: 'enp65s0f0',
    replication: self.replication,
    replicationMtu: 9000,
  }),
  timeServers: ['198.18.1.123', '198.18.2.123'],
  ha: { timing: { profile: 'production', tokenMs: 3000, stonithTimeoutS: 60, fenceMonitorS: 60, fenceMonitorTimeoutS: 20, resourceTimeoutScale: 1 }, watchdog: { device: '/dev/watchdog0', timeoutS: 10, stonithWatchdogTimeoutS: 20 } },
  // A path with a '-' (escaped in the units' names), on a NAS by name, NFSv4.1, on Sundays.
  backup: {
    path: '/srv/hv-backup',
    root: '/srv/hv-backup/trio',
    repo: '/srv/hv-backup/trio/borg',
    encryption: 'repokey-blake2',
    passphrase: 'P'.repeat(40),
    nfs: { what: 'nas.example.com:/volume1/hv', options: 'vers=4.1,hard,timeo=600,_netdev,nofail', mount: 'srv-hv\\x2dbackup.mount', automount: 'srv-hv\\x2dbackup.automount' },
    schedule: 'Sun *-*-* 03:30:00',
    script: '/usr/local/lib/hvcluster/backup-node.sh',
    conf: '/etc/hvcluster/backup.conf',
  },
  resources: (nodes) => [
    // On all three nodes.
    resource('9', 'vm-test', 10, nodes, false),
    // On two of the three (hv2, hv3: node-ids 1 and 2), in its migration window.
    resource('9', 'vm-web', 11, [pick(nodes, 1), pick(nodes, 2)], true),
  ],
});

export const FIXTURES: ClusterFixture[] = [twoNode84, threeNode9];

/** Per-node templates and where each rendered file goes on a server. */
export const NODE_TEMPLATES: Record<string, string> = {
  'corosync.conf.hbs': '/etc/corosync/corosync.conf',
  'corosync-authkey.hbs': '/etc/corosync/authkey',
  'drbd-global-common.conf.hbs': '/etc/drbd.d/global_common.conf',
  'drbd-fence-peer.sh.hbs': '/usr/local/lib/hvcluster/drbd-fence-peer.sh (HA, DRBD 8.4)',
  'interfaces.hbs': '/etc/network/interfaces (Debian, ifupdown)',
  'netplan.yaml.hbs': '/etc/netplan/60-hvcluster.yaml (Ubuntu, netplan)',
  'hosts.hbs': '/etc/hosts',
  'sysctl.conf.hbs': '/etc/sysctl.d/60-hvcluster.conf',
  'chrony.conf.hbs': '/etc/chrony/chrony.conf',
  'libvirt-qemu-migration.conf.hbs': 'settings merged into /etc/libvirt/qemu.conf',
  'lvmlocal.conf.hbs': '/etc/lvm/lvmlocal.conf',
  'modules-load.conf.hbs': '/etc/modules-load.d/hvcluster.conf',
  'hvcluster-drbd-boot.service.hbs': '/etc/systemd/system/hvcluster-drbd-boot.service',
  'ssh-migration.conf.hbs': '/etc/ssh/ssh_config.d/hvcluster-migrate.conf',
  'backup-passphrase.hbs': '/etc/hvcluster/backup/passphrase (encrypted spec.backup)',
  'backup-repository.mount.hbs': '/etc/systemd/system/PATH.mount (spec.backup.repository.nfs)',
  'backup-repository.automount.hbs': '/etc/systemd/system/PATH.automount (spec.backup.repository.nfs)',
  'hvcluster-backup.service.hbs': '/etc/systemd/system/hvcluster-backup.service (spec.backup.schedule)',
  'hvcluster-backup.timer.hbs': '/etc/systemd/system/hvcluster-backup.timer (spec.backup.schedule)',
  'sbd.hbs': '/etc/default/sbd (spec.ha.watchdog)',
};

/** Templates whose whole content is a key: no header, no newline, never shown. */
export const SECRET_TEMPLATES = ['corosync-authkey.hbs', 'backup-passphrase.hbs'];

/** Rendered from a DrbdResourceModel, identical on every node that holds the resource. */
export const RESOURCE_TEMPLATE = 'drbd-resource.res.hbs';

/** A guest's libvirt domain, rendered per guest (the same on each of its replica nodes). */
export const GUEST_TEMPLATE = 'guest-domain.xml.hbs';

/**
 * A guest as the plan models it (guestModels, guestDomainModel): `guest` as written in the answer
 * file of a cluster `cluster` of `nodeCount` nodes (hv1...) with DRBD 8.4 and room for it, with
 * these DRBD devices and CPU model.
 */
function guestFixture(cluster: string, nodeCount: number, guest: Record<string, unknown>, devices: string[], cpuModel: string): GuestDomainModel {
  const answers = AnswersSchema.parse({
    apiVersion: 'hvcluster/v1',
    kind: 'Cluster',
    metadata: { name: cluster },
    spec: {
      nodes: Array.from({ length: nodeCount }, (_, i) => ({
        name: `hv${i + 1}`,
        management: { interface: 'eno1', address: `198.18.1.${11 + i}/24` },
        replication: { interface: 'enp65s0f0', address: `198.19.1.${11 + i}/24` },
        storage: { disk: `/dev/disk/by-id/virtio-hv${i + 1}-data` },
      })),
      guests: [guest],
    },
  });
  const freeMiB = Object.fromEntries(answers.spec.nodes.map((n) => [n.name, 1_000_000]));
  const [model] = guestModels({ answers, major: '8.4', freeMiB, existingHolders: {}, imageSizeMiB: {} });
  return guestDomainModel(cluster, model!, devices, cpuModel);
}

/** Guests as the plan models them: a plain one on two nodes, an HA one with two disks and two NICs on a pair of three nodes. */
export const GUESTS: GuestDomainModel[] = [
  guestFixture('acme', 2, { name: 'web', memory: '2GiB', vcpus: 2, disks: [{ size: '20GiB' }] }, ['/dev/drbd10'], 'Haswell-noTSX-IBRS'),
  guestFixture(
    'lab3',
    3,
    {
      name: 'db',
      memory: '8GiB',
      vcpus: 4,
      machine: 'pc',
      boot: ['hd', 'cdrom'],
      ha: true,
      replicas: ['hv2', 'hv3'],
      disks: [{ size: '100GiB' }, { image: '/srv/images/db-data.qcow2', size: '200GiB' }],
      nics: [{ mac: '52:54:00:12:34:56' }, {}],
    },
    ['/dev/drbd11', '/dev/drbd12'],
    'qemu64',
  ),
];

/** A deep copy that the caller may mutate. */
export function copyOf<T>(value: T): T {
  return structuredClone(value);
}

export { pick };

/** A node's backup configuration (backup-node.sh reads it), rendered per node by the backup step. */
export const BACKUP_CONF_TEMPLATE = 'backup.conf.hbs';

/**
 * backup.conf of a node as the step models it: `backup` and `guests` as written in the answer file of
 * a two-node cluster `acme` (hv1, hv2; DRBD 8.4, room for every guest), a fixed hvcluster version.
 */
function backupConfFixture(node: string, backup: Record<string, unknown>, guests: Record<string, unknown>[]): BackupConfModel {
  const answers = AnswersSchema.parse({
    apiVersion: 'hvcluster/v1',
    kind: 'Cluster',
    metadata: { name: 'acme' },
    spec: {
      nodes: [1, 2].map((i) => ({
        name: `hv${i}`,
        management: { interface: 'eno1', address: `198.18.1.${10 + i}/24` },
        replication: { interface: 'enp65s0f0', address: `198.19.1.${10 + i}/24` },
        storage: { disk: `/dev/disk/by-id/virtio-hv${i}-data` },
      })),
      guests,
      backup,
    },
  });
  const models = guestModels({ answers, major: '8.4', freeMiB: { hv1: 1_000_000, hv2: 1_000_000 }, existingHolders: {}, imageSizeMiB: {} });
  return backupConfModel({ answers, guests: models, node, version: '0.1.0', guestsDir: '/etc/hvcluster/guests' });
}

/** hv1 backing up web and db (db first: spec.backup.guests' order) to an encrypted NFS repository; hv2 of an unencrypted one with 20 % snapshots and zstd, without any guest. */
export const BACKUP_CONFS: { id: string; model: BackupConfModel }[] = [
  {
    id: 'acme-hv1',
    model: backupConfFixture(
      'hv1',
      { repository: { nfs: { server: '198.18.1.10', export: '/srv/hvbackup' } }, passphraseFrom: { env: 'P' }, schedule: '*-*-* 02:00:00', guests: ['db', 'web'] },
      [
        { name: 'web', memory: '2GiB', vcpus: 2, disks: [{ size: '20GiB' }] },
        { name: 'db', memory: '4GiB', disks: [{ size: '40GiB' }, { size: '100GiB' }], nics: [{ mac: '52:54:00:12:34:56' }] },
      ],
    ),
  },
  {
    id: 'plain-hv2',
    model: backupConfFixture('hv2', { repository: { path: '/mnt/nas/hv' }, encryption: 'none', snapshotSize: '20%', compression: 'zstd', retention: { daily: 14, weekly: 0, monthly: 12 } }, []),
  },
];
