/** spec.backup: the schema (defaults, formats), the rules validate-backup.ts adds, and how the loader reports them. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/index.js';
import { BackupSchema, durationMinutes, snapshotPercent, type BackupAnswers } from '../../../installer/answers/schema.js';
import { validateBackup, type BackupParts } from '../../../installer/answers/validate-backup.js';
import { fixture, issuesOf } from './helpers.js';

const messages = (b: unknown) => {
  const r = BackupSchema.safeParse(b);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('spec.backup in the answer file', () => {
  it('fills in every default, and mounts an NFS export at the default path', () => {
    expect(BackupSchema.parse({ repository: { nfs: { server: 'nas.example.com', export: '/srv/hvbackup' } }, passphraseFrom: { env: 'P' } })).toEqual({
      repository: { path: '/var/lib/hvcluster/backup', nfs: { server: 'nas.example.com', export: '/srv/hvbackup', options: 'vers=4.2,hard' } },
      encryption: 'repokey-blake2',
      passphraseFrom: { env: 'P' },
      retention: { daily: 7, weekly: 4, monthly: 6 },
      freezeTimeout: 10,
      snapshotSize: 'full',
      compression: 'lz4',
    });
    // A shared directory of the customer's own (no nfs): no mount, and no key for it.
    expect(BackupSchema.parse({ repository: { path: '/mnt/cephfs/hvbackup' }, encryption: 'none' }).repository).toEqual({ path: '/mnt/cephfs/hvbackup' });
  });

  it('loads the valid fixture with every setting written out, and warns about nothing', () => {
    const { answers, warnings } = parseAnswers(fixture('valid/two-nodes-backup.yaml'));
    expect(warnings).toEqual([]);
    expect(answers.spec.backup).toStrictEqual({
      repository: { path: '/var/lib/hvcluster/backup', nfs: { server: '198.18.1.10', export: '/srv/hvbackup', options: 'vers=4.2,hard' } },
      encryption: 'repokey-blake2',
      passphraseFrom: { env: 'HVCLUSTER_BACKUP_PASSPHRASE' },
      schedule: '*-*-* 02:00:00',
      retention: { daily: 7, weekly: 4, monthly: 6 },
      guests: ['web', 'db'],
      freezeTimeout: 10,
      snapshotSize: 'full',
      warnAfter: '26h',
      compression: 'lz4',
    });
  });

  it('takes snapshot sizes from 5% to 99% and durations in minutes, hours or days, and reads them', () => {
    const repository = { path: '/mnt/b' };
    expect(messages({ repository, snapshotSize: '5%', warnAfter: '90m' })).toEqual([]);
    expect(messages({ repository, snapshotSize: '99%', warnAfter: '2d' })).toEqual([]);
    for (const size of ['4%', '100%', '20', '20 %', '05%', 'FULL']) {
      expect(messages({ repository, snapshotSize: size })).toEqual(['snapshotSize: expected full or a percentage of the disk from 5% to 99%, like 20%']);
    }
    for (const duration of ['0h', '26', '1w', '26H', '1.5h']) {
      expect(messages({ repository, warnAfter: duration })).toEqual(['warnAfter: expected a duration: a whole number with m (minutes), h (hours) or d (days), like 26h']);
    }
    expect([snapshotPercent('full'), snapshotPercent('20%'), snapshotPercent('5%')]).toEqual([undefined, 20, 5]);
    expect([durationMinutes('90m'), durationMinutes('26h'), durationMinutes('2d')]).toEqual([90, 1560, 2880]);
    expect(() => durationMinutes('26 hours')).toThrow('not a duration: "26 hours"');
  });

  it('wants a path or an NFS export, an NFS server by IPv4 address or name', () => {
    expect(messages({ repository: {} })).toEqual([
      'repository: expected path (a directory every node shares, like /var/lib/hvcluster/backup) or nfs (an export apply mounts, like { server: 198.18.1.10, export: /srv/hvbackup }); neither is given',
    ]);
    expect(messages({ repository: { nfs: { server: 'fd00::10', export: '/srv/b' } } })).toEqual([
      'repository.nfs.server: expected the host name or IPv4 address of the NFS server, like 198.18.1.10',
    ]);
    expect(messages({ repository: { path: 'backup' } })).toEqual(['repository.path: expected an absolute directory path, like /var/lib/hvcluster/backup']);
  });
});

describe('the rules of spec.backup', () => {
  const backup = (b: Record<string, unknown> = {}): BackupAnswers => BackupSchema.parse({ repository: { path: '/mnt/hvbackup' }, passphraseFrom: { env: 'P' }, ...b });
  const nodes = parseAnswers(fixture('valid/two-nodes.yaml')).answers.spec.nodes.map((node, index) => ({ index, node }));
  const guests: BackupParts['guests'] = [
    { index: 0, name: 'web', state: 'present' },
    { index: 1, name: 'db', state: 'present' },
  ];
  const check = (b: BackupAnswers | 'invalid' | undefined, known: BackupParts['guests'] = guests) =>
    validateBackup({ backup: b, nodes, guests: known }).map((i) => `${i.path.join('.')}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.message}`);

  it('accepts a repository of its own, encrypted with a passphrase, for declared guests; and no section at all', () => {
    expect(check(backup({ guests: ['web', 'db'], schedule: 'Mon..Fri 02:00', snapshotSize: '20%' }))).toEqual([]);
    expect(check(backup({ repository: { path: '/var/lib/hvcluster/backup', nfs: { server: 'nas.example.com', export: '/srv/b', options: 'vers=4.1,hard,timeo=600' } } }))).toEqual([]);
    expect(check(undefined)).toEqual([]);
    // A section that failed the schema: its own errors only, no guesses here.
    expect(check('invalid')).toEqual([]);
  });

  it("refuses the system's directories, the root and paths that are not normalized; allows names that only start like them", () => {
    const path = (p: string) => check(backup({ repository: { path: p } }));
    expect(path('/')).toEqual(['spec.backup.repository.path: the repository cannot be the root directory; expected a directory of its own, like /var/lib/hvcluster/backup']);
    expect(path('/usr')).toEqual([
      'spec.backup.repository.path: /usr is /usr, which belongs to the system (/etc, /proc, /sys, /dev, /run, /boot, /usr are refused); expected a directory of its own, like /var/lib/hvcluster/backup',
    ]);
    for (const p of ['/run/hvbackup', '/proc/x', '/sys/x', '/dev/shm/b', '/boot/b']) expect(path(p)[0]).toMatch(/^spec\.backup\.repository\.path: \S+ is under \/\w+, which belongs to the system/);
    for (const p of ['/srv/b/', '/srv//b', '/srv/./b']) {
      expect(path(p)).toEqual([`spec.backup.repository.path: expected a path without '.' or '..' parts, '//' or a trailing '/', like /var/lib/hvcluster/backup, found "${p}"`]);
    }
    for (const p of ['/etcetera/b', '/usr2', '/srv/etc', '/var/run-backups']) expect(path(p)).toEqual([]);
  });

  it('warns about an NFS server that is a node (by address or name), NFSv3 and local locks', () => {
    const nfs = (server: string, options = 'vers=4.2,hard') => check(backup({ repository: { nfs: { server, export: '/srv/b', options } } }));
    expect(nfs('198.19.1.11')).toEqual([
      'spec.backup.repository.nfs.server: warning: the NFS server 198.19.1.11 is the replication address of hv1 (spec.nodes[0].replication.address): the backups would be lost with that node, and the other nodes could not back up while it is down; expected a server apart from the cluster',
    ]);
    expect(nfs('HV2')[0]).toMatch(/^spec\.backup\.repository\.nfs\.server: warning: the NFS server HV2 is the name of node hv2 \(spec\.nodes\[1\]\.name\)/);
    for (const options of ['vers=3', 'hard,nfsvers=3', 'vers=3.0,tcp']) expect(nfs('nas', options)[0]).toMatch(/^spec\.backup\.repository\.nfs\.options: warning: vers=3 locks files through NLM/);
    expect(nfs('nas', 'vers=4.2,nolock')).toEqual([
      "spec.backup.repository.nfs.options: warning: nolock keeps file locks on each node: the nodes' backups no longer take turns on the repository; remove it",
    ]);
    expect(nfs('nas', 'local_lock=flock')[0]).toMatch(/^spec\.backup\.repository\.nfs\.options: warning: local_lock=flock keeps file locks on each node/);
    expect(nfs('nas', 'vers=4.2,local_lock=posix,vers3fallback=no')).toEqual([]);
  });

  it('wants passphraseFrom with encryption, and warns about encryption none', () => {
    expect(check(BackupSchema.parse({ repository: { path: '/mnt/b' } }))).toEqual([
      "spec.backup: encryption repokey-blake2 needs passphraseFrom: where hvcluster reads the repository's passphrase, like passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE } or { file: PATH } (never the passphrase itself)",
    ]);
    expect(check(BackupSchema.parse({ repository: { path: '/mnt/b' }, encryption: 'none' }))).toEqual([
      "spec.backup.encryption: warning: encryption: none stores the guests' disks readable by anyone who can read the repository's storage; expected repokey-blake2 unless that storage is as well guarded as the nodes",
    ]);
  });

  it('wants a retention that keeps more than the latest set', () => {
    expect(check(backup({ retention: { daily: 0, weekly: 0, monthly: 0 } }))[0]).toMatch(/^spec\.backup\.retention: daily, weekly and monthly are all 0/);
    expect(check(backup({ retention: { daily: 0, weekly: 0, monthly: 1 } }))).toEqual([]);
  });

  it('checks the guests against spec.guests when they are known, and duplicates always', () => {
    const absent: BackupParts['guests'] = [{ index: 0, name: 'web', state: 'present' }, { index: 3, name: 'old', state: 'absent' }];
    expect(check(backup({ guests: ['web', 'old', 'new', 'web'] }), absent)).toEqual([
      'spec.backup.guests.1: old is absent (spec.guests[3].state): apply removes it, there is nothing to back up; remove it from backup.guests',
      'spec.backup.guests.2: new is not a guest of spec.guests (web, old)',
      'spec.backup.guests.3: web is already listed at spec.backup.guests[0]',
    ]);
    expect(check(backup({ guests: ['web'] }), [])).toEqual(['spec.backup.guests.0: web is not a guest of spec.guests (none is declared)']);
    // Guests not known (one failed the schema for its name): duplicates only.
    expect(validateBackup({ backup: backup({ guests: ['web', 'new', 'web'] }), nodes, guests: undefined }).map((i) => i.message)).toEqual([
      'web is already listed at spec.backup.guests[0]',
    ]);
    expect(check(backup({ guests: [] }))).toEqual(['spec.backup.guests: warning: guests is empty: no guest is backed up; leave guests out to back up every present guest']);
  });

  it('wants a schedule on one line of at most 200 characters (systemd judges the rest on the first node)', () => {
    const schedule = (s: string) => check(backup({ schedule: s }));
    expect(schedule('*-*-* 02:00:00')).toEqual([]);
    expect(schedule('x'.repeat(200))).toEqual([]);
    expect(schedule('x'.repeat(201))).toEqual(['spec.backup.schedule: expected a systemd calendar expression of at most 200 characters, like "*-*-* 02:00:00", found 201']);
    expect(schedule('  ')).toEqual(['spec.backup.schedule: expected a systemd calendar expression, like "*-*-* 02:00:00", found an empty value']);
    for (const s of ['daily\n', 'daily\rweekly', 'daily\tweekly']) {
      expect(schedule(s)).toEqual(['spec.backup.schedule: expected a systemd calendar expression on one line, without control characters, like "*-*-* 02:00:00"']);
    }
  });
});

describe('spec.backup as the loader reports it', () => {
  const two = fixture('valid/two-nodes.yaml');
  const guests = '  guests:\n    - { name: web, memory: 1GiB, disks: [{ size: 1GiB }] }\n    - { name: db, memory: 1G, disks: [{ size: 1GiB }] }\n';

  it('checks the rules of backup when another part of the file fails the schema, with guests that fail it for another key', () => {
    const backup = '  backup:\n    repository: { path: /etc/b }\n    guests: [web, db, mail]\n';
    expect(issuesOf(`${two}${guests}${backup}`)).toEqual([
      'site.yaml:30:27 spec.guests[1].memory: expected a memory size with a binary unit (MiB, GiB or TiB), like 4GiB, found "1G"',
      "site.yaml:31:3 spec.backup: encryption repokey-blake2 needs passphraseFrom: where hvcluster reads the repository's passphrase, like passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE } or { file: PATH } (never the passphrase itself)",
      'site.yaml:32:25 spec.backup.repository.path: /etc/b is under /etc, which belongs to the system (/etc, /proc, /sys, /dev, /run, /boot, /usr are refused); expected a directory of its own, like /var/lib/hvcluster/backup',
      'site.yaml:33:23 spec.backup.guests[2]: mail is not a guest of spec.guests (web, db)',
    ]);
    // A guest whose name is itself invalid: the guests backed up are not checked against spec.guests.
    expect(issuesOf(`${two}${guests.replace('name: db', 'name: DB')}${backup}`).filter((i) => i.includes('backup.guests'))).toEqual([]);
  });

  it('never echoes what may be the passphrase, even in a wrong place', () => {
    const text = `${two}  backup:\n    repository: { path: /mnt/b }\n    passphraseFrom: correct-horse-battery\n`;
    expect(issuesOf(text)).toEqual([
      'site.yaml:30:21 spec.backup.passphraseFrom: expected a secret reference, { env: VARIABLE_NAME } or { file: PATH }, never the secret itself',
    ]);
  });
});
