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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockCluster, thisHolder } from '../../../installer/engine/cluster-lock.js';
import { connect } from '../../../installer/ssh/index.js';
import { runCli } from '../../helpers/cli.js';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

const hvcluster = runCli;

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

  function writeSite(): string {
    const node = (i: number) => `    - name: hv${i + 1}
      ssh: { address: 127.0.0.1, port: ${servers[i]!.port}, user: root, identityFile: ${key.path}, agent: false, hostKey: "${servers[i]!.hostKeyFingerprint}" }
      management: { interface: ens3, address: 198.18.1.1${i + 1}/24, gateway: 198.18.1.1 }
      replication: { interface: ens4, address: 198.19.1.1${i + 1}/24 }
      storage: { disk: /dev/disk/by-id/virtio-hv${i + 1}-data }
`;
    const site = join(tmp.path, 'site.yaml');
    writeFileSync(site, `apiVersion: hvcluster/v1\nkind: Cluster\nmetadata: { name: preflight-test }\nspec:\n  nodes:\n${node(0)}${node(1)}`);
    return site;
  }

  it('exits 1 with every finding, as the README says of a preflight that refused to go on', { timeout: 120_000 }, async () => {
    expect(hostname()).not.toMatch(/^hv[12]$/); // the finding this test relies on: the servers' names
    const site = writeSite();
    const result = await hvcluster(['apply', '-f', site, '--dry-run'], { HOME: tmp.path, XDG_STATE_HOME: join(tmp.path, 'state') });
    expect(result.stderr).toContain(`the servers do not fit ${site}`);
    expect(result.stderr).toContain('nothing was changed on any server');
    expect(result.stderr).toContain(`${site}:6:13 spec.nodes[0].name: the server at 127.0.0.1 calls itself ${hostname()} (uname -n), not hv1`);
    expect(result.stderr).toContain(`${site}:11:13 spec.nodes[1].name: the server at 127.0.0.1 calls itself ${hostname()} (uname -n), not hv2`);
    expect(result.code, result.stderr).toBe(1);
    // plan reads the same and says the same, with the same exit code.
    const plan = await hvcluster(['plan', '-f', site], { HOME: tmp.path, XDG_STATE_HOME: join(tmp.path, 'state') });
    expect(plan.stderr).toContain(`${site}:6:13 spec.nodes[0].name: the server at 127.0.0.1 calls itself ${hostname()} (uname -n), not hv1`);
    expect(plan.code, plan.stderr).toBe(1);
  });

  it('refuses a second run while another holds the cluster lock, naming it; --force-unlock breaks it only once that run is gone', { timeout: 120_000 }, async () => {
    const site = writeSite();
    const env = { HOME: tmp.path, XDG_STATE_HOME: join(tmp.path, 'state') };
    // Another run: a live process of this machine holding the lock on the first node.
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    const connection = await connect(
      { name: 'hv1', host: '127.0.0.1', port: servers[0]!.port, user: 'root', identityFiles: [key.path], jump: [], hostKeyFingerprint: servers[0]!.hostKeyFingerprint },
      { knownHostsFiles: [], onUnknown: 'refuse' },
    );
    try {
      const holder = { ...thisHolder('20261205T150000Z-beef', 'apply'), pid: other.pid! };
      const lock = await lockCluster([connection], 'preflight-test', holder, '--force-unlock');
      const refused = await hvcluster(['apply', '-f', site, '--yes'], env);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`hv1: another hvcluster run is changing cluster preflight-test: apply run 20261205T150000Z-beef (${holder.user}@${hostname()}, pid ${other.pid})`);
      expect(refused.stderr).toContain('--force-unlock');
      expect(refused.stderr).not.toContain('do not fit'); // refused before preflight read anything

      const stillAlive = await hvcluster(['apply', '-f', site, '--yes', '--force-unlock'], env);
      expect(stillAlive.code).toBe(1);
      expect(stillAlive.stderr).toContain(`which is still running on this machine; not breaking it`);

      other.kill('SIGKILL');
      await new Promise((done) => other.once('exit', done));
      const forced = await hvcluster(['apply', '-f', site, '--yes', '--force-unlock'], env);
      expect(forced.stderr).toContain('hv1: broke the cluster lock of apply run 20261205T150000Z-beef');
      // It went on to preflight, which finds what the first test found: nothing changed, exit 1.
      expect(forced.stderr).toContain(`the servers do not fit ${site}`);
      expect(forced.code).toBe(1);
      await lock.release();
      // The forced run gave its lock back: a run can take it again.
      const again = await lockCluster([connection], 'preflight-test', thisHolder('20261205T150100Z-cafe', 'apply'), '--force-unlock');
      await again.release();
    } finally {
      other.kill('SIGKILL');
      await connection.close();
    }
  });
});
