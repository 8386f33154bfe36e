import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf, ConfigError } from '../../../installer/errors.js';
import { AnswerFileError, formatIssue, loadAnswerFile, parseAnswers, type Answers } from '../../../installer/answers/index.js';
import { fixture, fixturePath } from './helpers.js';

describe('valid answer files', () => {
  it('loads a two-node file and fills in every default', () => {
    const { answers, warnings, file } = parseAnswers(fixture('valid/two-nodes.yaml'), 'site.yaml');
    expect(file).toBe('site.yaml');
    expect(warnings).toEqual([]);
    const expected: Answers = {
      apiVersion: 'hvcluster/v1',
      kind: 'Cluster',
      metadata: { name: 'acme-prod' },
      spec: {
        nodes: [
          {
            name: 'hv1',
            ssh: { address: '198.18.1.11', port: 22, user: 'root', agent: true },
            management: { interface: 'ens3', address: '198.18.1.11/24', gateway: '198.18.1.1', dns: [] },
            replication: { interface: 'ens4', address: '198.19.1.11/24' },
            storage: { disk: '/dev/disk/by-id/virtio-hv1-data', wipe: false },
          },
          {
            name: 'hv2',
            ssh: { address: '198.18.1.12', port: 22, user: 'root', agent: true },
            management: { interface: 'ens3', address: '198.18.1.12/24', gateway: '198.18.1.1', dns: [] },
            replication: { interface: 'ens4', address: '198.19.1.12/24' },
            storage: { disk: '/dev/disk/by-id/virtio-hv2-data', wipe: false },
          },
        ],
        network: { bridge: 'br0', replicationMtu: 1500 },
        drbd: { protocol: 'C', initialSync: 'skip-if-blank', syncRateMiB: 'auto', basePort: 7788 },
        storage: { volumeGroup: 'hvdata' },
        hypervisor: { type: 'kvm' },
        packages: { source: 'online' },
        time: { servers: [] },
        guests: [],
      },
    };
    expect(answers).toStrictEqual(expected);
  });

  it('loads a three-node file with every setting written out, warning about wipe: true', () => {
    const { answers, warnings } = parseAnswers(fixture('valid/three-nodes.yaml'), 'site.yaml');
    expect(answers.spec.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2', 'hv3']);
    expect(answers.spec.nodes[0]!.ssh).toStrictEqual({
      address: 'hv1.lab.example.com',
      port: 2222,
      user: 'debian',
      identityFile: '~/.ssh/id_ed25519',
      agent: false,
      sudoPasswordFrom: { env: 'HV_SUDO_PASSWORD' },
      hostKey: 'SHA256:uQ2mV0rMzQ9fGd7vX6kL1nS3pT5wY8aB4cE2hJ0kL9M',
      jump: 'admin@bastion.example.com:22',
    });
    expect(answers.spec.nodes[0]!.management.bond).toStrictEqual({ name: 'bond0', interfaces: ['eno1', 'eno2'], mode: '802.3ad' });
    expect(answers.spec.nodes[1]!.ssh).toStrictEqual({
      address: '10.20.0.12',
      port: 22,
      user: 'root',
      agent: true,
      passwordFrom: { file: 'secrets/hv2.password' },
    });
    expect(answers.spec.network).toStrictEqual({ bridge: 'vmbr0', replicationMtu: 9000 });
    expect(answers.spec.drbd).toStrictEqual({ protocol: 'C', initialSync: 'full', syncRateMiB: 400, basePort: 7900 });
    expect(answers.spec.packages).toStrictEqual({ source: 'offline', offline: { path: '/srv/hvcluster-debs' } });
    expect(answers.spec.time.servers).toEqual(['ntp1.example.com', '10.20.0.2']);
    expect(warnings.map(formatIssue)).toEqual([
      'site.yaml:31:15 spec.nodes[0].storage.wipe: warning: wipe is true: everything on /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R100001 of hv1 may be erased',
    ]);
  });

  it('reads YAML merge keys: settings shared by the nodes written once, each node overriding its own', () => {
    const { answers, warnings } = parseAnswers(fixture('valid/merge-keys.yaml'), 'site.yaml');
    expect(warnings).toEqual([]);
    const ssh = { user: 'admin', identityFile: '~/.ssh/acme_ed25519', agent: false, sudoPasswordFrom: { env: 'ACME_SUDO' } };
    const management = { interface: 'ens3', gateway: '198.18.1.1', dns: ['198.18.1.1', '198.18.1.2'] };
    expect(answers.spec.nodes.map((n) => [n.name, n.ssh, n.management, n.replication])).toEqual([
      ['hv1', { ...ssh, address: '198.18.1.11', port: 22 }, { ...management, address: '198.18.1.11/24' }, { interface: 'ens4', address: '198.19.1.11/24' }],
      ['hv2', { ...ssh, address: '198.18.1.12', port: 22 }, { ...management, address: '198.18.1.12/24' }, { interface: 'ens4', address: '198.19.1.12/24' }],
      ['hv3', { ...ssh, address: '198.18.1.13', port: 2222 }, { ...management, address: '198.18.1.13/24' }, { interface: 'ens4', address: '198.19.1.13/24' }],
    ]);
  });

  it('loadAnswerFile names the file as given and remembers its directory', async () => {
    const path = fixturePath('valid/two-nodes.yaml');
    const loaded = await loadAnswerFile(path);
    expect(loaded.file).toBe(path);
    expect(loaded.baseDir).toBe(fixturePath('valid'));
  });
});

describe('errors', () => {
  it('throws an AnswerFileError: a ConfigError (exit 3) listing every issue with its position', () => {
    let caught: unknown;
    try {
      parseAnswers(fixture('broken/bad-ip.yaml'), 'site.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AnswerFileError);
    expect(caught).toBeInstanceOf(ConfigError);
    expect(exitCodeOf(caught)).toBe(EXIT.config);
    const error = caught as AnswerFileError;
    expect(error.file).toBe('site.yaml');
    expect(error.message).toBe(
      'site.yaml is not a valid answer file (1 error):\n' +
        '  site.yaml:13:16 spec.nodes[1].replication.address: expected an IPv4 address with prefix, like 198.19.1.12/24, found "198.19.1.312/24"',
    );
    expect(error.hint).toBe('Correct site.yaml at the positions listed, then run again.');
    expect(error.issues).toEqual([
      {
        severity: 'error',
        path: ['spec', 'nodes', 1, 'replication', 'address'],
        message: 'expected an IPv4 address with prefix, like 198.19.1.12/24, found "198.19.1.312/24"',
        location: { file: 'site.yaml', line: 13, col: 16 },
      },
    ]);
    expect(error.toJSON()).toMatchObject({
      kind: 'config',
      file: 'site.yaml',
      issues: [{ severity: 'error', path: 'spec.nodes[1].replication.address', text: expect.stringContaining('site.yaml:13:16 ') }],
    });
  });

  it('lists warnings with the errors, and counts both', () => {
    expect(() => parseAnswers(fixture('broken/subnets.yaml'), 'subnets.yaml')).toThrow(
      'subnets.yaml is not a valid answer file (4 errors, 1 warning):\n',
    );
  });

  it('a missing file is a ConfigError that names it', async () => {
    await expect(loadAnswerFile('/nonexistent/site.yaml')).rejects.toThrow('cannot read answer file /nonexistent/site.yaml: no such file');
    await expect(loadAnswerFile('/nonexistent/site.yaml')).rejects.toBeInstanceOf(ConfigError);
  });
});
