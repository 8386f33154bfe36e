/**
 * Node-to-node trust for live migration (`virsh migrate ... qemu+ssh://PEER-repl/system`), least
 * privilege:
 * - each node's root gets a key pair for this alone, /root/.ssh/hvcluster_migrate (never the
 *   customer's /root/.ssh/id_ed25519, whatever else that one opens);
 * - root on a node uses it for its peers' names and addresses only
 *   (/etc/ssh/ssh_config.d/hvcluster-migrate.conf, a planned file: see templates/ssh-migration.conf.hbs),
 *   so a customer's own `virsh migrate` as root uses it too;
 * - each peer accepts it only from that node's management and replication addresses and for
 *   commands only (`from="...",restrict`: no pty, no forwarding; libvirt's ssh transport runs
 *   virt-ssh-helper or nc and needs neither);
 * - every peer's host key is in known_hosts under all its names.
 * authorized_keys lines are marked by their comment, `hvcluster-migrate@NODE`; the unrestricted
 * `hvcluster@NODE` lines of earlier hvcluster versions are replaced. Other lines are never touched.
 */
import { shellQuote } from '../../ssh/quote.js';
import type { StepContext } from '../context.js';
import { backupCommand, readFiles } from '../files.js';
import type { StepKind } from './step.js';

export const MIGRATE_KEY = '/root/.ssh/hvcluster_migrate';
const LEGACY_KEY = '/root/.ssh/id_ed25519';
const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key.pub';
const AUTHORIZED_KEYS = '/root/.ssh/authorized_keys';
const KNOWN_HOSTS = '/root/.ssh/known_hosts';

/** The comment that marks a node's migration key (and its lines in the peers' authorized_keys). */
export const migrateKeyComment = (node: string) => `hvcluster-migrate@${node}`;

export interface NodeKeys {
  /** `ssh-ed25519 AAAA...` of the node's migration key, or null when a dry run has not created it. */
  migrateKey: string | null;
  /** `ssh-ed25519 AAAA...` of the node's SSH server. */
  hostKey: string;
  /** `ssh-ed25519 AAAA...` of root's /root/.ssh/id_ed25519.pub, which earlier versions authorized (null: none). */
  legacyKey: string | null;
}

const keysOf = (server: string) => `keys:${server}`;
/** `type base64`: a public key line without options or comment. */
const keyBody = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(' ');

const SECTION = '@@hvcluster-keys';

/** The three keys from the node-keys read (`none` for a missing file). Pure. */
export function parseNodeKeys(stdout: string): NodeKeys {
  const [migrate = 'none', host = '', legacy = 'none'] = stdout.split(`${SECTION}\n`).map((s) => s.trim());
  const key = (text: string) => (text === 'none' || text === '' ? null : keyBody(text));
  return { migrateKey: key(migrate), hostKey: keyBody(host), legacyKey: key(legacy) };
}

export const nodeKeysStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const read = () =>
      ctx.read(`{ [ -s ${MIGRATE_KEY} ] && cat ${MIGRATE_KEY}.pub 2>/dev/null; } || echo none; echo ${SECTION}; cat ${HOST_KEY}; echo ${SECTION}; cat ${LEGACY_KEY}.pub 2>/dev/null || echo none`);
    let keys = parseNodeKeys((await read()).stdout);
    if (keys.migrateKey === null) {
      await ctx.mutate(
        `create ${MIGRATE_KEY}, the SSH key root uses for live migration to its peers (and nothing else)`,
        `mkdir -p -m 700 /root/.ssh && rm -f ${MIGRATE_KEY} ${MIGRATE_KEY}.pub && ssh-keygen -q -t ed25519 -N '' -C ${shellQuote(migrateKeyComment(ctx.server))} -f ${MIGRATE_KEY}`,
      );
      if (!ctx.dryRun) keys = parseNodeKeys((await read()).stdout);
    }
    ctx.run.shared.set(keysOf(ctx.server), keys);
  },
};

export interface TrustPeer {
  name: string;
  replicationName: string;
  management: string;
  replication: string;
  keys: NodeKeys;
}

/**
 * The authorized_keys line of a peer's migration key: only from the peer's addresses, and
 * `restrict` (no pty, no port, agent or X11 forwarding, no ~/.ssh/rc). Pure.
 */
export function authorizedKeyLine(peer: Pick<TrustPeer, 'name' | 'management' | 'replication'>, key: string): string {
  return `from="${[peer.management, peer.replication].join(',')}",restrict ${keyBody(key)} ${migrateKeyComment(peer.name)}`;
}

/** The lines a node needs for its peers; pure, for tests. */
export function trustLines(peers: TrustPeer[]) {
  return {
    authorizedKeys: peers.filter((p) => p.keys.migrateKey !== null).map((p) => authorizedKeyLine(p, p.keys.migrateKey!)),
    knownHosts: peers.map((p) => `${p.name},${p.replicationName},${p.management},${p.replication} ${p.keys.hostKey}`),
  };
}

