/**
 * Backups made usable on every node (spec.backup; docs/design/backups.md, section 5), once the
 * backup-files step wrote the passphrase, the scripts and the units:
 * - /etc/hvcluster/backup.conf, what backup-node.sh reads: the repository, its settings, and the
 *   guests the node holds, as preflight placed them (plan.guests);
 * - the NFS export mounted through its automount, and the mount proven;
 * - the repository made once, by the first node, where the storage holds none (borg init);
 * - on every node, `borg info` proving that node opens it (the storage shared, the passphrase
 *   right, borg's state on the node), only where backup-state.sh says the node never did with this
 *   repository and passphrase file (or the passphrase file changes in this run);
 * - the timer enabled and started when spec.backup has a schedule, disabled and stopped when not.
 * A cluster step: the first node makes the repository before any other node opens it, then the
 * others go on in parallel. A second apply finds everything in place and changes nothing.
 *
 * Without spec.backup (removed from answers that had it), the step removes what the nodes would
 * otherwise keep running against a configuration no longer declared, from what backup-state.sh
 * --left and the files read say: the timer disabled and stopped; the repository's storage units
 * apply wrote (found by their header: they are named after a path the answers no longer give)
 * stopped and disabled, which unmounts the export; then the timer, the service, those units,
 * backup.conf and the two scripts removed, each kept first under the run's backup directory (as a
 * replaced file is), systemd reloaded and a failed unit's state cleared. Refused while the timer's
 * backup runs (it would be cut short, its storage still in use). Kept, said in a warning: the repository (never
 * touched), the passphrase file (the repository still exists, and a lost passphrase loses every
 * backup in it; `rm /etc/hvcluster/backup/passphrase` once it is no longer wanted), borg's state
 * (its security records of the repository, and the opened marker: spec.backup given back opens the
 * repository without a new proof) and its chunks cache (rebuilt otherwise, minutes on a large
 * repository; `rm -r /var/lib/hvcluster/borg /var/cache/hvcluster/borg` frees it). A node that
 * never had backups, or a second apply, changes nothing.
 */
import { borgInfo, borgInit } from '../../backup/borg-argv.js';
import { backupConfFile, backupConfModel } from '../../backup/conf.js';
import { BACKUP_CONF, BORG_BASE_DIR, BORG_CACHE_DIR, OPENED_MARKER, PASSPHRASE_FILE } from '../../backup/layout.js';
import { nfsMounted, unitInPlace, type BackupLeftovers, type BackupState, type UnitState } from '../../backup/state.js';
import { VERSION } from '../../paths.js';
import { BACKUP_SCRIPT, BACKUP_SERVICE, BACKUP_SERVICE_PATH, BACKUP_TIMER, BACKUP_TIMER_PATH, SNAPSHOT_SCRIPT, SYSTEMD_UNIT_DIR } from '../../plan/backup.js';
import type { BackupModel } from '../../plan/model.js';
import { TemplateEnvironment } from '../../render/environment.js';
import type { Change } from '../change.js';
import { fileWrite } from '../ensure-file.js';
import { GUESTS_DIR } from '../guest-state.js';
import { changeOf, readValue, StepRefusedError, type NodeInput, type StepInput, type StepKind, type StepPlan } from './step.js';

const templates = new TemplateEnvironment();

/** How long the export may take to mount once looked up (NFS's own first try, a slow NAS). */
export const MOUNT_WAIT_S = 60;
/** `borg info` may sync this node's chunks cache with what the others wrote: minutes on a large repository. */
const OPEN_TIMEOUT_MS = 30 * 60_000;

interface BackupStepPlan extends StepPlan {
  /** Each node's changes in the order they are made; the first node's come first and go first. */
  nodes: { server: string; changes: Change[] }[];
}

/** The storage where the repository lives is there: with nfs, the export mounted; without, the customer's path. Pure. */
function storageReady(backup: BackupModel, state: BackupState): boolean {
  return backup.nfs ? nfsMounted(state) : state.path === 'yes';
}

