/**
 * The relations of `spec.guests` that the schema cannot express: names and MAC addresses unique,
 * replica pairs and preferred nodes that are nodes of the cluster, HA guests only on an HA cluster.
 * Pure, like validate-ha.ts: answers in, issues with key paths out. What needs the servers or the
 * installer's disk (free space, an image that exists and is a disk image, a name already taken by a
 * libvirt domain or DRBD resource) is for the plan and preflight.
 */
import type { AnswerIssue, AnswerPath } from './issues.js';
import type { GuestAnswers } from './schema.js';

export interface GuestParts {
  /** Guests with their index in spec.guests (from a file that failed the schema: those that passed it). */
  guests: ReadonlyArray<{ index: number; guest: GuestAnswers }>;
  /** The names of the cluster's nodes, in order; undefined when not known (a file whose nodes failed the schema): replicas and preferred nodes are not checked then. */
  nodes: readonly string[] | undefined;
  /** spec.ha is there and enabled; undefined when not known (spec.ha failed the schema): `ha: true` is not checked then. */
  haEnabled: boolean | undefined;
}

/** Every relation of the guests above that fails, as an error at the key to correct (validate.ts adds them to the answer file's issues). Pure. */
export function validateGuests(parts: GuestParts): AnswerIssue[] {
  const issues: AnswerIssue[] = [];
  const error = (path: AnswerPath, message: string) => issues.push({ severity: 'error', path, message });
  const guestPath = (i: number, ...rest: Array<string | number>): AnswerPath => ['spec', 'guests', i, ...rest];
  const nodes = parts.nodes;
  const nodeList = nodes?.join(', ');

  const firstByName = new Map<string, number>();
  const firstByMac = new Map<string, string>();
  for (const { index: i, guest: g } of parts.guests) {
    const earlier = firstByName.get(g.name);
    if (earlier !== undefined) error(guestPath(i, 'name'), `guest ${g.name} is already declared at spec.guests[${earlier}]: every guest needs its own name`);
    else firstByName.set(g.name, i);

    if (g.replicas) {
      if (nodes) {
        g.replicas.forEach((node, k) => {
          if (!nodes.includes(node)) error(guestPath(i, 'replicas', k), `${node} is not a node of the cluster (${nodeList})`);
        });
      }
      if (g.replicas[0] === g.replicas[1]) error(guestPath(i, 'replicas', 1), `${g.replicas[1]} is named twice: a guest's disks live on two different nodes`);
      else if (nodes?.length === 2 && g.replicas.some((n) => nodes.includes(n)) && !nodes.every((n) => g.replicas!.includes(n))) {
        error(guestPath(i, 'replicas'), `on two nodes every guest's disks live on both (${nodeList}): leave replicas out`);
      }
    }
    if (g.preferredNode !== undefined) {
      if (nodes && !nodes.includes(g.preferredNode)) error(guestPath(i, 'preferredNode'), `${g.preferredNode} is not a node of the cluster (${nodeList})`);
      else if (g.replicas && !g.replicas.includes(g.preferredNode)) error(guestPath(i, 'preferredNode'), `${g.preferredNode} holds none of its disks (replicas: ${g.replicas.join(', ')}): a guest runs only where its disks are`);
    }
    if (g.ha === true && parts.haEnabled === false) error(guestPath(i, 'ha'), 'ha: true needs an HA cluster (spec.ha, enabled): without it nobody restarts the guest elsewhere');

    g.nics.forEach((nic, k) => {
      if (nic.mac === undefined) return;
      // The low bit of the first octet marks a multicast address, which no NIC may have.
      if (Number.parseInt(nic.mac.slice(0, 2), 16) & 1) error(guestPath(i, 'nics', k, 'mac'), `${nic.mac} is a multicast address: a NIC needs a unicast one (first octet even), like 52:54:00:12:34:56`);
      const where = `spec.guests[${i}].nics[${k}]`;
      const first = firstByMac.get(nic.mac);
      if (first !== undefined) error(guestPath(i, 'nics', k, 'mac'), `${nic.mac} is already the MAC address of ${first}: two NICs on one network need different ones`);
      else firstByMac.set(nic.mac, where);
    });
  }
  return issues;
}
