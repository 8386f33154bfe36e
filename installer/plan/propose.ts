/**
 * The wizard's proposal: a layout guessed from the servers' facts (data disk, management and
 * replication NICs, addresses, bridge), turned into answers, and checked with the same rules (and
 * so the same messages) as an answer file: the schema, the cross-field rules, and the facts checks.
 * Pure: no server is read here.
 */
import { checkAnswers } from '../answers/load.js';
import { formatPath, type AnswerIssue } from '../answers/issues.js';
import { API_VERSION, KIND, type Answers } from '../answers/schema.js';
import { addressOf } from '../net/ipv4.js';
import { factValue, type Disk, type Nic, type ServerFacts } from '../facts/types.js';
import { managementNic } from '../facts/query.js';
import { DISK_SIZE_TOLERANCE, checkClusterFacts, checkNodeFacts, holdsVolumeGroup } from './check-facts.js';

/** How the installer logs in to one server (what the wizard asks first). */
export interface ServerLogin {
  address: string;
  port: number;
  user: string;
  auth: 'key' | 'agent' | 'password';
  /** auth key: the private key file. */
  identityFile?: string;
  /** auth password: the environment variable holding the password. */
  passwordEnv?: string;
  /** For a user other than root whose sudo asks for a password: the environment variable holding it (none: `sudo -n`). */
  sudoPasswordEnv?: string;
  /** Jump host(s) as the answer file's ssh.jump: `[user@]host[:port]`, comma-separated, outermost first. */
  jump?: string;
  /** The confirmed (or pinned) host key fingerprint. */
  hostKey?: string;
}

export interface NodeLayout {
  name: string;
  managementInterface: string;
  managementAddress: string;
  gateway: string;
  replicationInterface: string;
  replicationAddress: string;
  disk: string;
  /** The chosen disk holds data: applying erases it (confirmed by typing its name). */
  wipe: boolean;
}

export interface Layout {
  cluster: string;
  bridge: string;
  /** `online`, or the absolute path of an offline package directory on the servers. */
  packages: string;
  nodes: NodeLayout[];
}

/** The name a disk is best referred to by: its first stable /dev/disk/by-id link, else its path. */
export function diskRef(disk: Disk): string {
  return disk.byIdPaths[0] ?? disk.path;
}

function dataDiskCandidates(facts: ServerFacts): Disk[] {
  const disks = factValue(facts.disks) ?? [];
  return disks.filter((d) => d.type === 'disk' && !d.readOnly && !d.removable).sort((a, b) => b.sizeBytes - a.sizeBytes);
}

function similar(a: number, b: number): boolean {
  return Math.abs(a - b) <= DISK_SIZE_TOLERANCE * Math.max(a, b);
}

/**
 * The data disk of every node: the largest blank disk that has a blank disk of similar size (within
 * 10 %) on every other node; else each node's largest blank disk; null where a node has none.
 */
export function proposeDisks(facts: ServerFacts[], volumeGroup = 'hvdata'): (Disk | null)[] {
  // A disk that already holds this cluster's volume group (a previous install) is the one to keep.
  const ours = facts.map((f) => dataDiskCandidates(f).find((d) => holdsVolumeGroup(d, volumeGroup, factValue(f.lvm))) ?? null);
  if (ours.every((d) => d !== null)) return ours;
  const blank = facts.map((f) => dataDiskCandidates(f).filter((d) => d.verdict.blank));
  for (const candidate of blank[0] ?? []) {
    const match = blank.map((disks, i) => (i === 0 ? candidate : (disks.find((d) => similar(d.sizeBytes, candidate.sizeBytes)) ?? null)));
    if (match.every((d) => d !== null)) return match;
  }
  return blank.map((disks) => disks[0] ?? null);
}

