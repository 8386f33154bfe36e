/**
 * The declared guests (spec.guests) as the plan and the steps use them: each guest's disks as DRBD
 * resources and logical volumes, the nodes that hold its replicas (where they already are for a
 * guest that exists, placed by placeGuests for a new one), its identity on every node (libvirt UUID,
 * NIC MAC addresses), the libvirt domain rendered from it, and a CPU model all its holders can run.
 * Pure: the answers and what the nodes and the images hold (free space, existing volumes, image
 * sizes) come in; nothing is read here.
 */
import type { Answers, GuestAnswers } from '../answers/schema.js';
import { drbdPairs } from './drbd-layout.js';
import { diskTarget, drbdMetadataMiB, guestMac, guestUuid, placeGuests, PlacementError, type GuestDomainModel, type GuestPlacementRequest } from './guests.js';
import type { DrbdMajor } from './model.js';

/** One disk of a guest: a logical volume on each holder under a DRBD resource of the same name. */
export interface GuestDiskModel {
  /** Its position in the guest's `disks`. */
  index: number;
  /** The DRBD resource and the logical volume (diskResource). */
  resource: string;
  /** Its size: `size`, else the image's virtual size. */
  sizeMiB: number;
  /** The image written into it when the guest is created, if any. */
  image?: string;
  /** The image's format as qemu-img names it (qcow2, raw, vmdk...), when the input gives it. */
  imageFormat?: string;
  /** The guest's device name: vda, vdb, ... */
  target: string;
}

/** A declared guest with every default decided: what the steps create, start, or remove. */
export interface GuestModel {
  name: string;
  /** Its position in spec.guests (the answer-file key of its findings). */
  index: number;
  state: 'present' | 'absent';
  /** The nodes holding its replicas; for an absent guest, the nodes where its disks still are (maybe none). */
  holders: string[];
  /** The holders were chosen by hvcluster, not named by replicas (three nodes with DRBD 8.4). */
  chosen: boolean;
  /** Where it runs when nothing else decides: preferredNode, else the first holder ('' for an absent guest held nowhere). */
  preferredNode: string;
  /** Under Pacemaker: `ha`, else whether spec.ha is there and enabled. */
  ha: boolean;
  autostart: boolean;
  disks: GuestDiskModel[];
  /** The sum of its disks, MiB. */
  sizeMiB: number;
  vcpus: number;
  memoryMiB: number;
  machine: string;
  boot: string[];
  /** Its NICs: the bridge (default spec.network.bridge) and the MAC (given, else derived: guestMac). */
  nics: { bridge: string; mac: string }[];
  /** Its libvirt UUID (guestUuid). */
  uuid: string;
}

export interface GuestModelInput {
  answers: Answers;
  major: DrbdMajor;
  /** Free space of the cluster's volume group per node, MiB. */
  freeMiB: Record<string, number>;
  /** Guest name -> the nodes where its first disk's LV already exists: an existing guest stays there, and its space is not counted again. */
  existingHolders: Record<string, string[]>;
  /** Image path -> its virtual size in MiB (rounded up): the size of an image disk without `size`. */
  imageSizeMiB: Record<string, number>;
  /** Image path -> its format as qemu-img names it (qcow2, raw, vmdk...): passed on to its disks. Default: none known. */
  imageFormat?: Record<string, string>;
}

/** The DRBD resource, and the logical volume under it, of disk `i` of a guest: `web-disk0`. Pure. */
export function diskResource(guest: string, i: number): string {
  return `${guest}-disk${i}`;
}

/**
 * Every disk resource of every declared guest, present or absent, in answer-file order: the DRBD
 * resources and logical volumes a read of the nodes must cover to tell what already exists (and
 * what an absent guest left behind). Pure.
 */
export function guestResourceNames(answers: Answers): string[] {
  return answers.spec.guests.flatMap((g) => g.disks.map((_, i) => diskResource(g.name, i)));
}

/**
 * The disks of a guest with their sizes. An image disk without `size` takes the image's virtual
 * size, and one with a `size` below it is refused: writing the image into a smaller device would cut
 * off its end (the partition table's backup, the last file system). An absent guest is only
 * removed, so an image of unknown size is no error there (its disk counts 0 MiB). Pure.
 */
