/**
 * `hvcluster guest list`: each declared guest as the nodes see it (where it runs, its disks' DRBD
 * state on each replica, whether Pacemaker manages it), and the domains the nodes have that the
 * answer file does not declare. Pure: what was read of each node comes in.
 */
import type { Answers } from '../answers/schema.js';
import { domainOf, type GuestState } from '../engine/guest-state.js';
import type { VolumeState } from '../engine/volume-state.js';
import { diskResource } from '../plan/guest-model.js';

export interface NodeGuestRead {
  node: string;
  /** Why the node could not be read (unreachable, libvirtd down); its columns are unknown. */
  error?: string;
  guests?: GuestState;
  volumes?: VolumeState;
}

export interface GuestReplica {
  node: string;
  /** Primary / Secondary, or null when the resource is down or the node unread. */
  role: string | null;
  /** This node's disk state (UpToDate, Inconsistent, ...). */
  disk: string | null;
  /** Connected, StandAlone, ... */
  connection: string | null;
}

export interface GuestRow {
  name: string;
  /** The node it runs (or is paused) on; null when it runs nowhere. */
  runningOn: string | null;
  /** running, paused, stopped (defined but not running), undefined (not defined anywhere yet), unknown. */
  state: 'running' | 'paused' | 'stopped' | 'undefined' | 'unknown';
  /** Nodes where its domain is defined. */
  definedOn: string[];
  ha: boolean;
  disks: { resource: string; replicas: GuestReplica[] }[];
  /** What a user should look at (runs on two nodes, a disk not UpToDate...). */
  problems: string[];
}

export interface GuestList {
  guests: GuestRow[];
  /** Domains on the nodes that the answer file does not declare (hvcluster's own hvc-* excluded): node -> names. */
  undeclared: Record<string, string[]>;
}

/** This node's part of a `mine/peer` pair as drbdadm prints it (role, disk state). */
const own = (pair: string | null) => (pair ? pair.split('/')[0]! : null);

export function guestList(answers: Answers, reads: NodeGuestRead[]): GuestList {
  const declared = new Set(answers.spec.guests.map((g) => g.name));
  const guests = answers.spec.guests
    .filter((g) => g.state === 'present')
    .map((g): GuestRow => {
      const problems: string[] = [];
      const holders = reads.filter((r) => r.volumes?.byName.get(diskResource(g.name, 0))?.lvPresent || (r.guests && domainOf(r.guests, g.name).state !== 'absent'));
      const seen = reads.filter((r) => r.guests);
      const states = seen.map((r) => ({ node: r.node, state: domainOf(r.guests!, g.name).state }));
      const active = states.filter((s) => s.state === 'running' || s.state === 'paused');
      if (active.length > 1) problems.push(`runs on ${active.map((s) => s.node).join(' and ')} at once`);
      const definedOn = states.filter((s) => s.state !== 'absent').map((s) => s.node);
      const unread = reads.filter((r) => !r.guests).map((r) => r.node);
      const state: GuestRow['state'] = active[0]
        ? active[0].state === 'paused'
          ? 'paused'
          : 'running'
        : unread.length > 0
          ? 'unknown'
          : definedOn.length > 0
            ? 'stopped'
            : 'undefined';
      const disks = g.disks.map((_, k) => {
        const resource = diskResource(g.name, k);
        const replicas = (holders.length > 0 ? holders : reads).map((r): GuestReplica => {
          const v = r.volumes?.byName.get(resource);
          return { node: r.node, role: own(v?.state.role ?? null), disk: own(v?.state.dstate ?? null), connection: v?.state.cstate ?? null };
        });
        for (const rep of replicas) {
          if (rep.disk !== null && rep.disk !== 'UpToDate') problems.push(`${resource} on ${rep.node} is ${rep.disk}`);
          if (rep.connection !== null && rep.connection !== 'Connected') problems.push(`${resource} on ${rep.node} is ${rep.connection}`);
        }
        return { resource, replicas };
      });
      for (const node of unread) problems.push(`${node} could not be read`);
      return { name: g.name, runningOn: active[0]?.node ?? null, state, definedOn, ha: g.ha ?? Boolean(answers.spec.ha?.enabled), disks, problems };
    });
  const undeclared: Record<string, string[]> = {};
  for (const r of reads) {
    const others = (r.guests?.domains ?? []).filter((d) => !declared.has(d) && !d.startsWith('hvc-'));
    if (others.length > 0) undeclared[r.node] = others;
  }
  return { guests, undeclared };
}

/** The list as a table and notes, for a terminal. Pure. */
export function formatGuestList(list: GuestList): string {
  const rows = list.guests.map((g) => [
    g.name,
    g.state,
    g.runningOn ?? '-',
    g.ha ? 'Pacemaker' : 'hvcluster',
    g.disks.map((d) => `${d.resource} ${d.replicas.map((r) => `${r.node}:${r.role ?? '-'}/${r.disk ?? '-'}`).join(' ')}`).join('; '),
  ]);
  const header = ['GUEST', 'STATE', 'ON', 'MANAGED BY', 'DISKS (node:role/disk)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = list.guests.length === 0 ? ['no guests declared (spec.guests)'] : [line(header), ...rows.map(line)];
  for (const g of list.guests) for (const p of g.problems) out.push(`! ${g.name}: ${p}`);
  for (const [node, names] of Object.entries(list.undeclared)) out.push(`${node} also has domains the answer file does not declare: ${names.join(', ')}`);
  return `${out.join('\n')}\n`;
}
