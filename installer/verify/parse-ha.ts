/**
 * Parsers of the cluster stack's output (Corosync 3.1, corosync-qdevice 3.0, Pacemaker 2.1, DRBD's
 * configuration) for verify's HA checks. Pure; each throws on output it cannot read (the checks turn
 * that into a finding). Formats as captured on the lab: test/fixtures/verify/ha/.
 * The fence devices' passwords never appear in a parsed result (ha-state.sh already removed their
 * values; the parser drops the parameters too).
 */
import { child, children, descendants, parseXml, type XmlElement } from '../facts/parse/xml.js';

// ---------------------------------------------------------------------------------------------
// corosync-quorumtool -s

export interface QuorumState {
  quorate: boolean;
  nodes: number | null;
  expectedVotes: number | null;
  totalVotes: number | null;
  quorum: number | null;
  flags: string[];
  members: { nodeId: number; votes: number; qdevice: string; name: string; local: boolean }[];
  /** The qdevice's line of the membership (node ID 0): the votes it casts now and has configured; null without a qdevice. */
  qdevice: { votes: number; configuredVotes: number } | null;
}

const field = (text: string, name: string): string | null => new RegExp(`^${name}:[ \\t]*(.*?)\\s*$`, 'm').exec(text)?.[1] ?? null;
const intOrNull = (s: string | null | undefined): number | null => (s != null && /^\d+$/.test(s.trim()) ? Number(s.trim()) : null);

export function parseQuorumtool(text: string): QuorumState {
  const quorate = field(text, 'Quorate');
  if (quorate === null) throw new Error('no "Quorate:" line');
  const members: QuorumState['members'] = [];
  let qdevice: QuorumState['qdevice'] = null;
  const membership = text.split(/^Membership information\s*$/m)[1] ?? '';
  for (const line of membership.split('\n')) {
    // "         1          1    A,V,NMW hv1 (local)"; the qdevice: "         0          1            Qdevice"
    // A qdevice that casts no vote: "         0          0            Qdevice (votes 1)".
    const d = /^\s*0\s+(\d+)\s+Qdevice(?:\s+\(votes (\d+)\))?\s*$/.exec(line);
    if (d) {
      qdevice = { votes: Number(d[1]), configuredVotes: d[2] !== undefined ? Number(d[2]) : Number(d[1]) };
      continue;
    }
    const m = /^\s*(\d+)\s+(\d+)\s+(?:(\S+)\s+)?(\S+)(\s+\(local\))?\s*$/.exec(line);
    if (!m) continue;
    const nodeId = Number(m[1]);
    members.push({ nodeId, votes: Number(m[2]), qdevice: m[3] ?? '', name: m[4]!, local: m[5] !== undefined });
  }
  return {
    quorate: quorate === 'Yes',
    nodes: intOrNull(field(text, 'Nodes')),
    expectedVotes: intOrNull(field(text, 'Expected votes')),
    totalVotes: intOrNull(field(text, 'Total votes')),
    quorum: intOrNull(/^Quorum:\s+(\d+)/m.exec(text)?.[1]),
    flags: (field(text, 'Flags') ?? '').split(/\s+/).filter(Boolean),
    members,
    qdevice,
  };
}

// ---------------------------------------------------------------------------------------------
// corosync-qdevice-tool -s

export interface QdeviceState {
  model: string | null;
  /** Qdevice-net State: Connected, Connect failed, Waiting for ... */
  state: string | null;
  host: string | null;
  algorithm: string | null;
}

export function parseQdeviceTool(text: string): QdeviceState {
  const model = field(text, 'Model');
  if (model === null) throw new Error('no "Model:" line');
  return { model, state: field(text, 'State'), host: field(text, 'QNetd host'), algorithm: field(text, 'Algorithm') };
}

// ---------------------------------------------------------------------------------------------
// corosync-cfgtool -s (knet)

export interface CorosyncLink {
  id: number;
  address: string | null;
  /** Each node's status on this link as seen from here: localhost, connected, disconnected... */
  peers: { nodeId: number; status: string }[];
}

export interface LinkState {
  localNodeId: number | null;
  transport: string | null;
  links: CorosyncLink[];
}

