/**
 * Node-to-node trust for live migration (`virsh migrate ... qemu+ssh://PEER-repl/system`): each
 * node's root gets an SSH key of its own, every peer's key in authorized_keys and every peer's host
 * key in known_hosts, under all its names. Only adds: existing keys and entries are never replaced.
 */
import { shellQuote } from '../../ssh/quote.js';
import type { StepContext } from '../context.js';
import type { StepKind } from './step.js';

const KEY = '/root/.ssh/id_ed25519';
const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key.pub';

interface NodeKeys {
  /** The root user's public key line, or null when a dry run has not created it. */
  userKey: string | null;
  /** `ssh-ed25519 AAAA...` of the node's SSH server. */
  hostKey: string;
}

const keysOf = (server: string) => `keys:${server}`;

export const nodeKeysStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const read = () => ctx.read(`cat ${KEY}.pub 2>/dev/null || echo none; cat ${HOST_KEY}`);
    let result = await read();
    if (result.stdout.startsWith('none')) {
      await ctx.mutate(
        'create an SSH key for root (node-to-node live migration)',
        `mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N '' -C ${shellQuote(`hvcluster@${ctx.server}`)} -f ${KEY}`,
      );
      if (!ctx.dryRun) result = await read();
    }
    const [userLine, hostLine] = result.stdout.trim().split('\n');
    const hostKey = hostLine!.trim().split(/\s+/).slice(0, 2).join(' ');
    const keys: NodeKeys = { userKey: userLine === 'none' ? null : userLine!.trim(), hostKey };
    ctx.run.shared.set(keysOf(ctx.server), keys);
  },
};

/** The lines a node needs for its peers; pure, for tests. */
export function trustLines(peers: { name: string; replicationName: string; management: string; replication: string; keys: NodeKeys }[]) {
  return {
    authorizedKeys: peers.filter((p) => p.keys.userKey !== null).map((p) => p.keys.userKey!),
    knownHosts: peers.map((p) => `${p.name},${p.replicationName},${p.management},${p.replication} ${p.keys.hostKey}`),
  };
}

export const nodeTrustStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const peers = ctx.node.model.peers.map((peer) => ({
      name: peer.name,
      replicationName: peer.replicationName,
      management: peer.management.address,
      replication: peer.replication.address,
      keys: ctx.run.shared.get(keysOf(peer.name)) as NodeKeys,
    }));
    const wanted = trustLines(peers);
    const current = await ctx.read('echo @@authorized_keys; cat /root/.ssh/authorized_keys 2>/dev/null; echo @@known_hosts; cat /root/.ssh/known_hosts 2>/dev/null; true', { secretOutput: true });
    const [, authorized = '', known = ''] = current.stdout.split(/^@@(?:authorized_keys|known_hosts)$/m);
    const has = (text: string) => new Set(text.split('\n').map((l) => l.trim()));
    const haveAuthorized = has(authorized);
    const haveKnown = has(known);
    const addAuthorized = wanted.authorizedKeys.filter((line) => !haveAuthorized.has(line));
    const addKnown = wanted.knownHosts.filter((line) => !haveKnown.has(line));
    const pendingKeys = peers.filter((p) => p.keys.userKey === null).map((p) => p.name);
    if (pendingKeys.length > 0) {
      await ctx.change(`authorize the root keys that this run creates on ${pendingKeys.join(', ')}`, async () => undefined);
    }
    const append = (file: string, lines: string[]) =>
      `umask 077; mkdir -p -m 700 /root/.ssh && printf '%s\\n' ${lines.map(shellQuote).join(' ')} >> ${file}`;
    if (addAuthorized.length > 0) {
      await ctx.mutate(`authorize ${addAuthorized.length} peer root key(s) in /root/.ssh/authorized_keys`, append('/root/.ssh/authorized_keys', addAuthorized));
    }
    if (addKnown.length > 0) {
      await ctx.mutate(`add ${addKnown.length} peer host key(s) to /root/.ssh/known_hosts`, append('/root/.ssh/known_hosts', addKnown));
    }
  },
};
