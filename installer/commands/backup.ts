/**
 * The guests' backups (installer/backup/, docs/design/backups.md), run by the scripts apply installs
 * on every node (installer/remote/backup-node.sh, snapshot.sh), the same ones the nodes' timer runs:
 * - `backup run [GUEST...]`: each guest backed up by the node where it is Primary (a stopped guest:
 *   a holder with UpToDate disks), one guest at a time; what each set read and stored is printed.
 *   No cluster lock (it may take hours); the repository's writer lock orders the nodes.
 * - `backup list`: the repository's complete sets per guest, and what failed runs left.
 * - `backup key-export [--paper] [--output FILE]`: the repository's key (kept inside it, protected by
 *   the passphrase), to keep apart from it: with the key and the passphrase a repository whose own
 *   copy of the key is damaged stays readable.
 * - `backup restore GUEST [--set SET] [--as NEW] [--to NODE] [--force] [--start]`: a set written into
 *   a declared guest's disks through DRBD on one of its nodes (installer/backup/restore.ts), each
 *   disk's sha256 checked against the set's meta; the guest left stopped (and marked) unless --start.
 *   A guest under Pacemaker is stopped through it (target-role Stopped), written where its disks stay
 *   Promoted, and started through it again with --start or when it ran (--force).
 * - `backup verify [GUEST...] [--on NODE] [--no-boot] [--verify-data]`: each guest's latest set
 *   restored into scratch volumes and booted without a network (installer/backup/verify.ts), then
 *   borg's check of the repository; exit 1 when anything failed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '../answers/issues.js';
import { backupStamp, archiveSets, setName } from '../backup/archives.js';
import { BACKUP_CONF } from '../backup/layout.js';
import { BACKUP_SCRIPT, SNAPSHOT_SCRIPT } from '../plan/backup.js';
import { parseGuestBackupOutput, planBackupRun, setFigures } from '../backup/run.js';
import { ChecksFailedError, EXIT, HvError, UsageError, type ExitCode } from '../errors.js';
import type { GuestSession } from '../guests/session.js';
import { jsonDocument, jsonText } from '../json-output.js';
import { Reporter, type Streams } from '../output.js';
import { REMOTE_DIR } from '../paths.js';
import { connectEach, serversFromOptions, type ConnectionOptions } from './connect.js';
import { dayAfter, failed, overwriteDisks, startOverwritten, stopToOverwrite, type OverwrittenGuest } from './guest.js';
import { guestCibIds } from '../engine/ha/guest-cib.js';
import { parseBackupMeta } from '../backup/meta.js';
import { parseRestoreDisk, planRestore, restoreDisks, splitMetaOutput } from '../backup/restore.js';
import { scratchDomain, scratchDomainXml, scratchLv, verifyFailed, verifyNode, type GuestVerification } from '../backup/verify.js';
import { coveredGuests } from '../backup/run.js';
import { waitFor } from '../engine/steps/step.js';
import { stoppedByOperator, stoppedChange } from '../engine/guest-state.js';

/** Every backup command reads the passphrase (and says which reference is missing): it works on the repository the passphrase encrypts. */
const BACKUP_SECRETS = { backupPassphrase: true } as const;

/** The node-side scripts apply installs, by their file in installer/remote/. */
const INSTALLED_SCRIPTS = { 'backup-node.sh': BACKUP_SCRIPT, 'snapshot.sh': SNAPSHOT_SCRIPT } as const;
const BACKUP_NODE = INSTALLED_SCRIPTS['backup-node.sh'];
/** backup-node.sh's exit code for "not this node's guest now" (it moved, or is migrating). */
const NOT_HERE = 75;
const MIB = 2 ** 20;

