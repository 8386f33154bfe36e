/**
 * verify's own read-only probes, run in the same exec as the facts (gatherFactsAndRun's `alsoRun`):
 * one script per server, peer-dependent probes included (the answer file gives every address up front).
 * Written with the facts' section format (section.ts) so each command's stdout, stderr and exit code
 * come back separately.
 */
import type { Answers } from '../answers/schema.js';
import { commandProblem } from '../facts/fact.js';
import { splitOutput, wrapFragment, type CommandResult, type FactSection } from '../facts/section.js';
import { shellQuote } from '../ssh/quote.js';
import { scriptFunction, scriptInline } from '../engine/change.js';
import { addressOf } from '../net/ipv4.js';
import { leftoversRead } from './migration/leftovers.js';
import { replicationName } from '../plan/render-model.js';
import { OPENED_MARKER, repositoryLayout } from '../backup/layout.js';
import { coveredGuests } from '../backup/run.js';
import { BACKUP_SERVICE, BACKUP_TIMER } from '../plan/backup.js';

export interface PeerTarget {
  name: string;
  /** The peer's replication address, without prefix. */
  replicationAddress: string;
  /** NAME-repl in /etc/hosts. */
  replicationName: string;
}

export interface ProbePlan {
  node: string;
  ownReplicationAddress: string;
  mtu: number;
  peers: PeerTarget[];
  /** Every name the node must resolve: nodes and NODE-repl. */
  names: string[];
  /** The volume group (where the migration test's volume would be left). */
  volumeGroup: string;
  /** The answer file enables HA: the cluster stack is read too (its output holds secrets: see haProbes). */
  ha: boolean;
  /** spec.backup: the repository, the guests' status files and (with a schedule) the timer are read too; null without it. */
  backup: BackupProbe | null;
}

export interface BackupProbe {
  /** spec.backup.repository.path (with nfs: where apply mounts the export). */
  path: string;
  /** The cluster's directory in it (PATH/CLUSTER): the borg repository is ROOT/borg. */
  root: string;
  /** ROOT/status: one GUEST.json per guest backed up at least once. */
  statusDir: string;
  /** The guests spec.backup covers: their status files are read. */
  guests: string[];
  /** spec.backup.schedule is set: the timer and the service's last result are read. */
  timer: boolean;
}


export function probePlan(answers: Answers, node: string): ProbePlan {
  const nodes = answers.spec.nodes;
  const self = nodes.find((n) => n.name === node);
  if (!self) throw new Error(`no node ${node} in the answer file`);
  return {
    node,
    ownReplicationAddress: addressOf(self.replication.address),
    mtu: answers.spec.network.replicationMtu,
    peers: nodes
      .filter((n) => n.name !== node)
      .map((n) => ({ name: n.name, replicationAddress: addressOf(n.replication.address), replicationName: replicationName(n) })),
    names: nodes.flatMap((n) => [n.name, replicationName(n)]),
    volumeGroup: answers.spec.storage.volumeGroup,
    ha: answers.spec.ha?.enabled === true,
    backup: backupProbe(answers),
  };
}

function backupProbe(answers: Answers): BackupProbe | null {
  const backup = answers.spec.backup;
  if (!backup) return null;
  const layout = repositoryLayout(answers.metadata.name, backup);
  return { path: backup.repository.path, root: layout.root, statusDir: layout.statusDir, guests: coveredGuests(answers, []), timer: backup.schedule !== undefined };
}

/** The columns of verify's one `lvs` of the volume group: what snapshot.sh state reads too (snapshots/state.ts parses both). */
export const SNAPSHOT_LVS_COLUMNS = 'lv_name,origin,lv_size,data_percent,lv_attr,lv_tags';

/** The properties read of the backup timer and service: enabled, active, next run; the last run's result and end. */
export const BACKUP_UNIT_PROPERTIES = 'Id,LoadState,UnitFileState,ActiveState,Result,NextElapseUSecRealtime,ExecMainExitTimestamp';

/**
 * Snapshots and backups (SNAPSHOT_*, BACKUP_*): the volume group's LVs in one `lvs` (snapshots'
 * fill, validity and tags), whether a backup runs now (backup-node.sh, by its process name: a
 * temporary snapshot it holds is not a leftover); with spec.backup, the repository
 * (backup-state.sh, told no passphrase file: verify reads no secret), the guests' status files
 * (backup-verify-state.sh), each look at the storage bounded; with a schedule, the timer and the
 * service's last result in one `systemctl show`. Read-only: borg is never run.
 */
