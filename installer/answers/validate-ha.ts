/**
 * The relations of the HA keys (per-node `bmc:`, `spec.ha`) that the schema cannot express: HA is
 * refused when it could not be safe (a node nobody can fence, two nodes without a tie-breaker, a
 * witness or a BMC that is really one of the nodes), and settings that do nothing or weaken it are
 * pointed out.
 *
 * Pure, like validate.ts (which calls it): answers in, issues with key paths out. Whether the BMCs
 * answer and the witness runs corosync-qnetd is preflight's business (it needs the servers).
 */
import type { AnswerIssue, AnswerPath } from './issues.js';
import { nodeAddresses as nodeAddressesOf, sameHost } from './node-addresses.js';
import { QDEVICE_SYNC_TIMEOUT_S, type HaAnswers, type NodeAnswers } from './schema.js';

export interface HaParts {
  /** Nodes with their index in spec.nodes (from a file that failed the schema: those that passed it). */
  nodes: ReadonlyArray<{ index: number; node: NodeAnswers }>;
  /** How many nodes spec.nodes lists, valid or not. */
  nodeCount: number;
  /** spec.ha; 'invalid' when the section is there but failed the schema (nothing about HA is checked then). */
  ha: HaAnswers | 'invalid' | undefined;
}

export function validateHa(parts: HaParts): AnswerIssue[] {
  if (parts.ha === 'invalid') return [];
  const issues: AnswerIssue[] = [];
  const error = (path: AnswerPath, message: string) => issues.push({ severity: 'error', path, message });
  const warning = (path: AnswerPath, message: string) => issues.push({ severity: 'warning', path, message });
  const nodePath = (i: number, ...rest: Array<string | number>): AnswerPath => ['spec', 'nodes', i, ...rest];
  const ha = parts.ha;
  const enabled = ha?.enabled === true;

  // The nodes' own addresses: a witness or a BMC at one of them is not a separate device.
  const nodeAddresses = nodeAddressesOf(parts.nodes);

  // BMCs: one per node when HA is on, each a device of its own.
  const bmcSeen = new Map<string, { index: number; name: string }>();
  for (const { index: i, node } of parts.nodes) {
    const bmc = node.bmc;
    if (!bmc) {
      if (enabled) {
        error(
          nodePath(i),
          `node ${node.name} has no bmc: HA never runs without a fence device (a survivor must power ${node.name} off before it starts ${node.name}'s guests); add bmc: { address, user, passwordFrom } for ${node.name}'s IPMI controller (iDRAC, iLO, XClarity...)`,
        );
      }
      continue;
    }
    if (!ha) {
      warning(nodePath(i, 'bmc'), 'bmc is only used with ha: without spec.ha nothing fences this node and the BMC is never contacted; add spec.ha to use it, or remove bmc');
    } else if (!enabled) {
      warning(nodePath(i, 'bmc'), 'bmc is only used with ha, which is off here (spec.ha.enabled: false): the BMC is never contacted');
    }
    const host = sameHost(bmc.address);
    const isNode = nodeAddresses.get(host);
    if (isNode) {
      error(
        nodePath(i, 'bmc', 'address'),
        `BMC address ${bmc.address} is ${isNode}; the BMC must be a separate device with its own address (the server's IPMI controller), reachable when the node's system is dead`,
      );
    }
    const key = `${host}:${bmc.port}`;
    const first = bmcSeen.get(key);
    if (first !== undefined) {
      error(
        nodePath(i, 'bmc', 'address'),
        `BMC ${bmc.address} port ${bmc.port} is already the BMC of ${first.name} (spec.nodes[${first.index}].bmc); each node is fenced through its own BMC`,
      );
    } else bmcSeen.set(key, { index: i, name: node.name });
    if (bmc.cipher === 0) {
      error(
        nodePath(i, 'bmc', 'cipher'),
        'cipher 0 sends the password unauthenticated: the BMC accepts any password and anyone on its network can power the node off; expected 17, or 3 for a BMC without it (and disable cipher 0 on the BMC)',
      );
    }
  }
  if (!ha) return issues;

  // The witness: required by two nodes, refused with three, never one of the nodes.
  const witness = ha.witness;
  if (enabled && parts.nodeCount === 2 && !witness) {
    error(
      ['spec', 'ha'],
      'two nodes need a witness: it is the third vote that lets the survivor tell a dead peer from a cut link (without it, each node could fence the other); add witness: { address: ... } for a small third server that runs corosync-qnetd',
    );
  }
  if (witness) {
    if (parts.nodeCount === 3) {
      error(
        ['spec', 'ha', 'witness'],
        'three nodes make quorum on their own (2 of 3 votes), and hvcluster uses a witness only with two nodes; remove witness',
      );
    }
    const host = sameHost(witness.address);
    const isNode = nodeAddresses.get(host);
    if (isNode) {
      error(
        ['spec', 'ha', 'witness', 'address'],
        `the witness ${witness.address} is ${isNode}; expected a separate server: a node that is also the witness takes the tie-breaking vote down with it`,
      );
    } else {
      // Reached over SSH like a node (same address, port and jump): it is that node.
      const sameEndpoint = parts.nodes.find(
        ({ node }) => sameHost(node.ssh.address) === host && node.ssh.port === witness.port && (node.ssh.jump ?? '') === (witness.jump ?? ''),
      );
      if (sameEndpoint) {
        error(
          ['spec', 'ha', 'witness', 'address'],
          `the witness ${witness.address} port ${witness.port} is how ${sameEndpoint.node.name} is reached (spec.nodes[${sameEndpoint.index}].ssh); expected a separate server: a node that is also the witness takes the tie-breaking vote down with it`,
        );
      }
    }
    for (const { index: i, node } of parts.nodes) {
      if (node.bmc && sameHost(node.bmc.address) === host) {
        error(nodePath(i, 'bmc', 'address'), `BMC address ${node.bmc.address} is the witness's address (spec.ha.witness.address); expected the address of ${node.name}'s own BMC`);
      }
    }
  }
  if (enabled && ha.tls === 'off') {
    warning(
      ['spec', 'ha', 'tls'],
      'tls: off is only for a lab: the connection to the witness is not authenticated, so anything on the management network can pose as the witness and cast its vote',
    );
  }
  // The watchdog level: only with HA, and on two nodes not shorter than the quorum device's vote can take.
  const watchdog = ha.watchdog;
  if (watchdog) {
    if (!enabled) {
      warning(['spec', 'ha', 'watchdog'], 'watchdog is only used with ha, which is off here (spec.ha.enabled: false): sbd is not installed');
    } else if (parts.nodeCount === 2 && watchdog.timeout < QDEVICE_SYNC_TIMEOUT_S) {
      error(
        ['spec', 'ha', 'watchdog', 'timeout'],
        `timeout ${watchdog.timeout} is shorter than the quorum device's sync_timeout (${QDEVICE_SYNC_TIMEOUT_S} s): while the witness's vote is renegotiated a healthy node may be without quorum that long, and its watchdog would reset it; expected at least ${QDEVICE_SYNC_TIMEOUT_S}`,
      );
    }
  }
  return issues;
}
