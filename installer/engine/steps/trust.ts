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
import { changeOf, readValue, type StepKind } from './step.js';

export const MIGRATE_KEY = '/root/.ssh/hvcluster_migrate';
export const LEGACY_KEY = '/root/.ssh/id_ed25519';
export const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key.pub';
export const AUTHORIZED_KEYS = '/root/.ssh/authorized_keys';
export const KNOWN_HOSTS = '/root/.ssh/known_hosts';

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
  reads: ['nodeKeys'],
  produces: ['node-keys'],
  plan(input) {
    if (readValue(input, input.self, 'nodeKeys').migrateKey !== null) return { changes: [] };
    return {
      changes: [
        changeOf(input, input.self, `create ${MIGRATE_KEY}, the SSH key root uses for live migration to its peers (and nothing else)`, [
          { script: 'make-migrate-key.sh', args: [MIGRATE_KEY, migrateKeyComment(input.self.node.name)] },
        ]),
      ],
    };
  },
  // Read again after the key was made (a dry run: null, the key this run would create).
  outputs: (input) => ({ 'node-keys': readValue(input, input.self, 'nodeKeys') }),
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
  reads: ['files'],
  requires: ['node-keys'],
  plan(input) {
    const node = input.self.node;
    const peers: TrustPeer[] = node.model.peers.map((peer) => ({
      name: peer.name,
      replicationName: peer.replicationName,
      management: peer.management.address,
      replication: peer.replication.address,
      keys: input.nodes.find((n) => n.node.name === peer.name)!.data['node-keys']!,
    }));
    const wanted = trustLines(peers);
    const files = readValue(input, input.self, 'files');
    const authorized = files.get(AUTHORIZED_KEYS) ?? '';
    const known = files.get(KNOWN_HOSTS) ?? '';
    const changes = [];
    const update = updateAuthorizedKeys(
      authorized,
      wanted.authorizedKeys,
      node.model.nodes.map((n) => n.name),
    );
    // The peers whose key is not authorized yet; a dry run's keys still to be made among them.
    const adding = peers.filter((p) => p.keys.migrateKey === null || update.added.includes(authorizedKeyLine(p, p.keys.migrateKey))).map((p) => p.name);
    if (adding.length > 0 || update.removed.length > 0) {
      const what = [
        adding.length > 0 ? `authorize the migration key of ${adding.join(', ')} (from its addresses only, restricted)` : null,
        update.removed.length > 0 ? `remove ${update.removed.length} earlier hvcluster line(s)` : null,
      ].filter(Boolean);
      changes.push(changeOf(input, input.self, `${what.join(' and ')} in ${AUTHORIZED_KEYS}`, [{ upload: AUTHORIZED_KEYS, content: update.content, mode: 0o600, owner: 'root:root', backupDir: input.backupDir }]));
    }
    const notes: { text: string; level: 'info' | 'warn' }[] = [];
    const legacy = unrestrictedLegacyKeys(update.content, peers);
    if (legacy.length > 0) {
      notes.push({
        text:
          `${AUTHORIZED_KEYS} still lets root of ${legacy.join(', ')} in with its own key (${LEGACY_KEY}), without restriction; ` +
          'hvcluster migrates with its restricted key: remove that line unless something else of yours needs it',
        level: 'warn',
      });
    }
    const haveKnown = new Set(known.split('\n').map((l) => l.trim()));
    const addKnown = wanted.knownHosts.filter((line) => !haveKnown.has(line));
    if (addKnown.length > 0) {
      // Appended; a last line without its newline gets one first.
      const content = `${known}${known !== '' && !known.endsWith('\n') ? '\n' : ''}${addKnown.join('\n')}\n`;
      changes.push(changeOf(input, input.self, `add ${addKnown.length} peer host key(s) to ${KNOWN_HOSTS}`, [{ upload: KNOWN_HOSTS, content, mode: 0o644, owner: 'root:root', backupDir: input.backupDir }]));
    }
    return { changes, notes };
  },
};
