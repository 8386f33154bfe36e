import { describe, expect, it } from 'vitest';
import { checkAnswerText, exampleAnswerFile, parseAnswers, answersJsonSchema } from '../../../installer/answers/index.js';

/** Every property name in the JSON Schema, with its dotted path. */
function schemaKeys(schema: Record<string, unknown>, path = ''): Array<{ key: string; path: string }> {
  const out: Array<{ key: string; path: string }> = [];
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [key, child] of Object.entries(properties ?? {})) {
    out.push({ key, path: path ? `${path}.${key}` : key });
    out.push(...schemaKeys(child, path ? `${path}.${key}` : key));
  }
  if (schema.items && typeof schema.items === 'object') out.push(...schemaKeys(schema.items as Record<string, unknown>, `${path}[]`));
  return out;
}

describe('exampleAnswerFile', () => {
  it('loads with no error and no warning', () => {
    expect(checkAnswerText(exampleAnswerFile()).issues).toEqual([]);
    const { answers } = parseAnswers(exampleAnswerFile());
    expect(answers.spec.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2']);
    expect(answers.spec.nodes.every((n) => n.storage.wipe === false)).toBe(true);
  });

  it('shows every key of the schema, as a setting or a commented-out one', () => {
    const text = exampleAnswerFile();
    const missing = schemaKeys(answersJsonSchema()).filter(({ key }) => !new RegExp(`^[ #]*(?:- )?${key}:`, 'm').test(text) && !text.includes(`{ ${key}:`));
    expect(missing).toEqual([]);
  });

  it('comments every line that sets something, and warns about wipe', () => {
    const text = exampleAnswerFile();
    expect(text).toMatch(/# DANGER: true lets hvcluster ERASE this disk/);
    expect(text).toMatch(/passwordFrom: \{ env: HVCLUSTER_SSH_PASSWORD \}/);
    expect(text).toContain('A "password:" key is refused.');
  });
});

describe('the commented-out HA, guests and backup blocks of the example', () => {
  /** The commented block that starts with the line `start` (until the first line that is not part of it), uncommented. */
  function uncomment(text: string, start: string): { block: string; uncommented: string } {
    const lines = text.split('\n');
    const first = lines.indexOf(start);
    const indent = start.slice(0, start.indexOf('#'));
    let end = first + 1;
    while (end < lines.length && lines[end]!.startsWith(`${indent}#   `)) end++;
    const block = lines.slice(first, end).join('\n');
    return { block, uncommented: lines.slice(first, end).map((line) => line.replace(`${indent}# `, indent)).join('\n') };
  }

  it('load clean once uncommented (with a bmc for hv2 as well)', () => {
    const text = exampleAnswerFile();
    const bmc = uncomment(text, '      # bmc:');
    const ha = uncomment(text, '  # ha:');
    expect(bmc.block.split('\n').length).toBeGreaterThan(5);
    expect(ha.block).toContain('qnetdPort: 5403');
    const hv2Bmc = bmc.uncommented.replace('198.18.2.11', '198.18.2.12').replace('HV1_BMC_PASSWORD', 'HV2_BMC_PASSWORD');
    const withHa = text
      .replace(bmc.block, bmc.uncommented)
      .replace('        disk: /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R100002\n        wipe: false\n', `$&${hv2Bmc}\n`)
      .replace(ha.block, ha.uncommented);
    expect(checkAnswerText(withHa).issues).toEqual([]);
    const { answers } = parseAnswers(withHa);
    expect(answers.spec.nodes.map((n) => n.bmc?.address)).toEqual(['198.18.2.11', '198.18.2.12']);
    expect(answers.spec.ha).toEqual({
      enabled: true,
      witness: { address: '198.18.1.10', port: 22, user: 'root', identityFile: '~/.ssh/id_ed25519', agent: true, qnetdPort: 5403 },
      timing: 'production',
      tls: 'on',
      watchdog: { device: '/dev/watchdog', timeout: 30 },
    });
  });

  it('guests: load clean once uncommented, sizes in MiB and every default filled in', () => {
    const text = exampleAnswerFile();
    const guests = uncomment(text, '  # guests:');
    expect(guests.block).toContain('image: /srv/images/erp.qcow2');
    const withGuests = text.replace(guests.block, guests.uncommented);
    expect(checkAnswerText(withGuests).issues).toEqual([]);
    expect(parseAnswers(withGuests).answers.spec.guests).toEqual([
      {
        name: 'web1',
        vcpus: 2,
        memory: 4096,
        disks: [{ size: 20_480 }],
        nics: [{ bridge: 'br0', mac: '52:54:00:12:34:56' }],
        replicas: ['hv1', 'hv2'],
        preferredNode: 'hv1',
        ha: false,
        autostart: true,
        boot: ['hd'],
        machine: 'q35',
        state: 'present',
      },
      {
        name: 'erp',
        vcpus: 1,
        memory: 8192,
        disks: [{ image: '/srv/images/erp.qcow2' }, { image: '/srv/images/erp-data.qcow2', size: 204_800 }],
        nics: [{}],
        autostart: true,
        boot: ['hd'],
        machine: 'pc',
        state: 'present',
      },
    ]);
  });

  it('backup: loads clean once uncommented with the guests it names, every default written out', () => {
    const text = exampleAnswerFile();
    const guests = uncomment(text, '  # guests:');
    const backup = uncomment(text, '  # backup:');
    expect(backup.block).toContain('passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }');
    const withBackup = text.replace(guests.block, guests.uncommented).replace(backup.block, backup.uncommented);
    expect(checkAnswerText(withBackup).issues).toEqual([]);
    expect(parseAnswers(withBackup).answers.spec.backup).toEqual({
      repository: { path: '/var/lib/hvcluster/backup', nfs: { server: '198.18.1.10', export: '/srv/hvbackup', options: 'vers=4.2,hard' } },
      encryption: 'repokey-blake2',
      passphraseFrom: { env: 'HVCLUSTER_BACKUP_PASSPHRASE' },
      schedule: '*-*-* 02:00:00',
      retention: { daily: 7, weekly: 4, monthly: 6 },
      guests: ['web1', 'erp'],
      freezeTimeout: 10,
      snapshotSize: 'full',
      compression: 'lz4',
    });
  });
});