/** The NIC carrying the SSH session; when it is a bridge (a previous install), its physical port. */
function managementPort(facts: ServerFacts): { nic: Nic | null; bridge: string | null } {
  const nic = managementNic(facts);
  if (!nic || nic.kind !== 'bridge') return { nic, bridge: null };
  const nics = factValue(facts.network)?.nics ?? [];
  return { nic: nics.find((n) => n.master === nic.name && n.kind === 'physical') ?? null, bridge: nic.name };
}

/** The replication NIC: a physical NIC that carries neither the management address nor a bridge, with carrier; the fastest first. */
export function proposeReplicationNic(facts: ServerFacts, management: string | null): Nic | null {
  const nics = factValue(facts.network)?.nics ?? [];
  const candidates = nics.filter((n) => n.kind === 'physical' && n.name !== management && n.master === null && n.carrier === true);
  candidates.sort((a, b) => (b.speedMbps ?? 0) - (a.speedMbps ?? 0) || a.name.localeCompare(b.name));
  return candidates[0] ?? null;
}

function ipv4Cidr(nic: Nic | null): string | null {
  return nic?.addresses.find((a) => a.family === 'inet' && a.scope !== 'host')?.cidr ?? null;
}

function lastOctet(cidr: string): string {
  return addressOf(cidr).split('.')[3] ?? '1';
}

/** A DNS label from the node names: hv1, hv2 -> hv-cluster. */
function clusterName(names: string[]): string {
  let prefix = names[0] ?? '';
  for (const name of names) while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  prefix = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/[-\d]+$/, '');
  return `${prefix || 'hv'}-cluster`;
}

/** The proposed layout for the servers whose facts these are (in the order of the servers). */
export function proposeLayout(facts: ServerFacts[]): Layout {
  const disks = proposeDisks(facts);
  const ports = facts.map(managementPort);
  const replication = facts.map((f, i) => proposeReplicationNic(f, ports[i]!.nic?.name ?? null));
  const replicationCidrs = replication.map(ipv4Cidr);
  const knownSubnet = replicationCidrs.find((c) => c !== null);
  const nodes = facts.map((f, i): NodeLayout => {
    const session = factValue(f.session);
    const nic = ports[i]!.nic;
    const bridgeNic = ports[i]!.bridge ? (factValue(f.network)?.nics.find((n) => n.name === ports[i]!.bridge) ?? null) : nic;
    const managementAddress =
      bridgeNic?.addresses.find((a) => a.family === 'inet' && a.address === session?.managementAddress)?.cidr ?? (session ? `${session.managementAddress}/24` : '');
    const route = factValue(f.network)?.defaultRoutes.find((r) => r.family === 'inet' && (r.dev === bridgeNic?.name || r.dev === nic?.name));
    const octet = lastOctet(managementAddress || `0.0.0.${i + 1}`);
    const replicationAddress =
      replicationCidrs[i] ??
      (knownSubnet ? `${knownSubnet.split('.').slice(0, 3).join('.')}.${octet}/${knownSubnet.split('/')[1]}` : `10.99.0.${octet}/24`);
    const disk = disks[i] ?? null;
    return {
      name: factValue(f.hostname)?.nodeName ?? `node${i + 1}`,
      managementInterface: nic?.name ?? '',
      managementAddress,
      gateway: route?.gateway ?? '',
      replicationInterface: replication[i]?.name ?? '',
      replicationAddress,
      disk: disk ? diskRef(disk) : '',
      wipe: false,
    };
  });
  return {
    cluster: clusterName(nodes.map((n) => n.name)),
    bridge: ports.find((p) => p.bridge)?.bridge ?? 'br0',
    packages: 'online',
    nodes,
  };
}

