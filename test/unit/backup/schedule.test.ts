/** How late a backup may be (BACKUP_AGE): a schedule's longest gap between runs, the grace, warnAfter over both. */
import { describe, expect, it } from 'vitest';
import { backupAgeLimit, DEFAULT_WARN_AFTER_MINUTES, graceMinutes, humanDuration, scheduleGapMinutes } from '../../../installer/backup/schedule.js';

const H = 60;
const D = 24 * H;

describe('scheduleGapMinutes', () => {
  it("derives the shorthands' gaps from systemd's expansions", () => {
    expect(['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'semiannually', 'yearly', 'annually'].map(scheduleGapMinutes)).toEqual([1, H, D, 7 * D, 31 * D, 92 * D, 184 * D, 366 * D, 366 * D]);
  });

  it('takes the longest gap of full expressions: weekdays, lists, ranges, repetitions, a time zone', () => {
    expect(scheduleGapMinutes('*-*-* 02:00:00')).toBe(D);
    expect(scheduleGapMinutes('02:00')).toBe(D);
    expect(scheduleGapMinutes('*-*-* 02:00:00 Europe/Berlin')).toBe(D);
    expect(scheduleGapMinutes('*-01-01 03:00:00')).toBe(366 * D); // the lab's: never on its own during a run
    expect(scheduleGapMinutes('Mon..Fri 02:00')).toBe(3 * D); // Friday to Monday
    expect(scheduleGapMinutes('Sat,Sun *-*-* 03:30')).toBe(6 * D);
    expect(scheduleGapMinutes('*-*-* 02,14:00')).toBe(12 * H);
    expect(scheduleGapMinutes('*-*-* 8..18/2:00')).toBe(14 * H); // 18:00 to 08:00
    expect(scheduleGapMinutes('*:0/15')).toBe(15);
    expect(scheduleGapMinutes('Mon *-*-1..7 01:00')).toBe(35 * D); // the first Monday of each month
    expect(scheduleGapMinutes('*-02-29 00:00')).toBe(1461 * D);
  });

  it('gives up on what it does not read: the last days (~), a fixed year, nonsense', () => {
    for (const s of ['*-*-~1', '2027-*-* 02:00', 'Mon *-*-* 25:00', 'bogus', '*-*-1..7 Mon 01:00', '']) expect(scheduleGapMinutes(s), s).toBeNull();
  });
});

describe('backupAgeLimit', () => {
  it('is the gap plus a twelfth of it, 1 h to 1 day: 26 h for a daily schedule', () => {
    expect(backupAgeLimit({ schedule: '*-*-* 02:00:00' })).toEqual({ minutes: 26 * H, from: 'schedule', gapMinutes: D, graceMinutes: 2 * H });
    expect(backupAgeLimit({ schedule: 'hourly' })).toMatchObject({ minutes: 2 * H, graceMinutes: H });
    expect(backupAgeLimit({ schedule: 'weekly' })).toMatchObject({ minutes: 7 * D + 14 * H });
    expect(graceMinutes(366 * D)).toBe(D);
  });

  it('assumes 26 h when the schedule gives no gap, and takes warnAfter over the schedule; none without either', () => {
    expect(backupAgeLimit({ schedule: '*-*-~1 02:00' })).toEqual({ minutes: DEFAULT_WARN_AFTER_MINUTES, from: 'assumed' });
    expect(DEFAULT_WARN_AFTER_MINUTES).toBe(26 * H);
    expect(backupAgeLimit({ schedule: 'hourly', warnAfter: '2d' })).toEqual({ minutes: 2 * D, from: 'warnAfter' });
    expect(backupAgeLimit({ warnAfter: '90m' })).toEqual({ minutes: 90, from: 'warnAfter' });
    expect(backupAgeLimit({})).toBeNull();
  });
});

describe('humanDuration', () => {
  it('reads like people say it', () => {
    expect([0, 59, 60, 3599, 3600, 3660 * 3 + 300, 47 * 3600, 48 * 3600, 50 * 3600 + 59].map(humanDuration)).toEqual(['0 s', '59 s', '1 min', '59 min', '1 h', '3 h 8 min', '47 h', '2 days', '2 days 2 h']);
  });
});
