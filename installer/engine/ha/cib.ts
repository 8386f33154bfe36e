/**
 * The part of Pacemaker's configuration (the CIB) that hvcluster owns, as data: cluster properties,
 * one fence device per node and the constraint that keeps it off its own node. Read from
 * `cibadmin --query --scope configuration` (cib-state.sh), compared with what the answers ask for,
 * and written with `cibadmin --modify --allow-create`, object by object, only where they differ: a
 * second apply changes nothing, and whatever else an operator configured is left alone.
 */

/** An XML element of the CIB: a name, attributes and children (no text: the CIB has none we read). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescape = (text: string) => text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => (e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITIES[e]!));
export const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Parses the XML cibadmin prints (elements and attributes; comments, declarations and text skipped). Pure. */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', attrs: {}, children: [] };
  const stack = [root];
  const tag = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  for (const m of text.matchAll(tag)) {
    if (m[2] === undefined) continue;
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (stack.length > 1 && stack[stack.length - 1]!.name === name) stack.pop();
      else throw new Error(`unbalanced </${name}> in the CIB`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1]!] = unescape(a[2] ?? a[3] ?? '');
    const element: XmlElement = { name: name!, attrs, children: [] };
    stack[stack.length - 1]!.children.push(element);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length !== 1) throw new Error(`the CIB's XML ends inside <${stack[stack.length - 1]!.name}>`);
  return root;
}

/** Every element below `root` (depth first) that `match` accepts. Pure. */
export function findAll(root: XmlElement, match: (e: XmlElement) => boolean): XmlElement[] {
  return root.children.flatMap((child) => [...(match(child) ? [child] : []), ...findAll(child, match)]);
}

/** What hvcluster owns of the CIB. */
export interface CibObjects {
  /** cib-bootstrap-options: name -> value. */
  properties: Record<string, string>;
  /** Fence devices by id. */
  fenceDevices: Record<string, FenceDevice>;
  /** rsc_location constraints by id: resource, node, score. */
  locations: Record<string, { rsc: string; node: string; score: string }>;
}

export interface FenceDevice {
  id: string;
  /** The stonith agent, e.g. fence_ipmilan. */
  agent: string;
  /** Instance attributes (the password among them). */
  params: Record<string, string>;
  /** Monitor interval, e.g. `60s`. */
  monitor: string;
  /** Meta attributes (failure-timeout...). */
  meta: Record<string, string>;
}

/** The objects of a CIB configuration section (every property, every stonith primitive, every location). Pure. */
export function cibObjects(xml: string): CibObjects {
  const root = parseXml(xml);
  const properties: Record<string, string> = {};
  for (const set of findAll(root, (e) => e.name === 'cluster_property_set' && e.attrs.id === 'cib-bootstrap-options')) {
    for (const nv of set.children.filter((c) => c.name === 'nvpair')) properties[nv.attrs.name!] = nv.attrs.value ?? '';
  }
  const fenceDevices: Record<string, FenceDevice> = {};
  for (const p of findAll(root, (e) => e.name === 'primitive' && e.attrs.class === 'stonith')) {
    const params: Record<string, string> = {};
    for (const ia of p.children.filter((c) => c.name === 'instance_attributes')) for (const nv of ia.children.filter((c) => c.name === 'nvpair')) params[nv.attrs.name!] = nv.attrs.value ?? '';
    const meta: Record<string, string> = {};
    for (const ma of p.children.filter((c) => c.name === 'meta_attributes')) for (const nv of ma.children.filter((c) => c.name === 'nvpair')) meta[nv.attrs.name!] = nv.attrs.value ?? '';
    const monitor = findAll(p, (e) => e.name === 'op' && e.attrs.name === 'monitor')[0]?.attrs.interval ?? '';
    fenceDevices[p.attrs.id!] = { id: p.attrs.id!, agent: p.attrs.type ?? '', params, monitor, meta };
  }
  const locations: CibObjects['locations'] = {};
  for (const l of findAll(root, (e) => e.name === 'rsc_location')) locations[l.attrs.id!] = { rsc: l.attrs.rsc ?? '', node: l.attrs.node ?? '', score: l.attrs.score ?? '' };
  return { properties, fenceDevices, locations };
}

/** A fence device as cibadmin creates or updates it (nvpair ids stable, so an update replaces values). Pure. */
export function fenceDeviceXml(device: FenceDevice): string {
  const nv = (name: string, value: string) => `      <nvpair id="${xmlEscape(`${device.id}-instance_attributes-${name}`)}" name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`;
  return [
    `<primitive id="${xmlEscape(device.id)}" class="stonith" type="${xmlEscape(device.agent)}">`,
    `  <instance_attributes id="${xmlEscape(device.id)}-instance_attributes">`,
    ...Object.entries(device.params).map(([name, value]) => `  ${nv(name, value)}`),
    '  </instance_attributes>',
    `  <meta_attributes id="${xmlEscape(device.id)}-meta_attributes">`,
    ...Object.entries(device.meta).map(([name, value]) => `    <nvpair id="${xmlEscape(`${device.id}-meta_attributes-${name}`)}" name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`),
    '  </meta_attributes>',
    '  <operations>',
    `    <op id="${xmlEscape(device.id)}-monitor" name="monitor" interval="${xmlEscape(device.monitor)}"/>`,
    '  </operations>',
    '</primitive>',
    '',
  ].join('\n');
}

/** A location constraint as cibadmin writes it. Pure. */
export function locationXml(id: string, location: { rsc: string; node: string; score: string }): string {
  return `<rsc_location id="${xmlEscape(id)}" rsc="${xmlEscape(location.rsc)}" node="${xmlEscape(location.node)}" score="${xmlEscape(location.score)}"/>`;
}

/** Whether the live device has every parameter and the monitor we want (extra parameters an operator added are kept). Pure. */
export function deviceMatches(live: FenceDevice | undefined, wanted: FenceDevice): boolean {
  if (!live || live.agent !== wanted.agent || live.monitor !== wanted.monitor) return false;
  return Object.entries(wanted.params).every(([name, value]) => live.params[name] === value) && Object.entries(wanted.meta).every(([name, value]) => live.meta[name] === value);
}