export function backupProbes(plan: Pick<ProbePlan, 'volumeGroup' | 'backup'>): string {
  const q = shellQuote;
  const lines = [
    `hv_cmdt snapshots 15 lvs --noheadings --units b --nosuffix --separator '|' -o ${SNAPSHOT_LVS_COLUMNS} ${q(plan.volumeGroup)}`,
    `hv_cmd backup-running pgrep -x 'backup-node\\.sh'`,
  ];
  const b = plan.backup;
  if (b) {
    lines.push(`hv_cmdt backup-repo 30 ${scriptInline('backup-state.sh', [b.path, b.root, '-', OPENED_MARKER])}`);
    if (b.guests.length > 0) lines.push(`hv_cmdt backup-status 40 ${scriptInline('backup-verify-state.sh', [b.statusDir, ...b.guests])}`);
    if (b.timer) lines.push(`hv_cmdt backup-units 15 systemctl show -p ${BACKUP_UNIT_PROPERTIES} ${BACKUP_TIMER} ${BACKUP_SERVICE}`);
  }
  return lines.join('\n');
}

/** Seconds between the two looks at /proc/drbd while a resync runs (a stalled resync moves no block in between). */
export const RESYNC_SAMPLE_SECONDS = 3;

/** Ping payload for a don't-fragment probe at `mtu`: minus 20 bytes of IPv4 header and 8 of ICMP. */
export const dfPayload = (mtu: number) => mtu - 28;