/** The marker comment of an authorized_keys line: [kind, node], or null for a line hvcluster did not write. */
function markOf(line: string): ['migrate' | 'legacy', string] | null {
  const m = /\s(hvcluster-migrate|hvcluster)@(\S+)\s*$/.exec(line);
  if (!m) return null;
  return [m[1] === 'hvcluster' ? 'legacy' : 'migrate', m[2]!];
}

/**
 * authorized_keys with the wanted migration lines in place: lines marked `hvcluster-migrate@*`
 * that are not wanted (a key or addresses that changed, a node that left) and the unrestricted
 * `hvcluster@NODE` lines earlier versions wrote for the cluster's nodes are removed; every other
 * line stays as it is, in its place. Pure.
 */
export function updateAuthorizedKeys(current: string, wanted: readonly string[], clusterNodes: readonly string[]): { content: string; added: string[]; removed: string[] } {
  const lines = current === '' ? [] : current.replace(/\n$/, '').split('\n');
  const removed: string[] = [];
  const kept = lines.filter((line) => {
    const mark = markOf(line);
    const ours = mark !== null && (mark[0] === 'migrate' ? !wanted.includes(line.trim()) : clusterNodes.includes(mark[1]));
    if (ours) removed.push(line);
    return !ours;
  });
  const present = new Set(kept.map((l) => l.trim()));
  const added = wanted.filter((line) => !present.has(line));
  if (removed.length === 0 && added.length === 0) return { content: current, added, removed };
  const all = [...kept, ...added];
  return { content: all.length === 0 ? '' : `${all.join('\n')}\n`, added, removed };
}

/**
 * The peers whose legacy root key (id_ed25519) is still authorized without restriction after the
 * update: a line hvcluster cannot tell from one the customer wrote, so it is left and reported. Pure.
 */
export function unrestrictedLegacyKeys(content: string, peers: readonly TrustPeer[]): string[] {
  const lines = content.split('\n').map((l) => l.trim());
  return peers
    .filter((p) => p.keys.legacyKey !== null && p.keys.legacyKey !== p.keys.migrateKey)
    .filter((p) => lines.some((l) => l.startsWith(`${p.keys.legacyKey} `) || l === p.keys.legacyKey))
    .map((p) => p.name);
}

export const nodeTrustStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const peers: TrustPeer[] = ctx.node.model.peers.map((peer) => ({
      name: peer.name,
      replicationName: peer.replicationName,
      management: peer.management.address,
      replication: peer.replication.address,
      keys: ctx.run.shared.get(keysOf(peer.name)) as NodeKeys,
    }));
    const wanted = trustLines(peers);
    const current = await readFiles(ctx, [AUTHORIZED_KEYS, KNOWN_HOSTS]);
    const authorized = current.get(AUTHORIZED_KEYS) ?? '';
    const known = current.get(KNOWN_HOSTS) ?? '';
    const pendingKeys = peers.filter((p) => p.keys.migrateKey === null).map((p) => p.name);
    if (pendingKeys.length > 0) {
      await ctx.change(`authorize the migration keys that this run creates on ${pendingKeys.join(', ')} (from their addresses only, restricted)`, async () => undefined);
    }

    const update = updateAuthorizedKeys(
      authorized,
      wanted.authorizedKeys,
      ctx.node.model.nodes.map((n) => n.name),
    );
    if (update.content !== authorized) {
      const what = [
        update.added.length > 0 ? `authorize ${update.added.length} peer migration key(s) (from their addresses only, restricted)` : null,
        update.removed.length > 0 ? `remove ${update.removed.length} earlier hvcluster line(s)` : null,
      ].filter(Boolean);
      await ctx.change(`${what.join(' and ')} in ${AUTHORIZED_KEYS}`, async () => {
        await ctx.conn.exec(`mkdir -p -m 700 /root/.ssh && ${backupCommand(ctx.backupDir, [AUTHORIZED_KEYS])}`, { sudo: true, step: ctx.step });
        await ctx.conn.upload(AUTHORIZED_KEYS, update.content, { mode: 0o600, owner: 'root:root', sudo: true });
      });
    }
    const legacy = unrestrictedLegacyKeys(update.content, peers);
    if (legacy.length > 0) {
      ctx.log(
        `${AUTHORIZED_KEYS} still lets root of ${legacy.join(', ')} in with its own key (${LEGACY_KEY}), without restriction; ` +
          'hvcluster migrates with its restricted key: remove that line unless something else of yours needs it',
        'warn',
      );
    }

    const haveKnown = new Set(known.split('\n').map((l) => l.trim()));
    const addKnown = wanted.knownHosts.filter((line) => !haveKnown.has(line));
    if (addKnown.length > 0) {
      // A last line without its newline gets one first.
      const lines = [...(known !== '' && !known.endsWith('\n') ? [''] : []), ...addKnown];
      await ctx.mutate(
        `add ${addKnown.length} peer host key(s) to ${KNOWN_HOSTS}`,
        `umask 077; mkdir -p -m 700 /root/.ssh && printf '%s\\n' ${lines.map(shellQuote).join(' ')} >> ${KNOWN_HOSTS}`,
      );
    }
  },
};
