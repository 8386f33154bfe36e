/** The borg commands as argument arrays, and a node's borg environment: tested by equality. */
import { describe, expect, it } from 'vitest';
import { BackupSchema } from '../../../installer/answers/schema.js';
import {
  borgCheckArchives,
  borgCheckRepository,
  borgCompact,
  borgCreateDisk,
  borgCreateMeta,
  borgDelete,
  borgEnvironment,
  borgExtract,
  borgInfo,
  borgInit,
  borgList,
  borgPrune,
  borgTimestamp,
} from '../../../installer/backup/borg-argv.js';
import { repositoryLayout, statusFile } from '../../../installer/backup/layout.js';

const TAKEN = new Date('2026-12-08T10:15:00.900Z');
const backup = (b: Record<string, unknown> = {}) => BackupSchema.parse({ repository: { nfs: { server: 'nas', export: '/srv/hvbackup' } }, passphraseFrom: { env: 'P' }, ...b });

describe('borg commands', () => {
  it('init: the encryption of the answers', () => {
    expect(borgInit('repokey-blake2')).toEqual(['borg', 'init', '-e', 'repokey-blake2']);
    expect(borgInit('none')).toEqual(['borg', 'init', '-e', 'none']);
  });

  it("info: what apply runs to prove a node opens the repository, waiting for a writer as a check does", () => {
    expect(borgInfo()).toEqual(['borg', 'info', '--lock-wait', '600']);
  });

  it("create of a disk: fixed 4 MiB chunks, no files cache, the set's instant, its bytes from a command after --", () => {
    const stream = ['/bin/sh', '/usr/local/lib/hvcluster/backup-node.sh', 'stream', '/dev/hvdata/web-disk1.bk.20261208t101500z', '21474836480', '/tmp/x/disk1.sha256'];
    expect(borgCreateDisk({ guest: 'web', takenAt: TAKEN, index: 1, resource: 'web-disk1', compression: 'zstd', command: stream })).toEqual([
      'borg', 'create', '--json', '--lock-wait', '3600',
      '--files-cache', 'disabled',
      '--chunker-params', 'fixed,4194304',
      '--compression', 'zstd',
      '--timestamp', '2026-12-08T10:15:00',
      '--stdin-name', 'web-disk1.raw',
      '--content-from-command', '::web.20261208t101500z.disk1',
      '--', ...stream,
    ]);
  });

  it('create of the meta: the same instant, meta.json, written from its command', () => {
    expect(borgCreateMeta({ guest: 'web', takenAt: TAKEN, command: ['cat', '/tmp/x/meta.json'] })).toEqual([
      'borg', 'create', '--json', '--lock-wait', '3600',
      '--timestamp', '2026-12-08T10:15:00',
      '--stdin-name', 'meta.json',
      '--content-from-command', '::web.20261208t101500z.meta',
      '--', 'cat', '/tmp/x/meta.json',
    ]);
  });

  it('list, extract, delete: archives by name or glob, waiting for the lock as asked', () => {
    expect(borgList('web.*.meta')).toEqual(['borg', 'list', '--json', '--glob-archives', 'web.*.meta']);
    expect(borgList('web.*', { lockWait: 600 })).toEqual(['borg', 'list', '--json', '--lock-wait', '600', '--glob-archives', 'web.*']);
    expect(borgExtract('web.20261208t101500z.meta')).toEqual(['borg', 'extract', '--stdout', '--lock-wait', '3600', '::web.20261208t101500z.meta']);
    expect(borgExtract('web.20261208t101500z.disk0', { lockWait: 0 })).toEqual(['borg', 'extract', '--stdout', '--lock-wait', '0', '::web.20261208t101500z.disk0']);
    expect(borgDelete(['web.20261208t101500z.disk0', 'web.20261208t101500z.disk1'])).toEqual([
      'borg', 'delete', '--lock-wait', '3600', '::web.20261208t101500z.disk0', 'web.20261208t101500z.disk1',
    ]);
  });

  it("prune: a guest's sets by their meta archives, the retention and the latest set", () => {
    expect(borgPrune('db', { daily: 7, weekly: 4, monthly: 0 })).toEqual([
      'borg', 'prune', '--lock-wait', '3600', '--glob-archives', 'db.*.meta',
      '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '0', '--keep-last', '1',
    ]);
  });

  it('check: the repository in resumable slices, the archives (last N, a glob, all data), and compact', () => {
    expect(borgCheckRepository()).toEqual(['borg', 'check', '--lock-wait', '600', '--repository-only', '--max-duration', '1800']);
    expect(borgCheckRepository({ maxDuration: 0 })).toEqual(['borg', 'check', '--lock-wait', '600', '--repository-only']);
    expect(borgCheckArchives({ last: 3 })).toEqual(['borg', 'check', '--lock-wait', '600', '--archives-only', '--last', '3']);
    expect(borgCheckArchives({ glob: 'web.*', verifyData: true })).toEqual(['borg', 'check', '--lock-wait', '600', '--archives-only', '--verify-data', '--glob-archives', 'web.*']);
    expect(borgCompact()).toEqual(['borg', 'compact', '--lock-wait', '3600']);
  });

  it('refuse what hvcluster does not make: foreign archive names, globs that read as options, no command, no archive to delete', () => {
    expect(() => borgExtract('--help')).toThrow('not an archive name hvcluster makes: "--help"');
    expect(() => borgDelete(['web.20261208t101500z.disk0', 'etc-2026'])).toThrow('not an archive name hvcluster makes: "etc-2026"');
    expect(() => borgDelete([])).toThrow('borg delete needs at least one archive (without one it deletes the repository)');
    expect(() => borgList('-a')).toThrow('not an archive glob hvcluster makes: "-a"');
    expect(() => borgList('web.* /etc')).toThrow('not an archive glob hvcluster makes');
    expect(() => borgCreateMeta({ guest: 'web', takenAt: TAKEN, command: [] })).toThrow('--content-from-command needs a command');
    expect(() => borgCreateDisk({ guest: 'web', takenAt: TAKEN, index: 0, resource: '../x', compression: 'lz4', command: ['true'] })).toThrow('not a DRBD resource name: "../x"');
    expect(() => borgCheckArchives({ last: 0 })).toThrow('not a number of archives: 0');
    expect(() => borgList('web.*', { lockWait: -1 })).toThrow('not a lock wait in seconds: -1');
  });

  it("borg's --timestamp: UTC to the second", () => {
    expect(borgTimestamp(new Date('2026-12-08T23:59:59.999+01:00'))).toBe('2026-12-08T22:59:59');
  });
});

