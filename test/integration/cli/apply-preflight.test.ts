/**
 * `hvcluster apply` (the real CLI, in a child process) on a valid answer file whose two nodes are
 * this machine behind two real sshd: preflight finds that the servers do not fit the file and stops
 * with exit code 1, "the command ran and found problems", not 3, which is for an invalid answer file.
 * A dry run: nothing could change here whatever preflight found.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

const BIN = fileURLToPath(new URL('../../../bin/hvcluster.js', import.meta.url));

function hvcluster(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('apply with preflight findings', () => {
  const servers: SshdServer[] = [];
  let tmp: ReturnType<typeof tempDir>;
  let key: ClientKey;

  beforeAll(async () => {
    tmp = tempDir();
    key = await generateKey(tmp.path, 'id_ed25519');
    for (let i = 0; i < 2; i++) {
      const sshd = await startSshd();
      sshd.authorize('root', key.publicKey);
      servers.push(sshd);
    }
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    tmp?.remove();
  });

  it('exits 1 with every finding, as the README says of a preflight that refused to go on', { timeout: 120_000 }, async () => {
    expect(hostname()).not.toMatch(/^hv[12]$/); // the finding this test relies on: the servers' names
    const node = (i: number) => `    - name: hv${i + 1}
      ssh: { address: 127.0.0.1, port: ${servers[i]!.port}, user: root, identityFile: ${key.path}, agent: false, hostKey: "${servers[i]!.hostKeyFingerprint}" }
      management: { interface: ens3, address: 198.18.1.1${i + 1}/24, gateway: 198.18.1.1 }
      replication: { interface: ens4, address: 198.19.1.1${i + 1}/24 }
      storage: { disk: /dev/disk/by-id/virtio-hv${i + 1}-data }
`;
    const site = join(tmp.path, 'site.yaml');
    writeFileSync(site, `apiVersion: hvcluster/v1\nkind: Cluster\nmetadata: { name: preflight-test }\nspec:\n  nodes:\n${node(0)}${node(1)}`);
    const result = await hvcluster(['apply', '-f', site, '--dry-run'], { HOME: tmp.path, XDG_STATE_HOME: join(tmp.path, 'state') });
    expect(result.stderr).toContain(`the servers do not fit ${site}`);
    expect(result.stderr).toContain('nothing was changed on any server');
    expect(result.stderr).toContain(`${site}:6:13 spec.nodes[0].name: the server at 127.0.0.1 calls itself ${hostname()} (uname -n), not hv1`);
    expect(result.stderr).toContain(`${site}:11:13 spec.nodes[1].name: the server at 127.0.0.1 calls itself ${hostname()} (uname -n), not hv2`);
    expect(result.code, result.stderr).toBe(1);
  });
});
