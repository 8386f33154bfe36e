/**
 * The part of Pacemaker's configuration (the CIB) that hvcluster owns, as data: cluster properties,
 * one fence device per node and the constraint that keeps it off its own node. Read from
 * `cibadmin --query --scope configuration` (cib-state.sh), compared with what the answers ask for,
 * and written with `cibadmin --modify --allow-create`, object by object, only where they differ: a
 * second apply changes nothing, and whatever else an operator configured is left alone.
 */
import { children, descendants, parseXml } from '../../facts/parse/xml.js';

export const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** What hvcluster owns of the CIB. */
export interface CibObjects {
  /** cib-bootstrap-options: name -> value. */
  properties: Record<string, string>;
  /** Fence devices by id. */
  fenceDevices: Record<string, FenceDevice>;
  /** rsc_location constraints by id: resource, node, score. */
  locations: Record<string, { rsc: string; node: string; score: string }>;
  /** fencing-topology levels by id: target node, index, devices (comma-separated ids). */
  fencingLevels: Record<string, { target: string; index: number; devices: string }>;
}

export interface FenceDevice {
  id: string;
  /** The stonith agent, e.g. fence_ipmilan. */
  agent: string;
  /** Instance attributes (the password among them). */
  params: Record<string, string>;
  /** Monitor interval and timeout, e.g. `60s` and `20s` (the timeout empty when the CIB gives none). */
  monitor: string;
  monitorTimeout: string;
  /** Meta attributes (failure-timeout...). */
  meta: Record<string, string>;
}

/** The objects of a CIB configuration section (every property, every stonith primitive, every location). Pure. */
export function cibObjects(xml: string): CibObjects {
  const root = parseXml(xml);
  const nvpairs = (sets: ReturnType<typeof children>) => Object.fromEntries(sets.flatMap((set) => children(set, 'nvpair')).map((nv) => [nv.attrs.name!, nv.attrs.value ?? '']));
  const properties = nvpairs(descendants(root, 'cluster_property_set').filter((set) => set.attrs.id === 'cib-bootstrap-options'));
  const fenceDevices: Record<string, FenceDevice> = {};
  for (const p of descendants(root, 'primitive').filter((e) => e.attrs.class === 'stonith')) {
    const op = descendants(p, 'op').find((e) => e.attrs.name === 'monitor');
    fenceDevices[p.attrs.id!] = { id: p.attrs.id!, agent: p.attrs.type ?? '', params: nvpairs(children(p, 'instance_attributes')), monitor: op?.attrs.interval ?? '', monitorTimeout: op?.attrs.timeout ?? '', meta: nvpairs(children(p, 'meta_attributes')) };
  }
  const locations: CibObjects['locations'] = {};
  for (const l of descendants(root, 'rsc_location')) locations[l.attrs.id!] = { rsc: l.attrs.rsc ?? '', node: l.attrs.node ?? '', score: l.attrs.score ?? '' };
  const fencingLevels: CibObjects['fencingLevels'] = {};
  for (const l of descendants(root, 'fencing-level')) fencingLevels[l.attrs.id!] = { target: l.attrs.target ?? '', index: Number(l.attrs.index ?? '0'), devices: l.attrs.devices ?? '' };
  return { properties, fenceDevices, locations, fencingLevels };
}

/**
 * Fencing levels as cibadmin merges them into the configuration: the fencing-topology element
 * (created when the CIB has none), each level matched by its id. Pure.
 */
export function fencingTopologyXml(levels: readonly { id: string; target: string; index: number; devices: string }[]): string {
  return `<fencing-topology>${levels.map((l) => `<fencing-level id="${xmlEscape(l.id)}" target="${xmlEscape(l.target)}" index="${l.index}" devices="${xmlEscape(l.devices)}"/>`).join('')}</fencing-topology>`;
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
    `    <op id="${xmlEscape(device.id)}-monitor" name="monitor" interval="${xmlEscape(device.monitor)}"${device.monitorTimeout ? ` timeout="${xmlEscape(device.monitorTimeout)}"` : ''}/>`,
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
  if (!live || live.agent !== wanted.agent || live.monitor !== wanted.monitor || live.monitorTimeout !== wanted.monitorTimeout) return false;
  return Object.entries(wanted.params).every(([name, value]) => live.params[name] === value) && Object.entries(wanted.meta).every(([name, value]) => live.meta[name] === value);
}

/** Every id in a CIB configuration section (resources, constraints, their parts): what exists of a guest's objects. Pure. */
export function cibIds(xml: string): Set<string> {
  const ids = new Set<string>();
  const walk = (e: ReturnType<typeof parseXml>) => {
    if (e.attrs.id) ids.add(e.attrs.id);
    for (const c of e.children) walk(c);
  };
  walk(parseXml(xml));
  return ids;
}
