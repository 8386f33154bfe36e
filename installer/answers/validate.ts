/**
 * Semantic checks of an answer file that need no server: relations between fields that the schema
 * (schema.ts: shapes, types, formats, ranges, node count) cannot express. The schema's limits that
 * matter most (node count, MTU range, wipe a boolean, node names) are checked again here for answers
 * built in code.
 *
 * Pure: answers in, issues (with key paths, no positions) out. The loader adds file positions.
 * Checks against the servers' facts (NICs and disks exist, disks blank, links up, ...) are not here:
 * they need the facts gathered over SSH.
 */
import { formatPath, type AnswerIssue, type AnswerPath } from './issues.js';
import { addressOf, broadcastOf, formatIpv4, inSubnet, networkOf, parseCidr, parseIpv4, sameSubnet, subnetsOverlap, subnetText, type Ipv4Cidr } from '../net/ipv4.js';
import { HOSTNAME_RE, type Answers, type BackupAnswers, type GuestAnswers, type HaAnswers, type NodeAnswers } from './schema.js';
import { validateBackup } from './validate-backup.js';
import { validateGuests } from './validate-guests.js';
import { validateHa } from './validate-ha.js';

/** The network or broadcast address of its subnet (meaningful for prefixes up to /30). */
function isNetworkOrBroadcast(cidr: Ipv4Cidr): 'network' | 'broadcast' | undefined {
  if (cidr.prefix > 30) return undefined;
  if (cidr.address === networkOf(cidr)) return 'network';
  if (cidr.address === broadcastOf(cidr)) return 'broadcast';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The checks

/** Kernel names that may change across reboots (sdX, vdX, hdX, xvdX, nvmeXnY), with or without a partition. */
const UNSTABLE_DISK_RE = /^\/dev\/(?:(?:s|v|h|xv)d[a-z]+\d*|nvme\d+n\d+(?:p\d+)?)$/;

/** What the checks look at. From a file that failed the schema, only the parts that passed it. */
export interface AnswerParts {
  /** Nodes with their index in spec.nodes. */
  nodes: ReadonlyArray<{ index: number; node: NodeAnswers }>;
  network?: Answers['spec']['network'];
  packages?: Answers['spec']['packages'];
  /** How many nodes spec.nodes lists, including those that failed the schema. Default: nodes.length. */
  nodeCount?: number;
  /** spec.ha; 'invalid' when the section failed the schema (its relations are not checked then). */
  ha?: HaAnswers | 'invalid';
  /** Guests with their index in spec.guests (from a file that failed the schema: those that pass it). Default: none. */
  guests?: ReadonlyArray<{ index: number; guest: GuestAnswers }>;
  /**
   * The name of every node spec.nodes lists, including nodes that failed the schema for another key;
   * 'invalid' when a node's name is itself missing or invalid (the guests' references to nodes are
   * not checked then). Default: the names of `nodes`.
   */
  nodeNames?: readonly string[] | 'invalid';
  /** spec.backup; 'invalid' when the section failed the schema (its relations are not checked then). Default: none. */
  backup?: BackupAnswers | 'invalid';
  /**
   * Every guest spec.guests declares (name and state), including guests that failed the schema for
   * another key; 'invalid' when a guest's name or state is itself invalid (backup.guests is then not
   * checked against them). Default: the names and states of `guests`.
   */
  guestStates?: ReadonlyArray<{ index: number; name: string; state: 'present' | 'absent' }> | 'invalid';
}

/**
 * Every relation between fields that can be checked without a server. Errors make the answer file
 * unusable; warnings are printed and do not stop a run.
 */
export function validateAnswers(answers: Answers): AnswerIssue[] {
  return [...typedLimits(answers), ...validateAnswerParts({
    nodes: answers.spec.nodes.map((node, index) => ({ index, node })),
    network: answers.spec.network,
    packages: answers.spec.packages,
    nodeCount: answers.spec.nodes.length,
    ha: answers.spec.ha,
    guests: answers.spec.guests.map((guest, index) => ({ index, guest })),
    ...(answers.spec.backup ? { backup: answers.spec.backup } : {}),
  })];
}

/**
 * Limits the schema enforces on a file, checked again for answers built in code (the wizard) that
 * never went through it: 2 or 3 nodes, host-name node names, wipe a boolean, the MTU range.
 */
function typedLimits(answers: Answers): AnswerIssue[] {
  const issues: AnswerIssue[] = [];
  const count = answers.spec.nodes.length;
  if (count < 2 || count > 3) issues.push({ severity: 'error', path: ['spec', 'nodes'], message: `expected 2 or 3 nodes, found ${count}` });
  answers.spec.nodes.forEach((node, i) => {
    if (!HOSTNAME_RE.test(node.name)) {
      issues.push({ severity: 'error', path: ['spec', 'nodes', i, 'name'], message: `expected a host name, the output of \`uname -n\` on that server, found ${JSON.stringify(node.name)}` });
    }
    if (typeof node.storage.wipe !== 'boolean') {
      issues.push({ severity: 'error', path: ['spec', 'nodes', i, 'storage', 'wipe'], message: 'expected true or false (true erases everything on the disk)' });
    }
  });
  const mtu = answers.spec.network.replicationMtu;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9216) {
    issues.push({ severity: 'error', path: ['spec', 'network', 'replicationMtu'], message: `expected an MTU from 576 to 9216, found ${mtu}` });
  }
  return issues;
}