/** The probes, one section each. Read-only: pings, getent, virsh reads, sysfs and LVM reports. */
export function probeScript(plan: ProbePlan): string {
  const q = shellQuote;
  const own = q(plan.ownReplicationAddress);
  const net = plan.peers
    .map((p) => {
      const a = q(p.replicationAddress);
      return [
        `hv_cmd ${q(`lat:${p.name}`)} ping -n -q -c 3 -i 0.2 -W 1 -I ${own} ${a}`,
        `hv_cmd ${q(`df:${p.name}`)} ping -n -M do -s ${dfPayload(plan.mtu)} -c 1 -W 1 -I ${own} ${a}`,
      ].join('\n');
    })
    .join('\n');
  const virsh = plan.peers
    .map((p) => `hv_cmdt ${q(`virsh:${p.name}`)} 60 virsh -c ${q(`qemu+ssh://${p.replicationName}/system?no_tty=1`)} hostname`)
    .join('\n');
  const names = `for n in ${plan.names.map(q).join(' ')}; do hv_cmd "getent:$n" getent ahostsv4 "$n"; done`;
  const guests = `hv_doms() {
  for d in $(timeout 15 virsh -c qemu:///system list --name); do
    printf '@@dom %s\\n' "$d"
    timeout 10 virsh -c qemu:///system dominfo "$d"
    printf '@@blk\\n'
    timeout 10 virsh -c qemu:///system domblklist --details "$d"
    printf '@@job\\n'
    timeout 10 virsh -c qemu:///system domjobinfo "$d"
  done
}
hv_cmdt list 15 virsh -c qemu:///system list --all --name
hv_cmd doms hv_doms`;
  // While a resync runs, /proc/drbd is read a second time RESYNC_SAMPLE_SECONDS later: a resync that
  // moved no block in between is stalled (the kernel itself says so only after 180 s).
  // The kernel log: DRBD's split-brain lines of this boot and the connection changes around them, so
  // that a split brain already resolved (reconnected, one side's data discarded) is told from a current one.
  const drbd = `hv_later() { sleep ${RESYNC_SAMPLE_SECONDS}; cat /proc/drbd; }
if [ -r /proc/drbd ]; then
  hv_cmdt events2 5 drbdsetup events2 --now --statistics all
  hv_cmd proc cat /proc/drbd
  if grep -q "sync'ed:" /proc/drbd; then hv_cmd proc-later hv_later; fi
  hv_cmd helper cat /sys/module/drbd/parameters/usermode_helper
fi
hv_conf() { for f in /etc/drbd.conf /etc/drbd.d/*; do [ -f "$f" ] || continue; printf '@@file %s\\n' "$f"; cat "$f"; printf '\\n'; done; }
hv_cmd conf hv_conf
hv_sb() { journalctl -k -b --no-pager -o short-iso 2>/dev/null | grep -E 'drbd[0-9]*[ :/]' | grep -i -E 'split-brain|conn\\( |Becoming sync' | tail -n 200; true; }
hv_cmd splitbrain hv_sb`;
  const storage = `hv_cmdt vgs 15 vgs --reportformat json --units b --nosuffix -o vg_name,vg_size,vg_free,vg_attr
hv_cmdt pvs 15 pvs --reportformat json -o pv_name,vg_name
hv_stack() {
  for d in /sys/block/drbd* /sys/block/dm-*; do
    [ -d "$d" ] || continue
    printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "\${d##*/}" "$(cat "$d/dm/name" 2>/dev/null)" "$(cat "$d/dm/uuid" 2>/dev/null)" "$(ls "$d/slaves" 2>/dev/null | tr '\\n' ' ')" "$(ls "$d/holders" 2>/dev/null | tr '\\n' ' ')"
  done
}
hv_cmd stack hv_stack
if command -v multipath >/dev/null 2>&1; then hv_cmdt multipath 10 multipath -ll; fi`;
  return [
    wrapFragment('v-net', net || 'true'),
    wrapFragment('v-virsh', virsh || 'true'),
    wrapFragment('v-names', names),
    wrapFragment('v-guests', guests),
    wrapFragment('v-drbd', drbd),
    wrapFragment('v-storage', storage),
    ...(plan.ha ? [wrapFragment('v-ha', haProbes())] : []),
    wrapFragment('v-backup', backupProbes(plan)),
    // The migration test's own read of what a killed run left (the same script its clean-up uses).
    wrapFragment('v-migtest', `hv_cmdt migtest 30 ${scriptInline('migration-leftovers.sh', leftoversRead(plan.volumeGroup, plan.ha ? [plan.node, ...plan.peers.map((p) => p.name)] : null).args)}`),
  ].join('\n');
}

/**
 * The cluster stack's state (only with HA in the answer file): Pacemaker's status and CIB, Corosync's
 * quorum, qdevice, links and runtime keys, the registered fence devices, the DRBD configuration in
 * effect (drbdsetup show: the kernel's, read only when the module is loaded, as drbdsetup would load it;
 * drbdadm dump: the files, with the handlers) and the units (`UNIT ACTIVE ENABLED`, `unknown` for empty).
 * The CIB is read through ha-state.sh, which removes the fence devices' passwords on the server;
 * the output still holds DRBD's files, so verify reads it as secret output.
 */
export function haProbes(): string {
  return `${scriptFunction('hv_ha', 'ha-state.sh')}
hv_cmdt ha-mon 30 crm_mon -1 --output-as=xml
hv_cmd ha-cib hv_ha cib
hv_cmd ha-cmap hv_ha cmap
hv_cmdt ha-quorum 15 corosync-quorumtool -s
hv_cmdt ha-qdevice 15 corosync-qdevice-tool -s
hv_cmdt ha-links 15 corosync-cfgtool -s
hv_cmdt ha-stonith 30 stonith_admin --list-registered
if [ -r /proc/drbd ]; then hv_cmdt ha-drbd-show 15 drbdsetup show; fi
hv_cmdt ha-drbd-dump 15 drbdadm dump all
hv_units() {
  for u in corosync corosync-qdevice pacemaker sbd drbd; do
    a=$(systemctl is-active "$u.service" 2>/dev/null); e=$(systemctl is-enabled "$u.service" 2>/dev/null)
    printf '%s %s %s\\n' "$u" "\${a:-unknown}" "\${e:-unknown}"
  done
}
hv_cmd ha-units hv_units`;
}

/** The probes' raw command results, by label (`lat:hv2`, `events2`...). */
export interface Probes {
  commands: Record<string, ProbeCommand>;
}

export interface ProbeCommand {
  stdout: string;
  stderr: string;
  /** null: cut off or not installed (see problem). */
  exitCode: number | null;
  /** Why the command gave nothing usable (missing, timed out, exit N: first stderr line), null when it exited 0. */
  problem: string | null;
}

const SECTIONS = ['v-net', 'v-virsh', 'v-names', 'v-guests', 'v-drbd', 'v-storage', 'v-ha', 'v-backup', 'v-migtest'];

/** Pulls the probe sections out of the whole gatherFactsAndRun stdout. Pure; never throws. */
export function parseProbes(stdout: string): Probes {
  const { sections } = splitOutput(stdout);
  const commands: Record<string, ProbeCommand> = {};
  for (const name of SECTIONS) {
    const section: FactSection | undefined = sections.get(name);
    for (const cmd of section?.commands ?? []) commands[cmd.label] = toProbe(cmd);
  }
  return { commands };
}

function toProbe(cmd: CommandResult): ProbeCommand {
  return { stdout: cmd.stdout, stderr: cmd.stderr, exitCode: cmd.exitCode, problem: commandProblem(cmd, cmd.label) };
}
