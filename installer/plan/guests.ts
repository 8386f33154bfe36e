/**
 * The customer's guests as the plan sees them (issue 16, first part: pure, not yet read from the
 * answer file): where each guest's replicas live, and the identity it keeps on every node that can
 * run it (libvirt UUID, NIC MAC addresses), derived from the cluster's and the guest's names so that
 * every run, on every node, computes the same ones without recording them anywhere.
 */
import { createHash } from 'node:crypto';
import type { DrbdMajor } from './model.js';
import { drbdPairs } from './drbd-layout.js';

export interface GuestPlacementRequest {
  name: string;
  /** The sum of its disks, MiB (each disk an LV of that size on both replica nodes, plus DRBD's metadata). */
  sizeMiB: number;
  /** The pair the answer file names, if any. */
  replicas?: [string, string];
  /** The node it runs on when nothing else decides, if the answer file names one: a pair chosen for it includes this node. */
  preferredNode?: string;
}

export interface GuestPlacement {
  name: string;
  /** The nodes holding its replicas (both nodes of a two-node cluster; a pair of a three-node DRBD 8.4 one). */
  holders: string[];
  /** Chosen by hvcluster (true) or named in the answer file. */
  chosen: boolean;
}

export class PlacementError extends Error {}

/** DRBD 8.4's internal metadata for a volume of `sizeMiB` (about 32 KiB per GiB, plus its fixed part), rounded up to whole MiB. Pure. */
export function drbdMetadataMiB(sizeMiB: number): number {
  return Math.ceil((sizeMiB * 32) / 1024 / 1024) + 1;
}

/**
 * Places the guests: on two nodes (or DRBD 9) every guest on every node; on three nodes with DRBD 8.4
 * each guest on a pair, the one it names or else the pair whose fuller node has the most space left
 * (ties: the earlier pair) among those that include its preferred node (if it names one), guests
 * taken in answer-file order. Guests already placed (existing ones: their pair is where their disk
 * is) are passed in `free` as space already used. Throws a PlacementError naming the guest, its size
 * and the space of each node when no pair can take it. Pure.
 */
export function placeGuests(nodes: string[], major: DrbdMajor, freeMiB: Record<string, number>, guests: GuestPlacementRequest[]): GuestPlacement[] {
  const left = { ...freeMiB };
  const pairs = drbdPairs(nodes, major);
  const everywhere = pairs.length <= 1;
  const need = (g: GuestPlacementRequest) => g.sizeMiB + drbdMetadataMiB(g.sizeMiB);
  const fits = (holders: string[], g: GuestPlacementRequest) => holders.every((n) => (left[n] ?? 0) >= need(g));
  const spaces = (holders: string[]) => holders.map((n) => `${n} ${left[n] ?? 0} MiB free`).join(', ');
  return guests.map((g) => {
    let holders: string[];
    let chosen = false;
    if (g.replicas) {
      const unknown = g.replicas.filter((n) => !nodes.includes(n));
      if (unknown.length) throw new PlacementError(`guest ${g.name}: replicas name ${unknown.join(', ')}, which is not a node of the cluster (${nodes.join(', ')})`);
      if (g.replicas[0] === g.replicas[1]) throw new PlacementError(`guest ${g.name}: replicas name ${g.replicas[0]} twice; name two different nodes`);
      holders = everywhere ? [...nodes] : [...g.replicas];
      if (!fits(holders, g)) throw new PlacementError(`guest ${g.name} needs ${need(g)} MiB on ${holders.join(' and ')} (its disks and DRBD's metadata); ${spaces(holders)}`);
    } else if (everywhere) {
      holders = [...nodes];
      if (!fits(holders, g)) throw new PlacementError(`guest ${g.name} needs ${need(g)} MiB on every node (its disks and DRBD's metadata); ${spaces(holders)}`);
    } else {
      const preferred = g.preferredNode;
      const candidates = pairs.filter((p) => fits(p, g) && (preferred === undefined || p.includes(preferred)));
      if (candidates.length === 0) {
        const where = preferred === undefined ? 'two nodes' : `${preferred} (its preferredNode) and another node`;
        throw new PlacementError(`guest ${g.name} needs ${need(g)} MiB on ${where} (its disks and DRBD's metadata); no pair has it: ${spaces(nodes)}`);
      }
      const fuller = (p: [string, string]) => Math.min(left[p[0]] ?? 0, left[p[1]] ?? 0);
      holders = [...candidates.reduce((best, p) => (fuller(p) > fuller(best) ? p : best))];
      chosen = true;
    }
    for (const n of holders) left[n] = (left[n] ?? 0) - need(g);
    return { name: g.name, holders, chosen };
  });
}

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest();

/**
 * The MAC address of a guest's NIC when the answer file gives none: 52:54:00 (QEMU's prefix, which
 * libvirt uses too) and three bytes of a hash of the cluster, the guest and the NIC's position, so
 * the same on every run and every node. `taken` holds the MACs already in use (given ones, other
 * guests'): a collision moves on to the next hash. Pure.
 */
export function guestMac(cluster: string, guest: string, nic: number, taken: ReadonlySet<string> = new Set()): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const h = digest('mac', cluster, guest, String(nic), String(attempt));
    const mac = `52:54:00:${[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
    if (!taken.has(mac)) return mac;
  }
  throw new Error(`no free MAC address for ${guest} NIC ${nic}`);
}

/**
 * The libvirt UUID of a guest: the same on every node that defines it (libvirt refuses to migrate a
 * domain to a node where a domain of the same name has another UUID), derived from the cluster's
 * and the guest's names (RFC 4122 variant, version 8: custom). Pure.
 */
export function guestUuid(cluster: string, guest: string): string {
  const b = Buffer.from(digest('uuid', cluster, guest).subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What templates/guest-domain.xml.hbs renders: one guest's libvirt domain, the same on each of its replica nodes. */
export interface GuestDomainModel {
  cluster: string;
  name: string;
  uuid: string;
  memoryMiB: number;
  vcpus: number;
  /** QEMU machine type, e.g. `q35` (or `pc` for an old guest imported from an i440fx machine). */
  machine: string;
  /** Boot devices in order: `hd`, `cdrom`, `network`. */
  boot: string[];
  /** A libvirt CPU model every holder offers (e.g. from `virsh hypervisor-cpu-baseline`). */
  cpuModel: string;
  ha: boolean;
  holders: string[];
  /** One per disk, in order: its DRBD resource and device, and the guest's device name (vda, vdb...). */
  disks: { resource: string; device: string; target: string }[];
  nics: { bridge: string; mac: string }[];
}

/** The guest's device name of its disk number `i`: vda, vdb, ... vdz, vdaa, ... Pure. */
export function diskTarget(i: number): string {
  const letters = (n: number): string => (n < 26 ? String.fromCharCode(97 + n) : letters(Math.floor(n / 26) - 1) + String.fromCharCode(97 + (n % 26)));
  return `vd${letters(i)}`;
}
