/**
 * The nodes' own addresses and names, to tell a device that is really one of the nodes (a witness,
 * a BMC, a backup server) from a separate one. Shared by validate-ha.ts and validate-backup.ts.
 */
import { addressOf, formatIpv4, parseIpv4 } from '../net/ipv4.js';
import { isIPv4, type NodeAnswers } from './schema.js';

/** An address as compared: IPv4 addresses by value (198.18.1.011 is not written, but 198.18.1.11 twice is), names case-insensitively. */
export function sameHost(text: string): string {
  return isIPv4(text) ? formatIpv4(parseIpv4(text)) : text.toLowerCase();
}

/**
 * Each node's management and replication address and its name (as sameHost compares them), with
 * what it is, like "the management address of hv2 (spec.nodes[1].management.address)".
 */
export function nodeAddresses(nodes: ReadonlyArray<{ index: number; node: NodeAnswers }>): Map<string, string> {
  const found = new Map<string, string>();
  for (const { index: i, node } of nodes) {
    const add = (address: string, what: string, key: string) => {
      const host = sameHost(address);
      if (!found.has(host)) found.set(host, `the ${what} address of ${node.name} (spec.nodes[${i}].${key})`);
    };
    add(addressOf(node.management.address), 'management', 'management.address');
    add(addressOf(node.replication.address), 'replication', 'replication.address');
    // A host name equal to a node's name (its `uname -n`) is that node as DNS or /etc/hosts knows it.
    const name = node.name.toLowerCase();
    if (!found.has(name)) found.set(name, `the name of node ${node.name} (spec.nodes[${i}].name)`);
  }
  return found;
}
