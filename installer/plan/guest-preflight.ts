/**
 * The guests' part of preflight: every declared guest checked against the servers and the images
 * before anything changes (an image that is missing or not a disk image, a name that an existing
 * libvirt domain or DRBD resource hvcluster did not make already has, a guest the replica nodes
 * have no room for), then placed and sized. Each finding points at the answer file's key, so apply
 * reports it with file:line:col. Pure: the nodes' reads and the images' descriptions come in.
 */
import type { AnswerIssue } from '../answers/issues.js';
import type { Answers } from '../answers/schema.js';
import { domainOf, type GuestState } from '../engine/guest-state.js';
import type { VolumeState } from '../engine/volume-state.js';
import type { ImageInfo } from '../import/image-info.js';
import { diskResource, guestModels, type GuestModel } from './guest-model.js';
import { PlacementError } from './guests.js';
import type { DrbdMajor } from './model.js';

const MiB = 1024 * 1024;

/**
 * Room kept free on a volume group that this run creates (its size is not known before): LVM's
 * own metadata and extent rounding, and the replication probes' small volumes.
 */
export const NEW_VG_RESERVE_MIB = 128;

/** What preflight knows of one node (in the answer file's order). */
export interface GuestNodeRead {
  name: string;
  /** The cluster's volume group's free space, or null when it does not exist yet. */
  vgFreeBytes: number | null;
  /** The size of the node's data disk (what a volume group made in this run will have). */
  diskBytes: number | null;
  volumes?: VolumeState;
  guests?: GuestState;
}

export interface GuestPreflight {
  guests: GuestModel[];
  issues: AnswerIssue[];
}

/** Checks, places and sizes the declared guests. Pure. */
export function guestPreflight(answers: Answers, major: DrbdMajor, nodes: GuestNodeRead[], images: ReadonlyMap<string, ImageInfo>): GuestPreflight {
  const issues: AnswerIssue[] = [];
  const error = (path: AnswerIssue['path'], message: string) => issues.push({ severity: 'error', path, message });
  const declared = answers.spec.guests;
  const imageSizeMiB: Record<string, number> = {};
  const imageFormat: Record<string, string> = {};

  declared.forEach((guest, i) => {
    // A guest declared absent is removed (the guests step, with apply's confirmation): its images are
    // not needed; a running one is refused (hvcluster removes no running guest).
    if (guest.state === 'absent') {
      const running = nodes.filter((n) => n.guests && ['running', 'paused'].includes(domainOf(n.guests, guest.name).state)).map((n) => n.name);
      if (running.length > 0) error(['spec', 'guests', i, 'state'], `guest ${guest.name} is declared state: absent but runs on ${running.join(', ')}: hvcluster does not remove a running guest; stop it first (hvcluster guest stop ${guest.name} -f site.yaml)`);
      return;
    }
    guest.disks.forEach((disk, k) => {
      if (!('image' in disk) || disk.image === undefined) return;
      const info = images.get(disk.image);
      if (!info) error(['spec', 'guests', i, 'disks', k, 'image'], `${disk.image} was not read`);
      else if (!info.ok) error(['spec', 'guests', i, 'disks', k, 'image'], `${disk.image} cannot be imported: ${info.reason}`);
      else {
        imageSizeMiB[disk.image] = Math.ceil(info.virtualSizeBytes / MiB);
        imageFormat[disk.image] = info.format;
      }
    });
    // Ours: a node holding the guest has its domain XML in GUESTS_DIR (written before anything else of it).
    const ours = nodes.some((n) => n.guests?.files.has(`${guest.name}.xml`));
    for (const node of nodes) {
      if (!ours && node.guests?.domains.includes(guest.name)) {
        error(['spec', 'guests', i, 'name'], `${node.name} already has a libvirt domain named ${guest.name} that hvcluster did not make: name the guest otherwise, or rename that domain (virsh domrename ${guest.name} NEW-NAME)`);
      }
      guest.disks.forEach((_, k) => {
        const resource = diskResource(guest.name, k);
        if (!ours && node.volumes?.resourceFiles.has(`${resource}.res`)) {
          error(['spec', 'guests', i, 'name'], `${node.name} already has a DRBD resource ${resource} (/etc/drbd.d/${resource}.res) that hvcluster did not make for this guest: name the guest otherwise`);
        }
      });
    }
  });

  const freeMiB: Record<string, number> = {};
  const existingHolders: Record<string, string[]> = {};
  for (const node of nodes) {
    freeMiB[node.name] =
      node.vgFreeBytes !== null ? Math.floor(node.vgFreeBytes / MiB) : node.diskBytes !== null ? Math.max(0, Math.floor(node.diskBytes / MiB) - NEW_VG_RESERVE_MIB) : 0;
  }
  for (const guest of declared) {
    const holders = nodes.filter((n) => n.volumes?.byName.get(diskResource(guest.name, 0))?.lvPresent).map((n) => n.name);
    if (holders.length > 0) existingHolders[guest.name] = holders;
  }
  // Placed even when something else was found (every finding at once): the guests whose images
  // could not be read are left out, their sizes unknown.
  // (An absent guest's images are not read: its disks count 0 MiB, guest-model.ts.)
  const unreadable = new Set(declared.filter((g) => g.state !== 'absent' && g.disks.some((d) => 'image' in d && d.image !== undefined && imageSizeMiB[d.image] === undefined && d.size === undefined)).map((g) => g.name));
  const placeable = { ...answers, spec: { ...answers.spec, guests: declared.filter((g) => !unreadable.has(g.name)) } };
  let guests: GuestModel[] = [];
  try {
    guests = guestModels({ answers: placeable, major, freeMiB, existingHolders, imageSizeMiB, imageFormat });
  } catch (e) {
    if (!(e instanceof PlacementError)) throw e;
    const index = declared.findIndex((g) => e.message.startsWith(`guest ${g.name} `) || e.message.startsWith(`guest ${g.name}:`));
    error(index >= 0 ? ['spec', 'guests', index] : ['spec', 'guests'], e.message);
  }
  return { guests: issues.length > 0 ? [] : guests, issues };
}
