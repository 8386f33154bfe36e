import { describe, expect, it } from 'vitest';
import { exampleAnswerFile, parseAnswers, writeAnswerFile } from '../../../installer/answers/index.js';
import { fixture } from './helpers.js';

describe('writeAnswerFile', () => {
  for (const name of ['valid/two-nodes.yaml', 'valid/three-nodes.yaml']) {
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

  it('takes another header', () => {
    const { answers } = parseAnswers(fixture('valid/two-nodes.yaml'));
    expect(writeAnswerFile(answers, { header: ['Acme, rack 4'] }).startsWith('# Acme, rack 4\n\napiVersion: hvcluster/v1\n')).toBe(true);
  });
});