/** One node's changes (the first node also makes the repository), and what the step says of it. Pure. */
function planNode(input: StepInput, n: NodeInput, first: boolean, notes: NonNullable<StepPlan['notes']>): Change[] {
  const backup = n.node.model.backup;
  const read = readValue(input, n, 'backup');
  if (!backup) return read.declared ? [] : planLeftovers(input, n, read.left, notes);
  if (!read.declared) throw new Error('internal: the backup read was made without spec.backup');
  const server = n.node.name;
  const state = read.state;
  const files = readValue(input, n, 'files');
  const changes: Change[] = [];

  const conf = backupConfFile(backupConfModel({ answers: input.answers, guests: input.plan.guests ?? [], node: server, version: VERSION, guestsDir: GUESTS_DIR }), templates);
  const write = fileWrite(server, input.step.name, conf, files.get(BACKUP_CONF) ?? null, input.backupDir);
  if (write) changes.push(write);

  // The storage: an NFS export apply mounts, or a path the customer shares between the nodes.
  if (backup.nfs) {
    const automount = state.units.get(backup.nfs.automount);
    if (!unitInPlace(automount) || !nfsMounted(state)) {
      changes.push(
        changeOf(input, n, `mount ${backup.nfs.what} at ${backup.path} (${backup.nfs.automount} enabled and started, the NFS mount proven)`, [
          ...(unitInPlace(automount) ? [] : [{ argv: ['systemctl', 'enable', '--now', backup.nfs.automount] }]),
          { script: 'backup-init.sh', args: ['mount', backup.path, backup.nfs.mount, String(MOUNT_WAIT_S)], timeoutMs: (MOUNT_WAIT_S + 30) * 1000 },
        ]),
      );
    }
  } else if (state.path !== 'yes') {
    throw new StepRefusedError(
      server,
      input.step.name,
      state.path === 'timeout' ? `${backup.path}, the backup repository's storage, does not answer (a lookup took over 10 s)` : `${backup.path}, the backup repository's storage, does not exist on ${server}`,
      `Mount the storage every node shares at ${backup.path} on each node (or give spec.backup.repository.nfs, which apply mounts), then apply again.`,
    );
  }
  const ready = storageReady(backup, state);
  if (ready && state.repository === 'timeout') {
    throw new StepRefusedError(server, input.step.name, `the backup repository's storage at ${backup.path} does not answer (reading ${backup.repo}/config took over 10 s)`, 'Check the NFS server or the shared storage, then apply again.');
  }

  // The repository, once for the cluster, by the first node; the script leaves one it finds in place
  // (the storage of an export not mounted yet is known only once the step mounted it).
  const passfile = backup.passphrase !== undefined ? PASSPHRASE_FILE : '-';
  const init = first && !(ready && state.repository === 'yes');
  if (init) {
    changes.push(
      changeOf(input, n, `initialise the borg repository ${backup.repo} (${backup.encryption})${ready ? '' : ', unless the storage holds one already'}`, [
        { script: 'backup-init.sh', args: ['init', backup.path, backup.root, passfile, BORG_BASE_DIR, BORG_CACHE_DIR, '--', ...borgInit(backup.encryption)], timeoutMs: 300_000 },
      ]),
    );
  }

  // Every node proves it opens the repository: where it never did (or with another repository or
  // passphrase file), where the repository is made in this run, where the passphrase file changes.
  const plannedPass = n.node.files.find((f) => f.path === PASSPHRASE_FILE);
  const currentPass = files.get(PASSPHRASE_FILE) ?? null;
  const passphraseChanges = plannedPass !== undefined && currentPass !== plannedPass.content;
  if (passphraseChanges && currentPass !== null) {
    notes.push({ level: 'warn', text: `${server}: the backup passphrase file changes: borg info proves the new passphrase still opens the repository (a repository's passphrase itself is changed with borg key change-passphrase)` });
  }
  if (!state.opened || !ready || init || passphraseChanges) {
    changes.push(
      changeOf(input, n, `open the borg repository ${backup.repo} from ${server} (borg info: the shared storage, the passphrase, borg's state on the node)`, [
        { script: 'backup-init.sh', args: ['open', backup.root, passfile, BORG_BASE_DIR, BORG_CACHE_DIR, OPENED_MARKER, '--', ...borgInfo()], timeoutMs: OPEN_TIMEOUT_MS },
      ]),
    );
  }

  // The timer: as the schedule says (the files step wrote its unit only with a schedule).
  const timer = state.units.get(BACKUP_TIMER);
  if (backup.schedule !== undefined && !unitInPlace(timer)) {
    changes.push(changeOf(input, n, `enable and start ${BACKUP_TIMER} (${backup.schedule})`, [{ argv: ['systemctl', 'enable', '--now', BACKUP_TIMER] }]));
  } else if (backup.schedule === undefined && (timer?.enabled === 'enabled' || timer?.active === 'active')) {
    changes.push(changeOf(input, n, `disable and stop ${BACKUP_TIMER} (spec.backup has no schedule)`, [{ argv: ['systemctl', 'disable', '--now', BACKUP_TIMER] }]));
  }
  return changes;
}

/** A unit running or on its way (activating, reloading, deactivating...): stopping it is a change. */
const running = (unit: UnitState | undefined): boolean => unit !== undefined && !['inactive', 'failed', '-'].includes(unit.active);
/** A unit enabled as apply enables one (`systemctl enable`): disabling it is a change. */
const enabled = (unit: UnitState | undefined): boolean => unit?.enabled === 'enabled';

/** A file removed, kept first under the run's backup directory as a replaced one is (prepare-file.sh). */
const removal = (backupDir: string, path: string): Change['actions'] => [
  { script: 'prepare-file.sh', args: [backupDir, path] },
  { argv: ['rm', '-f', path] },
];