/** The answers of a layout, as an answer file would hold them (not yet validated). */
export function draftAnswers(layout: Layout, logins: ServerLogin[]): unknown {
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
  const withoutUndefined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: layout.cluster },
    spec: {
      nodes: layout.nodes.map((node, i) => {
        const login = logins[i]!;
        return {
          name: node.name,
          // Blank login answers are kept (an empty variable name too): the schema then says what is expected.
          ssh: withoutUndefined({
            address: login.address,
            port: login.port,
            user: login.user,
            identityFile: login.auth === 'key' ? login.identityFile : undefined,
            agent: login.auth === 'agent',
            passwordFrom: login.auth === 'password' && login.passwordEnv !== undefined ? { env: login.passwordEnv } : undefined,
            sudoPasswordFrom: login.sudoPasswordEnv !== undefined ? { env: login.sudoPasswordEnv } : undefined,
            hostKey: login.hostKey,
            jump: login.jump,
          }),
          management: defined({ interface: node.managementInterface, address: node.managementAddress, gateway: node.gateway }),
          replication: defined({ interface: node.replicationInterface, address: node.replicationAddress }),
          storage: defined({ disk: node.disk, wipe: node.wipe }),
        };
      }),
      network: defined({ bridge: layout.bridge }),
      packages: layout.packages === 'online' ? { source: 'online' } : { source: 'offline', offline: { path: layout.packages } },
    },
  };
}

export interface LayoutCheck {
  answers?: Answers;
  /** Every issue, by key path (`spec.nodes[0].storage.disk`). */
  issues: AnswerIssue[];
  byPath: Map<string, AnswerIssue[]>;
}

/**
 * The layout checked as an answer file would be: schema and cross-field rules, then (when those
 * pass) the facts of the servers. `answers` is set when there is no error.
 */
export function checkLayout(layout: Layout, logins: ServerLogin[], facts: ServerFacts[]): LayoutCheck {
  const checked = checkAnswers(draftAnswers(layout, logins));
  let issues = checked.issues;
  let answers = checked.answers;
  if (answers) {
    const factIssues = [
      ...answers.spec.nodes.flatMap((node, i) => checkNodeFacts(node, i, facts[i]!, answers!.spec.storage.volumeGroup)),
      ...checkClusterFacts(answers, facts).issues,
    ];
    issues = [...issues, ...factIssues];
    if (factIssues.some((i) => i.severity === 'error')) answers = undefined;
  }
  const byPath = new Map<string, AnswerIssue[]>();
  for (const issue of issues) {
    const key = formatPath(issue.path);
    byPath.set(key, [...(byPath.get(key) ?? []), issue]);
  }
  return { answers, issues, byPath };
}

/** The disk a node's layout names, from its facts. */
export function layoutDisk(facts: ServerFacts, ref: string): Disk | null {
  return (factValue(facts.disks) ?? []).find((d) => d.path === ref || d.name === ref || d.byIdPaths.includes(ref)) ?? null;
}

/**
 * The answer-file messages about one server's login (`spec.nodes[i].ssh.*`), by field name
 * (address, user, port, identityFile, passwordFrom, sudoPasswordFrom, jump...); empty when it is valid.
 */
export function checkLogin(login: ServerLogin): Map<string, string> {
  const placeholder: NodeLayout = {
    name: 'hv1',
    managementInterface: 'eth0',
    managementAddress: '198.18.0.1/24',
    gateway: '',
    replicationInterface: 'eth1',
    replicationAddress: '198.19.0.1/24',
    disk: '/dev/sdb',
    wipe: false,
  };
  const layout: Layout = { cluster: 'c', bridge: 'br0', packages: 'online', nodes: [placeholder, { ...placeholder, name: 'hv2', managementAddress: '198.18.0.2/24', replicationAddress: '198.19.0.2/24' }] };
  const other: ServerLogin = { address: '198.18.0.2', port: 22, user: 'root', auth: 'agent' };
  const { issues } = checkAnswers(draftAnswers(layout, [login, other]));
  const out = new Map<string, string>();
  for (const issue of issues) {
    const [spec, nodes, index, ssh, field] = issue.path;
    if (spec === 'spec' && nodes === 'nodes' && index === 0 && ssh === 'ssh' && typeof field === 'string' && !out.has(field)) out.set(field, issue.message);
  }
  return out;
}
