/**
 * Snapshots and backups (issue 18, docs/design/backups.md section 5): hvcluster's snapshots neither
 * overflowed nor close to it (SNAPSHOT_FILL), no temporary backup snapshot left by a run that died
 * (SNAPSHOT_LEFTOVER); with spec.backup, the repository's storage on each node (BACKUP_REPO), the
 * node's timer and its last run (BACKUP_TIMER, with a schedule) and the age of each guest's last
 * complete set (BACKUP_AGE). From the v-backup probes (probes.ts backupProbes). Pure.
 */
import { repositoryLayout, statusFile } from '../../backup/layout.js';
import { coveredGuests } from '../../backup/run.js';
import { backupAgeLimit, humanDuration, type AgeLimit } from '../../backup/schedule.js';
import { nfsMounted, parseBackupState, type BackupState } from '../../backup/state.js';
import type { BackupStatus } from '../../backup/status.js';
import { BACKUP_SERVICE, BACKUP_TIMER, backupMountUnits } from '../../plan/backup.js';
import { snapshotSets, type SnapshotSet } from '../../snapshots/plan.js';
import { parseSnapshotLvs, stampTime, type SnapshotLvState, type TaggedSnapshot } from '../../snapshots/state.js';
import { parseStatusLines, parseSystemdShow, type StatusRead } from '../parse-backup.js';
import { CLUSTER, type CheckResult, type ReachableNode, type VerifyInput } from '../types.js';
import { probe, reachable, result, verifyNowMs, why } from './common.js';

/** A snapshot this full (percent of its copy-on-write area) is warned about: it becomes invalid once full. */
export const SNAPSHOT_FILL_WARNING_PERCENT = 80;

/** How long each look at the repository's storage may take (backup-state.sh, backup-verify-state.sh). */
const STORAGE_LOOK_S = 10;

/** The node's LVs from the `snapshots` probe (one lvs of the volume group), or why they were not read. */
export function nodeSnapshots(node: ReachableNode): { state: SnapshotLvState } | { skipped: string } {
  const cmd = probe(node, 'snapshots');
  if (!cmd || cmd.exitCode !== 0) return { skipped: `the volume group's snapshots were not read: ${why(cmd, 'lvs')}` };
  try {
    return { state: parseSnapshotLvs(cmd.stdout.split('\n')) };
  } catch (error) {
    return { skipped: `could not parse lvs: ${(error as Error).message}` };
  }
}

const fileOf = (input: VerifyInput) => input.file ?? 'site.yaml';
const maxFill = (set: SnapshotSet) => Math.max(...set.disks.map((d) => d.fillPercent ?? 0));
const percent = (p: number) => `${p.toFixed(1)} %`;
const snapshotData = (s: TaggedSnapshot) => ({ guest: s.guest, name: s.name, lv: s.lv, origin: s.origin, sizeBytes: s.sizeBytes, fillPercent: s.fillPercent, invalid: s.invalid });

