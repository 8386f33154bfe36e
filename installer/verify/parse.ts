/** Parsers of what the verify probes print. Pure, tested on captures from the lab (test/fixtures/verify/). */

// ---------------------------------------------------------------------------------------------
// ping

export interface PingResult {
  transmitted: number;
  received: number;
  /** ping's "+N errors" (e.g. ICMP fragmentation needed, host unreachable). */
  errors: number;
  rttMinMs: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  /** A local error ping printed, e.g. `ping: local error: message too long, mtu=1400`. */
  localError: string | null;
  /** The MTU the kernel reported for a too-big don't-fragment probe (local error or ICMP "Frag needed ... mtu = N"). */
  reportedMtu: number | null;
}

export function parsePing(stdout: string, stderr = ''): PingResult {
  const text = `${stdout}\n${stderr}`;
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received(?:, \+(\d+) errors)?/.exec(text);
  const rtt = /(?:rtt|round-trip) min\/avg\/max(?:\/mdev)? = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(text);
  const local = /ping: (local error: .*|sendmsg: .*|bind: .*|connect: .*)/i.exec(text);
  const mtu = /mtu\s*=\s*(\d+)/i.exec(text);
  return {
    transmitted: stats ? Number(stats[1]) : 0,
    received: stats ? Number(stats[2]) : 0,
    errors: stats?.[3] ? Number(stats[3]) : 0,
    rttMinMs: rtt ? Number(rtt[1]) : null,
    rttAvgMs: rtt ? Number(rtt[2]) : null,
    rttMaxMs: rtt ? Number(rtt[3]) : null,
    localError: local ? local[1]!.trim() : null,
    reportedMtu: mtu ? Number(mtu[1]) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// drbdsetup events2 --now --statistics (DRBD 8.4 through drbd-utils 9)

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

export function parseEvents2Statistics(text: string): Events2Resource[] {
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
    const peer = kv.get('conn-name') ?? kv.get('peer-node-id') ?? '?';
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

// ---------------------------------------------------------------------------------------------
// /proc/drbd (8.4), the fallback and the source of oos: and of a resync's progress

/**
 * A resync's progress as 8.4's /proc/drbd prints it under the minor (drbd_proc.c, drbd_syncer_progress):
 *
 *   	[===>................] sync'ed: 19.3% (13196/16344)K
 *   	finish: 0:01:05 speed: 200 (200) want: 200 K/sec
 *
 * `(left/total)` is in M instead of K above 4 GiB; speed is the average of about the last 18 s, the
 * figure in brackets the average since the resync started (with `A -- B` when proc_details is set);
 * `want:` (on the SyncTarget) is the rate the resync controller aims at; ` (stalled)` is appended
 * once no block has been resynced for 180 s. Figures use thousands separators.
 */
export interface ResyncProgress {
  /** Done, from left/total (one decimal, rounded down). */
  percent: number;
  /** The `sync'ed:` figure as printed (coarse on small resyncs). */
  kernelPercent: number;
  leftKiB: number;
  totalKiB: number;
  /** `finish:` in seconds: the kernel's estimate from the ~18 s speed. */
  finishSeconds: number | null;
  /** KiB/s, the ~18 s average. */
  speedKiBps: number | null;
  /** KiB/s since the resync started (paused time excluded). */
  averageKiBps: number | null;
  /** KiB/s the SyncTarget's controller aims at. */
  wantKiBps: number | null;
  /** The kernel's own verdict: no progress for 180 s. */
  stalled: boolean;
}

export interface ProcDrbdMinor {
  minor: number;
  cs: string | null;
  ro: string | null;
  ds: string | null;
  protocol: string | null;
  /** The six I/O state flags (e.g. `r-----`; `r--u--` = resync paused by the user). */
  ioFlags: string | null;
  oosKiB: number | null;
  /** Present while a resync runs (or is paused): not for online verify. */
  resync: ResyncProgress | null;
}

const grouped = (v: string | undefined): number | null => (v === undefined ? null : Number(v.replace(/,/g, '')));

export function parseProcDrbdFull(text: string): { version: string | null; minors: ProcDrbdMinor[] } {
  const version = /^version:\s*(\S+)/m.exec(text)?.[1] ?? null;
  const minors: ProcDrbdMinor[] = [];
  let current: ProcDrbdMinor | null = null;
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+):\s+(.*)$/.exec(line);
    if (m) {
      const get = (key: string) => new RegExp(`(?:^|\\s)${key}:(\\S+)`).exec(m[2]!)?.[1] ?? null;
      const flags = /\s[ABC]\s+([a-z-]{6})(?:\s|$)/.exec(` ${m[2]} `);
      current = {
        minor: Number(m[1]),
        cs: get('cs'),
        ro: get('ro'),
        ds: get('ds'),
        protocol: /\s([ABC])\s/.exec(` ${m[2]} `)?.[1] ?? null,
        ioFlags: flags?.[1] ?? null,
        oosKiB: null,
        resync: null,
      };
      minors.push(current);
      continue;
    }
    if (!current) continue;
    const oos = /(?:^|\s)oos:(\d+)/.exec(line);
    if (oos) current.oosKiB = Number(oos[1]);
    const synced = /sync'ed:\s*([\d.]+)%\s*\((\d+)\/(\d+)\)([KM])/.exec(line);
    if (synced) {
      const unit = synced[4] === 'M' ? 1024 : 1;
      const [left, total] = [Number(synced[2]) * unit, Number(synced[3]) * unit];
      current.resync = {
        // From left/total: the kernel's own percent counts in steps of 1024 bitmap bits (4 MiB), so a
        // small resync shows 66.7% with 4688 of 8192 KiB left; on large ones both agree.
        percent: total > 0 ? Math.floor((1000 * (total - left)) / total) / 10 : Number(synced[1]),
        kernelPercent: Number(synced[1]),
        leftKiB: left,
        totalKiB: total,
        finishSeconds: null,
        speedKiBps: null,
        averageKiBps: null,
        wantKiBps: null,
        stalled: false,
      };
    }
    const finish = /finish:\s*(\d+):(\d+):(\d+)\s+speed:\s*([\d,]+)\s*\((?:[\d,]+\s*--\s*)?([\d,]+)\)(?:\s*want:\s*([\d,]+))?\s*K\/sec(\s*\(stalled\))?/.exec(line);
    if (finish && current.resync) {
      current.resync.finishSeconds = Number(finish[1]) * 3600 + Number(finish[2]) * 60 + Number(finish[3]);
      current.resync.speedKiBps = grouped(finish[4]);
      current.resync.averageKiBps = grouped(finish[5]);
      current.resync.wantKiBps = grouped(finish[6]);
      current.resync.stalled = finish[7] !== undefined;
    }
  }
  return { version, minors };
}

// ---------------------------------------------------------------------------------------------
// The kernel log's DRBD lines of this boot (hv_sb: journalctl -k -b -o short-iso, filtered)

export interface DrbdLogLine {
  /** As journalctl's short-iso prints it, e.g. 2026-12-05T15:10:01+0000. */
  time: string | null;
  /** `drbd RES: ...` (connection-level lines) or `drbd RES/VOL drbdN: ...`. */
  resource: string | null;
  /** `block drbdN: ...` (device-level lines: 8.4 logs the split brain there). */
  minor: number | null;
  message: string;
}

export function parseDrbdKernelLog(text: string): DrbdLogLine[] {
  const out: DrbdLogLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const head = /^(\d{4}-\d\d-\d\dT\S+)\s+\S+\s+kernel:\s*(.*)$/.exec(line);
    const time = head ? head[1]! : null;
    let rest = head ? head[2]! : line.replace(/^.*?kernel:\s*/, '');
    rest = rest.replace(/^\[\s*\d+\.\d+\]\s*/, '');
    let m: RegExpExecArray | null;
    if ((m = /^drbd (\S+?)\/\d+ drbd(\d+):\s*(.*)$/.exec(rest))) out.push({ time, resource: m[1]!, minor: Number(m[2]), message: m[3]! });
    else if ((m = /^block drbd(\d+):\s*(.*)$/.exec(rest))) out.push({ time, resource: null, minor: Number(m[1]), message: m[2]! });
    else if ((m = /^drbd (\S+?):\s*(.*)$/.exec(rest))) out.push({ time, resource: m[1]!, minor: null, message: m[2]! });
    else out.push({ time, resource: null, minor: null, message: rest });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// DRBD configuration files (hv_conf prints `@@file PATH` before each)

export interface DrbdResourceConfig {
  name: string;
  file: string;
  minor: number | null;
  disk: string | null;
  /** `on NAME { address IP:PORT; }` sections. */
  hosts: { name: string; address: string | null }[];
  allowTwoPrimaries: boolean | null;
  /** The whole file, for comparisons between nodes. */
  text: string;
}

export function splitConfigFiles(text: string): Map<string, string> {
  const files = new Map<string, string>();
  let path: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    // Every file ends with exactly one newline: the probe prints one after each file (a file that lacks
    // its own would run into the next marker), and the last file is followed by its command's own.
    if (path !== null) files.set(path, lines.join('\n').replace(/\n*$/, '\n'));
  };
  for (const line of text.split('\n')) {
    const m = /^@@file (.+)$/.exec(line);
    if (m) {
      flush();
      path = m[1]!;
      lines = [];
    } else if (path !== null) lines.push(line);
  }
  flush();
  return files;
}

/** Strips comments (`#` to the end of the line) and blank lines. */
function stripComments(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trimEnd())
    .filter((l) => l.trim() !== '')
    .join('\n');
}