/** The installed scripts on `nodes` are this hvcluster's (the timer runs them too): else `apply` first. */
async function checkInstalled(session: GuestSession, nodes: readonly string[]): Promise<void> {
  const want = Object.fromEntries(Object.keys(INSTALLED_SCRIPTS).map((f) => [f, createHash('sha256').update(readFileSync(join(REMOTE_DIR, f))).digest('hex')]));
  for (const node of nodes) {
    const r = await session.hosts.get(node)!.read({ argv: ['sha256sum', ...Object.values(INSTALLED_SCRIPTS)] }, { allowFailure: true });
    const have = new Map(r.stdout.split('\n').flatMap((l) => (/^[0-9a-f]{64}\s/.test(l) ? [[l.split(/\s+/)[1]!, l.split(/\s+/)[0]!] as const] : [])));
    const stale = Object.entries(INSTALLED_SCRIPTS).filter(([f, path]) => have.get(path) !== want[f]);
    if (stale.length > 0) {
      throw new ChecksFailedError(`${node} ${have.size === 0 ? 'is not set up for backups' : `runs another version of ${stale.map(([f]) => f).join(' and ')}`}`, { hint: 'run `hvcluster apply`: it installs the backup scripts, the repository and the timer' });
    }
  }
}

export interface BackupRunOptions extends ConnectionOptions {
  json?: boolean;
}

export function runBackupRun(guests: string[], options: BackupRunOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter(
    'backup run',
    guests.join(' '),
    options,
    streams,
    async (session, reporter) => {
      const { backups, skipped } = planBackupRun(session.answers, session.reads, guests);
      for (const s of skipped) reporter.warn(`backup run: ${s.guest} is not backed up now: ${s.reason}`);
      await checkInstalled(session, [...new Set(backups.map((b) => b.node))]);
      const sets = [];
      const failed: string[] = [];
      for (const b of backups) {
        const stamp = backupStamp(new Date());
        const r = await session.hosts.get(b.node)!.mutate(
          `back up guest ${b.guest} from ${b.node}${b.stopped ? ' (stopped: its copy there)' : ''} into set ${setName(b.guest, stamp)}`,
          { argv: [BACKUP_NODE, 'guest', BACKUP_CONF, b.guest, stamp, ...(b.stopped ? ['--stopped'] : [])] },
          { allowFailure: true, timeoutMs: 24 * 3_600_000 },
        );
        if (!r) continue;
        if (r.exitCode === NOT_HERE) {
          skipped.push({ guest: b.guest, reason: r.stderr.trim() || `no longer Primary on ${b.node}` });
          reporter.warn(`backup run: ${b.guest} is not backed up now: ${r.stderr.trim()}`);
          continue;
        }
        if (r.exitCode !== 0) {
          failed.push(`${b.guest} (on ${b.node}): ${r.stderr.trim().split('\n').slice(-3).join(' / ') || `exit ${r.exitCode}`}`);
          reporter.error(`backup run: ${b.guest} failed on ${b.node}: ${r.stderr.trim()}`);
          continue;
        }
        const result = parseGuestBackupOutput(r.stdout);
        const f = setFigures(result);
        reporter.info(
          `backup run: ${b.guest}: set ${result.set} from ${b.node}, read ${(f.readBytes / MIB).toFixed(1)} MiB${f.seconds > 0 ? ` (${(f.readBytes / MIB / f.seconds).toFixed(1)} MiB/s)` : ''}, stored ${(f.storedBytes / MIB).toFixed(2)} MiB, ${result.consistency === 'agent' ? 'application-consistent' : result.consistency === 'stopped' ? 'guest stopped' : 'crash-consistent'}`,
        );
        sets.push({ guest: b.guest, node: b.node, set: result.set, consistency: result.consistency, readBytes: f.readBytes, storedBytes: f.storedBytes, seconds: f.seconds, archives: result.archives });
      }
      if (failed.length > 0) throw new ChecksFailedError(`backup run: ${failed.length} guest(s) failed: ${failed.join('; ')}`, { hint: 'the other guests were backed up; see the errors above, then run `hvcluster backup run GUEST` again' });
      return { sets, skipped };
    },
    { lock: false, secrets: BACKUP_SECRETS },
  );
}

