/** Where DRBD resources live on the cluster's nodes: the pairs of a 3-node 8.4 cluster, the replication probes, and what comes up at boot. Pure. */
import type { DrbdMajor } from './model.js';

/** The unit that brings the DRBD resources hvcluster owns outside Pacemaker up at boot (the probes). */
export const BOOT_UNIT = 'hvcluster-drbd-boot';
export const BOOT_UNIT_PATH = `/etc/systemd/system/${BOOT_UNIT}.service`;

/** Pairs of nodes that hold a guest disk together when three nodes run DRBD 8.4 (two peers per resource). */
export function drbdPairs(nodes: string[], major: DrbdMajor): [string, string][] {
  if (nodes.length === 2) return [[nodes[0]!, nodes[1]!]];
  if (major === '9') return [];
  return nodes.map((node, i) => [node, nodes[(i + 1) % nodes.length]!] as [string, string]);
}

/**
 * The replication probes: one small replicated volume per pair of nodes that will hold guest disks
 * (all nodes at once on DRBD 9). Pure.
 */
export function probeResources(nodes: string[], pairs: [string, string][]): { name: string; holders: string[] }[] {
  if (pairs.length === 0) return [{ name: 'hvc-probe', holders: nodes }];
  if (pairs.length === 1) return [{ name: 'hvc-probe', holders: pairs[0]! }];
  return pairs.map((pair, i) => ({ name: `hvc-probe${i + 1}`, holders: pair }));
}


/** The DRBD resources a node brings up at boot itself (its probes; the guests' are Pacemaker's or, later, their own). */
export function bootResources(nodes: string[], node: string, major: DrbdMajor): string[] {
  return probeResources(nodes, drbdPairs(nodes, major))
    .filter((p) => p.holders.includes(node))
    .map((p) => p.name);
}
