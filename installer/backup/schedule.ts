/**
 * How late a guest's last complete backup may be before verify says so (BACKUP_AGE): from
 * spec.backup.warnAfter when it is given, else from spec.backup.schedule (systemd OnCalendar=,
 * systemd.time(7)): the longest gap between two of its runs plus a grace for the run itself. Pure.
 *
 * The gap is derived for the shorthands (minutely, hourly, daily, weekly, monthly, quarterly,
 * semiannually, yearly, annually) and for `[WEEKDAYS] [[*-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [ZONE]`
 * whose fields are `*`, numbers, lists (`a,b`), ranges (`a..b`) and repetitions (`a/n`, `a..b/n`,
 * `*\/n`). Anything else (`~` for the last days of a month, a fixed year, text systemd alone knows)
 * gives no gap: verify then assumes DEFAULT_WARN_AFTER_MINUTES and says so.
 */
import { durationMinutes, type BackupAnswers } from '../answers/schema.js';

/** The age past which verify warns when it cannot tell from the schedule: a daily run and 2 h to spare. */
export const DEFAULT_WARN_AFTER_MINUTES = 26 * 60;

const DAY = 24 * 60;

/** systemd's own expansions of the shorthands (systemd.time(7), "Calendar Events"). */
const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
};

/** Day names as systemd takes them (three letters or in full, any case), 0 = Sunday as Date.getUTCDay counts. */
const WEEKDAY_NAMES = new Map<string, number>(
  ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].flatMap((day, i): [string, number][] => [
    [day, i],
    [day.slice(0, 3), i],
  ]),
);

/** The values of one calendar field (`*`, `5`, `1,15`, `1..5`, `0/15`, `*\/2`, `8..18/2`) within [min, max], or null. */
function fieldValues(text: string, min: number, max: number): Set<number> | null {
  const out = new Set<number>();
  const int = (s: string) => (/^\d{1,4}$/.test(s) ? Number(s) : NaN);
  for (const item of text.split(',')) {
    const [range = '', stepText, extra] = item.split('/');
    if (extra !== undefined) return null;
    const step = stepText === undefined ? null : int(stepText);
    if (step !== null && !(step >= 1)) return null;
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [min, max];
    else if (range.includes('..')) {
      const [a = '', b = ''] = range.split('..');
      [from, to] = [int(a), int(b)];
    } else {
      from = int(range);
      // `a/n`: a, a+n, ... up to the field's end.
      to = step === null ? from : max;
    }
    if (!(from >= min && to <= max && from <= to)) return null;
    for (let v = from; v <= to; v += step ?? 1) out.add(v);
  }
  return out.size > 0 ? out : null;
}