/** The first node's answer among connectEach's results; else the first node's own error, or one saying no node could read the repository. */
function firstThatRead<T>(results: Awaited<ReturnType<typeof connectEach<T>>>): { server: string; value: T } {
  const ok = results.find((r) => r.ok);
  if (ok?.ok) return ok;
  const first = results[0];
  throw first && !first.ok && first.error instanceof HvError ? first.error : new ChecksFailedError('no node could read the backup repository', { hint: 'run `hvcluster apply`, and check the repository storage' });
}

export interface BackupListOptions extends ConnectionOptions {
  json?: boolean;
}

/** The repository as the first node that can open it sees it (read-only, no lock). */
export async function runBackupList(options: BackupListOptions, streams: Streams): Promise<ExitCode> {
  const reporter = new Reporter(streams);
  const tool = 'hvcluster backup list';
  try {
    if (options.file === undefined) throw new UsageError('backup list needs the answer file of the cluster', { hint: 'hvcluster backup list -f site.yaml' });
    const servers = await serversFromOptions(options, streams.env, BACKUP_SECRETS);
    const answers = servers.answers!.answers;
    for (const warning of servers.answers!.warnings) reporter.warn(formatIssue(warning));
    if (!answers.spec.backup) throw new UsageError('the answer file has no spec.backup');
    const results = await connectEach(servers.targets, options, streams, async (connection) => {
      const r = await connection.exec(`${BACKUP_NODE} list ${BACKUP_CONF}`, { sudo: true, step: 'backup list', timeoutMs: 300_000, allowFailure: true });
      if (r.exitCode !== 0) throw new ChecksFailedError(`${connection.target.name}: backup-node.sh list failed: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout) as { archives: { name: string; start?: string }[] };
    });
    const ok = firstThatRead(results);
    const sets = archiveSets(ok.value.archives.map((a) => a.name));
    const complete = sets.complete.map((s) => ({ guest: s.guest, set: s.name, takenAt: s.takenAt.toISOString(), disks: s.disks.length }));
    if (options.json) streams.stdout.write(jsonText(jsonDocument(tool, EXIT.ok, { cluster: answers.metadata.name, readOn: ok.server, sets: complete, incomplete: sets.incomplete, foreign: sets.foreign })));
    else {
      const out = complete.length === 0 ? ['no backups'] : ['GUEST  SET  TAKEN (UTC)  DISKS', ...complete.map((s) => `${s.guest}  ${s.set}  ${s.takenAt.replace('.000Z', 'Z')}  ${s.disks}`)];
      for (const i of sets.incomplete) out.push(`! ${i.name}: incomplete (a run that failed; the next run of ${i.guest} deletes it): ${i.archives.join(', ')}`);
      streams.stdout.write(`${out.join('\n')}\n`);
    }
    return EXIT.ok;
  } catch (error) {
    return failed(reporter, streams, tool, options.json, error);
  }
}

export interface BackupRestoreOptions extends ConnectionOptions {
  json?: boolean;
  /** GUEST.STAMP; default the latest complete set. */
  set?: string;
  as?: string;
  to?: string;
  force?: boolean;
  start?: boolean;
}

export function runBackupRestore(guest: string, options: BackupRestoreOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter('backup restore', guest, options, streams, async (session, reporter) => {
    const plan = planRestore(session.answers, session.reads, guest, options);
    await checkInstalled(session, [plan.node]);
    const host = (n: string) => session.hosts.get(n)!;
    const at = host(plan.node);
    const metaRead = await at.read({ argv: [BACKUP_SCRIPT, 'meta', BACKUP_CONF, guest, ...(options.set ? [options.set] : [])] }, { timeoutMs: 15 * 60_000 });
    const { set, json } = splitMetaOutput(metaRead.stdout);
    const meta = parseBackupMeta(json, `${set}.meta`);
    const disks = restoreDisks(plan, meta, session.reads.get(plan.node)!);
    const target: OverwrittenGuest = {
      guest: plan.target,
      resources: plan.resources,
      node: plan.node,
      runningOn: plan.runningOn,
      host,
      ...(plan.ha ? { pacemaker: guestCibIds(plan.target, plan.resources, session.answers.spec.nodes.map((n) => n.name), plan.holders) } : {}),
    };
    const command = `backup restore of ${plan.target} from ${set}`;
    reporter.info(`backup restore: set ${set} of ${guest} (taken ${meta.takenAt} on ${meta.node}, ${meta.consistency}) into guest ${plan.target} on ${plan.node}${plan.runningOn ? ` (it runs on ${plan.runningOn}: ${plan.ha ? 'stopped through Pacemaker' : 'destroyed'} first)` : ''}`);
    await stopToOverwrite(target, command, `--force: restored from ${set}`);
    const written: { resource: string; archive: string; bytes: number; sha256: string }[] = [];
    await overwriteDisks(target, `set ${set}`, async () => {
      for (const disk of disks) {
        const r = await at.mutate(`write ${disk.archive} into ${disk.device} (${disk.resource}) on ${plan.node} (${Math.round(disk.bytes / MIB)} MiB, replicated to ${plan.holders.filter((h) => h !== plan.node).join(', ')})`, {
          argv: [BACKUP_SCRIPT, 'restore-disk', BACKUP_CONF, disk.archive, disk.device, String(disk.bytes)],
        }, { timeoutMs: 24 * 3_600_000 });
        const sums = parseRestoreDisk(r!.stdout);
        if (sums.stream !== disk.sha256 || sums.device !== disk.sha256) {
          throw new ChecksFailedError(`${disk.archive} does not hold what its set's meta says (sha256 ${sums.stream} from borg, ${sums.device} read back from ${disk.device}, ${disk.sha256} in the meta)`, { hint: 'check the repository (`borg check`), or restore an older set (--set)' });
        }
        written.push({ resource: disk.resource, archive: disk.archive, bytes: disk.bytes, sha256: disk.sha256 });
      }
    });
    let startedOn: string | null = null;
    if (plan.start) startedOn = await startOverwritten(target, command, plan.node);
    else if (!plan.ha) {
      // Stopped and marked: apply does not start a restored copy (it may share the original's addresses) until `guest start`.
      // Under Pacemaker target-role Stopped is the record (stopToOverwrite set it), as after `guest stop`.
      const now = new Date().toISOString();
      for (const holder of plan.holders) if (!stoppedByOperator(session.reads.get(holder)!.guests, plan.target)) await host(holder).perform(stoppedChange(holder, 'backup restore', plan.target, true, now));
    }
    reporter.info(`backup restore: guest ${plan.target} holds set ${set} (every disk's sha256 checked)${startedOn ? `, running on ${startedOn}${plan.ha ? ' (started by Pacemaker)' : ''}` : `; it stays stopped${plan.ha ? ' (target-role Stopped)' : ''} until \`hvcluster guest start ${plan.target}\``}`);
    return { guest, target: plan.target, set, node: plan.node, takenAt: meta.takenAt, consistency: meta.consistency, disks: written, startedOn };
  }, { secrets: BACKUP_SECRETS });
}

export interface BackupVerifyOptions extends ConnectionOptions {
  json?: boolean;
  on?: string;
  /** --no-boot: commander sets boot false. */
  boot?: boolean;
  verifyData?: boolean;
}

/** How long a scratch guest has to boot until its agent answers (an emulated lab's nested guest included). */
const BOOT_WAIT_MS = 300_000;

export function runBackupVerify(guests: string[], options: BackupVerifyOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter(
    'backup verify',
    guests.join(' '),
    options,
    streams,
    async (session, reporter) => {
      const answers = session.answers;
      const covered = coveredGuests(answers, guests);
      const vg = answers.spec.storage.volumeGroup;
      const results: GuestVerification[] = [];
      const first = answers.spec.nodes[0]!.name;
      await checkInstalled(session, answers.spec.nodes.map((n) => n.name));
      for (const guest of guests.length > 0 ? guests : covered) {
        // The set's meta (any node opens the repository).
        const metaRead = await session.hosts.get(options.on ?? first)!.read({ argv: [BACKUP_SCRIPT, 'meta', BACKUP_CONF, guest] }, { timeoutMs: 15 * 60_000, allowFailure: true });
        if (metaRead.exitCode !== 0) {
          results.push({ guest, set: null, takenAt: null, ageHours: null, node: options.on ?? first, restore: 'failed', boot: 'skipped', error: metaRead.stderr.trim() || `exit ${metaRead.exitCode}` });
          reporter.error(`backup verify: ${guest}: no set could be read: ${metaRead.stderr.trim()}`);
          continue;
        }
        const { set, json } = splitMetaOutput(metaRead.stdout);
        const meta = parseBackupMeta(json, `${set}.meta`);
        const node = verifyNode(session.reads, meta.disks.map((d) => d.bytes), options.on);
        const host = session.hosts.get(node)!;
        const ageHours = (Date.now() - Date.parse(meta.takenAt)) / 3_600_000;
        const result: GuestVerification = { guest, set, takenAt: meta.takenAt, ageHours: Math.round(ageHours * 10) / 10, node, restore: 'failed', boot: 'skipped' };
        const lvs = meta.disks.map((_, i) => scratchLv(guest, i));
        const domain = scratchDomain(guest);
        try {
          for (const [i, disk] of meta.disks.entries()) {
            await host.mutate(`create scratch volume ${vg}/${lvs[i]} on ${node} (${Math.ceil(disk.bytes / MIB)} MiB, verifying ${disk.archive})`, { argv: ['lvcreate', '-qy', '-Wy', '--size', `${disk.bytes}b`, '--name', lvs[i]!, vg] });
            const r = await host.mutate(`restore ${disk.archive} into ${vg}/${lvs[i]} on ${node}`, { argv: [BACKUP_SCRIPT, 'restore-disk', BACKUP_CONF, disk.archive, `/dev/${vg}/${lvs[i]}`, String(disk.bytes)] }, { timeoutMs: 24 * 3_600_000, allowFailure: true });
            if (r!.exitCode !== 0) throw new ChecksFailedError(`${disk.archive} could not be restored: ${r!.stderr.trim()}`);
            const sums = parseRestoreDisk(r!.stdout);
            if (sums.stream !== disk.sha256 || sums.device !== disk.sha256) throw new ChecksFailedError(`${disk.archive} restores to other data than its set's meta says (sha256 ${sums.stream}, meta ${disk.sha256})`);
          }
          result.restore = 'ok';
          if (options.boot !== false) {
            const xml = scratchDomainXml(meta.domainXml, guest, lvs.map((lv) => `/dev/${vg}/${lv}`));
            const started = await host.mutate(`boot ${domain} on ${node} from the restored volumes, without a network`, { argv: ['virsh', 'create', '/dev/stdin'] }, { stdin: xml, allowFailure: true });
            if (started!.exitCode !== 0) {
              result.boot = 'failed';
              throw new ChecksFailedError(`${domain} did not start: ${started!.stderr.trim()}`);
            }
            const ping = `{"execute":"guest-ping"}`;
            const answered = await waitFor(`${domain}'s guest agent`, async () => ((await host.read({ argv: ['virsh', 'qemu-agent-command', domain, ping] }, { allowFailure: true })).exitCode === 0 ? true : undefined), { timeoutMs: BOOT_WAIT_MS, intervalMs: 3000 }).catch(() => false);
            result.boot = answered ? 'ok' : 'inconclusive';
          }
        } catch (error) {
          result.error = error instanceof Error ? error.message : String(error);
          reporter.error(`backup verify: ${guest}: ${result.error}`);
        } finally {
          await host.mutate(`remove ${domain} and its scratch volumes from ${node}`, { script: 'backup-verify-cleanup.sh', args: [vg, domain, ...lvs] }).catch((e) => reporter.warn(`backup verify: cleaning up on ${node}: ${e instanceof Error ? e.message : String(e)}`));
        }
        if (result.boot === 'inconclusive') reporter.warn(`backup verify: ${guest}: its guest agent did not answer within ${BOOT_WAIT_MS / 1000} s (no agent in the guest?): the restore is proven, the boot is not`);
        if (!result.error) reporter.info(`backup verify: ${guest}: set ${set} (taken ${meta.takenAt}, ${result.ageHours} h ago) restored on ${node} with its checksums${result.boot === 'ok' ? ', booted: its agent answered' : result.boot === 'skipped' ? '' : `, boot ${result.boot}`}`);
        results.push(result);
      }
      const check = await session.hosts.get(options.on ?? answers.spec.nodes[0]!.name)!.mutate('check the backup repository (borg check: segments, then archives)', { argv: [BACKUP_SCRIPT, 'check', BACKUP_CONF, ...(options.verifyData ? ['--verify-data'] : [])] }, { timeoutMs: 4 * 3_600_000, allowFailure: true });
      const repositoryOk = check!.exitCode === 0;
      if (!repositoryOk) reporter.error(`backup verify: the repository check failed: ${check!.stderr.trim().split('\n').slice(-5).join(' / ')}`);
      else reporter.info('backup verify: the repository check passed');
      if (verifyFailed(results, repositoryOk)) {
        throw new ChecksFailedError(`backup verify failed: ${[...results.filter((r) => r.error).map((r) => `${r.guest}: ${r.error}`), ...(repositoryOk ? [] : ['the repository check failed'])].join('; ')}`, { hint: 'restore from an older set (`backup list`, `backup restore --set`), and check the repository storage' });
      }
      return { guests: results, repository: { ok: repositoryOk } };
    },
    { lock: false, snapshots: true, secrets: BACKUP_SECRETS },
  );
}

