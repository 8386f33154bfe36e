/**
 * Parsers of what the verify probes print. Pure, tested on captures from the lab (test/fixtures/verify/).
 * DRBD's events2 and /proc/drbd are parsed in installer/facts/parse/ (shared with the facts).
 */

const num = (v: string | undefined): number | null => (v === undefined || v === '' || !/^\d+$/.test(v) ? null : Number(v));

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
