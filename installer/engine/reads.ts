/**
 * What the steps read of a server besides the inspection facts: the same `FactDefinition` (a
 * read-only sh fragment and its parser) as inspect and verify use, made for one node of an answer
 * file (the disk it names, its peers' addresses). The runner reads every step's facts for all steps
 * in one exec per server before the first step (engine/read-batch.ts), and again only what an
 * earlier change may have made stale.
 *
 * Remote scripts run here as shell functions of the batch (`name() ( script )`): the same files,
 * with their positional arguments, that shellcheck checks.
 */
import type { Answers } from '../answers/schema.js';
import { FactUnavailable, findCommand, requireStdout, type FactDefinition } from '../facts/fact.js';
import type { FactName } from '../facts/types.js';
import { ruleFilePaths } from '../plan/index.js';
import { OPENED_MARKER, PASSPHRASE_FILE, repositoryLayout } from '../backup/layout.js';
import { parseBackupLeftovers, parseBackupState, type BackupRead } from '../backup/state.js';
import { BACKUP_SERVICE, BACKUP_TIMER, backupMountUnits, INSTALLED_BACKUP_FILES, SYSTEMD_UNIT_DIR } from '../plan/backup.js';
import { parseFilesOutput } from '../plan/remote-files.js';
import { shellQuote } from '../ssh/quote.js';
import { scriptFunction } from './change.js';
import { parsePending } from './steps/network.js';
import { parsePathProbe, type PathStatus } from './steps/replication-path.js';
import { parseServiceStates, type ServiceState } from './steps/services.js';
import { parseClaimOutput, type ClaimOutput } from './steps/storage.js';
import { AUTHORIZED_KEYS, HOST_KEY, KNOWN_HOSTS, LEGACY_KEY, MIGRATE_KEY, parseNodeKeys, type NodeKeys } from './steps/trust.js';
import { parseVolumeState, probeNameCandidates, type VolumeState } from './volume-state.js';
import { parseSnapshotState, RAM_DIR, type SnapshotState } from '../snapshots/state.js';
import { GUESTS_DIR, parseGuestState, type GuestState } from './guest-state.js';
import { guestResourceNames } from '../plan/guest-model.js';
import { parseCibState, parseQdeviceState, parseQnetdState, parseSbdState, type CibState, type QdeviceState, type QnetdState, type SbdState } from './ha/state.js';
import { DEFAULT_WATCHDOG_DEVICE } from '../answers/schema.js';
import { SBD_DEFAULTS } from '../plan/ha.js';

/** The node of the answer file a read is made for. */
export interface ReadInput {
  answers: Answers;
  node: string;
}

/** What the steps read, by name. */
export interface StateValues {
  /** Every file the plan may write (and root's SSH trust files): path -> content, null when absent. */
  files: Map<string, string | null>;
  /** A network window an interrupted run left open on the server, or null. */
  netWindow: { run: string; deadline: number | null } | null;
  /** The replication path to every peer, with don't-fragment pings of the MTU. */
  pathProbe: { noPing: boolean; noAddress?: string; peers: PathStatus[] };
  /** The data disk, as disk-claim.sh probes it. */
  diskClaim: ClaimOutput;
  services: ServiceState[];
  nodeKeys: NodeKeys;
  /** The replication probe's volumes and every declared guest disk's. */
  volumes: VolumeState;
  /** The declared guests' domains, XML files and import records, the node's other domains, its CPU models. */
  guests: GuestState;
  /** The volume group's snapshots (snapshot.sh state): the guests' snapshots and the room for more, and the RAM files of those taken with it. */
  snapshots: SnapshotState;
  /** Pacemaker's configuration, when it runs (cib-state.sh). */
  cib: CibState;
  /** The node's corosync-qdevice certificates. */
  qdevice: QdeviceState;
  /** The witness's corosync-qnetd (read on the witness only). */
  qnetd: QnetdState;
  /** The node's watchdog device and sbd (spec.ha.watchdog). */
  sbd: SbdState;
  /**
   * With spec.backup, the node and the backup repository (backup-state.sh): the storage mounted, the
   * repository there and opened, the units. Without: the backup units earlier backups left (--left).
   */
  backup: BackupRead;
}
export type StateName = keyof StateValues;
export type ReadName = FactName | StateName;

