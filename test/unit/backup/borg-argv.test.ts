/** The borg commands apply runs, as argument arrays, and the repository's layout: tested by equality. */
import { describe, expect, it } from 'vitest';
import { BackupSchema } from '../../../installer/answers/schema.js';
import { borgInfo, borgInit } from '../../../installer/backup/borg-argv.js';
import { repositoryLayout, statusFile } from '../../../installer/backup/layout.js';

const backup = (b: Record<string, unknown> = {}) => BackupSchema.parse({ repository: { nfs: { server: 'nas', export: '/srv/hvbackup' } }, passphraseFrom: { env: 'P' }, ...b });

describe('borg commands', () => {
  it('init: the encryption of the answers', () => {
    expect(borgInit('repokey-blake2')).toEqual(['borg', 'init', '-e', 'repokey-blake2']);
    expect(borgInit('none')).toEqual(['borg', 'init', '-e', 'none']);
  });

  it("info: what apply runs to prove a node opens the repository, waiting for a writer as a check does", () => {
    expect(borgInfo()).toEqual(['borg', 'info', '--lock-wait', '600']);
  });
});

describe("the repository's layout", () => {
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