/** validateAnswers on whatever parts are available (the loader uses it to report these problems alongside schema errors). */
export function validateAnswerParts(parts: AnswerParts): AnswerIssue[] {
  const issues: AnswerIssue[] = [];
  const error = (path: AnswerPath, message: string) => issues.push({ severity: 'error', path, message });
  const warning = (path: AnswerPath, message: string) => issues.push({ severity: 'warning', path, message });
  const nodes = parts.nodes;
  const nodePath = (i: number, ...rest: Array<string | number>): AnswerPath => ['spec', 'nodes', i, ...rest];
  const where = (i: number) => `spec.nodes[${i}]`;

  // Names: unique (host names compare case-insensitively).
  const nameSeen = new Map<string, number>();
  for (const { index: i, node } of nodes) {
    const key = node.name.toLowerCase();
    const first = nameSeen.get(key);
    if (first !== undefined) {
      error(nodePath(i, 'name'), `node name '${node.name}' is already used by ${where(first)}; each node needs its own name (its \`uname -n\`)`);
    } else nameSeen.set(key, i);
  }

  // Addresses: unique across both networks and all nodes; not a network or broadcast address.
  const addressSeen = new Map<number, string>();
  const everyAddress: Array<{ path: AnswerPath; text: string }> = [];
  for (const { index: i, node } of nodes) {
    everyAddress.push({ path: nodePath(i, 'management', 'address'), text: node.management.address });
    everyAddress.push({ path: nodePath(i, 'replication', 'address'), text: node.replication.address });
  }
  for (const { path, text } of everyAddress) {
    const cidr = parseCidr(text);
    const special = isNetworkOrBroadcast(cidr);
    if (special) {
      error(path, `${text} is the ${special} address of ${subnetText(cidr)}; expected a host address inside the subnet`);
    }
    const first = addressSeen.get(cidr.address);
    if (first !== undefined) {
      error(path, `address ${formatIpv4(cidr.address)} is already used by ${first}; expected a different address for each node and network`);
    } else addressSeen.set(cidr.address, formatPath(path));
  }

  // One replication subnet, one management subnet (the first node's), and the two apart.
  const reference = nodes[0];
  if (reference) {
    const firstReplication = parseCidr(reference.node.replication.address);
    const firstManagement = parseCidr(reference.node.management.address);
    for (const { index: i, node } of nodes.slice(1)) {
      const replication = parseCidr(node.replication.address);
      if (!sameSubnet(replication, firstReplication)) {
        error(
          nodePath(i, 'replication', 'address'),
          `${node.replication.address} is not in the replication subnet ${subnetText(firstReplication)} of ${where(reference.index)}; expected all replication addresses in one subnet`,
        );
      }
      const management = parseCidr(node.management.address);
      if (!sameSubnet(management, firstManagement)) {
        error(
          nodePath(i, 'management', 'address'),
          `${node.management.address} is not in the management subnet ${subnetText(firstManagement)} of ${where(reference.index)}; expected all management addresses in one subnet`,
        );
      }
    }
  }
  for (const { index: i, node } of nodes) {
    const replication = parseCidr(node.replication.address);
    const management = parseCidr(node.management.address);
    if (subnetsOverlap(replication, management)) {
      error(
        nodePath(i, 'replication', 'address'),
        `replication subnet ${subnetText(replication)} overlaps the management subnet ${subnetText(management)}; expected a separate subnet for replication, like 198.19.1.0/24`,
      );
    }
    if (node.management.gateway !== undefined) {
      const gateway = parseIpv4(node.management.gateway);
      if (!inSubnet(gateway, management)) {
        error(
          nodePath(i, 'management', 'gateway'),
          `gateway ${node.management.gateway} is outside the management subnet ${subnetText(management)}; expected an address inside it`,
        );
      } else if (addressSeen.has(gateway)) {
        error(
          nodePath(i, 'management', 'gateway'),
          `gateway ${node.management.gateway} is the address of ${addressSeen.get(gateway)}; expected the router's address`,
        );
      }
    }
  }

  // Interfaces on each node: replication on its own NIC, bond members listed once, the bridge name free.
  const bridgeClashes: string[] = [];
  for (const { index: i, node } of nodes) {
    const bond = node.management.bond;
    const managementNics = bond ? [bond.name, ...bond.interfaces] : [node.management.interface!];
    if (bond) {
      const seen = new Set<string>();
      bond.interfaces.forEach((nic, j) => {
        const path = nodePath(i, 'management', 'bond', 'interfaces', j);
        if (nic === bond.name) error(path, `the bond ${nic} cannot enslave itself; expected the NICs it bonds`);
        else if (seen.has(nic)) error(path, `interface ${nic} is listed twice in the bond`);
        seen.add(nic);
      });
    }
    if (managementNics.includes(node.replication.interface)) {
      error(
        nodePath(i, 'replication', 'interface'),
        `${node.replication.interface} already carries the management network; expected a NIC of its own for replication`,
      );
    }
    const bridge = parts.network?.bridge;
    if (bridge !== undefined && (managementNics.includes(bridge) || node.replication.interface === bridge)) bridgeClashes.push(node.name);
  }
  if (bridgeClashes.length > 0) {
    error(
      ['spec', 'network', 'bridge'],
      `bridge name ${parts.network!.bridge} is an interface of ${bridgeClashes.join(', ')}; expected a name of its own, like br0`,
    );
  }

  // SSH endpoints: two nodes reached the same way would be the same server.
  const endpointSeen = new Map<string, number>();
  for (const { index: i, node } of nodes) {
    // Reached at its management address: the address checks above already cover it.
    if (node.ssh.address === addressOf(node.management.address)) continue;
    const endpoint = `${node.ssh.jump ?? ''}|${node.ssh.address.toLowerCase()}:${node.ssh.port}`;
    const first = endpointSeen.get(endpoint);
    if (first !== undefined) {
      error(
        nodePath(i, 'ssh', 'address'),
        `${node.ssh.address} port ${node.ssh.port} is also how ${where(first)} is reached; expected each node's own SSH address`,
      );
    } else endpointSeen.set(endpoint, i);
  }

  // Disks.
  for (const { index: i, node } of nodes) {
    if (UNSTABLE_DISK_RE.test(node.storage.disk)) {
      warning(
        nodePath(i, 'storage', 'disk'),
        `${node.storage.disk} is a kernel name that can change across reboots; use its /dev/disk/by-id/... link (see \`ls -l /dev/disk/by-id/\` on ${node.name})`,
      );
    }
    if (node.storage.wipe === true) {
      warning(nodePath(i, 'storage', 'wipe'), `wipe is true: everything on ${node.storage.disk} of ${node.name} may be erased`);
    }
  }

  // Packages.
  const packages = parts.packages;
  if (packages?.source === 'offline' && packages.offline === undefined) {
    error(['spec', 'packages'], 'source is offline but offline.path is missing; expected offline: { path: /srv/hvcluster-debs }');
  }
  if (packages?.source === 'online' && packages.offline !== undefined) {
    error(['spec', 'packages', 'offline'], 'offline is set but source is online; expected source: offline, or no offline block');
  }

  // HA: fencing devices and the witness (validate-ha.ts).
  issues.push(...validateHa({ nodes, nodeCount: parts.nodeCount ?? nodes.length, ha: parts.ha }));

  // Guests: names, MACs, replica pairs and preferred nodes, HA guests (validate-guests.ts).
  if (parts.guests?.length) {
    issues.push(...validateGuests({
      guests: parts.guests,
      nodes: parts.nodeNames === 'invalid' ? undefined : parts.nodeNames ?? nodes.map(({ node }) => node.name),
      haEnabled: parts.ha === 'invalid' ? undefined : parts.ha?.enabled === true,
    }));
  }

  // Backups: repository, passphrase, retention, the guests backed up, schedule (validate-backup.ts).
  if (parts.backup !== undefined) {
    const guestStates = parts.guestStates ?? (parts.guests ?? []).map(({ index, guest }) => ({ index, name: guest.name, state: guest.state }));
    issues.push(...validateBackup({ backup: parts.backup, nodes, guests: guestStates === 'invalid' ? undefined : guestStates }));
  }

  return issues;
}
