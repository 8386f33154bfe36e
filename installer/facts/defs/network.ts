import {
  FactUnavailable,
  findCommand,
  parseJson,
  parseNamedPairs,
  requireStdout,
  stringOrNull,
  toNumberOrNull,
  type FactDefinition,
} from '../fact.js';
import type { DefaultRoute, NetworkFacts, Nic, NicAddress, NicKind } from '../types.js';

/** What ip does not say: carrier, speed, whether a device sits behind the link (physical) and its driver. */
const NETWORK_SH = `hv_netsys() {
  for hv_d in /sys/class/net/*; do
    [ -e "$hv_d" ] || continue
    hv_c=; hv_sp=; hv_drv=; hv_phys=0
    { read -r hv_c < "$hv_d/carrier"; } 2>/dev/null
    { read -r hv_sp < "$hv_d/speed"; } 2>/dev/null
    if [ -e "$hv_d/device" ]; then
      hv_phys=1
      hv_drv=$(readlink "$hv_d/device/driver" 2>/dev/null)
      hv_drv=\${hv_drv##*/}
    fi
    echo "\${hv_d##*/} carrier=\${hv_c:--} speed=\${hv_sp:--} device=$hv_phys driver=\${hv_drv:--}"
  done
}
hv_cmd link ip -j -d link show
hv_cmd addr ip -j addr show
hv_cmd route4 ip -j -4 route show default
hv_cmd route6 ip -j -6 route show default
hv_cmd sysfs hv_netsys`;

interface IpLink {
  ifindex?: unknown;
  ifname?: unknown;
  flags?: unknown;
  mtu?: unknown;
  max_mtu?: unknown;
  operstate?: unknown;
  link_type?: unknown;
  address?: unknown;
  master?: unknown;
  link?: unknown;
  linkinfo?: { info_kind?: unknown; info_slave_kind?: unknown; info_data?: { id?: unknown } };
}

interface IpAddrLink {
  ifname?: unknown;
  addr_info?: { family?: unknown; local?: unknown; prefixlen?: unknown; scope?: unknown }[];
}

interface SysfsLine {
  carrier: boolean | null;
  speedMbps: number | null;
  hasDevice: boolean;
  driver: string | null;
}

function parseSysfs(text: string): Map<string, SysfsLine> {
  const map = new Map<string, SysfsLine>();
  for (const [name, kv] of parseNamedPairs(text)) {
    const speed = Number(kv.get('speed'));
    map.set(name, {
      carrier: kv.get('carrier') === '1' ? true : kv.get('carrier') === '0' ? false : null,
      // -1 (and 4294967295 from old drivers) mean unknown.
      speedMbps: Number.isInteger(speed) && speed > 0 && speed < 4294967295 ? speed : null,
      hasDevice: kv.get('device') === '1',
      driver: kv.get('driver') && kv.get('driver') !== '-' ? kv.get('driver')! : null,
    });
  }
  return map;
}

function kindOf(link: IpLink, sys: SysfsLine | undefined): NicKind {
  if (link.link_type === 'loopback') return 'loopback';
  const kind = stringOrNull(link.linkinfo?.info_kind);
  if (kind === 'bridge' || kind === 'bond' || kind === 'vlan') return kind;
  if (kind) return 'virtual';
  return sys?.hasDevice ? 'physical' : 'virtual';
}

function parseAddresses(json: unknown): Map<string, NicAddress[]> {
  const map = new Map<string, NicAddress[]>();
  if (!Array.isArray(json)) return map;
  for (const link of json as IpAddrLink[]) {
    const name = stringOrNull(link.ifname);
    if (!name) continue;
    const list: NicAddress[] = [];
    for (const a of link.addr_info ?? []) {
      const address = stringOrNull(a.local);
      const prefixLength = toNumberOrNull(a.prefixlen);
      if (!address || prefixLength === null || (a.family !== 'inet' && a.family !== 'inet6')) continue;
      list.push({ family: a.family, address, prefixLength, scope: stringOrNull(a.scope), cidr: `${address}/${prefixLength}` });
    }
    map.set(name, list);
  }
  return map;
}

function parseRoutes(text: string | null, family: 'inet' | 'inet6'): DefaultRoute[] {
  if (!text || text.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(json)) return [];
  return (json as Record<string, unknown>[]).map((r) => ({
    family,
    gateway: stringOrNull(r.gateway),
    dev: stringOrNull(r.dev),
    metric: toNumberOrNull(r.metric),
    protocol: stringOrNull(r.protocol),
  }));
}

export const networkFact: FactDefinition<NetworkFacts> = {
  name: 'network',
  script: NETWORK_SH,
  parse(section) {
    const links = parseJson(requireStdout(section, 'link'), 'ip link');
    if (!Array.isArray(links)) throw new FactUnavailable('ip link: not a JSON list');
    const addrCmd = findCommand(section, 'addr');
    const addresses = addrCmd?.exitCode === 0 ? parseAddresses(parseJson(addrCmd.stdout, 'ip addr')) : new Map<string, NicAddress[]>();
    const sysfs = parseSysfs(findCommand(section, 'sysfs')?.stdout ?? '');
    const routeOut = (label: string) => {
      const c = findCommand(section, label);
      return c?.exitCode === 0 ? c.stdout : null;
    };

    const nics: Nic[] = [];
    for (const link of links as IpLink[]) {
      const name = stringOrNull(link.ifname);
      const ifindex = toNumberOrNull(link.ifindex);
      if (!name || ifindex === null) continue;
      const sys = sysfs.get(name);
      const kind = kindOf(link, sys);
      const flags = Array.isArray(link.flags) ? (link.flags as unknown[]) : [];
      const vlanId = toNumberOrNull(link.linkinfo?.info_data?.id);
      nics.push({
        name,
        ifindex,
        kind,
        linkKind: stringOrNull(link.linkinfo?.info_kind),
        state: stringOrNull(link.operstate) ?? 'UNKNOWN',
        adminUp: flags.includes('UP'),
        carrier: sys?.carrier ?? null,
        speedMbps: sys?.speedMbps ?? null,
        mtu: toNumberOrNull(link.mtu) ?? 0,
        // 0 (loopback, some virtual links) means no limit given.
        maxMtu: toNumberOrNull(link.max_mtu) || null,
        mac: kind === 'loopback' ? null : stringOrNull(link.address),
        driver: sys?.driver ?? null,
        master: stringOrNull(link.master),
        masterKind: stringOrNull(link.linkinfo?.info_slave_kind),
        vlan: kind === 'vlan' && vlanId !== null ? { id: vlanId, parent: stringOrNull(link.link) } : null,
        addresses: addresses.get(name) ?? [],
      });
    }
    return {
      nics,
      defaultRoutes: [...parseRoutes(routeOut('route4'), 'inet'), ...parseRoutes(routeOut('route6'), 'inet6')],
    };
  },
};
