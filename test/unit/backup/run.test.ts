/** Which node backs up which guest, and what backup-node.sh's output says a set read and stored. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { backedUpGuests, parseGuestBackupOutput, planBackupRun, setFigures } from '../../../installer/backup/run.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import type { NodeRead } from '../../../installer/guests/moves.js';
import { siteYaml } from '../plan/helpers.js';

const guests = `  guests:\n    - name: web\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n    - name: db\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n        - size: 32MiB\n`;
const backup = `  backup:\n    repository:\n      path: /srv/backup\n    encryption: none\n`;
const answers = parseAnswers(`${siteYaml()}${guests}${backup}`, 'site.yaml').answers;
const RESOURCES = ['web-disk0', 'db-disk0', 'db-disk1'];

function read(running: string[], o: { role?: string; dstate?: string } = {}): NodeRead {
  const g = parseGuestState(['virsh yes', 'standby no', 'libvirt yes', 'domains web db', ...['web', 'db'].map((n) => `domain ${n} ${running.includes(n) ? 'running' : 'shut-off'} no`)].join('\n'));
  const v = parseVolumeState(RESOURCES.flatMap((r) => [`lv ${r} present`, `state ${r} Connected ${o.dstate ?? 'UpToDate/UpToDate'} ${running.includes(r.split('-')[0]!) ? 'Primary/Secondary' : (o.role ?? 'Secondary/Secondary')}`]).join('\n'));
  return { guests: g, volumes: v };
}

describe('planBackupRun', () => {
  it('backs up each guest where it runs, a stopped one from a node with its disks UpToDate', () => {
    const reads = new Map([['hv1', read(['web'], { dstate: 'Inconsistent/UpToDate' })], ['hv2', read([])]]);
    expect(backedUpGuests(answers)).toEqual(['web', 'db']);
    expect(planBackupRun(answers, reads, [])).toEqual({ backups: [{ guest: 'web', node: 'hv1', stopped: false }, { guest: 'db', node: 'hv2', stopped: true }], skipped: [] });
    expect(planBackupRun(answers, reads, ['db']).backups).toEqual([{ guest: 'db', node: 'hv2', stopped: true }]);
  });

  it('skips, saying why, a guest in a migration window; refuses a guest spec.backup does not cover, and a file without spec.backup', () => {
    const window = new Map([['hv1', read(['web'])], ['hv2', read([], { role: 'Primary/Primary' })]]);
    expect(planBackupRun(answers, window, ['web']).skipped).toEqual([{ guest: 'web', reason: 'a live migration is in progress (two Primaries)' }]);
    expect(() => planBackupRun(answers, window, ['nosuch'])).toThrow('guest nosuch is not backed up by spec.backup');
    const without = parseAnswers(`${siteYaml()}${guests}`, 'site.yaml').answers;
    expect(() => planBackupRun(without, window, [])).toThrow('the answer file has no spec.backup');
  });
});

describe('parseGuestBackupOutput', () => {
  const borg = (original: number, stored: number, duration: number) => JSON.stringify({ archive: { duration, stats: { original_size: original, compressed_size: stored, deduplicated_size: stored, nfiles: 1 } } }, null, 4);
  const out = ['@snapshot freeze frozen 0', '@snapshot thaw ok', '@snapshot consistency agent', '@snapshot snapshot db-disk0 db-disk0.bk.20261208t101500z 33554432', '@snapshot snapshot db-disk1 db-disk1.bk.20261208t101500z 33554432', '@borg db.20261208t101500z.disk0', borg(33555280, 1048576, 2), '@borg db.20261208t101500z.disk1', borg(33555280, 0, 2), '@borg db.20261208t101500z.meta', borg(2000, 1500, 0.1), '@done db.20261208t101500z', ''].join('\n');

  it("reads each archive's figures and the set's consistency; the disks' bytes read (their snapshots' DRBD sizes: borg's original_size counts its metadata too), everything stored", () => {
    const result = parseGuestBackupOutput(out);
    expect(result).toMatchObject({ set: 'db.20261208t101500z', consistency: 'agent', freeze: 'frozen 0', thaw: 'ok' });
    expect(result.archives.map((a) => [a.name, a.originalBytes, a.storedBytes])).toEqual([
      ['db.20261208t101500z.disk0', 33555280, 1048576],
      ['db.20261208t101500z.disk1', 33555280, 0],
      ['db.20261208t101500z.meta', 2000, 1500],
    ]);
    expect(setFigures(result)).toEqual({ readBytes: 67108864, storedBytes: 1050076, seconds: 4 });
  });

  it('a set that did not finish is an error naming the last lines', () => {
    expect(() => parseGuestBackupOutput(out.replace('@done db.20261208t101500z', 'borg: error'))).toThrow('backup-node.sh did not finish the set');
  });
});
