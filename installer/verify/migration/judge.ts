/**
 * The migration test's judgement: pure functions over what it read on the servers and measured from
 * the client, so that a move that looked fine to libvirt but hurt the cluster is a failure:
 *  - around each migration window (before dual-primary opens, after the client has settled) every
 *    holder of the test resource is read: its current UUID, its connections (events2 --now) and the
 *    kernel log since the "before" read (journalctl cursor); the window fails if the resource lost a
 *    connection, split, or changed its current UUID on a node;
 *  - the longest gap the installer's HTTP client saw is bounded (CLIENT_GAP_LIMIT_MS);
 *  - before anything is created, every node the guest runs on or moves to has MemAvailable for the
 *    guest plus a margin (MIGRATION_MEMORY).
 */
import { join } from 'node:path';
import { REMOTE_DIR } from '../../paths.js';
import { shellQuote } from '../../ssh/quote.js';
import { parseEvents2 } from '../../facts/parse/drbd-events2.js';

/**
 * The longest time the installer's client may go without an answer from the test guest in one
 * migration's window (from `virsh migrate` until the settle time after it). QEMU aims at 300 ms of
 * downtime; the probe adds up to one request timeout (400 ms) and a round trip on top of a real
 * outage. The lab's moves (TCG, nested KVM, busy cores) show 0.4-1.3 s; a lost DRBD connection or a
 * frozen target shows tens of seconds.
 */
export const CLIENT_GAP_LIMIT_MS = 3000;
/** What every node needs in MemAvailable beyond the guest's own memory: QEMU's overhead and room for the node itself. */
export const MEMORY_MARGIN_MIB = 256;

// ---------------------------------------------------------------------------------------------
// DRBD state around a migration window

/** What one holder of the test resource said in one read. */
export interface DrbdSnapshot {
  server: string;
  /** The current UUID (bit 0, DRBD's "was primary" flag, cleared), upper-case hex; null if not read. */
  currentUuid: string | null;
  role: string | null;
  /** Each peer connection's state (events2 --now). */
  connections: { peer: string; state: string | null }[];
  /** journalctl cursor at the time of the read, for the next read's "since". */
  cursor: string | null;
  /** Kernel log lines about the resource since the `since` cursor given to the script; null if the kernel log could not be read. */
  kernelLines: string[] | null;
}

const SECTION = '@@hvc-';

/** The server script that reads a holder around a window (its arguments: drbdSnapshotArgs). */
export const DRBD_SNAPSHOT_SCRIPT = join(REMOTE_DIR, 'drbd-snapshot.sh');

/**
 * The arguments of drbd-snapshot.sh for one holder: the resource, the pattern of its kernel lines
 * (by name, or its device drbdN: 8.4 logs a split brain as `block drbd100: ...`) and, after the
 * window, the cursor of the read before it. Pure.
 */
export function drbdSnapshotArgs(resource: string, minor: number | null, since: string | null): string[] {
  const pattern = `drbd ${resource}[ /:]${minor === null ? '' : `|drbd${minor}:`}`;
  return [resource, pattern, ...(since === null ? [] : [since])];
}

/** The command that runs drbd-snapshot.sh piped on its standard input (DRBD_SNAPSHOT_SCRIPT). Pure. */
export function drbdSnapshotCommand(resource: string, minor: number | null, since: string | null): string {
  return `sh -s -- ${drbdSnapshotArgs(resource, minor, since).map(shellQuote).join(' ')}`;
}

function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | null = null;
  let body: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(SECTION)) {
      if (name) out.set(name, body.join('\n'));
      name = line.slice(SECTION.length).trim();
      body = [];
    } else if (name) body.push(line);
  }
  if (name && name !== 'end') out.set(name, body.join('\n'));
  return out;
}

/** The current UUID of `drbdadm get-gi` (8.4: `CURRENT:BITMAP:HIST1:HIST2:flags...`), bit 0 cleared. Pure. */
export function parseCurrentUuid(text: string): string | null {
  const m = /^([0-9A-Fa-f]{16}):/m.exec(text);
  if (!m) return null;
  const hex = m[1]!.toUpperCase();
  const last = (parseInt(hex.slice(-1), 16) & ~1).toString(16).toUpperCase();
  return hex.slice(0, -1) + last;
}

/** Parses the output of drbd-snapshot.sh. `kernelRead`: whether a `since` cursor was given (else kernelLines is null). Pure. */
export function parseDrbdSnapshot(server: string, resource: string, text: string, kernelRead: boolean): DrbdSnapshot {
  const s = sections(text);
  const live = parseEvents2(s.get('events') ?? '').find((r) => r.name === resource);
  const cursor = (s.get('cursor') ?? '').trim();
  const ended = text.includes(`${SECTION}end`);
  return {
    server,
    currentUuid: parseCurrentUuid(s.get('gi') ?? ''),
    role: live?.role ?? null,
    connections: live?.connections.map((c) => ({ peer: c.peer, state: c.connection })) ?? [],
    cursor: cursor === '' ? null : cursor,
    kernelLines: kernelRead && ended ? (s.get('kernel') ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '') : null,
  };
}

/** Kernel lines that mean the connection was lost (or a split brain found) during the window. */
const LOST = [
  /PingAck did not arrive in time/i,
  /split-brain/i,
  /conn\( Connected -> (?!Connected)\w+ \)/,
  /Connection closed/i,
  /(sock|connection) (was )?(shut down|reset) by peer/i,
  /meta connection shut down/i,
];

