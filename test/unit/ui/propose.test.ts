/** The wizard's layout proposal on real facts of the lab's nodes (test/fixtures/facts/lab-hv1.txt). */
import { describe, expect, it } from 'vitest';
import { checkLayout, proposeLayout, type ServerLogin } from '../../../installer/plan/propose.js';
import { labFacts, labFactsEdited } from '../plan/helpers.js';

/** Lab node 2 as the capture of node 1 made into node 2, its SSH session included. */
const SESSION2: [string, string] = ['198.18.1.254 43090 198.18.1.1 22', '198.18.1.254 43090 198.18.1.2 22'];
const node2 = (...edits: Array<[string | RegExp, string]>) => labFactsEdited(2, SESSION2, ...edits);

const logins: ServerLogin[] = [1, 2].map((i) => ({ address: `198.18.1.${i}`, port: 22, user: 'root', auth: 'key', identityFile: '/keys/id' }));

describe('proposeLayout', () => {
  it('proposes the blank data disk, the SSH NIC for management and the other NIC for replication', () => {
    const layout = proposeLayout([labFacts(1), node2()]);
    expect(layout).toEqual({
      cluster: 'hv-cluster',
      bridge: 'br0',
      packages: 'online',
      nodes: [1, 2].map((i) => ({
        name: `hv${i}`,
        managementInterface: 'ens3',
        managementAddress: `198.18.1.${i}/24`,
        gateway: expect.any(String),
        replicationInterface: 'ens4',
        replicationAddress: `198.19.1.${i}/24`,
        disk: `/dev/disk/by-id/virtio-hvdata-demo-${i}`,
        wipe: false,
      })),
    });
    const check = checkLayout(layout, logins, [labFacts(1), node2()]);
    expect(check.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(check.answers?.spec.nodes[1]!.storage.disk).toBe('/dev/disk/by-id/virtio-hvdata-demo-2');
  });

  it('leaves the disk empty when a node has no blank disk, and the check says what is expected', () => {
    const facts = [labFacts(1), node2(['vdb size=1073741824 parts=0 holders= head=0', 'vdb size=1073741824 parts=0 holders= head=1'])];
    const layout = proposeLayout(facts);
    expect(layout.nodes.map((n) => n.disk)).toEqual(['/dev/disk/by-id/virtio-hvdata-demo-1', '']);
    expect(checkLayout(layout, logins, facts).byPath.get('spec.nodes[1].storage.disk')?.[0]?.message).toMatch(/expected the path of a block device/);
    layout.nodes[1]!.disk = '/dev/disk/by-id/nope';
    expect(checkLayout(layout, logins, facts).byPath.get('spec.nodes[1].storage.disk')?.[0]?.message).toMatch(/nope/);
  });

  it('validates fields with the answer-file messages', () => {
    const facts = [labFacts(1), node2()];
    const layout = proposeLayout(facts);
    layout.nodes[0]!.replicationAddress = '198.19.1.300/24';
    layout.cluster = 'Not A Label';
    const check = checkLayout(layout, logins, facts);
    expect(check.answers).toBeUndefined();
    expect(check.byPath.get('spec.nodes[0].replication.address')?.[0]?.message).toBe('expected an IPv4 address with prefix, like 198.19.1.12/24, found "198.19.1.300/24"');
    expect(check.byPath.get('metadata.name')?.[0]?.message).toMatch(/^expected a DNS label/);
  });
});
