/**
 * The answer file the wizard writes for logins with a sudo password and jump hosts: it passes the
 * answer-file loader with those fields, and replaying it connects as the wizard did.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAnswerFile } from '../../../installer/answers/load.js';
import { writeAnswerFile } from '../../../installer/answers/write.js';
import { targetsFromAnswers } from '../../../installer/commands/connect.js';
import { checkLayout, checkLogin, proposeLayout, type ServerLogin } from '../../../installer/plan/propose.js';
import { targetOfLogin } from '../../../installer/ui/backend.js';
import type { SshTarget } from '../../../installer/ssh/types.js';
import { labLogins, labPair } from './helpers.js';

const JUMP = 'ops@bastion.example.com:2222,10.0.0.1';
const logins: ServerLogin[] = [
  { ...labLogins[0]!, user: 'admin', auth: 'agent', identityFile: undefined, sudoPasswordEnv: 'HV_SUDO', jump: JUMP },
  { ...labLogins[1]!, user: 'admin', jump: 'bastion.example.com' }, // passwordless sudo, a key file
];

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** What decides how a target is reached and how it becomes root. */
const reach = (t: SshTarget): unknown => ({
  host: t.host,
  port: t.port,
  user: t.user,
  sudoPassword: t.sudoPassword,
  jump: t.jump.map((hop) => `${hop.host}:${hop.port}`),
});

describe('the answer file the wizard writes', () => {
  it('keeps the sudo password reference and the jump hosts, passes the loader, and replays to the connections the wizard opened', async () => {
    const facts = labPair();
    const check = checkLayout(proposeLayout(facts), logins, facts);
    expect(check.issues.filter((i) => i.severity === 'error')).toEqual([]);
    const text = writeAnswerFile(check.answers!);
    expect(text).toContain('        sudoPasswordFrom:\n          env: HV_SUDO\n');
    expect(text).toContain(`        jump: ${JUMP}\n`);

    dir = mkdtempSync(join(tmpdir(), 'hvcluster-wizard-'));
    const file = join(dir, 'site.yaml');
    writeFileSync(file, text);
    const loaded = await loadAnswerFile(file);
    expect(loaded.warnings).toEqual([]);
    const [first, second] = loaded.answers.spec.nodes;
    expect(first!.ssh).toMatchObject({ address: '198.18.1.1', user: 'admin', agent: true, sudoPasswordFrom: { env: 'HV_SUDO' }, jump: JUMP });
    expect(second!.ssh).toMatchObject({ address: '198.18.1.2', user: 'admin', agent: false, identityFile: '/keys/id_ed25519', jump: 'bastion.example.com' });
    expect(second!.ssh.sudoPasswordFrom).toBeUndefined();

    const env = { HOME: dir, HV_SUDO: 'sudo-secret' };
    const sshConfig = join(dir, 'no-ssh-config');
    const replayed = targetsFromAnswers(loaded, { host: [], identity: [], knownHosts: [], hostKey: [], sshConfig, connectTimeout: '30' }, env);
    expect(reach(replayed[0]!)).toEqual({ host: '198.18.1.1', port: 22, user: 'admin', sudoPassword: 'sudo-secret', jump: ['bastion.example.com:2222', '10.0.0.1:22'] });
    expect(replayed[0]!.jump[0]!.user).toBe('ops');
    expect(reach(replayed[1]!)).toEqual({ host: '198.18.1.2', port: 22, user: 'admin', sudoPassword: undefined, jump: ['bastion.example.com:22'] });
    // The wizard's own connections (inspect) are made the same way.
    const backend = { env, knownHosts: [], hostKey: [], sshConfig, connectTimeoutSeconds: 30 };
    expect(logins.map((login) => reach(targetOfLogin(login, backend)))).toEqual(replayed.map(reach));
  });

  it('checks the new login fields with the answer-file messages', () => {
    const login: ServerLogin = { address: '198.18.1.1', port: 22, user: 'admin', auth: 'agent' };
    expect(checkLogin({ ...login, jump: 'admin@bastion:22,bad host' }).get('jump')).toBe(
      'expected a jump host as [user@]host[:port], several separated by commas (like OpenSSH ProxyJump), like admin@bastion.example.com:22, found "admin@bastion:22,bad host"',
    );
    expect(checkLogin({ ...login, sudoPasswordEnv: '' }).get('sudoPasswordFrom')).toBe('expected an environment variable name, like HVCLUSTER_SSH_PASSWORD');
    expect(checkLogin({ ...login, jump: JUMP, sudoPasswordEnv: 'HV_SUDO' }).size).toBe(0);
  });
});
