/** The replication link: NIC, reachability, MTU end to end, latency. */
import { addressOf } from '../../net/ipv4.js';
import { nodeAnswers, probe, reachable, result, why } from './common.js';
import { parsePing } from '../parse.js';
import { dfPayload } from '../probes.js';
import type { CheckResult, VerifyInput } from '../types.js';

export const LATENCY_WARNING_MS = 2;

export function replicationNicChecks(input: VerifyInput): CheckResult[] {
  const mtu = input.answers.spec.network.replicationMtu;
  return reachable(input).map((node) => {
    const want = nodeAnswers(input, node.name).replication;
    const net = node.facts.network;
    if (!net.ok) return result('REPL_NIC', 'error', node.name, `could not read the network: ${net.reason}`, { fix: 'run `ip -j addr` on the node' });
    const nic = net.value.nics.find((n) => n.name === want.interface);
    const subject = want.interface;
    if (!nic) return result('REPL_NIC', 'error', node.name, `no NIC ${want.interface}`, { subject, fix: 'correct replication.interface in the answer file, or check the NIC (`ip link`)' });
    const problems: string[] = [];
    if (!nic.adminUp) problems.push('is administratively down');
    else if (nic.carrier === false || nic.state === 'DOWN' || nic.state === 'LOWERLAYERDOWN') problems.push(`has no link (state ${nic.state})`);
    if (!nic.addresses.some((a) => a.cidr === want.address || a.address === addressOf(want.address))) problems.push(`does not hold ${want.address}`);
    if (nic.mtu !== mtu) problems.push(`has MTU ${nic.mtu}, the answer file says ${mtu}`);
    const data = { nic: nic.name, mtu: nic.mtu, speedMbps: nic.speedMbps, state: nic.state };
    if (problems.length > 0) {
      return result('REPL_NIC', 'error', node.name, `${nic.name} ${problems.join(', ')}`, {
        subject,
        data,
        fix: `run \`hvcluster apply\` to restore the replication NIC's configuration (MTU ${mtu}, address ${want.address}), and check its cable`,
      });
    }
    return result('REPL_NIC', 'pass', node.name, `${nic.name} up, ${want.address}, MTU ${nic.mtu}${nic.speedMbps ? `, ${nic.speedMbps} Mb/s` : ''}`, { subject, data });
  });
}

export function replicationLinkChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  const mtu = input.answers.spec.network.replicationMtu;
  for (const node of reachable(input)) {
    const own = addressOf(nodeAnswers(input, node.name).replication.address);
    for (const peer of input.answers.spec.nodes.filter((n) => n.name !== node.name)) {
      const servers = [node.name, peer.name];
      const target = addressOf(peer.replication.address);
      const lat = probe(node, `lat:${peer.name}`);
      const ping = lat ? parsePing(lat.stdout, lat.stderr) : null;
      let linkUp = false;
      if (!lat || lat.exitCode === null || !ping || ping.transmitted === 0) {
        out.push(result('REPL_LINK', 'error', node.name, `could not probe ${target}: ${why(lat, 'ping')}`, { servers, subject: peer.name, fix: 'install iputils-ping on the node; check the replication address is configured' }));
      } else if (ping.received === 0) {
        out.push(
          result('REPL_LINK', 'error', node.name, `${peer.name}'s replication address ${target} does not answer from ${own} (${ping.transmitted} probes lost${ping.localError ? `; ${ping.localError}` : ''})`, {
            servers,
            subject: peer.name,
            fix: `check that ${peer.name} is up, the replication cable between ${node.name} and ${peer.name}, and both replication NICs (\`ip addr show ${peer.replication.interface}\`)`,
          }),
        );
      } else {
        linkUp = true;
        const lossy = ping.received < ping.transmitted;
        out.push(
          result('REPL_LINK', lossy ? 'warning' : 'pass', node.name, `${target} answers from ${own}: ${ping.received}/${ping.transmitted} replies`, {
            servers,
            subject: peer.name,
            fix: 'packet loss on a replication link: check the cable, the NIC counters (`ip -s link`) and the switch port',
            data: { received: ping.received, transmitted: ping.transmitted },
          }),
        );
        if (ping.rttMinMs !== null) {
          const slow = ping.rttMinMs > LATENCY_WARNING_MS;
          out.push(
            result('REPL_LATENCY', slow ? 'warning' : 'pass', node.name, `round trip to ${peer.name} min/avg/max ${ping.rttMinMs}/${ping.rttAvgMs}/${ping.rttMaxMs} ms`, {
              servers,
              subject: peer.name,
              fix: `the replication link is slow (minimum above ${LATENCY_WARNING_MS} ms): every guest write waits one round trip; use a direct cable or a dedicated low-latency switch`,
              data: { minMs: ping.rttMinMs, avgMs: ping.rttAvgMs, maxMs: ping.rttMaxMs },
            }),
          );
        }
      }

      const df = probe(node, `df:${peer.name}`);
      const dfPing = df ? parsePing(df.stdout, df.stderr) : null;
      const size = dfPayload(mtu);
      if (df && df.exitCode === 0 && dfPing && dfPing.received > 0) {
        out.push(result('REPL_MTU', 'pass', node.name, `a ${mtu}-byte don't-fragment packet reaches ${peer.name} (ping -M do -s ${size})`, { servers, subject: peer.name, data: { mtu } }));
      } else if (!linkUp) {
        out.push(result('REPL_MTU', 'skipped', node.name, `not tested: ${peer.name}'s replication address does not answer at all (see REPL_LINK)`, { servers, subject: peer.name, data: { mtu } }));
      } else {
        const detail = dfPing?.localError ?? (dfPing?.reportedMtu ? `path MTU ${dfPing.reportedMtu}` : dfPing && dfPing.errors > 0 ? 'ICMP errors' : 'no reply');
        out.push(
          result('REPL_MTU', 'error', node.name, `a ${mtu}-byte don't-fragment packet does not reach ${peer.name} (ping -M do -s ${size}: ${detail}), small packets do`, {
            servers,
            subject: peer.name,
            fix: `set MTU ${mtu} on both replication NICs and every switch port between them, or lower network.replicationMtu to what the path carries; DRBD stalls on links that drop full-size frames`,
            data: { mtu, reportedMtu: dfPing?.reportedMtu ?? null },
          }),
        );
      }
    }
  }
  return out;
}
