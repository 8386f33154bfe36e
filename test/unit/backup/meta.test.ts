/** meta.json as backup-node.sh writes it, read back strictly with errors that name the key. */
import { describe, expect, it } from 'vitest';
import { BackupMetaError, consistencyOf, parseBackupMeta, type BackupMeta } from '../../../installer/backup/meta.js';

const SHA0 = 'a'.repeat(64);
const SHA1 = '0123456789abcdef'.repeat(4);
const XML = "<domain type='kvm'>\n  <name>db</name>\n</domain>\n";
const GiB = 1024 ** 3;

/** The meta of db's set taken at 2026-12-08T10:15:00Z on hv2: two disks, the filesystems frozen. */
const META: BackupMeta = {
  format: 'hvcluster-backup-meta/v1',
  cluster: 'acme-prod',
  guest: 'db',
  node: 'hv2',
  takenAt: '2026-12-08T10:15:00Z',
  consistency: 'agent',
  freeze: { result: 'frozen', filesystems: 2, thaw: 'ok' },
  versions: { hvcluster: '0.1.0', drbd: '8.4.11' },
  disks: [
    { index: 0, resource: 'db-disk0', archive: 'db.20261208t101500z.disk0', bytes: 20 * GiB - 688128, lvBytes: 20 * GiB, sha256: SHA0 },
    { index: 1, resource: 'db-disk1', archive: 'db.20261208t101500z.disk1', bytes: GiB - 36864, lvBytes: GiB, sha256: SHA1 },
  ],
  domainXml: XML,
  declaration: { vcpus: 2, memoryMiB: 4096, machine: 'q35', boot: ['hd'], disks: [{ sizeMiB: 20480 }, { sizeMiB: 1024 }], nics: [{ bridge: 'br0', mac: '52:54:00:12:34:56' }] },
};

describe('consistencyOf', () => {
  it('gives the consistency of each freeze result', () => {
    expect(consistencyOf({ result: 'frozen', filesystems: 0, thaw: 'abandoned' })).toBe('agent');
    expect(consistencyOf({ result: 'timed-out', thaw: 'abandoned' })).toBe('crash');
    expect(consistencyOf({ result: 'none', reason: 'QEMU guest agent is not connected' })).toBe('crash');
    expect(consistencyOf({ result: 'stopped' })).toBe('stopped');
  });
});

describe('parseBackupMeta', () => {
  const text = `${JSON.stringify(META)}\n`;
  const edit = (change: (m: any) => void) => {
    const m = JSON.parse(text);
    change(m);
    return JSON.stringify(m);
  };
  const problems = (t: string, archive?: string): string[] => {
    try {
      parseBackupMeta(t, archive);
    } catch (error) {
      expect(error).toBeInstanceOf(BackupMetaError);
      return (error as BackupMetaError).problems;
    }
    return [];
  };

  it("reads back a set's meta.json, for its own archive", () => {
    expect(parseBackupMeta(text, 'db.20261208t101500z.meta')).toEqual(META);
  });

  it("refuses another set's meta, and says which archive it came from", () => {
    expect(() => parseBackupMeta(text, 'db.20261209t101500z.meta')).toThrow(
      'meta.json of db.20261209t101500z.meta is not valid: guest and takenAt name the archive db.20261208t101500z.meta, not db.20261209t101500z.meta',
    );
  });

  it('names every problem of the shape: not JSON, another format, unknown and missing keys, wrong values', () => {
    expect(problems('{"format":')).toEqual([expect.stringMatching(/^not JSON \(/)]);
    expect(problems('[]')).toEqual(['expected a JSON object']);
    expect(problems(edit((m) => (m.format = 'hvcluster-backup-meta/v2')))).toEqual([
      'format hvcluster-backup-meta/v2 was written by another hvcluster version; this one reads hvcluster-backup-meta/v1',
    ]);
    expect(
      problems(
        edit((m) => {
          m.comment = 'x';
          delete m.node;
          m.takenAt = '2026-12-08T10:15:00.000Z';
          m.freeze = { result: 'frozen', filesystems: 2 };
          m.disks[1].sha256 = 'abc';
          m.disks[0].bytes = -1;
          m.declaration.nics[0].mac = '52:54:00:AB:CD:EF';
        }),
      ),
    ).toEqual([
      'node: missing, expected the name of the node that took it',
      'takenAt: expected an instant like 2026-12-08T10:15:00Z',
      'freeze.thaw: missing, expected ok or abandoned',
      'disks[0].bytes: expected a whole number of at least 1',
      'disks[1].sha256: expected 64 lowercase hex digits',
      'declaration.nics[0].mac: expected a MAC address in lowercase',
      "unknown key 'comment'",
    ]);
    expect(problems(edit((m) => (m.freeze = { result: 'thawed' })))).toEqual(['freeze.result: expected a freeze result: frozen, timed-out, none or stopped']);
    expect(problems(edit((m) => (m.domainXml = 'not xml')))).toEqual(['domainXml: expected the guest\'s domain XML, starting with <domain']);
  });

  it('names every relation that does not hold: archives of another set, sizes, consistency, the declared disks', () => {
    expect(
      problems(
        edit((m) => {
          m.consistency = 'agent';
          m.freeze = { result: 'none', reason: 'no agent channel' };
          m.disks[0].archive = 'db.20261207t101500z.disk0';
          m.disks[1].index = 3;
          m.disks[1].resource = 'web-disk1';
          m.disks[1].bytes = m.disks[1].lvBytes + 1;
          m.declaration.disks.pop();
        }),
      ),
    ).toEqual([
      'consistency: agent does not follow from freeze none (expected crash)',
      'declaration.disks: 1 disks declared, 2 backed up',
      'disks[0].archive: expected db.20261208t101500z.disk0 (the set\'s disk 0), found "db.20261207t101500z.disk0"',
      'disks[1].index: expected 1, found 3',
      'disks[1].resource: expected db-disk1, found "web-disk1"',
      "disks[1].bytes: 1073741825 is more than its volume's lvBytes 1073741824",
    ]);
    expect(problems(edit((m) => (m.disks[0].bytes = 20 * GiB + 1)))).toEqual([
      "disks[0].bytes: 21474836481 is more than its volume's lvBytes 21474836480",
    ]);
    // More than declared is how DRBD on LVM is (the LV holds the declared size and DRBD's metadata, in whole extents).
    expect(problems(edit((m) => ((m.disks[0].lvBytes = 20 * GiB + 4 * 2 ** 20), (m.disks[0].bytes = 20 * GiB + 4 * 2 ** 20 - 40960))))).toEqual([]);
  });
});
