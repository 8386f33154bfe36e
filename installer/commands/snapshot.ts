/**
 * The guests' snapshots (LVM snapshots of the volumes under their DRBD disks, installer/snapshots/):
 * - `snapshot create GUEST [NAME]`: on the node where the guest is Primary, its filesystems frozen
 *   through its guest agent when it answers (each agent call bounded, thawed whatever happens),
 *   crash-consistent without one; the result says which. `--ram`: the running guest saved with its
 *   RAM into a file beside the snapshot instead (`virsh save`), then restored from it whatever
 *   happened (installer/snapshots/ram.ts).
 * - `snapshot list [GUEST]`: every node's snapshots, how full, valid or not, with RAM or not, where
 *   the guest runs now, RAM files no snapshot claims (read-only, no lock); exit 1 when one is invalid.
 * - `snapshot rollback GUEST NAME --yes`: the guest stopped, each snapshot written back through the
 *   DRBD device (the peers receive every byte; checksums compared), the guest started again where it
 *   ran; a snapshot with RAM resumed from it on its node instead (`--no-ram`: a cold start).
 * - `snapshot remove GUEST NAME`: its LVs and RAM file (or a RAM file no snapshot claims).
 */
import { formatIssue } from '../answers/issues.js';
import { ChecksFailedError, EXIT, HvError, UsageError, type ExitCode } from '../errors.js';
import { parseReads, readDefinition, readScript } from '../engine/read-batch.js';
import { jsonDocument, jsonText } from '../json-output.js';
import { Reporter, type Streams } from '../output.js';
import { shellQuote } from '../ssh/quote.js';
import { describeConsistency, parseCreateOutput, parseWriteBack, thawWarning, type CreateOutcome } from '../snapshots/outcome.js';
import { formatSnapshotList, parseSnapshotSize, planSnapshotCreate, planSnapshotRemove, planSnapshotRollback, ramLeftovers, snapshotList, type SnapshotNodeRead } from '../snapshots/plan.js';
import { createArgs, createWithRam, removeArgs, resumeFromRam } from '../snapshots/ram.js';
import { stoppedByOperator, stoppedChange } from '../engine/guest-state.js';
import { stampTime } from '../snapshots/state.js';
import type { GuestSession } from '../guests/session.js';
import { connectEach, serversFromOptions, type ConnectionOptions } from './connect.js';
import { dayAfter, demoteAll, failed, overwriteDisks, startOverwritten, stopToOverwrite, type OverwrittenGuest } from './guest.js';
import { guestCibIds } from '../engine/ha/guest-cib.js';
import { resourceDevice } from '../engine/volumes.js';

export interface SnapshotCreateOptions extends ConnectionOptions {
  json?: boolean;
  /** `full` (default) or `N%` of each disk. */
  size?: string;
  /** Seconds each guest-agent call (freeze, thaw) may take; default 10. */
  freezeTimeout?: string;
  /** --no-freeze: commander sets freeze false. */
  freeze?: boolean;
  /** --ram: the guest saved with its RAM around the snapshot, then restored. */
  ram?: boolean;
}

/** Each agent call's bound by default: Windows' VSS gives up on a freeze after 10 s too. */
const DEFAULT_FREEZE_S = 10;

const snapshotReads = (session: GuestSession) => session.reads as ReadonlyMap<string, SnapshotNodeRead>;

