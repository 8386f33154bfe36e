/**
 * Where a guest can go, decided from what was read of the nodes (the volumes and guests reads): the
 * node it runs on, the other nodes holding its disks, its DRBD resources as their files describe
 * them (the window rewrites them with two primaries allowed, then forbidden). What `guest migrate`
 * and `node drain` refuse is said here, before anything changes. Pure.
 */
import type { Answers } from '../answers/schema.js';
import { ChecksFailedError, UsageError } from '../errors.js';
import { domainOf, type GuestState } from '../engine/guest-state.js';
import type { VolumeState } from '../engine/volume-state.js';
import type { SnapshotState } from '../snapshots/state.js';
import { parseResourceFiles, resourceFile } from '../engine/volumes.js';
import { diskResource } from '../plan/guest-model.js';
import type { DrbdMajor, DrbdResourceModel } from '../plan/model.js';
import { replicationName } from '../plan/render-model.js';

export interface NodeRead {
  guests: GuestState;
  volumes: VolumeState;
  /** Read only by the snapshot commands. */
  snapshots?: SnapshotState;
}

export interface GuestMove {
  guest: string;
  from: string;
  to: string;
  /** The target's replication name (virsh migrate's peer). */
  peer: string;
  /** The nodes holding its disks (the window's holders). */
  holders: string[];
  resources: DrbdResourceModel[];
}

/** The model of an existing resource, rebuilt from its file and the answers; it must render back to the same file. */
function resourceModel(answers: Answers, name: string, holders: string[], text: string): DrbdResourceModel {
  const parsed = parseResourceFiles(text).byName.get(name);
  const major = /DRBD (8\.4|9) resource/.exec(text)?.[1] as DrbdMajor | undefined;
  if (!parsed || !major) throw new ChecksFailedError(`/etc/drbd.d/${name}.res is not a resource file hvcluster wrote`, { hint: 'run `hvcluster apply` to write it again' });
  const model: DrbdResourceModel = {
    name,
    major,
    minor: parsed.minor,
    port: parsed.port,
    device: `/dev/drbd${parsed.minor}`,
    disk: `/dev/${answers.spec.storage.volumeGroup}/${name}`,
    hosts: answers.spec.nodes.flatMap((n, nodeId) => (holders.includes(n.name) ? [{ name: n.name, nodeId, address: n.replication.address.split('/')[0]! }] : [])),
    allowTwoPrimaries: false,
  };
  if (resourceFile(model).content !== text) {
    throw new ChecksFailedError(`/etc/drbd.d/${name}.res differs from what hvcluster writes for it (edited by hand, or a migration's window left open)`, { hint: 'run `hvcluster apply` first: it writes it again' });
  }
  return model;
}

/**
 * The move of a declared guest from the node it runs on to `to` (default: its other holder; on
 * three nodes with DRBD 8.4, the other node of its pair). Refused: a guest not declared or not
 * running, running on two nodes, a target that does not hold its disks or is the node it runs on,
 * a disk not Connected and UpToDate on both (a migration needs the target's copy current).
 */
export function planMove(answers: Answers, reads: ReadonlyMap<string, NodeRead>, guest: string, to?: string): GuestMove {
  const declared = answers.spec.guests.find((g) => g.name === guest);
  if (!declared) throw new UsageError(`guest ${guest} is not declared in the answer file`, { hint: `declared: ${answers.spec.guests.map((g) => g.name).join(', ') || 'none'}` });
  const resources = declared.disks.map((_, i) => diskResource(guest, i));
  const holders = [...reads].filter(([, r]) => r.volumes.byName.get(resources[0]!)?.lvPresent).map(([n]) => n);
  const running = [...reads].filter(([, r]) => domainOf(r.guests, guest).state === 'running').map(([n]) => n);
  if (running.length === 0) throw new ChecksFailedError(`guest ${guest} does not run anywhere: there is nothing to live-migrate`, { hint: `start it on the node you want (virsh start ${guest} there, its disks promoted first), or apply` });
  if (running.length > 1) throw new ChecksFailedError(`guest ${guest} runs on ${running.join(' and ')} at once`, { hint: 'stop it on the node whose copy is not current, then check its disks with `hvcluster verify`' });
  const from = running[0]!;
  const others = holders.filter((n) => n !== from);
  const target = to ?? others[0];
  if (target === undefined) throw new ChecksFailedError(`guest ${guest}'s disks are on ${from} only: there is no other node to move it to`);
  if (target === from) throw new UsageError(`guest ${guest} already runs on ${from}`);
  if (!holders.includes(target)) {
    throw new UsageError(`${target} does not hold guest ${guest}'s disks (they are on ${holders.join(' and ')}): a guest can only move where its disks are`, { hint: `hvcluster guest migrate ${guest} --to ${others.join('|')}` });
  }
  const models = resources.map((name) => {
    for (const node of [from, target]) {
      const v = reads.get(node)!.volumes.byName.get(name);
      if (v?.state.cstate !== 'Connected' || !/^UpToDate\/UpToDate$/.test(v.state.dstate ?? '')) {
        throw new ChecksFailedError(`${name} is ${v?.state.cstate ?? 'down'} and ${v?.state.dstate ?? 'unknown'} on ${node}: a live migration needs both copies Connected and UpToDate`, {
          hint: 'wait for the resync to finish (`hvcluster guest list`), or reconnect the resource',
        });
      }
    }
    const text = reads.get(from)!.volumes.resourceFiles.get(`${name}.res`) ?? '';
    return resourceModel(answers, name, holders, text);
  });
  const node = answers.spec.nodes.find((n) => n.name === target)!;
  return { guest, from, to: target, peer: replicationName(node), holders, resources: models };
}