export interface WindowJudgement {
  /** Each problem, one sentence, naming the node; empty when the window was clean. */
  problems: string[];
  /** The kernel lines that show them, with their node. */
  kernelLines: string[];
}

/**
 * Judges one migration window of the test resource from the reads before and after it, on every
 * holder. Problems: a read missing, a connection not Connected at the end, a kernel line of lost
 * connection or split brain, a current UUID that changed, or current UUIDs that differ at the end. Pure.
 */
export function judgeWindow(resource: string, holders: string[], before: DrbdSnapshot[], after: DrbdSnapshot[]): WindowJudgement {
  const problems: string[] = [];
  const kernelLines: string[] = [];
  for (const server of holders) {
    const b = before.find((x) => x.server === server);
    const a = after.find((x) => x.server === server);
    if (!b?.currentUuid || !a?.currentUuid) {
      problems.push(`${server}: the current UUID of ${resource} could not be read ${!b?.currentUuid ? 'before' : 'after'} the migration (drbdadm get-gi)`);
    } else if (a.currentUuid !== b.currentUuid) {
      problems.push(`${server}: ${resource} changed its current UUID during the migration (${b.currentUuid} -> ${a.currentUuid}): it wrote without its peer`);
    }
    if (a) {
      const peers = holders.filter((h) => h !== server);
      const notConnected = a.connections.filter((c) => c.state !== 'Connected');
      if (a.connections.length < peers.length || notConnected.length > 0) {
        const states = a.connections.map((c) => `${c.state ?? 'unknown'}${a.connections.length > 1 ? ` to ${c.peer}` : ''}`);
        problems.push(`${server}: ${resource} is not connected after the migration (${states.join(', ') || 'StandAlone'})`);
      }
      const lost = (a.kernelLines ?? []).filter((l) => LOST.some((re) => re.test(l)));
      if (lost.length > 0) {
        const split = lost.some((l) => /split-brain/i.test(l));
        problems.push(`${server}: ${resource} ${split ? 'split (split brain)' : 'lost its connection'} during the migration: "${lost.find((l) => /split-brain/i.test(l)) ?? lost[0]}"`);
        kernelLines.push(...lost.map((l) => `${server}: ${l}`));
      }
    } else {
      problems.push(`${server}: the state of ${resource} could not be read after the migration`);
    }
  }
  const uuids = new Set(after.filter((a) => holders.includes(a.server)).map((a) => a.currentUuid).filter((u): u is string => u !== null));
  if (uuids.size > 1) {
    problems.push(`the holders of ${resource} disagree on its current UUID after the migration (${after.map((a) => `${a.server} ${a.currentUuid ?? '?'}`).join(', ')}): its data diverged`);
  }
  return { problems, kernelLines };
}

/** The client's gap against the bound; null when within it. Pure. */
export function judgeGap(maxGapMs: number | null, limitMs = CLIENT_GAP_LIMIT_MS, figures?: { requests: number; answers: number; atMs: number | null }): string | null {
  if (maxGapMs === null || maxGapMs <= limitMs) return null;
  const extra = figures ? ` (${figures.answers} of ${figures.requests} probes answered${figures.atMs !== null ? `; the gap began ${(figures.atMs / 1000).toFixed(1)} s after the migration started` : ''})` : '';
  return `the client went ${(maxGapMs / 1000).toFixed(1)} s without an answer from the test guest, above the bound of ${(limitMs / 1000).toFixed(1)} s${extra}`;
}

// ---------------------------------------------------------------------------------------------
// Memory before the test

export interface MemoryFigure {
  server: string;
  /** MemAvailable, MiB; null if it could not be read. */
  availableMiB: number | null;
  /** Guest memory plus the margin, MiB. */
  requiredMiB: number;
  ok: boolean;
}

export const MEMINFO_READ = { argv: ['grep', '-E', '^(MemAvailable|MemTotal):', '/proc/meminfo'] } as const;

/** MemAvailable of /proc/meminfo, MiB (rounded down), or null. Pure. */
export function parseMemAvailableMiB(meminfo: string): number | null {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Math.floor(Number(m[1]) / 1024) : null;
}

/** Every target's MemAvailable against the guest's memory plus the margin. Pure. */
export function judgeMemory(nodes: { server: string; availableMiB: number | null }[], guestMiB: number, marginMiB = MEMORY_MARGIN_MIB): MemoryFigure[] {
  const requiredMiB = guestMiB + marginMiB;
  return nodes.map((n) => ({ server: n.server, availableMiB: n.availableMiB, requiredMiB, ok: n.availableMiB !== null && n.availableMiB >= requiredMiB }));
}

/** The refusal's message, naming every node short of memory with its figures. Pure. */
export function memoryRefusal(figures: MemoryFigure[], guestMiB: number): string | null {
  const short = figures.filter((f) => !f.ok);
  if (short.length === 0) return null;
  const margin = short[0]!.requiredMiB - guestMiB;
  return `not enough memory for the test guest: ${short
    .map((f) => (f.availableMiB === null ? `${f.server}: MemAvailable could not be read` : `${f.server} has ${f.availableMiB} MiB available (MemAvailable)`))
    .join('; ')}; each node the guest runs on needs ${short[0]!.requiredMiB} MiB (guest ${guestMiB} MiB + margin ${margin} MiB)`;
}
