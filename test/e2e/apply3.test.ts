/**
 * apply on three nodes (prepared image: packages installed, so this is about the cluster layout):
 * with DRBD 8.4 each guest disk lives on a pair, so the replication probe runs on every pair.
 */
import { describe, expect, it } from 'vitest';
import { useLab } from '../helpers/lab.js';
import { events, hvcluster } from '../helpers/hvcluster.js';

const MIN = 60_000;
const lab = useLab({ name: 'apply3', nodes: 3, image: 'prepared' });

describe('hvcluster apply on a three-node lab', () => {
  it('builds every node, with a probe Connected and UpToDate on each pair, and then changes nothing', { timeout: 30 * MIN }, async () => {
    const site = `${lab.info.dir}/site.yaml`;
    const applied = await hvcluster(lab.info.name, ['apply', '-f', site, '--yes']);
    expect(applied.code, applied.stderr).toBe(0);

    const pairs: [string, string, string][] = [
      ['hvc-probe1', 'hv1', 'hv2'],
      ['hvc-probe2', 'hv2', 'hv3'],
      ['hvc-probe3', 'hv3', 'hv1'],
    ];
    for (const [resource, a, b] of pairs) {
      for (const node of [a, b]) {
        const r = await lab.ssh(node, `drbdadm cstate ${resource}; drbdadm dstate ${resource}`);
        expect(r.stdout.trim().split('\n'), `${resource} on ${node}: ${r.stderr}`).toEqual(['Connected', 'UpToDate/UpToDate']);
      }
    }
    for (const node of lab.nodes) {
      const peers = lab.nodes.filter((n) => n.name !== node.name);
      const r = await lab.ssh(node.name, `ip -o -4 addr show dev br0; ${peers.map((p) => `virsh -c qemu+ssh://${p.name}-repl/system hostname`).join('; ')}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`inet ${node.management.address}/`);
      // virsh prints an empty line after its answer.
      expect(r.stdout.trim().split('\n').slice(1).filter((line) => line.trim() !== '')).toEqual(peers.map((p) => p.name));
    }

    const again = await hvcluster(lab.info.name, ['apply', '-f', site, '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'change')).toEqual([]);
  });
});