export function parseCfgtool(text: string): LinkState {
  const head = /^Local node ID (\d+), transport (\S+)/m.exec(text);
  if (!head) throw new Error('no "Local node ID" line');
  const links: CorosyncLink[] = [];
  let link: CorosyncLink | null = null;
  for (const line of text.split('\n')) {
    const l = /^LINK ID (\d+)/.exec(line);
    if (l) {
      link = { id: Number(l[1]), address: null, peers: [] };
      links.push(link);
      continue;
    }
    if (!link) continue;
    const a = /^\s*addr\s*=\s*(\S+)/.exec(line);
    if (a) link.address = a[1]!;
    const p = /^\s*nodeid:?\s+(\d+):\s*(.+?)\s*$/.exec(line);
    if (p) link.peers.push({ nodeId: Number(p[1]), status: p[2]! });
  }
  return { localNodeId: Number(head[1]), transport: head[2]!, links };
}

// ---------------------------------------------------------------------------------------------
// corosync-cmapctl (ha-state.sh cmap): `KEY (TYPE) = VALUE`

export function parseCmap(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) \([a-z0-9]+\) = (.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

// crm_mon -1 --output-as=xml: installer/facts/parse/crm-mon.ts (the engine reads it too)
export { parseCrmMon, type CrmFailure, type CrmNode, type CrmResource, type CrmStatus } from '../facts/parse/crm-mon.js';

// ---------------------------------------------------------------------------------------------
// cibadmin --query (through ha-state.sh cib)

export interface CibPrimitive {
  id: string;
  class: string;
  provider: string | null;
  type: string;
  /** instance_attributes, without any password (see hasPassword). */
  params: Record<string, string>;
  /** A password parameter is set (its value is never read). */
  hasPassword: boolean;
}

export interface CibLocation {
  id: string;
  rsc: string;
  node: string | null;
  score: string | null;
  role: string | null;
  /** The constraint has rules (drbd-fence-by-handler's are rules on #uname). */
  rules: boolean;
}

export interface Cib {
  /** cluster_property_set nvpairs of crm_config. */
  properties: Record<string, string>;
  primitives: CibPrimitive[];
  locations: CibLocation[];
  /** fencing-topology levels: target node, index, devices (comma-separated ids). */
  fencingLevels: { id: string; target: string; index: number; devices: string }[];
}

export const isPasswordParam = (name: string): boolean => /pass/i.test(name);

function nvpairs(el: XmlElement | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of el?.children ?? []) for (const nv of children(set, 'nvpair')) if (nv.attrs.name !== undefined) out[nv.attrs.name] = nv.attrs.value ?? '';
  return out;
}

export function parseCib(text: string): Cib {
  const doc = parseXml(text);
  if (doc.name !== 'cib') throw new Error(`unexpected root element <${doc.name}>`);
  const config = child(doc, 'configuration');
  const properties: Record<string, string> = {};
  for (const set of children(child(config, 'crm_config'), 'cluster_property_set')) {
    for (const nv of children(set, 'nvpair')) if (nv.attrs.name !== undefined) properties[nv.attrs.name] = nv.attrs.value ?? '';
  }
  const primitives = descendants(child(config, 'resources'), 'primitive').map((p): CibPrimitive => {
    const all: Record<string, string> = {};
    for (const ia of children(p, 'instance_attributes')) Object.assign(all, nvpairs({ name: '', attrs: {}, children: [ia] }));
    const params = Object.fromEntries(Object.entries(all).filter(([k]) => !isPasswordParam(k)));
    return { id: p.attrs.id ?? '', class: p.attrs.class ?? '', provider: p.attrs.provider ?? null, type: p.attrs.type ?? '', params, hasPassword: Object.keys(all).some(isPasswordParam) };
  });
  const locations = children(child(config, 'constraints'), 'rsc_location').map(
    (l): CibLocation => ({
      id: l.attrs.id ?? '',
      rsc: l.attrs.rsc ?? '',
      node: l.attrs.node ?? null,
      score: l.attrs.score ?? null,
      role: l.attrs.role ?? children(l, 'rule')[0]?.attrs.role ?? null,
      rules: children(l, 'rule').length > 0,
    }),
  );
  const fencingLevels = children(child(config, 'fencing-topology'), 'fencing-level').map((l) => ({
    id: l.attrs.id ?? '',
    target: l.attrs.target ?? '',
    index: Number(l.attrs.index ?? '0'),
    devices: l.attrs.devices ?? '',
  }));
  return { properties, primitives, locations, fencingLevels };
}