/** SNAPSHOT_FILL, per node: every hvcluster snapshot (tagged hvc_snapshot) there, one result summing them up. */
export function snapshotFillChecks(input: VerifyInput): CheckResult[] {
  const file = fileOf(input);
  return reachable(input).map((node) => {
    const read = nodeSnapshots(node);
    if ('skipped' in read) return result('SNAPSHOT_FILL', 'skipped', node.name, read.skipped);
    const sets = snapshotSets(new Map([[node.name, { snapshots: read.state }]]));
    const data = { snapshots: sets.flatMap((s) => s.disks.map(snapshotData)) };
    if (sets.length === 0) return result('SNAPSHOT_FILL', 'pass', node.name, 'no hvcluster snapshot', { data });
    const invalid = sets.filter((s) => s.disks.some((d) => d.invalid));
    const full = sets.filter((s) => !invalid.includes(s) && maxFill(s) >= SNAPSHOT_FILL_WARNING_PERCENT);
    const remove = (list: SnapshotSet[]) => list.map((s) => `\`hvcluster snapshot remove ${s.guest} ${s.name} -f ${file}\``).join(', ');
    const fullText = full.map((s) => {
      const fullest = s.disks.reduce((a, b) => ((b.fillPercent ?? 0) > (a.fillPercent ?? 0) ? b : a));
      return `snapshot ${s.name} of guest ${s.guest} is ${percent(maxFill(s))} full (${fullest.lv}): it becomes invalid once full`;
    });
    if (invalid.length > 0) {
      const text = invalid.map((s) => `snapshot ${s.name} of guest ${s.guest} is INVALID: ${s.disks.filter((d) => d.invalid).map((d) => d.lv).join(', ')} overflowed, its data is gone`);
      return result('SNAPSHOT_FILL', 'error', node.name, [...text, ...fullText].join('; '), {
        data,
        fix: `remove it (it can never be rolled back to): ${remove(invalid)}${full.length ? `; and once not needed: ${remove(full)}` : ''}. A snapshot made without --size is as large as its disk and cannot overflow`,
      });
    }
    if (full.length > 0) {
      return result('SNAPSHOT_FILL', 'warning', node.name, fullText.join('; '), {
        data,
        fix: `it fills as the guest writes and its data is gone once full: remove it once it is not needed (${remove(full)}); a snapshot made without --size cannot overflow`,
      });
    }
    const list = sets.map((s) => `${s.guest} ${s.name} ${s.disks.every((d) => d.fillPercent === null) ? '?' : percent(maxFill(s))}`).join(', ');
    return result('SNAPSHOT_FILL', 'pass', node.name, `${sets.length} snapshot(s), none invalid or ${SNAPSHOT_FILL_WARNING_PERCENT} % full: ${list}`, { data });
  });
}

/**
 * SNAPSHOT_LEFTOVER, per node: the temporary snapshots of backups (tagged hvc_backup, RES.bk.STAMP).
 * backup-node.sh removes its own whatever happens, so one that is left belongs to a run that died
 * there (killed, the node crashed). While a backup runs on the node (backup-node.sh), the snapshots
 * of its newest stamp are its own, in use: not counted.
 */
export function snapshotLeftoverChecks(input: VerifyInput): CheckResult[] {
  const vg = input.answers.spec.storage.volumeGroup;
  const file = fileOf(input);
  return reachable(input).map((node) => {
    const read = nodeSnapshots(node);
    if ('skipped' in read) return result('SNAPSHOT_LEFTOVER', 'skipped', node.name, read.skipped);
    const temporary = read.state.tagged.filter((t) => t.kind === 'backup');
    const running = probe(node, 'backup-running');
    const backupRunning = running?.exitCode === 0 ? true : running?.exitCode === 1 ? false : null;
    const newest = temporary.map((t) => t.stamp).sort().at(-1);
    const inUse = backupRunning ? temporary.filter((t) => t.stamp === newest) : [];
    const left = temporary.filter((t) => !inUse.includes(t));
    const data = { backupRunning, leftovers: left.map(snapshotData), inUse: inUse.map(snapshotData) };
    if (temporary.length === 0) return result('SNAPSHOT_LEFTOVER', 'pass', node.name, 'no temporary backup snapshot', { data });
    if (left.length === 0) {
      return result('SNAPSHOT_LEFTOVER', 'pass', node.name, `a backup runs on this node now: its temporary snapshot(s) ${inUse.map((t) => t.lv).join(', ')} are in use`, { data });
    }
    const groups = new Map<string, TaggedSnapshot[]>();
    for (const t of left) groups.set(`${t.guest}\0${t.stamp}`, [...(groups.get(`${t.guest}\0${t.stamp}`) ?? []), t]);
    const named = [...groups.values()].map((g) => `${g.map((t) => t.lv).join(', ')} (guest ${g[0]!.guest || '?'}, taken ${stampTime(g[0]!.stamp) ?? (g[0]!.stamp || '?')})`);
    const guests = [...new Set(left.map((t) => t.guest).filter(Boolean))];
    return result('SNAPSHOT_LEFTOVER', 'warning', node.name, `temporary backup snapshot(s) left by a backup that did not finish: ${named.join('; ')}${backupRunning ? `; a backup runs now (its own ${inUse.map((t) => t.lv).join(', ')} not counted)` : ''}`, {
      data,
      fix: `each one makes every write to its disk a copy, and fills: the next backup of ${guests.join(', ') || 'the guest'} made on ${node.name} removes them (\`hvcluster backup run ${guests.join(' ')} -f ${file}\` while it runs there), or remove them now on ${node.name}: \`lvremove ${left.map((t) => `${vg}/${t.lv}`).join(' ')}\``,
    });
  });
}

