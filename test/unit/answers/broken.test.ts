/**
 * The corpus of broken answer files: each with the exact messages a user sees, positions included.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture, fixturePath, issuesOf } from './helpers.js';

const corpus: Record<string, string[]> = {
  'bad-ip.yaml': [
    'site.yaml:13:16 spec.nodes[1].replication.address: expected an IPv4 address with prefix, like 198.19.1.12/24, found "198.19.1.312/24"',
  ],
  'wrong-type.yaml': [
    'site.yaml:7:18 spec.nodes[0].ssh.port: expected a port number from 1 to 65535, found "22x"',
    'site.yaml:7:32 spec.nodes[0].ssh.agent: expected true or false (use the ssh-agent of SSH_AUTH_SOCK), found "maybe"',
    'site.yaml:8:87 spec.nodes[0].management.dns: expected a list of IPv4 addresses, like [198.18.1.1, 198.18.1.2], found "198.18.1.1"',
    'site.yaml:10:61 spec.nodes[0].storage.wipe: expected true or false (true erases everything on the disk), found "yes"',
    'site.yaml:14:14 spec.nodes[1].storage: expected a mapping with keys disk, wipe, found "/dev/disk/by-id/virtio-hv2-data"',
    'site.yaml:16:21 spec.network.replicationMtu: expected an MTU from 576 to 9216, found 9001.5',
    'site.yaml:18:18 spec.drbd.syncRateMiB: expected auto or a resync rate in MiB/s from 1 to 10000, like 100, found "fast"',
  ],
  'unknown-key.yaml': [
    "site.yaml:7:36 spec.nodes[0].management.adress: unknown key 'adress', did you mean 'address'?",
    "site.yaml:14:90 spec.nodes[1].bmc.cypher: unknown key 'cypher', did you mean 'cipher'?",
    "site.yaml:16:5 spec.network.replication_mtu: unknown key 'replication_mtu', did you mean 'replicationMtu'?",
    "site.yaml:17:5 spec.network.color: unknown key 'color'; expected one of: bridge, replicationMtu",
    "site.yaml:18:3 spec.Drbd: unknown key 'Drbd', did you mean 'drbd'?",
  ],
  'missing-key.yaml': [
    "site.yaml:1:1 kind: missing required key 'kind', expected Cluster",
    'site.yaml:6:17 spec.nodes[0].management: expected interface (one NIC, like ens3) or bond (several NICs); neither is given',
    "site.yaml:9:7 spec.nodes[0].storage.disk: missing required key 'disk', expected the path of a block device, like /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R123456",
    "site.yaml:10:5 spec.nodes[1].replication: missing required key 'replication', expected a mapping with keys interface, address",
  ],
  'inline-password.yaml': [
    "site.yaml:7:25 spec.nodes[0].ssh.password: inline secrets are not accepted: remove 'password' and write passwordFrom: { env: VARIABLE_NAME } or passwordFrom: { file: PATH } (the secret stays out of the answer file)",
    "site.yaml:7:44 spec.nodes[0].ssh.sudoPassword: inline secrets are not accepted: remove 'sudoPassword' and write sudoPasswordFrom: { env: VARIABLE_NAME } or sudoPasswordFrom: { file: PATH } (the secret stays out of the answer file)",
    'site.yaml:12:26 spec.nodes[1].ssh.passwordFrom: expected a secret reference, { env: VARIABLE_NAME } or { file: PATH }, never the secret itself',
    'site.yaml:12:53 spec.nodes[1].ssh.sudoPasswordFrom: expected exactly one of env or file, not both',
  ],
  'one-node.yaml': ['site.yaml:6:3 spec.nodes: expected 2 or 3 nodes, found 1'],
  'four-nodes.yaml': ['site.yaml:6:3 spec.nodes: expected 2 or 3 nodes, found 4'],
  'duplicates.yaml': [
    "site.yaml:10:11 spec.nodes[1].name: node name 'HV1' is already used by spec.nodes[0]; each node needs its own name (its `uname -n`)",
    'site.yaml:11:45 spec.nodes[1].management.address: address 198.18.1.11 is already used by spec.nodes[0].management.address; expected a different address for each node and network',
    'site.yaml:12:46 spec.nodes[1].replication.address: address 198.19.1.11 is already used by spec.nodes[0].replication.address; expected a different address for each node and network',
  ],
  'subnets.yaml': [
    'site.yaml:7:70 spec.nodes[0].management.gateway: gateway 198.18.2.1 is outside the management subnet 198.18.1.0/24; expected an address inside it',
    'site.yaml:9:22 spec.nodes[0].storage.disk: warning: /dev/sdb is a kernel name that can change across reboots; use its /dev/disk/by-id/... link (see `ls -l /dev/disk/by-id/` on hv1)',
    'site.yaml:12:46 spec.nodes[1].replication.address: 198.19.2.12/24 is not in the replication subnet 198.19.1.0/24 of spec.nodes[0]; expected all replication addresses in one subnet',
    'site.yaml:16:46 spec.nodes[2].replication.address: 198.18.1.113/25 is not in the replication subnet 198.19.1.0/24 of spec.nodes[0]; expected all replication addresses in one subnet',
    'site.yaml:16:46 spec.nodes[2].replication.address: replication subnet 198.18.1.0/25 overlaps the management subnet 198.18.1.0/24; expected a separate subnet for replication, like 198.19.1.0/24',
  ],
  'bad-api-version.yaml': [
    'site.yaml:2:13 apiVersion: apiVersion hvcluster/v2 is not supported by this hvcluster, which reads hvcluster/v1; use the hvcluster release that wrote this file, or convert it to hvcluster/v1',
  ],
  'syntax-error.yaml': ['site.yaml:8:5 invalid YAML: Flow map in block collection must be sufficiently indented and end with a }'],
  'duplicate-key.yaml': ["site.yaml:14:5 duplicate key 'replication': each key may appear only once in a mapping"],
  'tabs.yaml': ['site.yaml:4:1 tab character used for indentation; YAML allows only spaces'],
  'mixed.yaml': [
    "site.yaml:9:62 spec.nodes[0].replication.mtu: unknown key 'mtu' here; did you mean spec.network.replicationMtu? Expected here: interface, address",
    'site.yaml:14:22 spec.nodes[1].storage.disk: warning: /dev/vdb is a kernel name that can change across reboots; use its /dev/disk/by-id/... link (see `ls -l /dev/disk/by-id/` on hv2)',
    "site.yaml:15:11 spec.nodes[2].name: node name 'hv2' is already used by spec.nodes[1]; each node needs its own name (its `uname -n`)",
    'site.yaml:17:46 spec.nodes[2].replication.address: 198.19.2.13/24 is not in the replication subnet 198.19.1.0/24 of spec.nodes[1]; expected all replication addresses in one subnet',
    'site.yaml:20:15 spec.drbd.protocol: expected C (synchronous replication, the only protocol DRBD allows for the dual-primary of a live migration), found "A"',
  ],
  // One mistake per file from here on; each file says in its first line what is wrong with it.
  'address-without-prefix.yaml': [
    'site.yaml:11:18 spec.nodes[0].management.address: expected an IPv4 address with prefix, like 198.18.1.11/24, found "198.18.1.11"',
  ],
  'bond-and-interface.yaml': [
    'site.yaml:21:9 spec.nodes[1].management.bond: expected interface (one NIC) or bond (several NICs), not both; remove one of them',
  ],
  'bond-mode.yaml': [
    'site.yaml:10:62 spec.nodes[0].management.bond.mode: expected a bonding mode: active-backup, 802.3ad, balance-alb, balance-tlb, balance-rr, balance-xor, broadcast, found "lacp"',
  ],
  'bond-no-interfaces.yaml': [
    'site.yaml:22:23 spec.nodes[1].management.bond.interfaces: expected a list of at least one interface name, like [eno1, eno2]',
  ],
  'bond-twice.yaml': ['site.yaml:12:36 spec.nodes[0].management.bond.interfaces[2]: interface eno1 is listed twice in the bond'],
  'bridge-is-a-nic.yaml': [
    'site.yaml:29:13 spec.network.bridge: bridge name ens3 is an interface of hv1, hv2; expected a name of its own, like br0',
  ],
  'cidr-prefix.yaml': [
    'site.yaml:21:18 spec.nodes[1].management.address: expected an IPv4 address with prefix, like 198.18.1.11/24, found "198.18.1.12/33"',
  ],
  'disk-not-a-device.yaml': [
    'site.yaml:17:15 spec.nodes[0].storage.disk: expected the path of a block device, like /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R123456, found "sdb"',
  ],
  'drbd-base-port.yaml': ['site.yaml:29:15 spec.drbd.basePort: expected a TCP port from 1024 to 65000, found 778'],
  'drbd-protocol.yaml': [
    'site.yaml:29:15 spec.drbd.protocol: expected C (synchronous replication, the only protocol DRBD allows for the dual-primary of a live migration), found "B"',
  ],
  'duplicate-replication-address.yaml': [
    'site.yaml:25:18 spec.nodes[1].replication.address: address 198.19.1.11 is already used by spec.nodes[0].replication.address; expected a different address for each node and network',
  ],
  'duplicate-ssh-endpoint.yaml': [
    `site.yaml:20:23 spec.nodes[1].ssh.address: gw.example.com port 2201 is also how spec.nodes[0] is reached; expected each node's own SSH address`,
  ],
  'empty-section.yaml': ['site.yaml:23:7 spec.nodes[1].replication: expected a mapping with keys interface, address, found an empty value'],
  'empty.yaml': ['site.yaml:1:1 the file is empty; expected an answer file starting with apiVersion: hvcluster/v1'],
  'gateway-is-a-node.yaml': [
    `site.yaml:22:18 spec.nodes[1].management.gateway: gateway 198.18.1.11 is the address of spec.nodes[0].management.address; expected the router's address`,
  ],
  'host-key-format.yaml': [
    'site.yaml:10:18 spec.nodes[0].ssh.hostKey: expected a host key fingerprint as `ssh-keygen -lf` prints it, like SHA256:ZXCb4Zk6tgSoV3Q0sCxmJ+XpWW0Vw2xfKm8O1Q0mM3E, found "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"',
  ],
  'hypervisor-type.yaml': ['site.yaml:29:11 spec.hypervisor.type: expected kvm, found "xen"'],
  'initial-sync-typo.yaml': ['site.yaml:29:18 spec.drbd.initialSync: expected skip-if-blank or full, found "skip_if_blank"'],
  'inline-passphrase.yaml': [
    `site.yaml:11:9 spec.nodes[0].ssh.passphrase: inline secrets are not accepted: remove 'passphrase' and write passphraseFrom: { env: VARIABLE_NAME } or passphraseFrom: { file: PATH } (the secret stays out of the answer file)`,
  ],
  'interface-name-too-long.yaml': [
    `site.yaml:14:20 spec.nodes[0].replication.interface: expected a network interface name (at most 15 characters: letters, digits, '_', '.', '-'), like ens4, found "enp65s0f0-replication"`,
  ],
  'ipv6-address.yaml': [
    'site.yaml:25:18 spec.nodes[1].replication.address: expected an IPv4 address with prefix, like 198.19.1.12/24, found "fd00:19::12/64"',
  ],
  'jump-malformed.yaml': [
    'site.yaml:20:15 spec.nodes[1].ssh.jump: expected a jump host as [user@]host[:port], several separated by commas (like OpenSSH ProxyJump), like admin@bastion.example.com:22, found "ssh -J admin@bastion"',
  ],
  'management-subnets-differ.yaml': [
    'site.yaml:21:18 spec.nodes[1].management.address: 198.18.2.12/24 is not in the management subnet 198.18.1.0/24 of spec.nodes[0]; expected all management addresses in one subnet',
  ],
  // An error in a merged value (<<: *ssh) points where the value is written, in the anchored
  // mapping, and says where it was merged in; the path names the node that received it.
  'merge-keys.yaml': [
    "site.yaml:12:9 spec.nodes[0].ssh.identityFle: unknown key 'identityFle', did you mean 'identityFile'?",
    "site.yaml:12:9 spec.nodes[1].ssh.identityFle: unknown key 'identityFle', did you mean 'identityFile'? (merged in by <<: *ssh at site.yaml:24:13)",
    'site.yaml:25:15 spec.nodes[1].ssh.port: expected a port number from 1 to 65535, found "22x"',
    'site.yaml:28:18 spec.nodes[1].management.address: expected an IPv4 address with prefix, like 198.18.1.11/24, found "198.18.1.312/24"',
  ],
  'merge-keys-ssh-port.yaml': [
    "site.yaml:10:18 spec.nodes[1].ssh.address: gw.example.com port 2201 is also how spec.nodes[0] is reached; expected each node's own SSH address (merged in by <<: *ssh at site.yaml:25:13)",
  ],
  'merge-key-not-a-mapping.yaml': [
    "site.yaml:20:13 '<<' merges mappings into this one; expected an alias of a mapping, like <<: *common, or a list of them, found *shh, which no anchor defines",
    `site.yaml:22:27 '<<' merges mappings into this one; expected an alias of a mapping, like <<: *common, or a list of them, found "198.18.1.12/24"`,
    "site.yaml:24:13 '<<' merges mappings into this one; expected an alias of a mapping, like <<: *common, or a list of them, found *repl, which is not a mapping",
  ],
  'metadata-name-uppercase.yaml': [
    `site.yaml:5:9 metadata.name: expected a DNS label (lowercase letters, digits and '-', at most 63 characters), like acme-prod, found "AcmeProd"`,
  ],
  'mtu-too-big.yaml': ['site.yaml:29:21 spec.network.replicationMtu: expected an MTU from 576 to 9216, found 9500'],
  'network-address.yaml': [
    'site.yaml:15:18 spec.nodes[0].replication.address: 198.19.1.0/24 is the network address of 198.19.1.0/24; expected a host address inside the subnet',
  ],
  'node-name-not-hostname.yaml': [
    "site.yaml:18:13 spec.nodes[1].name: expected a host name (letters, digits and '-', labels of at most 63 characters), the output of `uname -n` on that server, like hv1, found \"hv_2\"",
  ],
  'nodes-as-mapping.yaml': ['site.yaml:7:3 spec.nodes: expected a list of 2 or 3 nodes, found a mapping'],
  'offline-but-online.yaml': [
    'site.yaml:29:5 spec.packages.offline: offline is set but source is online; expected source: offline, or no offline block',
  ],
  'offline-path-missing.yaml': [
    `site.yaml:30:14 spec.packages.offline.path: missing required key 'path', expected an absolute directory path, like /srv/hvcluster-debs`,
  ],
  'offline-without-path.yaml': [
    'site.yaml:28:3 spec.packages: source is offline but offline.path is missing; expected offline: { path: /srv/hvcluster-debs }',
  ],
  'port-out-of-range.yaml': ['site.yaml:19:20 spec.nodes[1].ssh.port: expected a port number from 1 to 65535, found 70000'],
  'port-string.yaml': [
    'site.yaml:10:15 spec.nodes[0].ssh.port: expected a port number from 1 to 65535, found the string "2222"; write it without quotes',
  ],
  'replication-in-management-subnet.yaml': [
    'site.yaml:15:18 spec.nodes[0].replication.address: replication subnet 198.18.1.0/24 overlaps the management subnet 198.18.1.0/24; expected a separate subnet for replication, like 198.19.1.0/24',
    'site.yaml:25:18 spec.nodes[1].replication.address: replication subnet 198.18.1.0/24 overlaps the management subnet 198.18.1.0/24; expected a separate subnet for replication, like 198.19.1.0/24',
  ],
  'replication-on-management-nic.yaml': [
    'site.yaml:24:20 spec.nodes[1].replication.interface: ens3 already carries the management network; expected a NIC of its own for replication',
  ],
  'secret-bad-env.yaml': [
    'site.yaml:10:30 spec.nodes[0].ssh.passwordFrom.env: expected an environment variable name, like HVCLUSTER_SSH_PASSWORD',
  ],
  'secret-empty-ref.yaml': [
    'site.yaml:20:23 spec.nodes[1].ssh.passwordFrom: expected one of env or file, like { env: HVCLUSTER_SSH_PASSWORD } or { file: ~/.config/hvcluster/hv1.password }',
  ],
  'secret-env-and-file.yaml': ['site.yaml:11:27 spec.nodes[0].ssh.sudoPasswordFrom: expected exactly one of env or file, not both'],
  'ssh-user.yaml': ['site.yaml:19:20 spec.nodes[1].ssh.user: expected a user name, like root or debian, found "john doe"'],
  'time-servers-not-list.yaml': [
    'site.yaml:29:14 spec.time.servers: expected a list of NTP servers, like [ntp1.example.com, 198.18.1.1], found "ntp1.example.com ntp2.example.com"',
  ],
  'too-many-dns.yaml': [
    'site.yaml:13:14 spec.nodes[0].management.dns: expected at most 3 name servers (the resolver uses only the first 3), found 4',
  ],
  'top-level-list.yaml': ['site.yaml:2:1 expected a mapping with apiVersion, kind, metadata and spec at the top level'],
  'two-documents.yaml': [`site.yaml:28:1 found 2 YAML documents; expected one (remove the '---' separator and what follows it)`],
  'unknown-top-level-key.yaml': [`site.yaml:4:1 metdata: unknown key 'metdata', did you mean 'metadata'?`],
  'unterminated-quote.yaml': [
    'site.yaml:12:18 the quoted string that starts here is never closed; expected a closing " at the end of the value',
  ],
  'volume-group-name.yaml': [
    `site.yaml:29:18 spec.storage.volumeGroup: expected an LVM volume group name (letters, digits, '+', '_', '.', '-'; not starting with '-', not '.' or '..'), like hvdata, found "hv/data"`,
  ],
  'volume-group-dotdot.yaml': [
    `site.yaml:29:18 spec.storage.volumeGroup: expected an LVM volume group name (letters, digits, '+', '_', '.', '-'; not starting with '-', not '.' or '..'), like hvdata, found ".."`,
  ],
  'wipe-quoted.yaml': [
    'site.yaml:28:15 spec.nodes[1].storage.wipe: expected true or false (true erases everything on the disk), found the string "true"; write it without quotes',
  ],
  // HA (validate-ha.ts): fencing devices and the witness, based on valid/two-nodes-ha.yaml.
  'ha-node-without-bmc.yaml': [
    "site.yaml:26:7 spec.nodes[1]: node hv2 has no bmc: HA never runs without a fence device (a survivor must power hv2 off before it starts hv2's guests); add bmc: { address, user, passwordFrom } for hv2's IPMI controller (iDRAC, iLO, XClarity...)",
  ],
  'ha-two-nodes-no-witness.yaml': [
    'site.yaml:37:3 spec.ha: two nodes need a witness: it is the third vote that lets the survivor tell a dead peer from a cut link (without it, each node could fence the other); add witness: { address: ... } for a small third server that runs corosync-qnetd',
  ],
  'ha-three-nodes-witness.yaml': [
    'site.yaml:50:5 spec.ha.witness: three nodes make quorum on their own (2 of 3 votes), and hvcluster uses a witness only with two nodes; remove witness',
  ],
  'ha-witness-is-a-node.yaml': [
    'site.yaml:40:16 spec.ha.witness.address: the witness 198.18.1.12 is the management address of hv2 (spec.nodes[1].management.address); expected a separate server: a node that is also the witness takes the tie-breaking vote down with it',
  ],
  'bmc-duplicate.yaml': [
    'site.yaml:36:23 spec.nodes[1].bmc.address: BMC 198.18.2.11 port 623 is already the BMC of hv1 (spec.nodes[0].bmc); each node is fenced through its own BMC',
  ],
  'bmc-is-node-address.yaml': [
    "site.yaml:20:18 spec.nodes[0].bmc.address: BMC address 198.19.1.11 is the replication address of hv1 (spec.nodes[0].replication.address); the BMC must be a separate device with its own address (the server's IPMI controller), reachable when the node's system is dead",
  ],
  'bmc-cipher-0.yaml': [
    'site.yaml:24:17 spec.nodes[0].bmc.cipher: cipher 0 sends the password unauthenticated: the BMC accepts any password and anyone on its network can power the node off; expected 17, or 3 for a BMC without it (and disable cipher 0 on the BMC)',
  ],
  'ha-tls-off.yaml': [
    'site.yaml:48:10 spec.ha.tls: warning: tls: off is only for a lab: the connection to the witness is not authenticated, so anything on the management network can pose as the witness and cast its vote',
  ],
  'bmc-without-ha.yaml': [
    'site.yaml:18:7 spec.nodes[0].bmc: warning: bmc is only used with ha: without spec.ha nothing fences this node and the BMC is never contacted; add spec.ha to use it, or remove bmc',
    'site.yaml:36:12 spec.nodes[1].bmc: warning: bmc is only used with ha: without spec.ha nothing fences this node and the BMC is never contacted; add spec.ha to use it, or remove bmc',
  ],
  // Guests (validate-guests.ts).
  'guest-duplicate-name.yaml': [
    'site.yaml:35:13 spec.guests[2].name: guest web is already declared at spec.guests[0]: every guest needs its own name',
  ],
  'guest-unknown-replica.yaml': ['site.yaml:42:23 spec.guests[0].replicas[1]: hv4 is not a node of the cluster (hv1, hv2, hv3)'],
  // Backups (validate-backup.ts); backup-formats.yaml has a mistake in every key the schema checks.
  'backup-no-repository.yaml': [
    'site.yaml:36:17 spec.backup.repository: expected path (a directory every node shares, like /var/lib/hvcluster/backup) or nfs (an export apply mounts, like { server: 198.18.1.10, export: /srv/hvbackup }); neither is given',
  ],
  'backup-path-system.yaml': [
    'site.yaml:37:13 spec.backup.repository.path: /etc/hvbackup is under /etc, which belongs to the system (/etc, /proc, /sys, /dev, /run, /boot, /usr are refused); expected a directory of its own, like /var/lib/hvcluster/backup',
  ],
  'backup-path-not-normal.yaml': [
    `site.yaml:36:25 spec.backup.repository.path: expected a path without '.' or '..' parts, '//' or a trailing '/', like /var/lib/hvcluster/backup, found "/srv/backup/../etc"`,
  ],
  'backup-nfs-on-node.yaml': [
    'site.yaml:38:17 spec.backup.repository.nfs.server: warning: the NFS server 198.18.1.12 is the management address of hv2 (spec.nodes[1].management.address): the backups would be lost with that node, and the other nodes could not back up while it is down; expected a server apart from the cluster',
    "site.yaml:40:18 spec.backup.repository.nfs.options: warning: vers=3 locks files through NLM: the lock a dead node held on the repository stays until that node boots again, and every other node's backup waits on it; NFSv4 frees it when the node's lease expires. Expected vers=4.2 or vers=4.1",
  ],
  'backup-no-passphrase.yaml': [
    "site.yaml:35:3 spec.backup: encryption repokey-blake2 needs passphraseFrom: where hvcluster reads the repository's passphrase, like passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE } or { file: PATH } (never the passphrase itself)",
  ],
  'backup-inline-passphrase.yaml': [
    "site.yaml:38:5 spec.backup.passphrase: inline secrets are not accepted: remove 'passphrase' and write passphraseFrom: { env: VARIABLE_NAME } or passphraseFrom: { file: PATH } (the secret stays out of the answer file)",
  ],
  'backup-encryption-none.yaml': [
    "site.yaml:38:17 spec.backup.encryption: warning: encryption: none stores the guests' disks readable by anyone who can read the repository's storage; expected repokey-blake2 unless that storage is as well guarded as the nodes",
    'site.yaml:39:21 spec.backup.passphraseFrom: warning: passphraseFrom is not used with encryption: none; remove it, or set encryption: repokey-blake2',
  ],
  'backup-retention-zero.yaml': [
    'site.yaml:38:16 spec.backup.retention: daily, weekly and monthly are all 0: only the latest set would be kept, and a bad backup would replace the only good one; expected at least one above 0, like { daily: 7, weekly: 4, monthly: 6 }',
  ],
  'backup-guests.yaml': [
    'site.yaml:39:19 spec.backup.guests[1]: mail is not a guest of spec.guests (web, db)',
    'site.yaml:39:25 spec.backup.guests[2]: db is absent (spec.guests[1].state): apply removes it, there is nothing to back up; remove it from backup.guests',
    'site.yaml:39:29 spec.backup.guests[3]: web is already listed at spec.backup.guests[0]',
  ],
  'backup-schedule-two-lines.yaml': [
    'site.yaml:38:15 spec.backup.schedule: expected a systemd calendar expression on one line, without control characters, like "*-*-* 02:00:00"',
  ],
  'backup-formats.yaml': [
    'site.yaml:36:55 spec.backup.repository.nfs.server: expected the host name or IPv4 address of the NFS server, like 198.18.1.10, found "nas example"',
    'site.yaml:36:78 spec.backup.repository.nfs.export: expected the absolute path the NFS server exports, like /srv/hvbackup, found "srv/hvbackup"',
    'site.yaml:36:101 spec.backup.repository.nfs.options: expected NFS mount options separated by commas, without spaces, like vers=4.2,hard, found "vers=4.2, hard"',
    'site.yaml:37:17 spec.backup.encryption: expected repokey-blake2 or none, found "repokey"',
    'site.yaml:39:25 spec.backup.retention.daily: expected a number of daily sets to keep from 0 to 1000, found -1',
    'site.yaml:39:37 spec.backup.retention.weekly: expected a number of weekly sets to keep from 0 to 1000, found 4.5',
    'site.yaml:39:51 spec.backup.retention.monthly: expected a number of monthly sets to keep from 0 to 1000, found the string "6"; write it without quotes',
    'site.yaml:40:13 spec.backup.guests: expected a list of guest names, like [web, db], found "web"',
    'site.yaml:41:20 spec.backup.freezeTimeout: expected a number of seconds from 1 to 120, found 0',
    'site.yaml:42:19 spec.backup.snapshotSize: expected full or a percentage of the disk from 5% to 99%, like 20%, found "3%"',
    'site.yaml:43:16 spec.backup.warnAfter: expected a duration: a whole number with m (minutes), h (hours) or d (days), like 26h, found "26 hours"',
    'site.yaml:44:18 spec.backup.compression: expected lz4, zstd or none, found "gzip"',
  ],
};

describe('broken answer files', () => {
  for (const [name, expected] of Object.entries(corpus)) {
    it(name, () => {
      expect(issuesOf(fixture(`broken/${name}`))).toEqual(expected);
    });
  }

  it('asserts every file of test/fixtures/answers/broken, and there are at least 39', () => {
    const files = readdirSync(fixturePath('broken')).filter((f) => f.endsWith('.yaml')).sort();
    expect(Object.keys(corpus).sort()).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(39);
  });

  it('never echoes an inline secret', () => {
    expect(issuesOf(fixture('broken/inline-password.yaml')).join('\n')).not.toContain('hunter2');
    expect(issuesOf(fixture('broken/inline-passphrase.yaml')).join('\n')).not.toContain('correct-horse-battery');
    expect(issuesOf(fixture('broken/backup-inline-passphrase.yaml')).join('\n')).not.toContain('correct-horse-battery');
  });
});

describe('edge cases of the file itself', () => {
  const two = fixture('valid/two-nodes.yaml');

  it('an empty file, or one with only comments', () => {
    const message = 'site.yaml:1:1 the file is empty; expected an answer file starting with apiVersion: hvcluster/v1';
    expect(issuesOf('')).toEqual([message]);
    expect(issuesOf('# nothing yet\n')).toEqual([message]);
  });

  it('a top level that is not a mapping', () => {
    expect(issuesOf('- hv1\n- hv2\n')).toEqual(['site.yaml:1:1 expected a mapping with apiVersion, kind, metadata and spec at the top level']);
  });

  it('several YAML documents', () => {
    expect(issuesOf('apiVersion: hvcluster/v1\n---\nkind: Cluster\n')).toEqual([
      "site.yaml:2:1 found 2 YAML documents; expected one (remove the '---' separator and what follows it)",
    ]);
  });

  it('an apiVersion of another tool, a missing one, a wrong kind', () => {
    expect(issuesOf(two.replace('apiVersion: hvcluster/v1', 'apiVersion: v1'))).toEqual([
      'site.yaml:2:13 apiVersion: expected apiVersion: hvcluster/v1, found "v1"',
    ]);
    expect(issuesOf(two.replace('apiVersion: hvcluster/v1\n', ''))).toEqual([
      "site.yaml:2:1 apiVersion: missing required key 'apiVersion', expected hvcluster/v1",
    ]);
    expect(issuesOf(two.replace('kind: Cluster', 'kind: cluster'))).toEqual(['site.yaml:3:7 kind: expected Cluster, found "cluster"']);
  });

  it('a number or a boolean in quotes is named a string, and only when unquoting it would do', () => {
    const head = 'apiVersion: hvcluster/v1\nkind: Cluster\nmetadata: { name: a }\nspec:\n';
    const drbd = (value: string) => issuesOf(`${two}  drbd: { syncRateMiB: ${value} }\n`);
    expect(drbd('"100"')).toEqual([
      'site.yaml:28:24 spec.drbd.syncRateMiB: expected auto or a resync rate in MiB/s from 1 to 10000, like 100, found the string "100"; write it without quotes',
    ]);
    expect(drbd('"20000"')).toEqual([
      'site.yaml:28:24 spec.drbd.syncRateMiB: expected auto or a resync rate in MiB/s from 1 to 10000, like 100, found "20000"',
    ]);
    expect(issuesOf(`${head}  network: { replicationMtu: '9000' }\n  nodes: []\n`)).toEqual([
      "site.yaml:5:30 spec.network.replicationMtu: expected an MTU from 576 to 9216, found the string \"9000\"; write it without quotes",
      'site.yaml:6:10 spec.nodes: expected 2 or 3 nodes, found 0',
    ]);
  });

  it('a quote never closed is reported once, where it opens, without the echoes of the rest of the file', () => {
    expect(issuesOf("apiVersion: hvcluster/v1\nmetadata: { name: 'acme }\nkind: Cluster\n")).toEqual([
      "site.yaml:2:19 the quoted string that starts here is never closed; expected a closing ' at the end of the value",
    ]);
    expect(issuesOf('apiVersion: "hvcluster/v1\nkind: Cluster\n')).toEqual([
      'site.yaml:1:13 the quoted string that starts here is never closed; expected a closing " at the end of the value',
    ]);
  });

  it('a duplicate key in a flow mapping', () => {
    expect(issuesOf('apiVersion: hvcluster/v1\nmetadata: { name: a, name: b }\n')).toEqual([
      "site.yaml:2:22 duplicate key 'name': each key may appear only once in a mapping",
    ]);
  });

  it('an empty or missing node list', () => {
    const head = 'apiVersion: hvcluster/v1\nkind: Cluster\nmetadata: { name: a }\nspec:\n';
    expect(issuesOf(`${head}  nodes:\n`)).toEqual(['site.yaml:5:3 spec.nodes: expected a list of 2 or 3 nodes, found an empty value']);
    expect(issuesOf(`${head}  nodes: []\n`)).toEqual(['site.yaml:5:10 spec.nodes: expected 2 or 3 nodes, found 0']);
    expect(issuesOf(`${head}  network: {}\n`)).toEqual([
      "site.yaml:5:3 spec.nodes: missing required key 'nodes', expected a list of 2 or 3 nodes",
    ]);
  });

  it('a witness: or bmc: in the wrong place points to where it belongs', () => {
    expect(issuesOf(`${two}  witness: { address: 198.18.1.99 }\n`)).toEqual([
      "site.yaml:28:3 spec.witness: unknown key 'witness' here; did you mean spec.ha.witness? Expected here: nodes, network, drbd, storage, hypervisor, packages, time, ha, guests, backup",
    ]);
    expect(issuesOf(`${two}  bmc: { address: 198.18.2.11 }\n`)).toEqual([
      "site.yaml:28:3 spec.bmc: unknown key 'bmc' here; did you mean spec.nodes[].bmc? Expected here: nodes, network, drbd, storage, hypervisor, packages, time, ha, guests, backup",
    ]);
  });

  it('HA relations are still checked when another part of the file fails the schema', () => {
    const text = fixture('valid/two-nodes-ha.yaml')
      .replace('      bmc: { address: hv2-idrac.example.com, user: hvfence, passwordFrom: { file: secrets/hv2-bmc.password } }\n', '')
      .replace('  ha:\n', '  drbd: { protocol: A }\n  ha:\n');
    expect(issuesOf(text)).toEqual([
      "site.yaml:26:7 spec.nodes[1]: node hv2 has no bmc: HA never runs without a fence device (a survivor must power hv2 off before it starts hv2's guests); add bmc: { address, user, passwordFrom } for hv2's IPMI controller (iDRAC, iLO, XClarity...)",
      'site.yaml:36:21 spec.drbd.protocol: expected C (synchronous replication, the only protocol DRBD allows for the dual-primary of a live migration), found "A"',
    ]);
    // An ha section that fails the schema itself: its own error only, no guesses about the rest.
    expect(issuesOf(fixture('valid/two-nodes-ha.yaml').replace('    timing: production\n', '    timing: fast\n'))).toEqual([
      'site.yaml:47:13 spec.ha.timing: expected production or emulated, found "fast"',
    ]);
  });

  it('guest relations are still checked when another part of the file fails the schema, and only those known', () => {
    const guests = [
      '  guests:',
      '    - { name: web, memory: 1GiB, disks: [{ size: 1GiB }], replicas: [hv1, hv9] }',
      '    - { name: web, memory: 1GiB, disks: [{ size: 1GiB }], ha: true }',
      '    - { name: db, memory: 1G, disks: [{ size: 1GiB }] }',
      '',
    ].join('\n');
    expect(issuesOf(`${two}  drbd: { protocol: A }\n${guests}`)).toEqual([
      'site.yaml:28:21 spec.drbd.protocol: expected C (synchronous replication, the only protocol DRBD allows for the dual-primary of a live migration), found "A"',
      "site.yaml:30:69 spec.guests[0].replicas: on two nodes every guest's disks live on both (hv1, hv2): leave replicas out",
      'site.yaml:30:75 spec.guests[0].replicas[1]: hv9 is not a node of the cluster (hv1, hv2)',
      'site.yaml:31:15 spec.guests[1].name: guest web is already declared at spec.guests[0]: every guest needs its own name',
      'site.yaml:31:63 spec.guests[1].ha: ha: true needs an HA cluster (spec.ha, enabled): without it nobody restarts the guest elsewhere',
      'site.yaml:32:27 spec.guests[2].memory: expected a memory size with a binary unit (MiB, GiB or TiB), like 4GiB, found "1G"',
    ]);
    // A node that fails the schema for another key is still a node the guests may name; one without a
    // valid name leaves the guests' nodes unchecked, and a broken ha section their ha.
    expect(issuesOf(`${two.replace('disk: /dev/disk/by-id/virtio-hv2-data', 'disk: sdb')}${guests}`)).toContain(
      'site.yaml:29:75 spec.guests[0].replicas[1]: hv9 is not a node of the cluster (hv1, hv2)',
    );
    expect(issuesOf(`${two.replace('name: hv2', 'name: hv_2')}${guests}`).filter((i) => i.includes('replicas'))).toEqual([]);
    expect(issuesOf(`${two}  ha: { timing: fast }\n${guests}`).filter((i) => i.includes('.ha:'))).toEqual([]);
  });

  it('a value reached through an alias is reported where the alias is used', () => {
    const text = two
      .replace('    - name: hv1\n      management:', '    - name: hv1\n      management: &m')
      .replace(/ {4}- name: hv2\n {6}management:\n( {8}.*\n){3}/, '    - name: hv2\n      management: *m\n');
    expect(issuesOf(text)).toEqual([
      'site.yaml:19:19 spec.nodes[1].management.address: address 198.18.1.11 is already used by spec.nodes[0].management.address; expected a different address for each node and network',
    ]);
  });

  it('names and formats', () => {
    const text = two
      .replace('name: acme-prod', 'name: Acme_Prod')
      .replace('name: hv2', 'name: -hv2')
      .replace(
        '      management:\n        interface: ens3\n        address: 198.18.1.11/24',
        '      ssh: { hostKey: "SHA256:abc", jump: "a b" }\n      management:\n        interface: ens3\n        address: 198.18.1.11/24',
      );
    expect(issuesOf(text)).toEqual([
      `site.yaml:5:9 metadata.name: expected a DNS label (lowercase letters, digits and '-', at most 63 characters), like acme-prod, found "Acme_Prod"`,
      'site.yaml:9:23 spec.nodes[0].ssh.hostKey: expected a host key fingerprint as `ssh-keygen -lf` prints it, like SHA256:ZXCb4Zk6tgSoV3Q0sCxmJ+XpWW0Vw2xfKm8O1Q0mM3E, found "SHA256:abc"',
      'site.yaml:9:43 spec.nodes[0].ssh.jump: expected a jump host as [user@]host[:port], several separated by commas (like OpenSSH ProxyJump), like admin@bastion.example.com:22, found "a b"',
      "site.yaml:19:13 spec.nodes[1].name: expected a host name (letters, digits and '-', labels of at most 63 characters), the output of `uname -n` on that server, like hv1, found \"-hv2\"",
    ]);
  });
});
