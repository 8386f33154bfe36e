/** Questions later steps ask of ServerFacts (planner, wizard, preflight), answered in one place. */
import type { Disk, Nic, ServerFacts } from './types.js';

/** Disks safe to use without `wipe: true`; empty when the disks fact is unavailable. */
export function blankDisks(facts: ServerFacts): Disk[] {
  return facts.disks.ok ? facts.disks.value.filter((d) => d.verdict.blank) : [];
}

/**
 * The disk an answer file names: /dev/sdb, sdb, or any of its /dev/disk/by-id links.
 * Null when there is no such disk (or the disks fact is unavailable).
 */
export function findDisk(facts: ServerFacts, ref: string): Disk | null {
  if (!facts.disks.ok) return null;
  return facts.disks.value.find((d) => d.path === ref || d.name === ref || d.byIdPaths.includes(ref)) ?? null;
}

/** The NIC holding an address (without prefix), e.g. the management address. */
export function nicWithAddress(facts: ServerFacts, address: string): Nic | null {
  if (!facts.network.ok) return null;
  return facts.network.value.nics.find((n) => n.addresses.some((a) => a.address === address)) ?? null;
}

/** The NIC the SSH session came in on; null when the session or network fact is unavailable. */
export function managementNic(facts: ServerFacts): Nic | null {
  return facts.session.ok ? nicWithAddress(facts, facts.session.value.managementAddress) : null;
}
