/**
 * `drbdsetup events2 --now [--statistics]` (DRBD 8.4 through drbd-utils 9): one `exists|create|change
 * OBJECT key:value...` line per resource, connection, device and peer device, `exists -` at the end.
 * The one parser of that output: the facts (events2 --now) and verify (events2 --now --statistics, the
 * migration test's snapshot) all read it here. Without --statistics the statistics fields (size,
 * out-of-sync) are simply absent: null. Pure, tested on captures (test/unit/facts/parsers.test.ts,
 * test/unit/verify/parse.test.ts).
 */

export interface Events2PeerDevice {
  volume: number;
  replication: string | null;
  peerDisk: string | null;
  resyncSuspended: string | null;
  outOfSyncKiB: number | null;
}

export interface Events2Connection {
  peer: string;
  connection: string | null;
  /** The peer's role. */
  role: string | null;
  congested: string | null;
  peerDevices: Events2PeerDevice[];
}

export interface Events2Device {
  volume: number;
  minor: number | null;
  disk: string | null;
  sizeKiB: number | null;
  blocked: string | null;
}

export interface Events2Resource {
  name: string;
  role: string | null;
  suspended: string | null;
  writeOrdering: string | null;
  devices: Events2Device[];
  connections: Events2Connection[];
}

const num = (v: string | undefined): number | null => (v === undefined || v === '' || !/^\d+$/.test(v) ? null : Number(v));

/** The peer of a connection line that names neither conn-name nor peer-node-id (DRBD always names one). */
export const UNKNOWN_PEER = '?';

/** Every resource of the output, with its devices, connections and their peer devices; later lines of an object update it. */
export function parseEvents2(text: string): Events2Resource[] {
  const resources = new Map<string, Events2Resource>();
  const resource = (name: string) => {
    let r = resources.get(name);
    if (!r) {
      r = { name, role: null, suspended: null, writeOrdering: null, devices: [], connections: [] };
      resources.set(name, r);
    }
    return r;
  };
  for (const line of text.split('\n')) {
    const [event, object, ...pairs] = line.trim().split(/\s+/);
    if (event !== 'exists' && event !== 'create' && event !== 'change') continue;
    const kv = new Map<string, string>();
    for (const p of pairs) {
      const i = p.indexOf(':');
      if (i > 0) kv.set(p.slice(0, i), p.slice(i + 1));
    }
    const name = kv.get('name');
    if (!name) continue;
    const r = resource(name);
    const peer = kv.get('conn-name') ?? kv.get('peer-node-id') ?? UNKNOWN_PEER;
    const connection = () => {
      let c = r.connections.find((x) => x.peer === peer);
      if (!c) {
        c = { peer, connection: null, role: null, congested: null, peerDevices: [] };
        r.connections.push(c);
      }
      return c;
    };
    switch (object) {
      case 'resource':
        r.role = kv.get('role') ?? r.role;
        r.suspended = kv.get('suspended') ?? r.suspended;
        r.writeOrdering = kv.get('write-ordering') ?? r.writeOrdering;
        break;
      case 'device': {
        const volume = Number(kv.get('volume') ?? 0);
        const d: Events2Device = { volume, minor: num(kv.get('minor')), disk: kv.get('disk') ?? null, sizeKiB: num(kv.get('size')), blocked: kv.get('blocked') ?? null };
        const i = r.devices.findIndex((x) => x.volume === volume);
        if (i >= 0) r.devices[i] = { ...r.devices[i]!, ...Object.fromEntries(Object.entries(d).filter(([, v]) => v !== null)) };
        else r.devices.push(d);
        break;
      }
      case 'connection': {
        const c = connection();
        c.connection = kv.get('connection') ?? c.connection;
        c.role = kv.get('role') ?? c.role;
        c.congested = kv.get('congested') ?? c.congested;
        break;
      }
      case 'peer-device': {
        const c = connection();
        const volume = Number(kv.get('volume') ?? 0);
        const pd: Events2PeerDevice = {
          volume,
          replication: kv.get('replication') ?? null,
          peerDisk: kv.get('peer-disk') ?? null,
          resyncSuspended: kv.get('resync-suspended') ?? null,
          outOfSyncKiB: num(kv.get('out-of-sync')),
        };
        const i = c.peerDevices.findIndex((x) => x.volume === volume);
        if (i >= 0) c.peerDevices[i] = pd;
        else c.peerDevices.push(pd);
        break;
      }
      default:
        break;
    }
  }
  return [...resources.values()];
}