/** BACKUP_REPO, per node (only with spec.backup): the storage there, mounted, holding the repository. Read-only: borg is not run. */
export function backupRepoChecks(input: VerifyInput): CheckResult[] {
  const backup = input.answers.spec.backup;
  if (!backup) return [];
  const layout = repositoryLayout(input.answers.metadata.name, backup);
  const path = backup.repository.path;
  const nfs = backup.repository.nfs;
  const export_ = nfs ? `${nfs.server}:${nfs.export}` : null;
  return reachable(input).map((node) => {
    const cmd = probe(node, 'backup-repo');
    if (!cmd) return result('BACKUP_REPO', 'skipped', node.name, `the backup repository was not read: ${why(cmd, 'backup-state.sh')}`, { subject: path });
    const mountFix = nfs
      ? `check that ${nfs.server} is up and exports ${nfs.export} to ${node.name} (\`showmount -e ${nfs.server}\`), and the automount on ${node.name} (\`systemctl status ${backupMountUnits(path).automount}\`); \`hvcluster apply\` sets the mount up`
      : `mount the shared storage at ${path} on ${node.name} (the same storage on every node), then run \`hvcluster apply\``;
    if (cmd.exitCode === 124 || cmd.exitCode === 137) {
      return result('BACKUP_REPO', 'error', node.name, `${path}: the storage did not answer (the read timed out)${nfs ? `: is the NFS server ${nfs.server} up?` : ''}`, { subject: path, fix: mountFix });
    }
    let state: BackupState;
    try {
      state = parseBackupState(cmd.stdout);
    } catch (error) {
      return result('BACKUP_REPO', 'error', node.name, `${path}: could not read the repository's state: ${cmd.problem ?? (error as Error).message}`, { subject: path, fix: mountFix });
    }
    const data = { path, root: layout.root, nfs: export_, pathAnswer: state.path, mountTypes: state.mountTypes, repository: state.repository };
    const problems: string[] = [];
    if (state.path === 'timeout') problems.push(`${path} did not answer within ${STORAGE_LOOK_S} s${nfs ? ` (is the NFS server ${nfs.server} up?)` : ''}`);
    else if (state.path === 'no') problems.push(`${path} is not a directory${nfs ? ` (${export_} is not mounted there)` : ''}`);
    const mounted = nfs ? nfsMounted(state) : true;
    if (nfs && state.path === 'yes' && !mounted) problems.push(`no NFS filesystem is mounted at ${path} (${state.mountTypes.length ? `mounted: ${state.mountTypes.join(' ')}` : 'nothing is mounted there'})`);
    if (state.path === 'yes' && mounted) {
      if (state.repository === 'no') problems.push(`${layout.repo} is not a borg repository (no config file with a [repository] section)`);
      else if (state.repository === 'timeout') problems.push(`${layout.repo}/config did not answer within ${STORAGE_LOOK_S} s`);
    }
    if (problems.length > 0) {
      const repoOnly = state.path === 'yes' && mounted;
      return result('BACKUP_REPO', 'error', node.name, problems.join('; '), {
        subject: path,
        data,
        fix: repoOnly
          ? `\`hvcluster apply\` creates the repository (never over other files); if it exists, check that ${path} is the storage every node shares`
          : mountFix,
      });
    }
    return result('BACKUP_REPO', 'pass', node.name, `${path}: ${nfs ? `NFS ${export_} mounted (${state.mountTypes.join(' ')})` : 'a directory'}; borg repository ${layout.repo} present`, { subject: path, data });
  });
}

const unset = (v: string | undefined) => v === undefined || v === '' || v === 'n/a';

