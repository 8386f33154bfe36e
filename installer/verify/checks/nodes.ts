/** SSH, node names, name resolution and /etc/hosts. */
import { addressOf } from '../../net/ipv4.js';
import { nodeAnswers, probe, reachable, result } from './common.js';
import { firstAddress } from '../parse.js';
import { replicationName } from '../../plan/render-model.js';
import { CLUSTER, type CheckResult, type VerifyInput } from '../types.js';

export function sshChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  for (const node of input.nodes) {
    const ssh = nodeAnswers(input, node.name).ssh;
    const where = `${ssh.user}@${ssh.address}:${ssh.port}`;
    if (node.reachable) {
      out.push(result('SSH_REACHABLE', 'pass', node.name, `connected to ${where}, sudo works, the read-only checks ran`));
      out.push(
        result('SSH_HOST_KEY', 'pass', node.name, `host key ${node.hostKeyFingerprint} (${node.pinned ? 'pinned in the answer file' : 'known_hosts'})`, {
          data: { fingerprint: node.hostKeyFingerprint, pinned: node.pinned },
        }),
      );
      continue;
    }
    const { kind, message, hint } = node.error;
    if (kind === 'host-key') {
      out.push(result('SSH_HOST_KEY', 'error', node.name, message, { fix: hint ?? 'compare the key with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the console, then pin it (ssh.hostKey)' }));
    }
    out.push(
      result('SSH_REACHABLE', 'error', node.name, `unreachable (${where}): ${message}`, {
        fix: hint ?? 'check that the server is powered on and that SSH answers on its management address; its checks could not run',
        data: { kind },
      }),
    );
  }
  return out;
}

export function nameChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  const expected = new Map<string, string>();
  for (const n of input.answers.spec.nodes) {
    expected.set(n.name, addressOf(n.management.address));
    expected.set(replicationName(n), addressOf(n.replication.address));
  }
  for (const node of reachable(input)) {
    const h = node.facts.hostname;
    if (!h.ok) out.push(result('HOSTNAME', 'error', node.name, `could not read the node name: ${h.reason}`, { fix: 'run `uname -n` on the server' }));
    else if (h.value.nodeName !== node.name) {
      out.push(
        result('HOSTNAME', 'error', node.name, `\`uname -n\` is ${h.value.nodeName}, the answer file names this node ${node.name}`, {
          fix: `run \`hostnamectl set-hostname ${node.name}\` on the server, or correct the node's name in the answer file (DRBD's on-sections match uname -n)`,
        }),
      );
    } else out.push(result('HOSTNAME', 'pass', node.name, `uname -n is ${node.name}`));

    const wrong: string[] = [];
    for (const [name, address] of expected) {
      const cmd = probe(node, `getent:${name}`);
      const got = cmd && cmd.exitCode === 0 ? firstAddress(cmd.stdout) : null;
      if (got !== address) wrong.push(`${name} -> ${got ?? 'does not resolve'} (expected ${address})`);
    }
    const hosts = node.facts.hosts;
    const loop = hosts.ok ? hosts.value.loopbackHostLine : null;
    if (loop && loop.names.includes(node.name)) wrong.push(`/etc/hosts maps ${node.name} to ${loop.address} (loopback)`);
    out.push(
      wrong.length === 0
        ? result('HOSTS_RESOLVE', 'pass', node.name, `all ${expected.size} cluster names resolve to their planned addresses`)
        : result('HOSTS_RESOLVE', 'error', node.name, wrong.join('; '), {
            fix: 'run `hvcluster apply` to rewrite /etc/hosts, or correct the entries by hand (no 127.0.1.1 line for the node name)',
          }),
    );
  }

  // /etc/hosts: the cluster's lines, the same everywhere.
  const names = new Set(expected.keys());
  const views = reachable(input)
    .filter((n) => n.facts.hosts.ok)
    .map((n) => {
      const entries = n.facts.hosts.ok ? n.facts.hosts.value.entries : [];
      const lines = entries
        .filter((e) => e.names.some((x) => names.has(x)))
        .map((e) => `${e.address} ${[...e.names].sort().join(' ')}`)
        .sort();
      return { name: n.name, key: lines.join('\n'), lines };
    });
  if (views.length >= 2) {
    const groups = new Map<string, string[]>();
    for (const v of views) groups.set(v.key, [...(groups.get(v.key) ?? []), v.name]);
    const servers = views.map((v) => v.name);
    if (groups.size === 1) out.push(result('HOSTS_CONSISTENT', 'pass', CLUSTER, `the cluster's ${views[0]!.lines.length} lines of /etc/hosts are the same on ${servers.join(', ')}`, { servers }));
    else {
      const describe = [...groups.values()].map((g) => g.join(', ')).join(' | ');
      out.push(
        result('HOSTS_CONSISTENT', 'warning', CLUSTER, `the cluster's lines of /etc/hosts differ between nodes (groups: ${describe})`, {
          servers,
          fix: 'run `hvcluster apply` so every node gets the same managed /etc/hosts',
        }),
      );
    }
  }
  return out;
}