export interface BackupKeyExportOptions extends ConnectionOptions {
  paper?: boolean;
  output?: string;
}

/**
 * The repository's key, as `borg key export` writes it, read through the first node that can open
 * the repository: on stdout, or into a new file (mode 600, never over an existing one). Never in the
 * run log: the key, with the passphrase, opens every backup.
 */
export async function runBackupKeyExport(options: BackupKeyExportOptions, streams: Streams): Promise<ExitCode> {
  const reporter = new Reporter(streams);
  const tool = 'hvcluster backup key-export';
  try {
    if (options.file === undefined) throw new UsageError('backup key-export needs the answer file of the cluster', { hint: 'hvcluster backup key-export -f site.yaml --output lab-two.borg-key' });
    if (options.output !== undefined && existsSync(options.output)) throw new UsageError(`${options.output} exists: the key is never written over a file`, { hint: 'give a new file name with --output, or remove the old file first' });
    const servers = await serversFromOptions(options, streams.env, BACKUP_SECRETS);
    const answers = servers.answers!.answers;
    for (const warning of servers.answers!.warnings) reporter.warn(formatIssue(warning));
    if (!answers.spec.backup) throw new UsageError('the answer file has no spec.backup');
    if (answers.spec.backup.encryption === 'none') throw new UsageError('the backup repository is not encrypted (spec.backup.encryption: none): it has no key to export');
    const results = await connectEach(servers.targets, options, streams, async (connection) => {
      const r = await connection.exec(`${BACKUP_NODE} key-export ${BACKUP_CONF}${options.paper ? ' --paper' : ''}`, { sudo: true, step: 'backup key-export', secretOutput: true, timeoutMs: 300_000, allowFailure: true });
      if (r.exitCode !== 0 || r.stdout.trim() === '') throw new ChecksFailedError(`${connection.target.name}: backup-node.sh key-export failed (exit ${r.exitCode}): ${r.stderr.trim()}`, { hint: 'run `hvcluster apply` (it sets up the repository on every node), and check the repository storage' });
      return r.stdout;
    });
    const ok = firstThatRead(results);
    if (options.output !== undefined) {
      writeFileSync(options.output, ok.value, { mode: 0o600, flag: 'wx' });
      reporter.info(`backup key-export: the key of ${answers.metadata.name}'s repository (read through ${ok.server}) written to ${options.output}; keep it away from the repository, and the passphrase apart from both`);
    } else streams.stdout.write(ok.value.endsWith('\n') ? ok.value : `${ok.value}\n`);
    return EXIT.ok;
  } catch (error) {
    return failed(reporter, streams, tool, false, error);
  }
}