/** BACKUP_TIMER, per node (only with spec.backup.schedule): the timer enabled and active, the service's last run not failed. */
export function backupTimerChecks(input: VerifyInput): CheckResult[] {
  const backup = input.answers.spec.backup;
  if (backup?.schedule === undefined) return [];
  return reachable(input).map((node) => {
    const cmd = probe(node, 'backup-units');
    if (!cmd) return result('BACKUP_TIMER', 'skipped', node.name, `the backup timer was not read: ${why(cmd, 'systemctl show')}`, { subject: BACKUP_TIMER });
    if (cmd.exitCode !== 0) {
      return result('BACKUP_TIMER', 'warning', node.name, `could not read ${BACKUP_TIMER}: ${why(cmd, 'systemctl show')}`, { subject: BACKUP_TIMER, fix: `check \`systemctl status ${BACKUP_TIMER}\` on ${node.name}` });
    }
    const units = parseSystemdShow(cmd.stdout);
    const timer = units.get(BACKUP_TIMER);
    const service = units.get(BACKUP_SERVICE);
    const installed = timer !== undefined && timer.LoadState !== 'not-found';
    const lastResult = service?.Result ?? '';
    const lastEnded = unset(service?.ExecMainExitTimestamp) ? null : service!.ExecMainExitTimestamp!;
    const next = unset(timer?.NextElapseUSecRealtime) ? null : timer!.NextElapseUSecRealtime!;
    const data = {
      timer: { enabled: timer?.UnitFileState ?? null, active: timer?.ActiveState ?? null, nextRun: next },
      service: { result: lastResult || null, lastEnded, active: service?.ActiveState ?? null },
    };
    const timerProblems: string[] = [];
    if (!installed) timerProblems.push(`${BACKUP_TIMER} is not installed`);
    else {
      if (timer.UnitFileState !== 'enabled') timerProblems.push(`${BACKUP_TIMER} is ${timer.UnitFileState || 'not enabled'}`);
      if (timer.ActiveState !== 'active') timerProblems.push(`${BACKUP_TIMER} is ${timer.ActiveState || 'not active'}`);
    }
    const failed = lastResult !== '' && lastResult !== 'success' ? `the last run of ${BACKUP_SERVICE} failed (${lastResult}${lastEnded ? `, ended ${lastEnded}` : ''})` : null;
    if (timerProblems.length > 0 || failed) {
      const fixes = [
        ...(timerProblems.length > 0 ? [`run \`hvcluster apply\` (it enables and starts the timer), or \`systemctl enable --now ${BACKUP_TIMER}\` on ${node.name}`] : []),
        ...(failed ? [`read \`journalctl -u ${BACKUP_SERVICE}\` on ${node.name}, fix the cause, then \`systemctl start ${BACKUP_SERVICE}\` there (or wait for the timer)`] : []),
      ];
      return result('BACKUP_TIMER', 'warning', node.name, [...timerProblems, ...(failed ? [failed] : [])].join('; '), { subject: BACKUP_TIMER, data, fix: fixes.join('; ') });
    }
    const last = service?.ActiveState === 'activating' || service?.ActiveState === 'active' ? 'a run is in progress' : lastEnded ? `last run ended ${lastEnded}: ${lastResult || 'success'}` : 'no run yet';
    return result('BACKUP_TIMER', 'pass', node.name, `${BACKUP_TIMER} enabled and active${next ? `, next run ${next}` : ''}; ${last}`, { subject: BACKUP_TIMER, data });
  });
}

/** The limit in words: its length and where it comes from. */
function limitText(limit: AgeLimit, schedule: string | undefined): string {
  const length = humanDuration(limit.minutes * 60);
  if (limit.from === 'warnAfter') return `${length} (spec.backup.warnAfter)`;
  if (limit.from === 'schedule') return `${length} (schedule "${schedule}" runs at least every ${humanDuration(limit.gapMinutes! * 60)}, + ${humanDuration(limit.graceMinutes! * 60)} grace)`;
  return `${length} (assumed: the time between runs of schedule "${schedule}" could not be derived; set spec.backup.warnAfter to choose)`;
}

const readProblem = (r: StatusRead | undefined, fallback: string) =>
  r === undefined ? fallback : r.kind === 'timeout' ? `the storage did not answer within ${STORAGE_LOOK_S} s` : r.kind === 'error' ? r.reason : r.kind;

/**
 * BACKUP_AGE, per guest spec.backup covers (only with spec.backup): its last complete set, from its
 * status file as any node read it (they share the storage; the newest wins if they disagree), aged
 * against the verify run's clock (VerifyInput.now).
 */