/** The services a node may run; the services step picks those the plan asks for. */
export const NODE_SERVICES = ['libvirtd', 'chrony', 'corosync', 'corosync-qdevice', 'pacemaker', 'sbd', 'hvcluster-drbd-boot'] as const;

/** How long the CIB read waits for a cluster just started to elect its controller. */
export const CIB_SETTLE_SECONDS = 180;

/**
 * The paths the files read covers: every file the plan may write for these answers, root's SSH
 * trust files, and whatever the answers say, the backup files of fixed names: the backup step's
 * configuration (planned from the guests' placement, after the rules), the files it removes once
 * spec.backup is gone, the passphrase file it keeps then.
 */
export function readPaths(answers: Answers): string[] {
  return [...new Set([...ruleFilePaths(answers), AUTHORIZED_KEYS, KNOWN_HOSTS, ...INSTALLED_BACKUP_FILES, PASSPHRASE_FILE])];
}

const call = (label: string, fn: string, args: readonly string[]) => `hv_cmd ${label} ${fn} ${args.map(shellQuote).join(' ')}`;

function nodeOf(input: ReadInput) {
  const node = input.answers.spec.nodes.find((n) => n.name === input.node);
  if (!node) throw new Error(`no node ${input.node} in the answers`);
  return node;
}

const address = (cidr: string) => cidr.split('/')[0]!;

