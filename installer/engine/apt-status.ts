/** apt's machine-readable status lines (APT::Status-Fd), as a step's progress. Pure. */

export interface AptStatus {
  /** Downloading or installing. */
  phase: 'download' | 'install';
  percent: number;
  text: string;
}

/**
 * One line of apt's status: `dlstatus:1:45.2:Retrieving file 3 of 40` while downloading,
 * `pmstatus:drbd-utils:62.5:Setting up drbd-utils (9.22.0-1)` while dpkg runs. Downloads are
 * shown as the first 20 %, dpkg as the rest.
 */
export function aptStatus(line: string): AptStatus | undefined {
  // The package field may hold an architecture (`libc6:amd64`): the percent is the first number field after it.
  const m = /^(dlstatus|pmstatus):.*?:(\d+(?:\.\d+)?):(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const raw = Math.min(100, Math.max(0, Number(m[2])));
  if (!Number.isFinite(raw)) return undefined;
  const download = m[1] === 'dlstatus';
  return { phase: download ? 'download' : 'install', percent: download ? raw * 0.2 : 20 + raw * 0.8, text: m[3]!.trim() };
}

/** Feeds streamed stdout to `onLine` a whole line at a time. */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  };
}