/** The moves that empty `node`: every declared guest running there, to its other holder (answer-file order). */
export function planDrain(answers: Answers, reads: ReadonlyMap<string, NodeRead>, node: string): GuestMove[] {
  if (!answers.spec.nodes.some((n) => n.name === node)) throw new UsageError(`${node} is not a node of the cluster (${answers.spec.nodes.map((n) => n.name).join(', ')})`);
  const on = reads.get(node);
  if (!on) throw new ChecksFailedError(`${node} could not be read`);
  return answers.spec.guests.filter((g) => domainOf(on.guests, g.name).state === 'running').map((g) => planMove(answers, reads, g.name));
}

/** A guest to start: where (null under Pacemaker, which decides), its disks, or that it already runs. */
export interface GuestStart {
  guest: string;
  /** Where hvcluster starts it (its disks promoted there first); null for a guest under Pacemaker. */
  node: string | null;
  /** Where it already runs, when it does (nothing to do). */
  runningOn: string | null;
  resources: string[];
  holders: string[];
  ha: boolean;
}

/** A guest to stop: where it runs (null: it runs nowhere already), its disks and holders. */
export interface GuestStop {
  guest: string;
  runningOn: string | null;
  resources: string[];
  holders: string[];
  ha: boolean;
}

/** A declared guest as the nodes see it: its disks' resources, the nodes holding them, where it runs, whether Pacemaker owns it. */
export interface Declared {
  resources: string[];
  holders: string[];
  running: string[];
  ha: boolean;
  preferred: string;
}

/** Refused: a guest not declared, with no disks yet, or running on two nodes. Pure. */
export function declaredGuest(answers: Answers, reads: ReadonlyMap<string, NodeRead>, guest: string): Declared {
  const declared = answers.spec.guests.find((g) => g.name === guest);
  if (!declared) throw new UsageError(`guest ${guest} is not declared in the answer file`, { hint: `declared: ${answers.spec.guests.map((g) => g.name).join(', ') || 'none'}` });
  const resources = declared.disks.map((_, i) => diskResource(guest, i));
  const holders = [...reads].filter(([, r]) => r.volumes.byName.get(resources[0]!)?.lvPresent).map(([n]) => n);
  if (holders.length === 0) throw new ChecksFailedError(`guest ${guest} has no disks on any node yet`, { hint: 'run `hvcluster apply`: it creates the declared guests' });
  const running = [...reads].filter(([, r]) => ['running', 'paused'].includes(domainOf(r.guests, guest).state)).map(([n]) => n);
  if (running.length > 1) throw new ChecksFailedError(`guest ${guest} runs on ${running.join(' and ')} at once`, { hint: 'stop it on the node whose copy is not current, then check its disks with `hvcluster verify`' });
  const ha = answers.spec.ha?.enabled === true && (declared.ha ?? true);
  const preferred = declared.preferredNode ?? holders[0]!;
  return { resources, holders, running, ha, preferred };
}

/**
 * The node where Pacemaker keeps a guest's disks Promoted, the one node its disks can be written on
 * (hvcluster never promotes or demotes a disk Pacemaker manages): where the guest runs, else where
 * every disk of it is Primary (Pacemaker leaves them Promoted where the guest ran when it stops it).
 * Refused: a disk Primary on two nodes (a live migration's window), or no node where every disk of it
 * is Primary (a disk Promoted nowhere, or its disks Promoted on different nodes). Pure.
 */