export function parseResourceConfigs(files: Map<string, string>): DrbdResourceConfig[] {
  const out: DrbdResourceConfig[] = [];
  for (const [file, text] of files) {
    if (!file.endsWith('.res')) continue;
    const body = stripComments(text);
    for (const block of body.split(/^\s*resource\s+/m).slice(1)) {
      const name = /^(\S+)/.exec(block)?.[1];
      if (!name) continue;
      const hosts: DrbdResourceConfig['hosts'] = [];
      for (const m of block.matchAll(/\bon\s+(\S+)\s*\{([^}]*)\}/g)) {
        hosts.push({ name: m[1]!, address: /address\s+(?:ipv4\s+)?([^;\s]+)\s*;/.exec(m[2]!)?.[1] ?? null });
      }
      const atp = /allow-two-primaries\s+(yes|no)\s*;/.exec(block)?.[1];
      out.push({
        name,
        file,
        minor: num(/\bminor\s+(\d+)\s*;/.exec(block)?.[1] ?? /\/dev\/drbd(\d+)/.exec(block)?.[1]),
        disk: /\bdisk\s+(\/\S+?)\s*;/.exec(block)?.[1] ?? null,
        hosts,
        allowTwoPrimaries: atp === undefined ? null : atp === 'yes',
        text,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// LVM (--reportformat json)

export interface VgReport {
  name: string;
  sizeBytes: number;
  freeBytes: number;
  attr: string;
}

function lvmRows(text: string, key: 'vg' | 'lv' | 'pv'): Record<string, string>[] {
  const json = JSON.parse(text) as { report?: Record<string, Record<string, string>[]>[] };
  return (json.report ?? []).flatMap((r) => r[key] ?? []);
}

export function parseVgs(text: string): VgReport[] {
  return lvmRows(text, 'vg').map((r) => ({
    name: r.vg_name ?? '',
    sizeBytes: Number(r.vg_size ?? 0),
    freeBytes: Number(r.vg_free ?? 0),
    attr: r.vg_attr ?? '',
  }));
}

export function parseLvs(text: string): { name: string; vg: string; sizeBytes: number; attr: string }[] {
  return lvmRows(text, 'lv').map((r) => ({ name: r.lv_name ?? '', vg: r.vg_name ?? '', sizeBytes: Number(r.lv_size ?? 0), attr: r.lv_attr ?? '' }));
}

export function parsePvs(text: string): { pv: string; vg: string }[] {
  return lvmRows(text, 'pv').map((r) => ({ pv: r.pv_name ?? '', vg: r.vg_name ?? '' }));
}

// ---------------------------------------------------------------------------------------------
// Block stacking (hv_stack): `NAME<TAB>DM-NAME<TAB>DM-UUID<TAB>SLAVES<TAB>HOLDERS`

export interface StackEntry {
  device: string;
  dmName: string | null;
  dmUuid: string | null;
  slaves: string[];
  holders: string[];
}

export function parseStack(text: string): StackEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [device = '', dmName = '', dmUuid = '', slaves = '', holders = ''] = line.split('\t');
      const words = (s: string) => s.split(/\s+/).filter(Boolean);
      return { device, dmName: dmName || null, dmUuid: dmUuid || null, slaves: words(slaves), holders: words(holders) };
    });
}

// ---------------------------------------------------------------------------------------------
// Guests (hv_doms): `@@dom NAME`, dominfo, `@@blk`, domblklist --details, `@@job`, domjobinfo

export interface GuestInfo {
  name: string;
  state: string | null;
  /** "Used memory" (the current balloon), else "Max memory", in bytes. */
  memoryBytes: number | null;
  /** Disk sources (domblklist --details). */
  disks: string[];
  /** domjobinfo's "Job type" (None, Unbounded...). */
  jobType: string | null;
}

export function parseGuests(text: string): GuestInfo[] {
  const guests: GuestInfo[] = [];
  for (const chunk of text.split(/^@@dom /m).slice(1)) {
    const [head, ...rest] = chunk.split('\n');
    const body = rest.join('\n');
    const [info = '', afterInfo = ''] = body.split(/^@@blk$/m);
    const [blk = '', job = ''] = afterInfo.split(/^@@job$/m);
    const field = (text: string, key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim() ?? null;
    const kib = (v: string | null) => {
      const m = v ? /^(\d+)\s*KiB/.exec(v) : null;
      return m ? Number(m[1]) * 1024 : null;
    };
    const disks = blk
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols.length >= 4 && (cols[0] === 'block' || cols[0] === 'file' || cols[0] === 'network' || cols[0] === 'volume'))
      .map((cols) => cols.slice(3).join(' '))
      .filter((s) => s !== '-');
    guests.push({
      name: head!.trim(),
      state: field(info, 'State'),
      memoryBytes: kib(field(info, 'Used memory')) ?? kib(field(info, 'Max memory')),
      disks,
      jobType: field(job, 'Job type'),
    });
  }
  return guests;
}

/** `getent ahostsv4 NAME`: the first address. */
export function firstAddress(text: string): string | null {
  return /^(\d+\.\d+\.\d+\.\d+)\s/m.exec(text)?.[1] ?? null;
}