function diskModels(g: GuestAnswers, imageSizeMiB: Record<string, number>, imageFormat: Record<string, string>): GuestDiskModel[] {
  return g.disks.map((disk, index) => {
    const base = { index, resource: diskResource(g.name, index), target: diskTarget(index) };
    if (!('image' in disk)) return { ...base, sizeMiB: disk.size };
    const virtual = imageSizeMiB[disk.image];
    if (g.state === 'present' && virtual !== undefined && disk.size !== undefined && disk.size < virtual) {
      throw new PlacementError(
        `guest ${g.name}: disk ${index} (${base.target}) is ${disk.size} MiB, smaller than the virtual size of ${disk.image} (${virtual} MiB): writing the image into it would cut the image; give it a size of at least ${virtual} MiB, or no size`,
      );
    }
    const sizeMiB = disk.size ?? virtual;
    if (sizeMiB === undefined && g.state === 'present') {
      throw new PlacementError(`guest ${g.name}: disk ${index} (${base.target}) has no size and the virtual size of ${disk.image} is not known; give it a size, like { image: ${disk.image}, size: 40GiB }`);
    }
    const format = imageFormat[disk.image];
    return { ...base, sizeMiB: sizeMiB ?? 0, image: disk.image, ...(format !== undefined ? { imageFormat: format } : {}) };
  });
}

/**
 * The holders of a guest whose first disk already exists on `existing`: it stays there (hvcluster
 * never moves a guest's disks), completed to its pair when a node of it lacks the disk (a creation
 * cut short), and only that node needs the space (taken from `left`). A replicas or preferredNode
 * that the disks' place contradicts is a PlacementError saying what to write. Pure but for `left`.
 */
function keepExisting(g: GuestAnswers, sizeMiB: number, existing: string[], nodes: string[], pairs: [string, string][], left: Record<string, number>): { holders: string[]; chosen: boolean } {
  const everywhere = pairs.length <= 1;
  const need = sizeMiB + drbdMetadataMiB(sizeMiB);
  const on = existing.join(' and ');
  const options: string[][] = everywhere ? [nodes] : g.replicas ? [g.replicas] : pairs;
  const containing = options.filter((p) => existing.every((n) => p.includes(n)));
  if (containing.length === 0) {
    throw new PlacementError(
      g.replicas && !everywhere
        ? `guest ${g.name}: its disks are on ${on} already, but replicas names ${g.replicas.join(' and ')}; hvcluster does not move a guest's disks: write the nodes that hold them, or leave replicas out`
        : `guest ${g.name}: its disks are on ${on}, more nodes than a pair (DRBD 8.4 on three nodes keeps two replicas); remove the extra logical volumes by hand`,
    );
  }
  const preferred = g.preferredNode;
  const allowed = preferred === undefined ? containing : containing.filter((p) => p.includes(preferred));
  if (allowed.length === 0) {
    throw new PlacementError(`guest ${g.name}: its disks are on ${on} already, and its preferredNode ${preferred} holds none of them; hvcluster does not move a guest's disks: name one of ${existing.join(', ')}, or leave preferredNode out`);
  }
  const missing = (p: string[]) => p.filter((n) => !existing.includes(n));
  const fitting = allowed.filter((p) => missing(p).every((n) => (left[n] ?? 0) >= need));
  if (fitting.length === 0) {
    const wanted = [...new Set(allowed.flatMap(missing))];
    throw new PlacementError(
      `guest ${g.name} needs ${need} MiB on ${allowed.length === 1 ? wanted.join(' and ') : `one of ${wanted.join(', ')}`} beside ${on}, where its disks are (its disks and DRBD's metadata); ${wanted.map((n) => `${n} ${left[n] ?? 0} MiB free`).join(', ')}`,
    );
  }
  const room = (p: string[]) => Math.min(Infinity, ...missing(p).map((n) => left[n] ?? 0));
  const holders = [...fitting.reduce((best, p) => (room(p) > room(best) ? p : best))];
  for (const n of missing(holders)) left[n] = (left[n] ?? 0) - need;
  return { holders, chosen: !everywhere && !g.replicas };
}

/**
 * Every declared guest with its defaults decided, in answer-file order, absent ones included (their
 * holders: where their disks still are). Existing guests stay on the nodes that hold their disks;
 * new present ones are placed by placeGuests in answer-file order, in the space the existing ones
 * leave. MAC addresses not given are derived (guestMac) away from every given one and from each
 * other. Throws a PlacementError starting with `guest NAME` when a guest does not fit, an image's
 * size is unknown or larger than its disk, or the answers contradict where a guest's disks are. Pure.
 */
