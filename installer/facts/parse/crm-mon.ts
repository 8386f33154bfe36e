/** `crm_mon -1 --output-as=xml`: nodes, resources (clone instances with their clone), failures. Pure. */
import { child, children, parseXml, type XmlElement } from './xml.js';


export interface CrmNode {
  name: string;
  id: string;
  online: boolean;
  standby: boolean;
  maintenance: boolean;
  pending: boolean;
  unclean: boolean;
}

export interface CrmResource {
  id: string;
  /** class:provider:type, e.g. stonith:fence_ipmilan, ocf:linbit:drbd. */
  agent: string;
  role: string;
  active: boolean;
  failed: boolean;
  managed: boolean;
  blocked: boolean;
  /** Where it runs. */
  nodes: string[];
  /** The clone it is an instance of, and whether that clone is promotable. */
  clone: { id: string; promotable: boolean } | null;
}

export interface CrmFailure {
  opKey: string;
  node: string;
  task: string;
  exitStatus: string;
  exitReason: string;
  lastRcChange: string | null;
}

export interface CrmStatus {
  dc: string | null;
  withQuorum: boolean | null;
  /** cluster_options of the summary (stonith-enabled, no-quorum-policy...). */
  options: Record<string, string>;
  nodes: CrmNode[];
  resources: CrmResource[];
  failures: CrmFailure[];
}

const bool = (v: string | undefined): boolean => v === 'true';

export function parseCrmMon(text: string): CrmStatus {
  const doc = parseXml(text);
  if (doc.name !== 'pacemaker-result' && doc.name !== 'crm_mon') throw new Error(`unexpected root element <${doc.name}>`);
  const summary = child(doc, 'summary');
  const dcEl = child(summary, 'current_dc');
  const resources: CrmResource[] = [];
  const resource = (el: XmlElement, clone: CrmResource['clone']) =>
    resources.push({
      id: el.attrs.id ?? '',
      agent: el.attrs.resource_agent ?? '',
      role: el.attrs.role ?? '',
      active: bool(el.attrs.active),
      failed: bool(el.attrs.failed),
      managed: el.attrs.managed !== 'false',
      blocked: bool(el.attrs.blocked),
      nodes: children(el, 'node').map((n) => n.attrs.name ?? ''),
      clone,
    });
  const walk = (el: XmlElement | undefined, clone: CrmResource['clone']) => {
    for (const c of el?.children ?? []) {
      if (c.name === 'resource') resource(c, clone);
      else if (c.name === 'clone') walk(c, { id: c.attrs.id ?? '', promotable: bool(c.attrs.multi_state) });
      else if (c.name === 'group') walk(c, clone);
    }
  };
  walk(child(doc, 'resources'), null);
  return {
    dc: dcEl?.attrs.present === 'true' ? (dcEl.attrs.name ?? null) : null,
    withQuorum: dcEl?.attrs.with_quorum === undefined ? null : bool(dcEl.attrs.with_quorum),
    options: { ...(child(summary, 'cluster_options')?.attrs ?? {}) },
    nodes: children(child(doc, 'nodes'), 'node').map((n) => ({
      name: n.attrs.name ?? '',
      id: n.attrs.id ?? '',
      online: bool(n.attrs.online),
      standby: bool(n.attrs.standby),
      maintenance: bool(n.attrs.maintenance),
      pending: bool(n.attrs.pending),
      unclean: bool(n.attrs.unclean),
    })),
    resources,
    failures: children(child(doc, 'failures'), 'failure').map((f) => ({
      opKey: f.attrs.op_key ?? '',
      node: f.attrs.node ?? '',
      task: f.attrs.task ?? '',
      exitStatus: f.attrs.exitstatus ?? '',
      exitReason: f.attrs.exitreason ?? '',
      lastRcChange: f.attrs['last-rc-change'] ?? null,
    })),
  };
}

