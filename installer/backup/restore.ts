/**
 * `hvcluster backup restore GUEST [--as NEW] [--to NODE]`: a backup set written into a declared
 * guest's disks. The target (GUEST itself, or NEW) is declared in the answer file and made by apply
 * like any guest (its volumes and definition: `autostart: false` keeps a clone from starting on its
 * empty disks, under Pacemaker too: target-role Stopped); restore writes each disk
 * of the set through the target's DRBD device on one of its nodes (under Pacemaker, the node where
 * it keeps them Promoted), so every replica receives it. Decided from the nodes' reads and the set's
 * meta. Pure.
 */
import type { Answers } from '../answers/schema.js';
import { ChecksFailedError, UsageError } from '../errors.js';
import { declaredGuest, promotedNode, type NodeRead } from '../guests/moves.js';
import { resourceDevice } from '../engine/volumes.js';
import type { BackupMeta } from './meta.js';
import { backedUpGuests } from './run.js';

export interface RestorePlan {
  /** The guest the set is of. */
  source: string;
  /** The guest restored into (the source itself, or --as). */
  target: string;
  /** Where the data is written: the target's disks promoted there by hvcluster, or under Pacemaker where it keeps them Promoted. */
  node: string;
  /** Where the target runs now (only with --force: destroyed first; under Pacemaker, stopped through it). */
  runningOn: string | null;
  holders: string[];
  resources: string[];
  /** Under Pacemaker: stopped and started through it (target-role); its disks stay Promoted on `node`. */
  ha: boolean;
  /**
   * Started once written: with --start, or under Pacemaker a guest restored into itself that ran
   * (--force); a copy (--as) stays stopped until asked (it may share the original's addresses).
   */
  start: boolean;
}

const own = (pair: string | null | undefined) => (pair ? pair.split('/')[0]! : null);

/**
 * Refused before any change: a source spec.backup does not cover, a target not declared or not made
 * yet (declare it, apply), running (without --force), a disk not Connected and UpToDate on every
 * holder (the data is written through DRBD), or Primary where the target does not run. Under
 * Pacemaker the data is written where it keeps the target's disks Promoted (where it runs or ran,
 * guests/moves.ts promotedNode): a --to naming another node is refused (`guest migrate` it there
 * first), and a guest restored into itself that ran is started again through Pacemaker (a copy
 * stays stopped: it may share the original's addresses).
 */