export function promotedNode(reads: ReadonlyMap<string, NodeRead>, guest: string, d: Declared): string {
  const primaryOn = (resource: string) => d.holders.filter((n) => reads.get(n)!.volumes.byName.get(resource)?.state.role?.split('/')[0] === 'Primary');
  for (const resource of d.resources) {
    const on = primaryOn(resource);
    if (on.length > 1) throw new ChecksFailedError(`${resource} is Primary on ${on.join(' and ')}: a live migration of guest ${guest} is in progress`, { hint: 'try again once it has finished (`hvcluster guest list`)' });
  }
  const node = d.running[0] ?? d.holders.find((n) => d.resources.every((r) => primaryOn(r).includes(n)));
  if (node === undefined || !d.resources.every((r) => primaryOn(r).includes(node))) {
    const where = d.resources.map((r) => `${r} ${primaryOn(r).length > 0 ? `on ${primaryOn(r)[0]}` : 'nowhere'}`).join(', ');
    throw new ChecksFailedError(`guest ${guest} is under Pacemaker${d.running[0] ? ` and runs on ${d.running[0]}` : ''}, but its disks are not all Promoted on ${d.running[0] ?? 'one node'} (${where})`, {
      hint: d.running[0] ? 'check it with `hvcluster guest list` and `hvcluster verify`' : `start it (\`hvcluster guest start ${guest}\`: Pacemaker promotes its disks where it starts it), stop it (\`hvcluster guest stop ${guest}\`: they stay Promoted there), and try again`,
    });
  }
  return node;
}

/**
 * Where `guest start` starts a guest: on `on`, else its preferred node, else another holder, skipping
 * drained nodes; refused when that node does not hold its disks, a disk there is not UpToDate, or a
 * disk is Primary on another node (its data would split). A guest under Pacemaker is started by
 * Pacemaker (no `on`: move it afterwards with `guest migrate`). Pure.
 */
export function planStart(answers: Answers, reads: ReadonlyMap<string, NodeRead>, guest: string, on?: string): GuestStart {
  const d = declaredGuest(answers, reads, guest);
  const base = { guest, resources: d.resources, holders: d.holders, ha: d.ha };
  if (d.running.length === 1) {
    if (on !== undefined && on !== d.running[0]) throw new UsageError(`guest ${guest} already runs on ${d.running[0]}`, { hint: `hvcluster guest migrate ${guest} --to ${on}` });
    return { ...base, node: d.running[0]!, runningOn: d.running[0]! };
  }
  if (d.ha) {
    if (on !== undefined) throw new UsageError(`guest ${guest} is under Pacemaker, which decides where it starts: give no --on`, { hint: `start it, then \`hvcluster guest migrate ${guest} --to ${on}\`` });
    return { ...base, node: null, runningOn: null };
  }
  if (on !== undefined && !d.holders.includes(on)) throw new UsageError(`${on} does not hold guest ${guest}'s disks (they are on ${d.holders.join(' and ')})`);
  const candidates = on !== undefined ? [on] : [d.preferred, ...d.holders].filter((n, i, all) => all.indexOf(n) === i && d.holders.includes(n));
  const node = candidates.find((n) => on !== undefined || !reads.get(n)!.guests.standby);
  if (node === undefined) throw new ChecksFailedError(`every node holding guest ${guest} is in standby (${d.holders.join(', ')})`, { hint: `hvcluster node resume NODE, or hvcluster guest start ${guest} --on NODE` });
  if (domainOf(reads.get(node)!.guests, guest).state === 'absent') throw new ChecksFailedError(`guest ${guest} is not defined on ${node}`, { hint: 'run `hvcluster apply`: it defines the guest on every node holding its disks' });
  for (const resource of d.resources) {
    const here = reads.get(node)!.volumes.byName.get(resource)?.state;
    if (!/^UpToDate/.test(here?.dstate ?? '')) throw new ChecksFailedError(`${resource} is ${here?.dstate ?? 'down'} on ${node}: guest ${guest} would start on data that is not current`, { hint: 'wait for the resync (`hvcluster guest list`), or start it where its disks are UpToDate (--on)' });
    const primaryElsewhere = d.holders.filter((n) => n !== node && reads.get(n)!.volumes.byName.get(resource)?.state.role?.split('/')[0] === 'Primary');
    if (primaryElsewhere.length > 0) throw new ChecksFailedError(`${resource} is Primary on ${primaryElsewhere.join(', ')}: guest ${guest} cannot start on ${node} too`, { hint: `demote it there (drbdadm secondary ${resource}) if nothing uses it` });
  }
  return { ...base, node, runningOn: null };
}

/** What `guest stop` stops: the node it runs on (null: nowhere already). Pure. */
export function planStop(answers: Answers, reads: ReadonlyMap<string, NodeRead>, guest: string): GuestStop {
  const d = declaredGuest(answers, reads, guest);
  return { guest, runningOn: d.running[0] ?? null, resources: d.resources, holders: d.holders, ha: d.ha };
}