export const STATE_READS: { [K in StateName]: (input: ReadInput) => FactDefinition<StateValues[K]> } = {
  files: (input) => {
    const paths = readPaths(input.answers);
    return {
      name: 'files',
      script: `${scriptFunction('hv_files', 'read-files.sh')}\n${call('files', 'hv_files', paths)}`,
      parse: (section) => parseFilesOutput(requireStdout(section, 'files'), paths),
    };
  },
  netWindow: () => ({
    name: 'netWindow',
    script: 'if [ -e /var/lib/hvcluster/net-window/pending ]; then hv_cmd pending cat /var/lib/hvcluster/net-window/pending; fi',
    parse: (section) => {
      const cmd = findCommand(section, 'pending');
      return cmd && cmd.exitCode === 0 ? parsePending(cmd.stdout) : null;
    },
  }),
  pathProbe: (input) => {
    const own = nodeOf(input);
    const peers = input.answers.spec.nodes.filter((n) => n.name !== input.node).map((n) => address(n.replication.address));
    const args = [String(input.answers.spec.network.replicationMtu), address(own.replication.address), ...peers];
    return {
      name: 'pathProbe',
      script: `${scriptFunction('hv_path', 'replication-path.sh')}\n${call('path', 'hv_path', args)}`,
      parse: (section) => parsePathProbe(requireStdout(section, 'path')),
    };
  },
  diskClaim: (input) => {
    const node = nodeOf(input);
    return {
      name: 'diskClaim',
      script: `${scriptFunction('hv_claim', 'disk-claim.sh')}\n${call('claim', 'hv_claim', [node.storage.disk, input.answers.spec.storage.volumeGroup, 'probe'])}`,
      parse: (section) => {
        const out = parseClaimOutput(requireStdout(section, 'claim'));
        if (!out.fingerprint) throw new FactUnavailable('disk-claim.sh printed no fingerprint');
        return out;
      },
    };
  },
  services: () => ({
    name: 'services',
    script: `${scriptFunction('hv_services', 'service-state.sh')}\n${call('services', 'hv_services', NODE_SERVICES)}`,
    parse: (section) => parseServiceStates(requireStdout(section, 'services')),
  }),
  nodeKeys: () => ({
    name: 'nodeKeys',
    script: `${scriptFunction('hv_keys', 'node-keys.sh')}\n${call('keys', 'hv_keys', [MIGRATE_KEY, HOST_KEY, LEGACY_KEY])}`,
    parse: (section) => parseNodeKeys(requireStdout(section, 'keys')),
  }),
  cib: (input) => ({
    name: 'cib',
    script: `${scriptFunction('hv_cib', 'cib-state.sh')}\n${call('cib', 'hv_cib', [input.answers.metadata.name, String(CIB_SETTLE_SECONDS)])}`,
    parse: (section) => parseCibState(requireStdout(section, 'cib')),
  }),
  qdevice: () => ({
    name: 'qdevice',
    script: `${scriptFunction('hv_qdevice', 'qdevice-state.sh')}\n${call('qdevice', 'hv_qdevice', [])}`,
    parse: (section) => parseQdeviceState(requireStdout(section, 'qdevice')),
  }),
  sbd: (input) => ({
    name: 'sbd',
    script: `${scriptFunction('hv_sbd', 'sbd-state.sh')}\n${call('sbd', 'hv_sbd', [input.answers.spec.ha?.watchdog?.device ?? DEFAULT_WATCHDOG_DEVICE, SBD_DEFAULTS])}`,
    parse: (section) => parseSbdState(requireStdout(section, 'sbd')),
  }),
  qnetd: (input) => ({
    name: 'qnetd',
    script: `${scriptFunction('hv_qnetd', 'qnetd-state.sh')}\n${call('qnetd', 'hv_qnetd', [input.answers.metadata.name])}`,
    parse: (section) => parseQnetdState(requireStdout(section, 'qnetd')),
  }),
  volumes: (input) => ({
    name: 'volumes',
    script: `${scriptFunction('hv_volumes', 'volume-state.sh')}\n${call('volumes', 'hv_volumes', [input.answers.spec.storage.volumeGroup, ...probeNameCandidates(input.answers.spec.nodes.length), ...guestResourceNames(input.answers)])}`,
    parse: (section) => parseVolumeState(requireStdout(section, 'volumes')),
  }),
  snapshots: (input) => ({
    name: 'snapshots',
    script: `${scriptFunction('hv_snapshots', 'snapshot.sh')}\n${call('snapshots', 'hv_snapshots', ['state', input.answers.spec.storage.volumeGroup, RAM_DIR])}`,
    parse: (section) => parseSnapshotState(requireStdout(section, 'snapshots')),
  }),
  backup: (input) => {
    const backup = input.answers.spec.backup;
    if (!backup) {
      return {
        name: 'backup',
        script: `${scriptFunction('hv_backup', 'backup-state.sh')}\n${call('backup', 'hv_backup', ['--left', SYSTEMD_UNIT_DIR, BACKUP_TIMER, BACKUP_SERVICE])}`,
        parse: (section) => ({ declared: false, left: parseBackupLeftovers(requireStdout(section, 'backup')) }),
      };
    }
    const layout = repositoryLayout(input.answers.metadata.name, backup);
    const units = [...(backup.repository.nfs ? [backupMountUnits(backup.repository.path).automount] : []), BACKUP_TIMER];
    const args = [backup.repository.path, layout.root, backup.encryption === 'none' ? '-' : PASSPHRASE_FILE, OPENED_MARKER, ...units];
    return {
      name: 'backup',
      script: `${scriptFunction('hv_backup', 'backup-state.sh')}\n${call('backup', 'hv_backup', args)}`,
      parse: (section) => ({ declared: true, state: parseBackupState(requireStdout(section, 'backup')) }),
    };
  },
  guests: (input) => ({
    name: 'guests',
    script: `${scriptFunction('hv_guests', 'guest-state.sh')}\n${call('guests', 'hv_guests', [GUESTS_DIR, ...input.answers.spec.guests.map((g) => g.name)])}`,
    parse: (section) => parseGuestState(requireStdout(section, 'guests')),
  }),
};

export const STATE_NAMES = Object.keys(STATE_READS) as StateName[];
export const isStateName = (name: ReadName): name is StateName => (STATE_NAMES as string[]).includes(name);