export function guestModels(input: GuestModelInput): GuestModel[] {
  const { answers, major } = input;
  const cluster = answers.metadata.name;
  const nodes = answers.spec.nodes.map((n) => n.name);
  const pairs = drbdPairs(nodes, major);
  const guests = answers.spec.guests;
  const disks = guests.map((g) => diskModels(g, input.imageSizeMiB, input.imageFormat ?? {}));
  const sizes = disks.map((d) => d.reduce((sum, disk) => sum + disk.sizeMiB, 0));

  // Where each guest is: absent ones where their disks are, existing ones kept, new ones placed.
  const left = { ...input.freeMiB };
  const placed: Array<{ holders: string[]; chosen: boolean } | undefined> = guests.map((g, i) => {
    const existing = input.existingHolders[g.name] ?? [];
    if (g.state === 'absent') return { holders: [...existing], chosen: false };
    const onNodes = existing.filter((n) => nodes.includes(n));
    return onNodes.length > 0 ? keepExisting(g, sizes[i]!, onNodes, nodes, pairs, left) : undefined;
  });
  const fresh = guests.flatMap((g, i): Array<GuestPlacementRequest & { index: number }> =>
    placed[i] === undefined
      ? [{ index: i, name: g.name, sizeMiB: sizes[i]!, ...(g.replicas ? { replicas: g.replicas } : {}), ...(g.preferredNode !== undefined ? { preferredNode: g.preferredNode } : {}) }]
      : [],
  );
  placeGuests(nodes, major, left, fresh).forEach((p, k) => (placed[fresh[k]!.index] = { holders: p.holders, chosen: p.chosen }));

  // MAC addresses: the given ones first, then each derived one away from all before it.
  const taken = new Set(guests.flatMap((g) => g.nics.flatMap((nic) => (nic.mac === undefined ? [] : [nic.mac]))));
  const haDefault = answers.spec.ha?.enabled === true;
  return guests.map((g, i): GuestModel => {
    const { holders, chosen } = placed[i]!;
    const nics = g.nics.map((nic, k) => {
      const mac = nic.mac ?? guestMac(cluster, g.name, k, taken);
      taken.add(mac);
      return { bridge: nic.bridge ?? answers.spec.network.bridge, mac };
    });
    return {
      name: g.name,
      index: i,
      state: g.state,
      holders,
      chosen,
      preferredNode: g.preferredNode ?? holders[0] ?? '',
      ha: g.ha ?? haDefault,
      autostart: g.autostart,
      disks: disks[i]!,
      sizeMiB: sizes[i]!,
      vcpus: g.vcpus,
      memoryMiB: g.memory,
      machine: g.machine,
      boot: [...g.boot],
      nics,
      uuid: guestUuid(cluster, g.name),
    };
  });
}

/**
 * What templates/guest-domain.xml.hbs renders for a guest: its model with the DRBD device of each
 * disk (`devices`, in the order of its disks) and the CPU model chosen for its holders
 * (chooseCpuModel). The same on every holder, so the guest can run and migrate on any of them.
 * Throws when `devices` does not match the disks (a caller's bug). Pure.
 */
export function guestDomainModel(cluster: string, guest: GuestModel, devices: string[], cpuModel: string): GuestDomainModel {
  if (devices.length !== guest.disks.length) throw new Error(`guest ${guest.name}: ${devices.length} DRBD devices given for ${guest.disks.length} disks`);
  return {
    cluster,
    name: guest.name,
    uuid: guest.uuid,
    memoryMiB: guest.memoryMiB,
    vcpus: guest.vcpus,
    machine: guest.machine,
    boot: [...guest.boot],
    cpuModel,
    ha: guest.ha,
    holders: [...guest.holders],
    disks: guest.disks.map((d, i) => ({ resource: d.resource, device: devices[i]!, target: d.target })),
    nics: guest.nics.map((n) => ({ ...n })),
  };
}

/**
 * libvirt's named x86 CPU models, newest to oldest (AMD and Intel interleaved by age: a cluster's
 * nodes share a vendor, so only one vendor's models are usable on all of them). The -noTSX variants
 * follow their model: many Haswell and Broadwell CPUs have TSX disabled by microcode. qemu64 runs
 * anywhere.
 */
export const CPU_MODELS: readonly string[] = [
  'EPYC-Genoa',
  'SapphireRapids',
  'EPYC-Milan',
  'Icelake-Server',
  'EPYC-Rome',
  'Cascadelake-Server',
  'EPYC',
  'Skylake-Server',
  'Skylake-Client',
  'Broadwell',
  'Broadwell-noTSX',
  'Haswell',
  'Haswell-noTSX',
  'IvyBridge',
  'SandyBridge',
  'Westmere',
  'Nehalem',
  'Opteron_G5',
  'Opteron_G4',
  'qemu64',
];

/**
 * The CPU model of a guest's domain, from what each holder's libvirt reports (installer/remote/
 * guest-state.sh): the host-model name when every holder reports the same one and it is usable on
 * each (a holder with an empty usable list reported none: not held against it), so the guest gets
 * the full CPU and still migrates between identical nodes; else the newest of CPU_MODELS usable on
 * every holder, the features all holders share. Undefined when no holder is given or no model is
 * usable on all of them (then the guest cannot be defined to migrate). Pure.
 */
export function chooseCpuModel(perHolder: { hostModel: string | null; usable: string[] }[]): string | undefined {
  if (perHolder.length === 0) return undefined;
  const host = perHolder[0]!.hostModel;
  if (host !== null && perHolder.every((h) => h.hostModel === host && (h.usable.length === 0 || h.usable.includes(host)))) return host;
  return CPU_MODELS.find((model) => perHolder.every((h) => h.usable.includes(model)));
}