export function runSnapshotCreate(guest: string, name: string | undefined, options: SnapshotCreateOptions, streams: Streams): Promise<ExitCode> {
  const freezeS = options.freeze === false ? 0 : options.freezeTimeout === undefined ? DEFAULT_FREEZE_S : Number(options.freezeTimeout);
  const check = () => {
    if (!Number.isInteger(freezeS) || freezeS < 0 || freezeS > 120) throw new UsageError(`--freeze-timeout ${options.freezeTimeout}: give whole seconds from 1 to 120`);
    parseSnapshotSize(options.size);
  };
  return dayAfter(
    'snapshot create',
    guest,
    options,
    streams,
    async (session, reporter) => {
      const plan = planSnapshotCreate(session.answers, snapshotReads(session), guest, { ...(name !== undefined ? { name } : {}), at: new Date(), size: parseSnapshotSize(options.size), ram: options.ram === true });
      const vg = session.answers.spec.storage.volumeGroup;
      const host = session.hosts.get(plan.node)!;
      const sized = `${plan.size.kind === 'full' ? 'full size' : `${plan.size.percent}% of each disk`}, ${Math.ceil(plan.needBytes / 2 ** 20)} MiB`;
      let outcome: CreateOutcome;
      if (plan.ram) {
        const description = `snapshot ${plan.name} of guest ${guest} with its RAM on ${plan.node}: the guest saved into ${plan.ram.file} (up to ${Math.ceil(plan.ram.needBytes / 2 ** 20)} MiB), ${plan.resources.join(', ')} snapshotted (${sized}), the guest restored from it`;
        outcome = await createWithRam(host, description, vg, plan);
      } else {
        const r = await host.mutate(`snapshot ${plan.name} of guest ${guest} on ${plan.node}: ${plan.resources.join(', ')} (${sized})`, { script: 'snapshot.sh', args: createArgs(vg, plan, freezeS) }, { timeoutMs: (2 * freezeS + 60) * 1000 + 300_000 });
        outcome = parseCreateOutput(r!.stdout);
      }
      reporter.info(`snapshot create: ${guest} ${plan.name} on ${plan.node}, ${describeConsistency(outcome, freezeS)}`);
      const warning = thawWarning(guest, outcome, plan.node);
      if (warning) reporter.warn(warning);
      return { guest, name: plan.name, node: plan.node, takenAt: stampTime(plan.stamp), consistency: outcome.consistency, freeze: outcome.freeze, thaw: outcome.thaw, disks: outcome.disks, ram: outcome.ram ? { file: outcome.ram.file, bytes: outcome.ram.bytes } : null };
    },
    { checkOptions: check, snapshots: true },
  );
}

export interface SnapshotListOptions extends ConnectionOptions {
  json?: boolean;
}

/** Read-only on every node, no cluster lock: a node that does not answer is named and the others listed. */
export async function runSnapshotList(guest: string | undefined, options: SnapshotListOptions, streams: Streams): Promise<ExitCode> {
  const reporter = new Reporter(streams);
  const tool = 'hvcluster snapshot list';
  try {
    if (options.file === undefined) throw new UsageError('snapshot list needs the answer file of the cluster', { hint: 'hvcluster snapshot list -f site.yaml' });
    const servers = await serversFromOptions(options, streams.env);
    const answers = servers.answers!.answers;
    for (const warning of servers.answers!.warnings) reporter.warn(formatIssue(warning));
    if (guest !== undefined && !answers.spec.guests.some((g) => g.name === guest)) throw new UsageError(`guest ${guest} is not declared in the answer file`);
    const results = await connectEach(servers.targets, options, streams, async (connection) => {
      const defs = (['guests', 'snapshots'] as const).map((n) => readDefinition(n, { answers, node: connection.target.name }));
      const r = await connection.exec(`sh -c ${shellQuote(readScript(defs))}`, { sudo: true, step: 'snapshot list', timeoutMs: 120_000, logAs: 'sh -c <read: guests, snapshots>' });
      return parseReads(r.stdout, defs);
    });
    const reads = new Map<string, { snapshots?: SnapshotNodeRead['snapshots']; guests?: SnapshotNodeRead['guests'] }>();
    const unread: string[] = [];
    for (const result of results) {
      const parsed = result.ok ? result.value : undefined;
      if (!parsed?.snapshots?.ok) {
        const why = !result.ok ? (result.error instanceof Error ? result.error.message : String(result.error)) : `snapshots: ${parsed?.snapshots && !parsed.snapshots.ok ? parsed.snapshots.reason : 'not read'}`;
        reporter.warn(`${result.server}: ${why}`);
        unread.push(result.server);
        continue;
      }
      reads.set(result.server, { snapshots: parsed.snapshots.value, ...(parsed.guests?.ok && parsed.guests.value.libvirt ? { guests: parsed.guests.value } : {}) });
    }
    const rows = snapshotList(reads, guest);
    const leftovers = ramLeftovers(reads, guest);
    const invalid = rows.some((r) => r.state === 'invalid');
    const code: ExitCode = invalid ? EXIT.checksFailed : unread.length > 0 ? EXIT.connection : EXIT.ok;
    if (options.json) streams.stdout.write(jsonText(jsonDocument(tool, code, { cluster: answers.metadata.name, snapshots: rows, ramLeftovers: leftovers, unread })));
    else streams.stdout.write(formatSnapshotList(rows, unread, leftovers));
    return code;
  } catch (error) {
    return failed(reporter, streams, tool, options.json, error);
  }
}

