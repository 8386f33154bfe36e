/**
 * Every package a plan can ask for is one the packages fact reads (dpkg-query of a fixed list): a
 * package missing from the list always looks missing, and a second apply would install it again.
 */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { PACKAGES_OF_INTEREST } from '../../../installer/facts/defs/packages.js';
import { NODE_PACKAGES } from '../../../installer/plan/index.js';
import { backupPackages } from '../../../installer/plan/backup.js';
import { haPackages } from '../../../installer/plan/ha.js';
import { siteYaml } from './helpers.js';

describe('the packages a plan installs', () => {
  it('are all read by the packages fact, with HA and with backups to NFS', () => {
    const ha = { ...parseAnswers(siteYaml(), 'site.yaml').answers };
    const withHa = { ...ha, spec: { ...ha.spec, ha: { enabled: true } } } as typeof ha;
    const withBackup = parseAnswers(`${siteYaml()}  backup:\n    repository:\n      nfs:\n        server: 198.18.1.10\n        export: /srv/hvbackup\n    encryption: none\n`, 'site.yaml').answers;
    const planned = [...NODE_PACKAGES, ...haPackages(withHa), ...backupPackages(withBackup)];
    expect(haPackages(withHa).length).toBeGreaterThan(0);
    expect(backupPackages(withBackup)).toEqual(['borgbackup', 'nfs-common']);
    expect(planned.filter((p) => !(PACKAGES_OF_INTEREST as readonly string[]).includes(p))).toEqual([]);
  });
});