/** A node's changes without spec.backup: what earlier backups left removed, the repository and the passphrase kept (the module's comment). Pure. */
function planLeftovers(input: StepInput, n: NodeInput, left: BackupLeftovers, notes: NonNullable<StepPlan['notes']>): Change[] {
  const server = n.node.name;
  const files = readValue(input, n, 'files');
  const present = (path: string) => (files.get(path) ?? null) !== null;
  const timer = left.units.get(BACKUP_TIMER);
  const service = left.units.get(BACKUP_SERVICE);
  const changes: Change[] = [];

  if (running(service)) {
    throw new StepRefusedError(
      server,
      input.step.name,
      `spec.backup is gone, but a backup runs on ${server} now (${BACKUP_SERVICE} is ${service!.active}): removing the backups' units would cut it short`,
      `Wait until it ends (\`systemctl status ${BACKUP_SERVICE}\` on ${server}), then apply again.`,
    );
  }
  if (enabled(timer) || running(timer)) {
    changes.push(changeOf(input, n, `disable and stop ${BACKUP_TIMER} (spec.backup is gone: no more scheduled backups)`, [{ argv: ['systemctl', 'disable', '--now', BACKUP_TIMER] }]));
  }
  // The automount is enabled (WantedBy=remote-fs.target), the mount static: stopping both unmounts the export.
  const toDisable = left.mountUnits.filter((u) => enabled(left.units.get(u)));
  const toStop = left.mountUnits.filter((u) => running(left.units.get(u)));
  if (toDisable.length + toStop.length > 0) {
    changes.push(
      changeOf(input, n, `stop and disable ${[...new Set([...toDisable, ...toStop])].join(', ')} (the backup repository's storage unmounted; the repository on it is left as it is)`, [
        ...(toDisable.length > 0 ? [{ argv: ['systemctl', 'disable', ...toDisable] }] : []),
        ...(toStop.length > 0 ? [{ argv: ['systemctl', 'stop', ...toStop] }] : []),
      ]),
    );
  }
  const units = [...[BACKUP_TIMER_PATH, BACKUP_SERVICE_PATH].filter(present), ...left.mountUnits.map((u) => `${SYSTEMD_UNIT_DIR}/${u}`)];
  if (units.length > 0) {
    changes.push(
      changeOf(input, n, `remove ${units.map((p) => p.slice(SYSTEMD_UNIT_DIR.length + 1)).join(', ')} from ${SYSTEMD_UNIT_DIR} (old copies kept in ${input.backupDir}), then reload systemd`, [
        ...units.flatMap((path) => removal(input.backupDir, path)),
        { argv: ['systemctl', 'daemon-reload'] },
      ]),
    );
  }
  // A failed unit stays listed (`systemctl --failed`, a degraded system) after its file is gone.
  const failed = [BACKUP_TIMER, BACKUP_SERVICE, ...left.mountUnits].filter((u) => left.units.get(u)?.active === 'failed');
  if (failed.length > 0) changes.push(changeOf(input, n, `clear the failed state of ${failed.join(', ')} (systemctl reset-failed)`, [{ argv: ['systemctl', 'reset-failed', ...failed] }]));
  const others = [BACKUP_CONF, BACKUP_SCRIPT, SNAPSHOT_SCRIPT].filter(present);
  if (others.length > 0) {
    changes.push(changeOf(input, n, `remove ${others.join(', ')} (what the backups read and ran; old copies kept in ${input.backupDir})`, others.flatMap((path) => removal(input.backupDir, path))));
  }

  if (changes.length > 0) {
    const repo = /^repo (.+)$/m.exec(files.get(BACKUP_CONF) ?? '')?.[1];
    const kept = [...(present(PASSPHRASE_FILE) ? [`the passphrase file ${PASSPHRASE_FILE}`] : []), `borg's state (${BORG_BASE_DIR}, ${BORG_CACHE_DIR})`];
    notes.push({
      level: 'warn',
      text: `${server}: spec.backup is gone: its backups stop, the repository${repo !== undefined ? ` ${repo}` : ''} is left as it is, and so are ${kept.join(' and ')} (a lost passphrase loses every backup in it); once the repository is no longer wanted, remove them by hand: rm -rf ${[...(present(PASSPHRASE_FILE) ? [PASSPHRASE_FILE] : []), BORG_BASE_DIR, BORG_CACHE_DIR].join(' ')}`,
    });
  }
  return changes;
}

export const backupStep: StepKind<BackupStepPlan> = {
  scope: 'cluster',
  reads: ['files', 'backup'],
  plan(input) {
    const notes: NonNullable<StepPlan['notes']> = [];
    const nodes = input.nodes.map((n, i) => ({ server: n.node.name, changes: planNode(input, n, i === 0, notes) }));
    return { changes: nodes.flatMap((n) => n.changes), nodes, notes };
  },
  async perform(hosts, plan) {
    // The first node (its repository made) before the others open it; they then go on side by side,
    // and the step fails with the first failure once all of them stopped.
    const [first, ...rest] = plan.nodes;
    if (first) for (const change of first.changes) await hosts.get(first.server)!.perform(change);
    const results = await Promise.allSettled(
      rest.map(async (n) => {
        for (const change of n.changes) await hosts.get(n.server)!.perform(change);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  },
};