export interface SnapshotRollbackOptions extends ConnectionOptions {
  json?: boolean;
  yes?: boolean;
  /** --no-start: commander sets start false. */
  start?: boolean;
  /** --no-ram: commander sets ram false (a snapshot with RAM rolled back as one without: disks only, cold start). */
  ram?: boolean;
}

export function runSnapshotRollback(guest: string, name: string, options: SnapshotRollbackOptions, streams: Streams): Promise<ExitCode> {
  const check = () => {
    if (!options.yes) throw new UsageError(`snapshot rollback stops guest ${guest} and discards everything it wrote since snapshot ${name}: give --yes to confirm`, { hint: `hvcluster snapshot rollback ${guest} ${name} --yes -f site.yaml` });
  };
  return dayAfter(
    'snapshot rollback',
    `${guest} ${name}`,
    options,
    streams,
    async (session, reporter) => {
      const plan = planSnapshotRollback(session.answers, snapshotReads(session), guest, name, { ram: options.ram !== false, start: options.start !== false });
      const host = (n: string) => session.hosts.get(n)!;
      const resources = plan.disks.map((d) => d.resource);
      const overwritten: OverwrittenGuest = {
        guest,
        resources,
        node: plan.node,
        runningOn: plan.runningOn,
        host,
        ...(plan.ha ? { pacemaker: guestCibIds(guest, resources, session.answers.spec.nodes.map((n) => n.name), plan.holders) } : {}),
      };
      const command = `snapshot rollback of ${guest} to ${name}`;
      const then = plan.restore ? `; then resumed from its RAM on ${plan.node}` : '';
      reporter.info(`snapshot rollback: ${guest} to ${name} (on ${plan.node}; ${plan.runningOn ? `the guest runs on ${plan.runningOn}: ${plan.ha ? 'stopped through Pacemaker' : 'destroyed'} first` : 'the guest is stopped'}${then})`);
      await stopToOverwrite(overwritten, command, `rolled back to snapshot ${name}: what it wrote since is discarded`);
      const at = host(plan.node);
      const written: { resource: string; bytes: number; sha256: string }[] = [];
      try {
        await overwriteDisks(overwritten, `snapshot ${name}`, async () => {
          for (const disk of plan.disks) {
            const device = resourceDevice(session.reads.get(plan.node)!.volumes.resourceFiles, disk.resource);
            if (!device) throw new ChecksFailedError(`/etc/drbd.d/${disk.resource}.res on ${plan.node} names no device`);
            const r = await at.mutate(`write snapshot ${disk.lv} back through ${device} on ${plan.node} (${Math.round(disk.bytes / 2 ** 20)} MiB, replicated to ${plan.holders.filter((h) => h !== plan.node).join(', ')})`, {
              script: 'snapshot.sh',
              args: ['write-back', session.answers.spec.storage.volumeGroup, disk.lv, device, String(disk.bytes)],
            }, { timeoutMs: 3_600_000 });
            const sums = parseWriteBack(r!.stdout);
            if (sums.source !== sums.device) throw new ChecksFailedError(`${device} on ${plan.node} does not read back what snapshot ${disk.lv} holds (sha256 ${sums.device} instead of ${sums.source})`, { hint: 'run the rollback again; if it repeats, check the disk (`hvcluster verify`)' });
            written.push({ resource: disk.resource, bytes: disk.bytes, sha256: sums.source });
          }
        }, { keepPrimary: plan.restore });
      } catch (error) {
        throw error instanceof HvError && written.length < plan.disks.length
          ? new ChecksFailedError(`${error.message}\nguest ${guest} is stopped; its disks hold a partial rollback`, { hint: `run \`hvcluster snapshot rollback ${guest} ${name} --yes\` again` })
          : error;
      }
      let startedOn: string | null = null;
      if (plan.restore) {
        // Its disks stay Primary here (overwriteDisks' keepPrimary), where its RAM file is: the guest resumes on them (demoted if it does not).
        // Never under Pacemaker: planSnapshotRollback refuses a RAM resume for an HA guest.
        const memoryMiB = session.answers.spec.guests.find((g) => g.name === guest)!.memory;
        try {
          await resumeFromRam(at, guest, name, plan.ram!.file, memoryMiB);
        } catch (error) {
          await demoteAll(at, guest, resources, 'not resumed').catch(() => undefined);
          throw error;
        }
        startedOn = plan.node;
        // It runs again: apply may keep it running (as after `guest start`).
        const now = new Date().toISOString();
        for (const holder of plan.holders) if (stoppedByOperator(session.reads.get(holder)!.guests, guest)) await host(holder).perform(stoppedChange(holder, 'snapshot rollback', guest, false, now));
      } else if (plan.runningOn && options.start !== false) {
        startedOn = await startOverwritten(overwritten, command, plan.runningOn);
      }
      const ramNote = plan.ram === null || plan.restore ? '' : options.ram === false ? '; its RAM not used (--no-ram)' : `; its RAM state is kept in ${plan.ram.file} on ${plan.node} for a later rollback`;
      const how = plan.restore ? `, resumed from its RAM on ${startedOn} (the state it was in at the snapshot)` : startedOn ? `, running on ${startedOn}` : plan.runningOn ? ' (left stopped: --no-start)' : ' (it stays stopped)';
      reporter.info(`snapshot rollback: ${guest} is back at snapshot ${name} on every replica${how}${ramNote}`);
      return { guest, name, node: plan.node, disks: written, startedOn, ram: plan.ram ? { file: plan.ram.file, resumed: plan.restore } : null };
    },
    { checkOptions: check, snapshots: true },
  );
}

export interface SnapshotRemoveOptions extends ConnectionOptions {
  json?: boolean;
}

export function runSnapshotRemove(guest: string, name: string, options: SnapshotRemoveOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter(
    'snapshot remove',
    `${guest} ${name}`,
    options,
    streams,
    async (session, reporter) => {
      const plan = planSnapshotRemove(session.answers, snapshotReads(session), guest, name);
      const what = plan.leftover ? `the RAM file ${plan.ramFile} (of no snapshot)` : [...plan.lvs, ...(plan.ramFile ? [plan.ramFile] : [])].join(', ');
      await session.hosts.get(plan.node)!.mutate(`remove snapshot ${name} of guest ${guest} on ${plan.node}: ${what}`, { script: 'snapshot.sh', args: removeArgs(session.answers.spec.storage.volumeGroup, plan.lvs, plan.ramFile) });
      reporter.info(`snapshot remove: ${guest} ${name} removed from ${plan.node}${plan.leftover ? ' (its leftover RAM file)' : ''}`);
      return { guest, name, node: plan.node, removed: plan.lvs, ramFile: plan.ramFile };
    },
    { snapshots: true },
  );
}