describe("a node's borg environment", () => {
  it('names the repository under the cluster, borg state and cache in hvcluster directories, and the passphrase FILE', () => {
    const env = borgEnvironment('acme-prod', backup());
    expect(env).toEqual({
      BORG_REPO: '/var/lib/hvcluster/backup/acme-prod/borg',
      BORG_BASE_DIR: '/var/lib/hvcluster/borg',
      BORG_CACHE_DIR: '/var/cache/hvcluster/borg',
      BORG_PASSCOMMAND: 'cat /etc/hvcluster/backup/passphrase',
    });
  });

  it('never holds the passphrase: only its reference is in the answers, and the environment holds no value of it', () => {
    const env = borgEnvironment('acme-prod', backup({ passphraseFrom: { env: 'HVCLUSTER_BACKUP_PASSPHRASE' } }));
    expect(Object.keys(env)).not.toContain('BORG_PASSPHRASE');
    expect(JSON.stringify(env)).not.toContain('HVCLUSTER_BACKUP_PASSPHRASE');
  });

  it('without encryption: no passphrase, and the other nodes accept the unencrypted repository without a terminal', () => {
    expect(borgEnvironment('acme-prod', backup({ encryption: 'none', repository: { path: '/mnt/cephfs/hv' } }))).toEqual({
      BORG_REPO: '/mnt/cephfs/hv/acme-prod/borg',
      BORG_BASE_DIR: '/var/lib/hvcluster/borg',
      BORG_CACHE_DIR: '/var/cache/hvcluster/borg',
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    });
  });

  it("the cluster's directory holds the repository, the writer lock and the status files", () => {
    const layout = repositoryLayout('acme-prod', backup());
    expect(layout).toEqual({
      root: '/var/lib/hvcluster/backup/acme-prod',
      repo: '/var/lib/hvcluster/backup/acme-prod/borg',
      writerLock: '/var/lib/hvcluster/backup/acme-prod/locks/writer',
      statusDir: '/var/lib/hvcluster/backup/acme-prod/status',
    });
    expect(statusFile(layout, 'web')).toBe('/var/lib/hvcluster/backup/acme-prod/status/web.json');
  });
});
