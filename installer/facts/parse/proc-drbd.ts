/**
 * /proc/drbd: the module's version line and, under DRBD 8.4, one line per minor (cs: ro: ds:, protocol,
 * I/O flags), its counters (oos:) and a running resync's progress. The one parser of that file: the
 * facts and verify both read it here. Pure, tested on captures.
 */

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

export function parseProcDrbd(text: string): { version: string | null; minors: ProcDrbdMinor[] } {
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