export function backupAgeChecks(input: VerifyInput): CheckResult[] {
  const backup = input.answers.spec.backup;
  if (!backup) return [];
  const file = fileOf(input);
  const layout = repositoryLayout(input.answers.metadata.name, backup);
  const limit = backupAgeLimit(backup);
  const nowMs = verifyNowMs(input);
  const nodes = reachable(input);
  const servers = nodes.map((n) => n.name);
  const reads = nodes.map((n) => {
    const cmd = probe(n, 'backup-status');
    return { node: n.name, cmd, statuses: cmd ? parseStatusLines(cmd.stdout) : new Map<string, StatusRead>() };
  });
  const later = backup.schedule !== undefined ? ` (the timers back it up at their next run)` : '';
  return coveredGuests(input.answers, []).map((guest) => {
    const opts = { servers, subject: guest };
    if (nowMs === null || reads.every((r) => !r.cmd)) {
      const why_ = reads.map((r) => `${r.node}: ${why(r.cmd, 'backup-verify-state.sh')}`).join('; ');
      return result('BACKUP_AGE', 'skipped', CLUSTER, `${guest}: the status files were not read${why_ ? ` (${why_})` : ': no node reachable'}`, opts);
    }
    const seen = reads.map((r) => ({ node: r.node, read: r.statuses.get(guest), cmd: r.cmd }));
    const found = seen.flatMap((s) => (s.read?.kind === 'found' ? [s.read.status] : [])).sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt));
    const newest: BackupStatus | undefined = found[0];
    if (!newest) {
      if (!seen.some((s) => s.read?.kind === 'none')) {
        const problems = seen.map((s) => `${s.node}: ${readProblem(s.read, s.cmd ? (s.cmd.problem ?? 'no line for it') : why(s.cmd, 'backup-verify-state.sh'))}`).join('; ');
        return result('BACKUP_AGE', 'skipped', CLUSTER, `${guest}: its status file could not be read on any node (${problems}); see BACKUP_REPO`, opts);
      }
      return result('BACKUP_AGE', 'warning', CLUSTER, `${guest}: never backed up: no complete set (no ${statusFile(layout, guest)})`, {
        ...opts,
        data: { guest, set: null, node: null, finishedAt: null, ageSeconds: null, readBytes: null, storedBytes: null, warnAfterSeconds: limit ? limit.minutes * 60 : null, warnAfterFrom: limit?.from ?? null },
        fix: `back it up now: \`hvcluster backup run ${guest} -f ${file}\`${later}`,
      });
    }
    const ageSeconds = Math.max(0, Math.round((nowMs - Date.parse(newest.finishedAt)) / 1000));
    const when = `last complete set ${newest.set} by ${newest.node} at ${newest.finishedAt}, ${humanDuration(ageSeconds)} ago`;
    const data = {
      guest,
      set: newest.set,
      node: newest.node,
      finishedAt: newest.finishedAt,
      ageSeconds,
      readBytes: Number.isFinite(newest.readBytes) ? newest.readBytes : null,
      storedBytes: Number.isFinite(newest.storedBytes) ? newest.storedBytes : null,
      warnAfterSeconds: limit ? limit.minutes * 60 : null,
      warnAfterFrom: limit?.from ?? null,
    };
    if (!limit) return result('BACKUP_AGE', 'pass', CLUSTER, `${guest}: ${when} (no schedule: nothing to be late against)`, { ...opts, data });
    if (ageSeconds > limit.minutes * 60) {
      return result('BACKUP_AGE', 'warning', CLUSTER, `${guest}: ${when}: older than ${limitText(limit, backup.schedule)}`, {
        ...opts,
        data,
        fix: `${backup.schedule !== undefined ? `the timer's runs made no set of ${guest} since: see BACKUP_TIMER and \`journalctl -u ${BACKUP_SERVICE}\` on the node ${guest} runs on; ` : ''}back it up now: \`hvcluster backup run ${guest} -f ${file}\``,
      });
    }
    return result('BACKUP_AGE', 'pass', CLUSTER, `${guest}: ${when} (a warning past ${limitText(limit, backup.schedule)})`, { ...opts, data });
  });
}
