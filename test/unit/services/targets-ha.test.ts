/**
 * The HA parts of a run's servers: the witness as an SSH target made like a node's, the BMC
 * passwords, and every one of their secrets redacted from the run log.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAnswerFile } from '../../../installer/answers/load.js';
import { RunLog } from '../../../installer/engine/run-log.js';
import { runSecrets, serversFromAnswers, serversFromOptions, witnessTarget, type ConnectionOptions } from '../../../installer/commands/connect.js';
import { fixture } from '../answers/helpers.js';

const PIN = 'SHA256:uQ2mV0rMzQ9fGd7vX6kL1nS3pT5wY8aB4cE2hJ0kL9M';
const OTHER_PIN = 'SHA256:ZXCb4Zk6tgSoV3Q0sCxmJ+XpWW0Vw2xfKm8O1Q0mM3E';

let dir: string;
let options: ConnectionOptions;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvcluster-ha-targets-'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'hv2-bmc.password'), 'hv2-bmc-secret\n', { mode: 0o600 });
  options = { host: [], identity: [], knownHosts: [], hostKey: [], sshConfig: join(dir, 'no-ssh-config'), connectTimeout: '30' };
  env = { HOME: dir, HV1_BMC_PASSWORD: 'hv1-bmc-secret', WITNESS_SUDO: 'witness-sudo-secret', WITNESS_PW: 'witness-login-secret' };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** valid/two-nodes-ha.yaml, with the witness logging in as a sudo user with a password, written to the temporary directory. */
async function load(change: (text: string) => string = (t) => t) {
  const text = fixture('valid/two-nodes-ha.yaml').replace(
    '      user: root\n',
    '      user: admin\n      passwordFrom: { env: WITNESS_PW }\n      sudoPasswordFrom: { env: WITNESS_SUDO }\n      jump: ops@bastion.example.com:2222\n',
  );
  const file = join(dir, 'site.yaml');
  writeFileSync(file, change(text));
  return loadAnswerFile(file);
}

describe('the witness as an SSH target', () => {
  it("is named witness and reached as its ssh fields say, like a node: key, agent off, secrets, pinned host key, jump", async () => {
    const servers = serversFromAnswers(await load(), options, env);
    const witness = servers.witness!;
    expect(witness).toMatchObject({
      name: 'witness',
      host: '198.18.1.10',
      port: 22,
      user: 'admin',
      identityFiles: [join(dir, '.ssh/id_ed25519')],
      agent: '',
      password: 'witness-login-secret',
      sudoPassword: 'witness-sudo-secret',
      hostKeyFingerprint: PIN,
    });
    expect(witness.jump.map((hop) => `${hop.user}@${hop.host}:${hop.port}`)).toEqual(['ops@bastion.example.com:2222']);
    // The nodes are targets as before; the witness is not one of them.
    expect(servers.targets.map((t) => t.name)).toEqual(['hv1', 'hv2']);
  });

  it('--host-key witness=SHA256:... pins it over the answer file', async () => {
    expect(witnessTarget(await load(), { ...options, hostKey: [`witness=${OTHER_PIN}`] }, env)!.hostKeyFingerprint).toBe(OTHER_PIN);
  });

  it('a missing witness secret names the witness and the variable', async () => {
    const { WITNESS_SUDO: _, ...without } = env;
    const loaded = await load();
    expect(() => serversFromAnswers(loaded, options, without)).toThrow('the sudo password of witness: environment variable WITNESS_SUDO is not set');
  });

  it('is absent without a witness or with HA off, and then no BMC password is read', async () => {
    const off = await load((t) => t.replace('    enabled: true\n', '    enabled: false\n'));
    const servers = serversFromAnswers(off, options, {});
    expect(servers.witness).toBeUndefined();
    expect(servers.bmcPasswords).toEqual(new Map());
    expect(witnessTarget(off, options, env)).toBeUndefined();
  });
});

describe('the secrets of a run with HA', () => {
  it('are the BMC passwords and the SSH secrets of nodes, witness and jump hosts, and the run log redacts every one', async () => {
    await load();
    const servers = await serversFromOptions({ ...options, file: join(dir, 'site.yaml') }, env);
    expect(servers.bmcPasswords).toEqual(new Map([['hv1', 'hv1-bmc-secret'], ['hv2', 'hv2-bmc-secret']]));
    const secrets = ['hv1-bmc-secret', 'hv2-bmc-secret', 'witness-login-secret', 'witness-sudo-secret'];
    expect(runSecrets(servers).sort()).toEqual(secrets.sort());

    const log = new RunLog(join(dir, 'logs', 'run.log'), runSecrets(servers));
    log.write('witness', 'exec: corosync-qnetd-certutil ... sudo password witness-sudo-secret, login witness-login-secret');
    log.write('hv1', 'exec: fence_ipmilan <<EOF ip=198.18.2.12 username=hvfence password=hv2-bmc-secret (and hv1-bmc-secret)');
    const text = readFileSync(join(dir, 'logs', 'run.log'), 'utf8');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain('password=*** (and ***)');
    expect(text).toContain('sudo password ***, login ***');
  });
});
