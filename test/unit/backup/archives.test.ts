/** Archive names and the sets they make: a set is complete only when its meta archive exists. */
import { describe, expect, it } from 'vitest';
import {
  archiveSets,
  backupStamp,
  diskArchiveName,
  metaArchiveName,
  parseArchiveName,
  setName,
  stampDate,
} from '../../../installer/backup/archives.js';

const T1 = new Date('2026-12-08T10:15:00.250Z');

describe('stamps', () => {
  it('name an instant in UTC to the second, lowercase, and read back to it', () => {
    expect(backupStamp(T1)).toBe('20261208t101500z');
    expect(backupStamp(new Date('2027-01-02T03:04:05+02:00'))).toBe('20270102t010405z');
    expect(stampDate('20261208t101500z')).toEqual(new Date('2026-12-08T10:15:00Z'));
  });

  it('are refused when they are not one of a real instant', () => {
    for (const text of ['20261208T101500Z', '20261208t1015z', '20261332t101500z', '20260230t101500z', '20261208t246000z', '']) expect(stampDate(text)).toBeUndefined();
  });
});

describe('archive names', () => {
  it('are GUEST.STAMP.diskN and GUEST.STAMP.meta', () => {
    expect(setName('web', '20261208t101500z')).toBe('web.20261208t101500z');
    expect(diskArchiveName('web', '20261208t101500z', 0)).toBe('web.20261208t101500z.disk0');
    expect(diskArchiveName('db-2', '20261208t101500z', 11)).toBe('db-2.20261208t101500z.disk11');
    expect(metaArchiveName('web', '20261208t101500z')).toBe('web.20261208t101500z.meta');
  });

  it('are made only of a guest name, a stamp and a disk index', () => {
    expect(() => diskArchiveName('Web', '20261208t101500z', 0)).toThrow('not a guest name: "Web"');
    expect(() => metaArchiveName('web', '2026-12-08')).toThrow('not a backup stamp: "2026-12-08"');
    expect(() => diskArchiveName('web', '20261208t101500z', -1)).toThrow('not a disk index: -1');
  });

  it('parse back into their parts; any other name is not ours', () => {
    expect(parseArchiveName('web.20261208t101500z.disk1')).toEqual({ guest: 'web', stamp: '20261208t101500z', takenAt: new Date('2026-12-08T10:15:00Z'), part: { kind: 'disk', index: 1 } });
    expect(parseArchiveName('web.20261208t101500z.meta')?.part).toEqual({ kind: 'meta' });
    for (const name of [
      'web.20261208t101500z.disk01',
      'web.20261208t101500z.disk',
      'web.20261208t101500z.meta.checkpoint',
      'web.20261208t101500z',
      'hvc-test.20261208t101500z.meta',
      'web.20261332t101500z.meta',
      'host-2026-12-08',
    ]) {
      expect(parseArchiveName(name)).toBeUndefined();
    }
  });
});

describe('archiveSets', () => {
  const names = [
    'db.20261209t020000z.disk0',
    'web.20261209t020000z.disk0',
    'web.20261208t020000z.meta',
    'db.20261209t020000z.disk1',
    'web.20261208t020000z.disk0',
    'db.20261209t020000z.meta',
    'web.20261209t020000z.disk1',
    'etc-2026-12-08',
    'db.20261210t020000z.disk0',
  ];

  it('makes complete sets of those with a meta archive, oldest first per guest, disks in order', () => {
    const { complete } = archiveSets(names);
    expect(complete).toEqual([
      {
        name: 'db.20261209t020000z',
        guest: 'db',
        stamp: '20261209t020000z',
        takenAt: new Date('2026-12-09T02:00:00Z'),
        meta: 'db.20261209t020000z.meta',
        disks: [
          { index: 0, archive: 'db.20261209t020000z.disk0' },
          { index: 1, archive: 'db.20261209t020000z.disk1' },
        ],
      },
      {
        name: 'web.20261208t020000z',
        guest: 'web',
        stamp: '20261208t020000z',
        takenAt: new Date('2026-12-08T02:00:00Z'),
        meta: 'web.20261208t020000z.meta',
        disks: [{ index: 0, archive: 'web.20261208t020000z.disk0' }],
      },
    ]);
  });

  it('lists disk archives without their meta as leftovers, and names it does not make as foreign', () => {
    const { incomplete, foreign } = archiveSets(names);
    expect(incomplete).toEqual([
      { name: 'db.20261210t020000z', guest: 'db', stamp: '20261210t020000z', archives: ['db.20261210t020000z.disk0'] },
      { name: 'web.20261209t020000z', guest: 'web', stamp: '20261209t020000z', archives: ['web.20261209t020000z.disk0', 'web.20261209t020000z.disk1'] },
    ]);
    expect(foreign).toEqual(['etc-2026-12-08']);
  });
});