/** `Mon`, `Mon..Fri`, `Sat,Sun`, `Monday`: the days of the week (0 = Sunday), or null. */
function weekdayValues(text: string): Set<number> | null {
  const out = new Set<number>();
  for (const item of text.toLowerCase().split(',')) {
    const [a = '', b, extra] = item.split('..');
    if (extra !== undefined) return null;
    const from = WEEKDAY_NAMES.get(a);
    const to = b === undefined ? from : WEEKDAY_NAMES.get(b);
    if (from === undefined || to === undefined) return null;
    // Mon..Sun: Monday to Sunday (Sunday is 0 here, 7 in systemd's order).
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return out;
}

interface Calendar {
  weekdays: Set<number> | null;
  months: Set<number>;
  days: Set<number>;
  /** Minutes of the day at which it runs, sorted. */
  times: number[];
}

function parseCalendar(schedule: string): Calendar | null {
  const words = (SHORTHANDS[schedule.trim().toLowerCase()] ?? schedule).trim().split(/\s+/);
  let weekdays: Set<number> | null = null;
  let date = '*-*-*';
  let time = '00:00:00';
  let i = 0;
  if (words[i] !== undefined && /^[a-z]/i.test(words[i]!) && weekdayValues(words[i]!) !== null) weekdays = weekdayValues(words[i++]!);
  if (words[i] !== undefined && words[i]!.includes('-') && !words[i]!.includes(':')) date = words[i++]!;
  if (words[i] !== undefined && words[i]!.includes(':')) time = words[i++]!;
  // A time zone at the end (UTC, Europe/Berlin) moves the runs, not the gaps between them (but for a DST hour).
  if (i > 0 && words[i] !== undefined && /^[A-Za-z][\w+-]*(?:\/[\w+-]+)*$/.test(words[i]!)) i++;
  if (i !== words.length || date.includes('~')) return null;
  const dateParts = date.split('-');
  if (dateParts.length === 3 && dateParts[0] !== '*') return null; // a fixed year: it stops running
  if (dateParts.length !== 2 && dateParts.length !== 3) return null;
  const [monthText = '', dayText = ''] = dateParts.slice(-2);
  const timeParts = time.split(':');
  if (timeParts.length !== 2 && timeParts.length !== 3) return null;
  const [hourText = '', minuteText = '', secondText = '0'] = timeParts;
  const months = fieldValues(monthText, 1, 12);
  const days = fieldValues(dayText, 1, 31);
  const hours = fieldValues(hourText, 0, 23);
  const minutes = fieldValues(minuteText, 0, 59);
  // Seconds (a fraction allowed) only place a run within its minute.
  if (!months || !days || !hours || !minutes || fieldValues(secondText.replace(/\.\d+$/, ''), 0, 59) === null) return null;
  const times = [...hours].flatMap((h) => [...minutes].map((m) => h * 60 + m)).sort((a, b) => a - b);
  return { weekdays, months, days, times };
}

/**
 * The longest time between two runs of an OnCalendar= schedule, in minutes; null when it cannot
 * be derived (see the module's comment). Every day of eight years from 2024 is tried, so that leap
 * days and weekday-and-date combinations come round. Pure.
 */
export function scheduleGapMinutes(schedule: string): number | null {
  const cal = parseCalendar(schedule);
  if (!cal || cal.times.length === 0) return null;
  const first = cal.times[0]!;
  const last = cal.times[cal.times.length - 1]!;
  let gap = cal.times.length > 1 ? Math.max(...cal.times.slice(1).map((t, i) => t - cal.times[i]!)) : 0;
  let previous: number | null = null;
  let runDays = 0;
  const start = Date.UTC(2024, 0, 1) / 86_400_000;
  for (let day = start; day < start + 8 * 365 + 2; day++) {
    const d = new Date(day * 86_400_000);
    if (!cal.months.has(d.getUTCMonth() + 1) || !cal.days.has(d.getUTCDate()) || (cal.weekdays && !cal.weekdays.has(d.getUTCDay()))) continue;
    runDays++;
    if (previous !== null) gap = Math.max(gap, (day - previous) * DAY + first - last);
    previous = day;
  }
  return runDays >= 2 ? gap : null;
}

/** The grace on top of a schedule's gap: a twelfth of it (a run takes time), at least 1 h, at most 1 day. */
export const graceMinutes = (gapMinutes: number) => Math.min(DAY, Math.max(60, Math.round(gapMinutes / 12)));

/** Past how many minutes a guest's last complete set is late, and why; null: never late (no schedule, no warnAfter). */
export interface AgeLimit {
  minutes: number;
  /** warnAfter: spec.backup.warnAfter; schedule: its gap plus the grace; assumed: DEFAULT_WARN_AFTER_MINUTES (the gap could not be derived). */
  from: 'warnAfter' | 'schedule' | 'assumed';
  /** The schedule's longest gap between runs (from: schedule). */
  gapMinutes?: number;
  graceMinutes?: number;
}

export function backupAgeLimit(backup: Pick<BackupAnswers, 'schedule' | 'warnAfter'>): AgeLimit | null {
  if (backup.warnAfter !== undefined) return { minutes: durationMinutes(backup.warnAfter), from: 'warnAfter' };
  if (backup.schedule === undefined) return null;
  const gap = scheduleGapMinutes(backup.schedule);
  if (gap === null) return { minutes: DEFAULT_WARN_AFTER_MINUTES, from: 'assumed' };
  const grace = graceMinutes(gap);
  return { minutes: gap + grace, from: 'schedule', gapMinutes: gap, graceMinutes: grace };
}

/** A duration for people: `40 s`, `12 min`, `3 h 5 min`, `2 days 4 h`. Pure. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const days = Math.floor(h / 24);
  return h % 24 === 0 ? `${days} days` : `${days} days ${h % 24} h`;
}
