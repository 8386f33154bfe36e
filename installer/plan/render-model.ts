/** Answers (and the few facts that matter) turned into the values the templates are rendered from. */
import type { Answers, NodeAnswers } from '../answers/schema.js';
import { formatIpv4, netmask, parseCidr } from '../net/ipv4.js';
import { backupModel } from './backup.js';
import { bootResources } from './drbd-layout.js';
import { haEnabled, haTiming, usesQdevice, watchdogPlan } from './ha.js';
import type { ClusterNodeModel, DrbdMajor, HaModel, Ipv4Cidr, RenderModel } from './model.js';

export function cidrModel(text: string): Ipv4Cidr {
  const parsed = parseCidr(text);
  return { address: formatIpv4(parsed.address), prefix: parsed.prefix, cidr: text, netmask: formatIpv4(netmask(parsed.prefix)) };
}

/** A node's name on the replication network (/etc/hosts): its name and this suffix. */
export const REPLICATION_NAME_SUFFIX = '-repl';

export function replicationName(node: { name: string }): string {
  return `${node.name}${REPLICATION_NAME_SUFFIX}`;
}

function clusterNode(node: NodeAnswers, nodeId: number): ClusterNodeModel {
  return {
    name: node.name,
    nodeId,
    management: cidrModel(node.management.address),
    replication: cidrModel(node.replication.address),
    replicationName: replicationName(node),
  };
}

export function resyncRate(syncRateMiB: number | 'auto'): string {
  // "auto": DRBD's dynamic resync controller, started from a rate that a 1 GbE link carries.
  return syncRateMiB === 'auto' ? '100M' : `${syncRateMiB}M`;
}

/** The secrets a cluster's files hold, generated once and read back from the nodes (see drbd-secret.ts, ha.ts). */
export interface ClusterSecrets {
  drbd: string;
  /** Only for an HA cluster. */
  corosyncKey?: string;
  /** HA: each node's BMC password, by node name (from the answer file's references, not from the nodes). */
  bmc?: Readonly<Record<string, string>>;
  /** An encrypted spec.backup: the repository's passphrase (from the answer file's reference, not from the nodes). */
  backupPassphrase?: string;
}

function haModel(answers: Answers, nodes: ClusterNodeModel[], corosyncKey: string | undefined): HaModel | undefined {
  if (!haEnabled(answers)) return undefined;
  if (!corosyncKey) throw new Error('an HA plan needs the Corosync key (ClusterSecrets.corosyncKey)');
  const witness = answers.spec.ha?.witness;
  return {
    timing: haTiming(answers),
    members: nodes.map((n) => ({ name: n.name, id: n.nodeId + 1, ring0: n.replication.address, ring1: n.management.address })),
    ...(usesQdevice(answers) && witness ? { witness: { address: witness.address, port: witness.qnetdPort, tls: answers.spec.ha!.tls } } : {}),
    corosyncKey,
    ...(watchdogPlan(answers) ? { watchdog: watchdogPlan(answers)! } : {}),
  };
}

export function renderModel(answers: Answers, nodeIndex: number, drbdMajor: DrbdMajor, managementMac: string, secrets: ClusterSecrets): RenderModel {
  const drbdSecret = secrets.drbd;
  const ha = haModel(answers, answers.spec.nodes.map(clusterNode), secrets.corosyncKey);
  const backup = backupModel(answers, secrets.backupPassphrase);
  const spec = answers.spec;
  const nodes = spec.nodes.map(clusterNode);
  const self = spec.nodes[nodeIndex]!;
  const node = nodes[nodeIndex]!;
  const management = self.management;
  return {
    cluster: { name: answers.metadata.name },
    node,
    nodes,
    peers: nodes.filter((_, i) => i !== nodeIndex),
    network: {
      bridge: spec.network.bridge,
      managementInterface: management.bond ? management.bond.name : management.interface!,
      managementMac,
      ...(management.bond ? { bond: { name: management.bond.name, slaves: management.bond.interfaces, mode: management.bond.mode } } : {}),
      management: node.management,
      ...(management.gateway ? { gateway: management.gateway } : {}),
      dns: management.dns,
      replicationInterface: self.replication.interface,
      replication: node.replication,
      replicationMtu: spec.network.replicationMtu,
    },
    drbd: { major: drbdMajor, protocol: spec.drbd.protocol, resyncRate: resyncRate(spec.drbd.syncRateMiB), sharedSecret: drbdSecret, bootResources: bootResources(spec.nodes.map((n) => n.name), node.name, drbdMajor) },
    storage: { volumeGroup: spec.storage.volumeGroup, disk: self.storage.disk },
    time: { servers: spec.time.servers },
    hypervisor: { migrationAddress: node.replication.address },
    ...(ha ? { ha } : {}),
    ...(backup ? { backup } : {}),
  };
}
