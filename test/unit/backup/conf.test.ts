/**
 * /etc/hvcluster/backup.conf as apply writes it on a node: the exact text for the two-guest pair of
 * the answer-file fixture, the guests a node gets (those it holds, backed up, present, in
 * spec.backup.guests' order), and the settings as backup-node.sh reads them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import type { Answers } from '../../../installer/answers/schema.js';
import { backedUpGuests, backupConfFile, backupConfModel } from '../../../installer/backup/conf.js';
import { guestModels } from '../../../installer/plan/guest-model.js';
import { TemplateEnvironment } from '../../../installer/render/environment.js';

const templates = new TemplateEnvironment();
const MiB = 1024 * 1024;

function fixtureAnswers(edit: (text: string) => string = (t) => t): Answers {
  const text = readFileSync(new URL('../../fixtures/answers/valid/two-nodes-backup.yaml', import.meta.url), 'utf8');
  return parseAnswers(edit(text), 'site.yaml').answers;
}

const guestsOf = (answers: Answers, existingHolders: Record<string, string[]> = {}) =>
  guestModels({ answers, major: '8.4', freeMiB: Object.fromEntries(answers.spec.nodes.map((n) => [n.name, 1_000_000])), existingHolders, imageSizeMiB: {} });

function conf(answers: Answers, node: string, guests = guestsOf(answers)): string {
  return backupConfFile(backupConfModel({ answers, guests, node, version: '1.2.3', guestsDir: '/etc/hvcluster/guests' }), templates).content;
}

describe('backup.conf', () => {
  it('for the two-guest pair: the repository, its settings and both guests with their disks and declarations, in the format backup-node.sh reads', () => {
    const answers = fixtureAnswers();
    const [web, db] = guestsOf(answers);
    const header = [
      '# Managed by hvcluster: local changes to this file are overwritten by the next `hvcluster apply`.',
      '# Source of truth: the hvcluster answer file (e.g. site.yaml); change it there and apply again.',
      '#',
      "# /etc/hvcluster/backup.conf: what hv2's backups read (/usr/local/lib/hvcluster/backup-node.sh,",
      '# run by hvcluster-backup.timer and `hvcluster backup run`): the cluster\'s repository and its',
      "# settings, then each guest hv2 holds that is backed up, with its disks' DRBD resources and its",
      "# declaration (what a backup's meta.json records). No secret: an encrypted repository's passphrase",
      '# stays in its own file (passphrase-file), readable by root only.',
    ];
    expect(conf(answers, 'hv2')).toBe(
      [
        ...header,
        'cluster acme-prod',
        'vg hvdata',
        'root /var/lib/hvcluster/backup/acme-prod',
        'repo /var/lib/hvcluster/backup/acme-prod/borg',
        'passphrase-file /etc/hvcluster/backup/passphrase',
        'borg-base /var/lib/hvcluster/borg',
        'borg-cache /var/cache/hvcluster/borg',
        'compression lz4',
        'freeze-timeout 10',
        'snapshot-size full',
        'keep-daily 7',
        'keep-weekly 4',
        'keep-monthly 6',
        'hvcluster-version 1.2.3',
        'guests-dir /etc/hvcluster/guests',
        'guest web web-disk0',
        `declaration web {"vcpus":1,"memoryMiB":2048,"machine":"q35","boot":["hd"],"disks":[{"sizeMiB":20480}],"nics":[{"bridge":"br0","mac":"${web!.nics[0]!.mac}"}]}`,
        'guest db db-disk0 db-disk1',
        `declaration db {"vcpus":1,"memoryMiB":4096,"machine":"q35","boot":["hd"],"disks":[{"sizeMiB":40960},{"sizeMiB":102400}],"nics":[{"bridge":"br0","mac":"${db!.nics[0]!.mac}"}]}`,
        '',
      ].join('\n'),
    );
    // The same on both nodes of a pair (each holds both guests), but for the header's name.
    expect(conf(answers, 'hv1').replaceAll('hv1', 'hv2')).toBe(conf(answers, 'hv2'));
  });

  it('is a planned file of its own: 0644 (no secret), from backup.conf.hbs, nothing to notify', () => {
    const answers = fixtureAnswers();
    const file = backupConfFile(backupConfModel({ answers, guests: guestsOf(answers), node: 'hv1', version: '1.2.3', guestsDir: '/etc/hvcluster/guests' }), templates);
    expect(file).toMatchObject({ path: '/etc/hvcluster/backup.conf', template: 'backup.conf.hbs', mode: 0o644, owner: 'root:root', notify: [] });
    expect(file.secret).toBeUndefined();
  });

  it('without encryption has no passphrase-file (backup-node.sh then tells borg the repository is unencrypted); a 20 % snapshot size is written 20', () => {
    const answers = fixtureAnswers((t) => t.replace('    encryption: repokey-blake2\n    passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }\n', '    encryption: none\n').replace('snapshotSize: full', 'snapshotSize: 20%'));
    const text = conf(answers, 'hv1');
    expect(text).not.toMatch(/^passphrase-file /m);
    expect(text).toMatch(/^snapshot-size 20$/m);
  });

  it("lists the guests a node holds, present and backed up, in spec.backup.guests' order (the default: every present guest)", () => {
    // Three nodes with DRBD 8.4: each guest on a pair.
    const answers = fixtureAnswers((t) =>
      t
        .replace('  guests:\n', '  guests:\n    - { name: old, memory: 1GiB, disks: [{ size: 1GiB }], state: absent }\n    - { name: mail, memory: 1GiB, disks: [{ size: 1GiB }], replicas: [hv2, hv3] }\n')
        .replace('      storage:\n        disk: /dev/disk/by-id/virtio-hv2-data\n', '      storage:\n        disk: /dev/disk/by-id/virtio-hv2-data\n    - name: hv3\n      management: { interface: ens3, address: 198.18.1.13/24, gateway: 198.18.1.1 }\n      replication: { interface: ens4, address: 198.19.1.13/24 }\n      storage: { disk: /dev/disk/by-id/virtio-hv3-data }\n')
        .replace('guests: [web, db]', 'guests: [db, mail, web]'),
    );
    const guests = guestsOf(answers, { old: ['hv1', 'hv3'] });
    const holders = Object.fromEntries(guests.map((g) => [g.name, g.holders.join('+')]));
    expect(holders.mail).toBe('hv2+hv3');
    for (const node of ['hv1', 'hv2', 'hv3']) {
      const listed = backedUpGuests(answers, guests, node).map((g) => g.name);
      const expected = ['db', 'mail', 'web'].filter((g) => holders[g]!.split('+').includes(node));
      expect(listed, node).toEqual(expected);
      expect(conf(answers, node, guests).split('\n').filter((l) => l.startsWith('guest ')).map((l) => l.split(' ')[1])).toEqual(expected);
    }
    // Without spec.backup.guests: every present guest, in spec.guests' order.
    const all = { ...answers, spec: { ...answers.spec, backup: { ...answers.spec.backup!, guests: undefined } } } as Answers;
    expect(backedUpGuests(all, guests, 'hv2').map((g) => g.name)).toEqual(guests.filter((g) => g.state === 'present' && g.holders.includes('hv2')).map((g) => g.name));
    expect(backedUpGuests(all, guests, 'hv3').map((g) => g.name)).not.toContain('old');
  });

  it('declares each disk in whole MiB as meta.json does', () => {
    const answers = fixtureAnswers();
    const declaration = conf(answers, 'hv1').split('\n').find((l) => l.startsWith('declaration db '))!.slice('declaration db '.length);
    expect((JSON.parse(declaration) as { disks: { sizeMiB: number }[] }).disks.map((d) => d.sizeMiB * MiB)).toEqual([40 * 1024 * MiB, 100 * 1024 * MiB]);
  });
});
