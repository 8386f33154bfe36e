import type { Change } from './change.js';

/** What a node holds of the cluster's guests, as installer/remote/guest-state.sh prints it. Pure. */

/** Where each guest's domain XML (and its disks' import records) live on the nodes that hold it. */
export const GUESTS_DIR = '/etc/hvcluster/guests';
/** A drained node's mark (`hvcluster node drain`; removed by `node resume`): apply starts no guest there. */
export const STANDBY_FILE = '/etc/hvcluster/standby';

export interface GuestDomainState {
  /** `absent`, or virsh domstate with `-` for spaces: running, paused, shut-off, ... */
  state: string;
  /** libvirt starts it at boot (non-HA guests); null when the domain is absent. */
  autostart: boolean | null;
}

export interface GuestState {
  /** libvirt's client is installed: without it nothing else was read. */
  virsh: boolean;
  /** The node is drained (STANDBY_FILE): no guest is started there. */
  standby: boolean;
  /** libvirtd answered: without it no domain could be seen. */
  libvirt: boolean;
  /** Every domain defined on the node, hvcluster's or not. */
  domains: string[];
  /** The declared guests' domains, by name. */
  byName: Map<string, GuestDomainState>;
  /** The CPU model libvirt's host-model would use, and the named models QEMU can run here. */
  cpu: { hostModel: string | null; usable: string[] };
  /** GUESTS_DIR's files of the declared guests (NAME.xml, NAME-diskN.import, NAME.stopped) by file name. */
  files: Map<string, string>;
}

export function parseGuestState(stdout: string): GuestState {
  const out: GuestState = { virsh: false, standby: false, libvirt: false, domains: [], byName: new Map(), cpu: { hostModel: null, usable: [] }, files: new Map() };
  let file: { name: string; chunks: string[] } | null = null;
  for (const line of stdout.split('\n')) {
    if (file) {
      if (line === 'end') {
        out.files.set(file.name, Buffer.from(file.chunks.join(''), 'base64').toString('utf8'));
        file = null;
      } else file.chunks.push(line.trim());
      continue;
    }
    const [kind, ...rest] = line.trim().split(/\s+/);
    if (kind === 'virsh') out.virsh = rest[0] === 'yes';
    else if (kind === 'standby') out.standby = rest[0] === 'yes';
    else if (kind === 'libvirt') out.libvirt = rest[0] === 'yes';
    else if (kind === 'domains') out.domains = rest.filter(Boolean);
    else if (kind === 'domain' && rest[0]) out.byName.set(rest[0], { state: rest[1] ?? 'absent', autostart: rest[2] === 'yes' ? true : rest[2] === 'no' ? false : null });
    else if (kind === 'cpu' && rest[0] === 'host-model') out.cpu.hostModel = rest[1] && rest[1] !== '-' ? rest[1] : null;
    else if (kind === 'cpu' && rest[0] === 'usable') out.cpu.usable = rest.slice(1);
    else if (kind === 'file' && rest[0]) file = { name: rest[0], chunks: [] };
  }
  return out;
}

/** A guest's domain on one node: absent when the read does not name it. Pure. */
export function domainOf(state: GuestState, name: string): GuestDomainState {
  return state.byName.get(name) ?? { state: 'absent', autostart: null };
}

/** Where a guest's domain XML is kept on its nodes. */
export const domainFile = (guest: string) => `${GUESTS_DIR}/${guest}.xml`;

/** The record of a disk's import: `pending` while the image is written, `done SHA256` after. */
export const importRecord = (resource: string) => `${GUESTS_DIR}/${resource}.import`;

/** A disk's import record as read: none, an import that did not finish, or one that did (with the image's sha256). Pure. */
export function importStatus(state: GuestState, resource: string): { status: 'none' } | { status: 'pending' } | { status: 'done'; sha256: string } {
  const text = state.files.get(`${resource}.import`);
  if (text === undefined) return { status: 'none' };
  const m = /^done ([0-9a-f]{64})\s*$/.exec(text);
  return m ? { status: 'done', sha256: m[1]! } : { status: 'pending' };
}

/** The mark of a guest an operator stopped (`hvcluster guest stop`; removed by `guest start`): apply does not start it again. */
export const stoppedMark = (guest: string) => `${GUESTS_DIR}/${guest}.stopped`;

/** The guest was stopped by `hvcluster guest stop` (its mark on this node). Pure. */
export const stoppedByOperator = (state: GuestState, guest: string): boolean => state.files.has(`${guest}.stopped`);

/** Marks a guest stopped by an operator on one of its nodes, or takes the mark away. Pure. */
export function stoppedChange(server: string, step: string, guest: string, stopped: boolean, at: string): Change {
  return stopped
    ? { server, step, description: `mark guest ${guest} stopped (${stoppedMark(guest)}): apply does not start it again`, actions: [{ upload: stoppedMark(guest), content: `stopped by hvcluster guest stop at ${at}\n`, mode: 0o644, owner: 'root:root' }] }
    : { server, step, description: `take the stopped mark off guest ${guest} (${stoppedMark(guest)})`, actions: [{ argv: ['rm', '-f', stoppedMark(guest)] }] };
}

/** Marks a node drained, or takes the mark away. Pure. */
export function standbyChange(server: string, step: string, standby: boolean): Change {
  return standby
    ? { server, step, description: `mark ${server} standby (${STANDBY_FILE}): apply starts no guest there`, actions: [{ upload: STANDBY_FILE, content: `drained by hvcluster node drain at ${new Date().toISOString()}\n`, mode: 0o644, owner: 'root:root' }] }
    : { server, step, description: `take the standby mark off ${server} (${STANDBY_FILE})`, actions: [{ argv: ['rm', '-f', STANDBY_FILE] }] };
}