export function planRestore(answers: Answers, reads: ReadonlyMap<string, NodeRead>, source: string, options: { as?: string; to?: string; force?: boolean; start?: boolean }): RestorePlan {
  if (!answers.spec.backup) throw new UsageError('the answer file has no spec.backup: there is no repository to restore from');
  if (!backedUpGuests(answers).includes(source) && !answers.spec.guests.some((g) => g.name === source)) throw new UsageError(`guest ${source} is not declared: name the guest the backup is of`);
  const target = options.as ?? source;
  if (!answers.spec.guests.some((g) => g.name === target && g.state === 'present')) {
    throw new UsageError(`guest ${target} is not declared in the answer file: restore writes into a declared guest`, {
      hint: `declare ${target} in spec.guests with as many disks as ${source}, each at least as large (\`autostart: false\` keeps it from starting on empty disks), run \`hvcluster apply\`, then restore`,
    });
  }
  const d = declaredGuest(answers, reads, target);
  const runningOn = d.running[0] ?? null;
  if (runningOn && !options.force) {
    throw new ChecksFailedError(`guest ${target} runs on ${runningOn}: restoring would overwrite the disks it uses`, {
      hint: `stop it first (\`hvcluster guest stop ${target}\`), or --force to ${d.ha ? `stop it through Pacemaker (destroyed at once), write over it and ${target === source ? 'start it again' : 'leave it stopped (--start starts it)'}` : 'destroy it and write over it'}`,
    });
  }
  if (options.to !== undefined && !d.holders.includes(options.to)) throw new UsageError(`${options.to} does not hold guest ${target}'s disks (they are on ${d.holders.join(' and ')})`);
  const node = d.ha ? promotedNode(reads, target, d) : options.to ?? d.preferred;
  if (d.ha && options.to !== undefined && options.to !== node) {
    const to = options.to;
    throw new UsageError(`guest ${target} is under Pacemaker, which keeps its disks Promoted on ${node}: a restore writes them there, not on ${to} (hvcluster does not move a disk Pacemaker manages)`, {
      hint: runningOn
        ? `move it first (\`hvcluster guest migrate ${target} --to ${to}\`), then restore; or restore on ${node} without --to`
        : `move it first (\`hvcluster guest start ${target}\`, \`hvcluster guest migrate ${target} --to ${to}\`, \`hvcluster guest stop ${target}\`: its disks stay Promoted on ${to}), then restore; or restore on ${node} without --to`,
    });
  }
  if (!d.holders.includes(node)) throw new UsageError(`${node} does not hold guest ${target}'s disks (they are on ${d.holders.join(' and ')})`);
  for (const resource of d.resources) {
    for (const holder of d.holders) {
      const state = reads.get(holder)!.volumes.byName.get(resource)?.state;
      if (state?.cstate !== 'Connected' || state.dstate !== 'UpToDate/UpToDate') {
        throw new ChecksFailedError(`${resource} is ${state?.cstate ?? 'down'} and ${state?.dstate ?? 'unknown'} on ${holder}: a restore writes through DRBD, every copy must be Connected and UpToDate`, { hint: 'wait for the resync to finish (`hvcluster guest list`)' });
      }
      // Under Pacemaker its disks stay Promoted on `node` (promotedNode refused a second Primary).
      if (!d.ha && holder !== runningOn && own(state.role) === 'Primary') throw new ChecksFailedError(`${resource} is Primary on ${holder} though guest ${target} does not run there`, { hint: `demote it there (drbdadm secondary ${resource}) if nothing uses it` });
    }
  }
  return { source, target, node, runningOn, holders: d.holders, resources: d.resources, ha: d.ha, start: options.start === true || (d.ha && runningOn !== null && target === source) };
}

/** The set's disks against the target's: as many (in order), the device of each on the restoring node. Pure. */
export function restoreDisks(plan: RestorePlan, meta: BackupMeta, read: NodeRead): { resource: string; device: string; archive: string; bytes: number; sha256: string }[] {
  if (meta.guest !== plan.source) throw new ChecksFailedError(`the set's meta is of guest ${meta.guest}, not ${plan.source}`);
  if (meta.disks.length !== plan.resources.length) {
    throw new ChecksFailedError(`the backup of ${plan.source} has ${meta.disks.length} disk(s), guest ${plan.target} ${plan.resources.length}`, { hint: `declare ${plan.target} with ${meta.disks.length} disk(s) (sizes at least ${meta.disks.map((m) => `${Math.ceil(m.bytes / 2 ** 20)} MiB`).join(', ')}) and apply` });
  }
  return plan.resources.map((resource, i) => {
    const device = resourceDevice(read.volumes.resourceFiles, resource);
    if (!device) throw new ChecksFailedError(`/etc/drbd.d/${resource}.res on ${plan.node} names no device`, { hint: 'run `hvcluster apply`' });
    const disk = meta.disks[i]!;
    return { resource, device, archive: disk.archive, bytes: disk.bytes, sha256: disk.sha256 };
  });
}

/** `backup-node.sh meta`'s output: the set's name and its meta.json text. */
export function splitMetaOutput(stdout: string): { set: string; json: string } {
  const m = /^@set (\S+)\n([\s\S]*)$/.exec(stdout);
  if (!m) throw new ChecksFailedError(`backup-node.sh meta printed no set: ${stdout.trim().slice(0, 200)}`);
  return { set: m[1]!, json: m[2]! };
}

/** `restore-disk`'s `stream SHA` and `device SHA`. */
export function parseRestoreDisk(stdout: string): { stream: string; device: string } {
  const get = (key: string) => new RegExp(`^${key} ([0-9a-f]{64})$`, 'm').exec(stdout)?.[1];
  const stream = get('stream');
  const device = get('device');
  if (!stream || !device) throw new ChecksFailedError(`backup-node.sh restore-disk printed no checksums: ${stdout.trim().slice(0, 200)}`);
  return { stream, device };
}
