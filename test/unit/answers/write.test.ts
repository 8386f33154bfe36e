import { describe, expect, it } from 'vitest';
import { checkAnswers, exampleAnswerFile, parseAnswers, validateAnswers, writeAnswerFile, type Answers } from '../../../installer/answers/index.js';
import { fixture } from './helpers.js';

describe('writeAnswerFile', () => {
  for (const name of ['valid/two-nodes.yaml', 'valid/three-nodes.yaml', 'valid/two-nodes-ha.yaml', 'valid/two-nodes-backup.yaml']) {
    it(`round-trips ${name} through the loader`, () => {
      const { answers } = parseAnswers(fixture(name));
      const text = writeAnswerFile(answers);
      expect(parseAnswers(text).answers).toStrictEqual(answers);
      // and writing again gives the same text
      expect(writeAnswerFile(parseAnswers(text).answers)).toBe(text);
    });
  }

  it('round-trips the example', () => {
    const { answers } = parseAnswers(exampleAnswerFile());
    expect(parseAnswers(writeAnswerFile(answers)).answers).toStrictEqual(answers);
  });

  it('writes every value, secrets as references, lists of scalars on one line', () => {
    const text = writeAnswerFile(parseAnswers(fixture('valid/three-nodes.yaml')).answers);
    expect(text.split('\n').slice(0, 5)).toEqual([
      '# hvcluster answer file (hvcluster/v1).',
      '# Replay with: hvcluster apply -f site.yaml    Check with: hvcluster plan -f site.yaml',
      '# Secrets are references ({ env: NAME } or { file: PATH }), never the secrets themselves.',
      '',
      'apiVersion: hvcluster/v1',
    ]);
    expect(text).toContain('        sudoPasswordFrom:\n          env: HV_SUDO_PASSWORD\n');
    expect(text).toContain('        passwordFrom:\n          file: secrets/hv2.password\n');
    expect(text).toContain('          interfaces: [eno1, eno2]\n');
    expect(text).toContain('    servers: [ntp1.example.com, 10.20.0.2]\n');
    expect(text).toContain('    syncRateMiB: 400\n');
  });

  it('writes the bmc and ha of answers built in code (as the wizard builds them), and they load back equal', () => {
    const answers: Answers = structuredClone(parseAnswers(fixture('valid/two-nodes.yaml')).answers);
    answers.spec.nodes.forEach((node, i) => {
      node.bmc = { type: 'ipmi', address: `198.18.2.1${i + 1}`, port: 623, user: 'hvfence', passwordFrom: { env: `HV${i + 1}_BMC_PASSWORD` }, cipher: 17, lanplus: true };
    });
    answers.spec.ha = {
      enabled: true,
      witness: { address: '198.18.1.10', port: 22, user: 'root', agent: true, qnetdPort: 5403 },
      timing: 'emulated',
      tls: 'on',
    };
    expect(checkAnswers(answers).issues).toEqual([]);
    const text = writeAnswerFile(answers);
    expect(parseAnswers(text).answers).toStrictEqual(answers);
    expect(text).toContain('      bmc:\n        type: ipmi\n        address: 198.18.2.12\n        port: 623\n        user: hvfence\n        passwordFrom:\n          env: HV2_BMC_PASSWORD\n');
    expect(text).toContain('\n  ha:\n    enabled: true\n    witness:\n      address: 198.18.1.10\n');
    expect(text).toContain('    timing: emulated\n    tls: on\n');
  });

  it('writes guests with their sizes in binary units, and they load back equal', () => {
    const answers: Answers = structuredClone(parseAnswers(fixture('valid/two-nodes.yaml')).answers);
    answers.spec.guests = [
      { name: 'web', vcpus: 2, memory: 1536, disks: [{ size: 20_480 }, { image: '/srv/images/data.qcow2' }], nics: [{}], autostart: true, boot: ['hd'], machine: 'q35', state: 'present' },
      { name: 'erp', vcpus: 1, memory: 8192, disks: [{ image: '/srv/images/erp.qcow2', size: 2 * 1024 * 1024 }], nics: [{ mac: '52:54:00:12:34:56' }], autostart: false, boot: ['hd', 'cdrom'], machine: 'pc', state: 'absent' },
    ];
    expect(validateAnswers(answers)).toEqual([]);
    const text = writeAnswerFile(answers);
    expect(parseAnswers(text).answers).toStrictEqual(answers);
    expect(text).toContain('\n  guests:\n    - name: web\n      vcpus: 2\n      memory: 1536MiB\n      disks:\n        - size: 20GiB\n        - image: /srv/images/data.qcow2\n');
    expect(text).toContain('        - image: /srv/images/erp.qcow2\n          size: 2TiB\n');
  });

  it('writes each guest in full, without YAML anchors, when guests share a default value in memory', () => {
    const text = `${fixture('valid/two-nodes.yaml')}  guests:\n    - { name: web, memory: 1GiB, disks: [{ size: 1GiB }] }\n    - { name: db, memory: 1GiB, disks: [{ size: 1GiB }] }\n`;
    const written = writeAnswerFile(parseAnswers(text).answers);
    expect(written).not.toMatch(/[&*]a\d/);
    expect(written.match(/ {6}nics:\n {8}- \{\}\n/g)).toHaveLength(2);
  });

  it('takes another header', () => {
    const { answers } = parseAnswers(fixture('valid/two-nodes.yaml'));
    expect(writeAnswerFile(answers, { header: ['Acme, rack 4'] }).startsWith('# Acme, rack 4\n\napiVersion: hvcluster/v1\n')).toBe(true);
  });
});