// ---------------------------------------------------------------------------------------------
// stonith_admin --list-registered: one device per line, then "N fence devices found"

export function parseStonithList(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines[lines.length - 1] ?? '';
  if (!/^\d+ fence devices? found$/.test(last) && !/^No fence devices found$/i.test(last)) throw new Error(`no device count line (last line: ${JSON.stringify(last)})`);
  return lines.filter((l) => !/fence devices? found$/i.test(l));
}

// ---------------------------------------------------------------------------------------------
// DRBD configuration text (drbdadm dump, drbdsetup show): sections and statements

export interface ConfSection {
  keyword: string;
  args: string[];
  /** `name value...;` statements, by name (the last one wins). */
  statements: Map<string, string[]>;
  sections: ConfSection[];
}

function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"#]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].startsWith('#')) continue;
    out.push(m[1] !== undefined ? m[1] : m[0]);
  }
  return out;
}

/** The top level of a DRBD configuration: global, common and resource sections. */
export function parseDrbdConf(text: string): ConfSection {
  const toks = tokens(text);
  let i = 0;
  const section = (keyword: string, args: string[]): ConfSection => {
    const s: ConfSection = { keyword, args, statements: new Map(), sections: [] };
    let words: string[] = [];
    while (i < toks.length) {
      const t = toks[i++]!;
      if (t === '}') {
        if (keyword === '#top') throw new Error('unbalanced }');
        return s;
      }
      if (t === '{') {
        const [k = '', ...a] = words;
        s.sections.push(section(k, a));
        words = [];
      } else if (t === ';') {
        const [k, ...a] = words;
        if (k !== undefined) s.statements.set(k, a);
        words = [];
      } else words.push(t);
    }
    if (keyword !== '#top') throw new Error(`section ${keyword} is not closed`);
    return s;
  };
  return section('#top', []);
}

export interface DrbdFencing {
  resource: string;
  /** The fencing policy: dont-care (DRBD's default when none is set), resource-only, resource-and-stonith. */
  fencing: string;
  fencePeer: string | null;
  unfencePeer: string | null;
  afterResyncTarget: string | null;
}

const sub = (s: ConfSection | undefined, keyword: string): ConfSection | undefined => s?.sections.find((c) => c.keyword === keyword);
const stmt = (s: ConfSection | undefined, name: string): string | undefined => s?.statements.get(name)?.[0];

/** Where fencing is set in a resource or common section: `disk { }` (8.4), `net { }` (9), or a volume's disk section (drbdsetup show). */
function fencingOf(s: ConfSection | undefined): string | undefined {
  if (!s) return undefined;
  const volumes = s.sections.filter((c) => c.keyword === 'volume' || c.keyword === '_this_host').flatMap((c) => [c, ...c.sections.filter((v) => v.keyword === 'volume')]);
  return stmt(sub(s, 'disk'), 'fencing') ?? stmt(sub(s, 'net'), 'fencing') ?? volumes.map((v) => stmt(sub(v, 'disk'), 'fencing')).find((f) => f !== undefined);
}

/** Each resource's effective fencing policy and handlers, the common section filling what a resource does not set. */
export function drbdFencing(text: string): DrbdFencing[] {
  const top = parseDrbdConf(text);
  const common = sub(top, 'common');
  return top.sections
    .filter((s) => s.keyword === 'resource')
    .map((r) => {
      const handler = (name: string) => stmt(sub(r, 'handlers'), name) ?? stmt(sub(common, 'handlers'), name) ?? null;
      return {
        resource: r.args[0] ?? '',
        fencing: fencingOf(r) ?? fencingOf(common) ?? 'dont-care',
        fencePeer: handler('fence-peer'),
        unfencePeer: handler('unfence-peer'),
        afterResyncTarget: handler('after-resync-target'),
      };
    });
}
