/**
 * The catalogue of verify checks: stable codes (never renamed: monitoring and CI match on them),
 * titles, the severity of a failure, and what each reads. The README's table is this list.
 * Anchors: /work/shared/VERIFY-CATALOGUE.md (Ganeti, Proxmox, crmsh, libvirt).
 */

export type Severity = 'error' | 'warning';

export interface CheckDefinition {
  code: string;
  title: string;
  /** The severity of a failure (some checks also report the milder one, e.g. a resync in progress). */
  severity: Severity;
  /** per node, per pair of nodes (from each node to each peer), per DRBD resource and node, or once for the cluster. */
  scope: 'node' | 'pair' | 'resource' | 'cluster';
  /** What is read and the rule, one line (README). */
  rule: string;
}

const defs = [
  { code: 'SSH_REACHABLE', title: 'SSH reachability', severity: 'error', scope: 'node', rule: 'connect, authenticate, sudo and run the read-only script; unreachable = verify could not run (exit 2)' },
  { code: 'SSH_HOST_KEY', title: 'SSH host key', severity: 'error', scope: 'node', rule: 'the host key matches the pinned fingerprint or known_hosts (a new or changed key is never accepted)' },
  { code: 'HOSTNAME', title: 'Node name', severity: 'error', scope: 'node', rule: '`uname -n` equals the node name of the answer file (DRBD matches its `on` sections against it)' },
  { code: 'HOSTS_RESOLVE', title: 'Name resolution', severity: 'error', scope: 'node', rule: 'every NODE and NODE-repl resolves (getent) to its planned management / replication address; no 127.0.1.1 line for the own name' },
  { code: 'HOSTS_CONSISTENT', title: '/etc/hosts consistent', severity: 'warning', scope: 'cluster', rule: "the cluster's lines of /etc/hosts are the same on all nodes" },
  { code: 'CLOCK_SKEW', title: 'Clock skew', severity: 'error', scope: 'pair', rule: 'clock difference between two nodes, bounded by the round-trip: warning > 0.5 s, error > 5 s (a migrated guest\'s clock jumps by it)' },
  { code: 'TIME_SYNC', title: 'Time synchronization', severity: 'error', scope: 'node', rule: 'a time service (chrony, ntpsec, openntpd, systemd-timesyncd) is active: error if none; warning if it is not synchronized' },
  { code: 'REPL_NIC', title: 'Replication NIC', severity: 'error', scope: 'node', rule: 'the replication NIC exists, is up with carrier, holds the replication address, and its MTU equals network.replicationMtu' },
  { code: 'REPL_LINK', title: 'Replication link', severity: 'error', scope: 'pair', rule: '`ping -I OWN_REPL PEER_REPL` answers (3 probes); warning on partial loss' },
  { code: 'REPL_MTU', title: 'Replication MTU end to end', severity: 'error', scope: 'pair', rule: '`ping -M do -s $((MTU-28)) -c 1 -W 1 PEER_REPL`: a full-size frame crosses unfragmented' },
  { code: 'REPL_LATENCY', title: 'Replication latency', severity: 'warning', scope: 'pair', rule: 'minimum round-trip time of the link probe: warning > 2 ms (protocol C waits one round trip per write)' },
  { code: 'DRBD_MODULE', title: 'DRBD module', severity: 'error', scope: 'node', rule: 'the DRBD kernel module is loaded (/proc/drbd) and its usermode helper is drbdadm' },
  { code: 'DRBD_VERSION', title: 'DRBD version on all nodes', severity: 'error', scope: 'cluster', rule: 'the loaded module version is the same on all nodes: error if the major differs (8.4 vs 9), warning otherwise' },
  { code: 'DRBD_UTILS', title: 'drbd-utils and module compatible', severity: 'error', scope: 'node', rule: 'drbd-utils is installed, drives the loaded module (utils 9.x for 8.4 and 9; 8.4 utils only for 8.4) and sees the loaded version' },
  { code: 'DRBD_CONFIG', title: 'DRBD configuration', severity: 'error', scope: 'resource', rule: 'each configured resource is up and each running one configured; its file (and global_common.conf) is identical on the nodes holding it' },
  { code: 'DRBD_CONNECTED', title: 'DRBD connected', severity: 'error', scope: 'resource', rule: 'connection Connected and replication Established (8.4: cs:Connected); I/O not suspended' },
  { code: 'DRBD_ROLES', title: 'DRBD roles', severity: 'error', scope: 'resource', rule: 'never two Primaries outside a migration (error); Primary with no guest running on it (warning)' },
  { code: 'DRBD_DISK', title: 'DRBD disks UpToDate', severity: 'error', scope: 'resource', rule: 'local and peer disk UpToDate; warning while a resync runs (Inconsistent with SyncSource/SyncTarget)' },
  { code: 'DRBD_RESYNC', title: 'DRBD resync', severity: 'error', scope: 'resource', rule: "a running resync is reported with its progress, speed and time to go from /proc/drbd (warning; paused: warning naming who paused it); stalled = no block resynced between two looks 3 s apart, or the kernel's own (stalled): error" },
  { code: 'DRBD_OUT_OF_SYNC', title: 'DRBD out of sync', severity: 'warning', scope: 'resource', rule: 'out-of-sync KiB is 0 (events2 --statistics, /proc/drbd oos:)' },
  { code: 'DRBD_SPLIT_BRAIN', title: 'No DRBD split brain', severity: 'error', scope: 'resource', rule: "the resource's current state judges: a split brain in this boot's kernel log whose resource is StandAlone, or waiting (WFConnection) with no connection since, is an error with the recovery steps; one resolved since (connected again) is a warning saying when and which side discarded its data" },
  { code: 'LVM_VG', title: 'Volume group', severity: 'error', scope: 'node', rule: 'storage.volumeGroup exists, is not partial; its size and free space are reported' },
  { code: 'DRBD_HOLDERS', title: 'Nothing stacked on DRBD', severity: 'error', scope: 'node', rule: 'no holder (LVM, multipath, md) on /dev/drbd* nor on their backing volumes other than DRBD; no PV on a DRBD device or guest volume visible to the host (error); an LVM snapshot of a backing volume, e.g. kept by drbd resolve: warning naming it (hvcluster\'s own, tagged hvc_snapshot or hvc_backup, are SNAPSHOT_FILL\'s and SNAPSHOT_LEFTOVER\'s)' },
  { code: 'SNAPSHOT_FILL', title: 'Snapshots not overflowing', severity: 'error', scope: 'node', rule: "each hvcluster snapshot (LV tagged hvc_snapshot; one `lvs` of the volume group: data_percent, lv_attr): invalid (overflowed: its data is gone) is an error naming the guest and snapshot; 80 % full or more a warning with the percent" },
  { code: 'SNAPSHOT_LEFTOVER', title: 'No leftover backup snapshots', severity: 'warning', scope: 'node', rule: "no temporary snapshot of a backup (LV tagged hvc_backup, RES.bk.STAMP) is left by a run that died there (every write to its disk is copied until the guest's next backup on that node removes it); those of a backup running now (backup-node.sh) are not counted" },
  { code: 'LIBVIRTD', title: 'libvirt daemon', severity: 'error', scope: 'node', rule: 'libvirtd is active (or socket-activated) and `virsh -c qemu:///system list` answers' },
  { code: 'KVM_DEVICE', title: '/dev/kvm', severity: 'warning', scope: 'node', rule: '/dev/kvm exists (without it guests run emulated, very slowly)' },
  { code: 'CPU_COMPAT', title: 'CPU compatible for migration', severity: 'error', scope: 'pair', rule: 'same CPU vendor (error); same model and flags (warning: guests need a CPU model both offer)' },
  { code: 'MIGRATION_CONNECT', title: 'Migration connectivity', severity: 'error', scope: 'pair', rule: '`virsh -c qemu+ssh://PEER-repl/system hostname` from each node answers the peer\'s name' },
  { code: 'MIGRATION_LEFTOVERS', title: 'Migration test leftovers', severity: 'error', scope: 'node', rule: 'nothing of a migration test that did not finish is left (test guest hvc-migtest, its DRBD resource, Primary role or two primaries, the timer that closes its dual-primary window, .res file, volume, files); `verify --migration-test` removes them first' },
  { code: 'MIGRATION_MEMORY', title: 'Memory for the migration test', severity: 'error', scope: 'node', rule: 'only with --migration-test, before anything is created: MemAvailable on every node the test guest runs on or moves to is at least its memory (96 MiB) + 256 MiB; else the test refuses' },
  { code: 'MIGRATION_TEST', title: 'Live migration test', severity: 'error', scope: 'pair', rule: 'only with --migration-test: a test guest live-migrates there and back on every pair, its data intact, nothing left behind; error if the client saw a gap above 3 s or the test resource lost its connection, split or changed its current UUID during a move; warning if QEMU reports a downtime above 1 s' },
  { code: 'LINK_TEST', title: 'Replication-link drill', severity: 'error', scope: 'cluster', rule: "only with --link-test (HA): the test guest's node loses its replication link; both nodes stay members (no fencing), DRBD disconnects and crm-fence-peer fences the peer off in Pacemaker, the guest keeps running and writing where it ran, never two Primaries; the link back, DRBD reconnects without a split brain, resyncs, the constraint is lifted, the data is intact, nothing left behind" },
  { code: 'FAILOVER_TEST', title: 'Failover drill', severity: 'error', scope: 'cluster', rule: "only with --failover-test [FAULT] (HA): the test guest's node failed (powered off through its BMC, cut off every network, its BMC dead too, or hung: its userspace frozen); the survivor fences it (with a dead BMC: the guest stays down until fencing can complete, the node is confirmed off, or with ha.watchdog fencing falls through to the watchdog level, no sooner than stonith-watchdog-timeout after the node was lost; a hung node must come back with a new boot), promotes the guest's disk and starts it, the guest answers and its data is intact, it ran on no other node, the node rejoins and resyncs, nothing is left behind; the figures per phase from the fault" },
  { code: 'MEMORY_HEADROOM', title: 'Memory headroom (N+1)', severity: 'error', scope: 'node', rule: "if this node fails, the survivors' available memory holds its running guests: error if not, warning within 10 %" },
  { code: 'HA_SERVICES', title: 'Cluster stack running', severity: 'error', scope: 'node', rule: 'only with ha: corosync and pacemaker (and corosync-qdevice with two nodes) active and enabled, and sbd with ha.watchdog; drbd.service not enabled (Pacemaker owns DRBD)' },
  { code: 'HA_MEMBERS', title: 'Cluster members online', severity: 'error', scope: 'node', rule: 'only with ha: `crm_mon -1 --output-as=xml` answers, has a DC and lists every node online (error: offline, unclean or pending; warning: standby or maintenance)' },
  { code: 'HA_QUORUM', title: 'Quorum', severity: 'error', scope: 'node', rule: 'only with ha: `corosync-quorumtool -s` says Quorate; expected votes = nodes + the qdevice\'s vote (3 for two nodes and a witness); warning if fewer votes than expected are present' },
  { code: 'HA_QDEVICE', title: 'Quorum device (witness)', severity: 'error', scope: 'node', rule: "only with ha and two nodes: `corosync-qdevice-tool -s` is Connected to the answer file's witness with its TLS setting (cmap quorum.device.net.tls) and the qdevice casts its vote (quorumtool's Qdevice line and flags)" },
  { code: 'HA_NO_TWO_NODE', title: 'No two_node beside a qdevice', severity: 'error', scope: 'node', rule: 'only with ha: corosync-cmapctl quorum.two_node is not 1 (with a qdevice corosync refuses it; without one both halves of a split stay quorate and race to fence)' },
  { code: 'HA_LINKS', title: 'Corosync links', severity: 'error', scope: 'node', rule: "only with ha: `corosync-cfgtool -s` shows two knet links (0 = replication, 1 = management address) and every peer connected on both: error if a peer is reachable on no link, warning if on one only" },
  { code: 'HA_STONITH_ENABLED', title: 'Fencing enabled', severity: 'error', scope: 'cluster', rule: 'only with ha: the CIB has stonith-enabled=true (error otherwise) and no-quorum-policy=stop (error: ignore; warning: any other)' },
  { code: 'HA_STONITH_DEVICES', title: 'Fence devices', severity: 'error', scope: 'node', rule: "only with ha, per node fenced: a stonith primitive for it (fence_ipmilan, pcmk_host_list = the node) whose ip, ipport, username, lanplus and cipher match its bmc answers, a password set, a -INFINITY location keeping it off its own node, registered (`stonith_admin --list-registered`) and Started on another node without failure" },
  { code: 'HA_WATCHDOG', title: 'Watchdog fencing level', severity: 'error', scope: 'cluster', rule: "only with ha.watchdog: Pacemaker sees sbd (have-watchdog=true), stonith-watchdog-timeout is twice the watchdog's timeout, and each node's fencing-topology has level 1 its fence device, level 2 `watchdog` (sbd itself: HA_SERVICES); without ha.watchdog, a stonith-watchdog-timeout left set is a warning" },
  { code: 'HA_FAILED_ACTIONS', title: 'No failed actions', severity: 'error', scope: 'cluster', rule: "only with ha: crm_mon's failed actions: error while the resource is still failed or stopped, warning once it runs again (clear it with `crm_resource --cleanup`)" },
  { code: 'HA_FENCE_CONSTRAINTS', title: 'No stale DRBD fence constraints', severity: 'error', scope: 'cluster', rule: "only with ha: a `drbd-fence-by-handler-*` constraint (placed by crm-fence-peer) while its DRBD resource is Connected and UpToDate on both nodes is stale and blocks promotion: error; while the peer is still out of date: warning naming it" },
  { code: 'HA_DRBD_FENCING', title: 'DRBD fencing wired to Pacemaker', severity: 'error', scope: 'resource', rule: 'only with ha: every DRBD resource runs with `fencing resource-and-stonith` (`drbdsetup show`, else `drbdadm dump`) and its handlers are hvcluster drbd-fence-peer.sh (crm-fence-peer.sh, refused without quorum) / after-resync-target crm-unfence-peer.sh (8.4) or crm-fence-peer.9.sh / unfence-peer crm-unfence-peer.9.sh (9)' },
  { code: 'HA_PRIMARY_AGREEMENT', title: 'Pacemaker and DRBD agree on the Primary', severity: 'error', scope: 'resource', rule: 'only with ha: for each ocf:linbit:drbd promotable clone, the nodes where Pacemaker promoted it are exactly those where DRBD has the resource Primary' },
  { code: 'HA_TIMING', title: 'HA timing in effect', severity: 'warning', scope: 'cluster', rule: 'only with ha: reports the effective totem token (`corosync-cmapctl runtime.config.totem.token`) and stonith-timeout; warning if they differ from the timing profile (production: 3000 ms + 650 ms per node above two, 60 s; emulated: 10000 ms + 650 ms per node above two, 180 s)' },
  { code: 'BACKUP_REPO', title: 'Backup repository reachable', severity: 'error', scope: 'node', rule: 'only with spec.backup: repository.path is a directory, with nfs an NFS filesystem is mounted there, and PATH/CLUSTER/borg/config has a [repository] section; each look bounded to 10 s (a dead NFS server does not hang verify); borg is not run, no passphrase read' },
  { code: 'BACKUP_TIMER', title: 'Backup timer', severity: 'warning', scope: 'node', rule: 'only with spec.backup.schedule: hvcluster-backup.timer is enabled and active, and the last run of hvcluster-backup.service did not fail (`systemctl show -p Result`: success, or no run yet)' },
  { code: 'BACKUP_AGE', title: 'Age of the last backup', severity: 'warning', scope: 'cluster', rule: "only with spec.backup, per guest it covers: the age of its last complete set (PATH/CLUSTER/status/GUEST.json, the newest any node reads), with the set and the node that made it; warning if there is none, or it is older than warnAfter, by default the schedule's longest gap between runs + a twelfth of it (1 h to 1 day: 26 h for a daily schedule; 26 h when the gap cannot be derived); without schedule or warnAfter, reported only" },
] as const satisfies readonly CheckDefinition[];

export type CheckCode = (typeof defs)[number]['code'];
export const CHECKS: readonly CheckDefinition[] = defs;
export const CHECK_BY_CODE: ReadonlyMap<string, CheckDefinition> = new Map(CHECKS.map((c) => [c.code, c]));

export function checkDefinition(code: CheckCode): CheckDefinition {
  return CHECK_BY_CODE.get(code)!;
}
