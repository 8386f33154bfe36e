/**
 * Right after the network step: proof that the replication path carries what the answer file asks,
 * before anything is built on it. From each node to every peer, over the replication addresses: a
 * small ping (the peer answers at all), then don't-fragment pings of network.replicationMtu bytes.
 * A path that drops full-size frames lets DRBD connect (its handshake is small) and then stalls the
 * sync for ever; here it stops the run with the figures: the MTU asked, the largest packet that passed.
 * Read-only (pings): its probe is part of the batched read before the first step, and is made again
 * only when a change on any server came after it.
 */
import { readValue, StepRefusedError, type StepKind } from './step.js';

export type PathStatus = { address: string; status: 'ok'; mtu: number } | { address: string; status: 'too-big'; mtu: number; largest: number; detail: string[] } | { address: string; status: 'unreachable'; detail: string[] };

/** What replication-path.sh printed: `noping`, `noaddress OWN`, or one result per peer. Pure. */
export function parsePathProbe(stdout: string): { noPing: boolean; noAddress?: string; peers: PathStatus[] } {
  const peers: PathStatus[] = [];
  let noPing = false;
  let noAddress: string | undefined;
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'noping') noPing = true;
    else if (words[0] === 'noaddress') noAddress = words[1] ?? '?';
    else if (words[0] === 'detail') {
      const last = peers[peers.length - 1];
      if (last && last.status !== 'ok') last.detail.push(line.trim().slice('detail '.length));
    } else if (words[0] === 'peer' && words[1]) {
      const [, address, status, mtu, largest] = words as [string, string, string, string?, string?];
      if (status === 'ok') peers.push({ address, status, mtu: Number(mtu) });
      else if (status === 'too-big') peers.push({ address, status, mtu: Number(mtu), largest: Number(largest), detail: [] });
      else if (status === 'unreachable') peers.push({ address, status, detail: [] });
    }
  }
  return { noPing, ...(noAddress !== undefined ? { noAddress } : {}), peers };
}

/** The finding for one peer, or null when its path is fine. Pure. */
export function pathProblem(from: { name: string; address: string; nic: string }, peer: { name: string; address: string }, result: PathStatus | undefined): string | null {
  if (!result) return `no result for ${peer.name} (${peer.address}) from the probe`;
  if (result.status === 'ok') return null;
  const loss = result.detail.find((l) => /packets transmitted/.test(l));
  if (result.status === 'unreachable') {
    return `${peer.name}'s replication address ${peer.address} does not answer from ${from.address} (${from.nic}) at all${loss ? ` (${loss})` : ''}: check the cable and that both replication NICs are on the same link`;
  }
  return (
    `the replication path from ${from.name} (${from.address}, ${from.nic}) to ${peer.name} (${peer.address}) does not carry MTU ${result.mtu}: ` +
    `a ${result.mtu}-byte don't-fragment packet does not get through (ping -M do -s ${result.mtu - 28}${loss ? `: ${loss}` : ''}), ` +
    `the largest that does is ${result.largest} bytes (ping -M do -s ${result.largest - 28}); DRBD would connect and then stall its sync`
  );
}

export const replicationPathStep: StepKind = {
  scope: 'node',
  reads: [],
  clusterReads: ['pathProbe'],
  plan(input) {
    const node = input.self.node;
    const own = node.model.node;
    const mtu = node.model.network.replicationMtu;
    const peers = input.plan.nodes.filter((n) => n.name !== node.name).map((n) => ({ name: n.name, address: n.model.node.replication.address }));
    if (input.stale) {
      return { changes: [], notes: [{ text: `would probe the replication path to ${peers.map((p) => p.name).join(', ')} with ${mtu}-byte don't-fragment packets`, level: 'info' }] };
    }
    const probe = readValue(input, input.self, 'pathProbe');
    if (probe.noPing) {
      return { changes: [], notes: [{ text: `cannot probe the replication path: ping is not installed (Debian: iputils-ping); a path that drops ${mtu}-byte frames shows only as a stalled DRBD sync`, level: 'warn' }] };
    }
    if (probe.noAddress !== undefined) {
      throw new StepRefusedError(
        node.name,
        input.step.name,
        `no interface of ${node.name} holds its replication address ${own.replication.address}, so the path to ${peers.map((p) => p.name).join(', ')} cannot be probed. The run stopped here: nothing was built on the network yet`,
        `check spec.nodes (${node.name}).replication against \`ip -4 addr\` on the server, then run apply again`,
      );
    }
    const from = { name: node.name, address: own.replication.address, nic: node.model.network.replicationInterface };
    const problems = peers.map((peer) => pathProblem(from, peer, probe.peers.find((r) => r.address === peer.address))).filter((p): p is string => p !== null);
    if (problems.length > 0) {
      const tooBig = probe.peers.filter((r): r is Extract<PathStatus, { status: 'too-big' }> => r.status === 'too-big');
      const carried = tooBig.length > 0 ? Math.min(...tooBig.map((r) => r.largest)) : null;
      throw new StepRefusedError(
        node.name,
        input.step.name,
        `${problems.join('; ')}. The run stopped here: the network is configured, nothing was built on it yet`,
        carried !== null
          ? `set spec.network.replicationMtu to ${carried} (or less), or enable MTU ${mtu} on every NIC and switch port between the nodes; then run apply again`
          : 'check the replication cabling and addresses, then run apply again',
      );
    }
    return { changes: [], notes: [{ text: `replication path carries MTU ${mtu} to ${peers.map((p) => p.name).join(', ')}`, level: 'info' }] };
  },
};
