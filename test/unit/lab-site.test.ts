/**
 * The lab's answer file (test/lab/site.ts) with HA: each node's simulated BMC and the lab's witness,
 * as `up` would describe them, load with the real loader and validate clean.
 */
import { describe, expect, it } from 'vitest';
import { checkAnswerText } from '../../installer/answers/load.js';
import { formatIssue } from '../../installer/answers/issues.js';
import { bmcInfo } from '../lab/bmc.js';
import { bmcAddr, bmcHostAddr, bmcSubnet, hostAddr, mgmtAddr, replAddr, witnessAddr } from '../lab/config.js';
import type { LabInfo, LabNode, LabWitness } from '../lab/lab.js';
import { labSiteYaml } from '../lab/site.js';

const INDEX = 7;
const DIR = '/var/lib/hvcluster-lab/ha-lab';
const FP = (n: number) => `SHA256:${String(n).repeat(43).slice(0, 43)}`;

function vm(name: string, address: string, n: number) {
  return {
    name,
    management: { nic: 'ens3', address, prefix: 24, mac: `52:54:00:00:07:0${n}` },
    sshPort: 22,
    user: 'root',
    key: `${DIR}/id_ed25519`,
    hostKeyFingerprint: FP(n),
    hostKeys: [{ type: 'ED25519', fingerprint: FP(n), bits: 256 }],
    dir: `${DIR}/${name}`,
    pidFile: `${DIR}/${name}/qemu.pid`,
    console: `${DIR}/${name}/console.log`,
  };
}

/** A lab as nodes.json describes it, with `nodes` nodes and, optionally, the witness. */
function fakeLab(nodes: number, withWitness: boolean): LabInfo {
  const labNodes: LabNode[] = Array.from({ length: nodes }, (_, k) => {
    const i = k + 1;
    return {
      ...vm(`hv${i}`, mgmtAddr(INDEX, i), i),
      index: i,
      replication: { nic: 'ens4', address: replAddr(INDEX, i), prefix: 24, mac: `52:54:00:01:07:0${i}` },
      bmc: bmcInfo(DIR, `${DIR}/hv${i}`, bmcAddr(INDEX, i)),
      dataDisk: `/dev/disk/by-id/virtio-hvdata-ha-lab-${i}`,
      dataDiskSerial: `hvdata-ha-lab-${i}`,
      dataDiskBytes: 1 << 30,
    };
  });
  const witness: LabWitness = { ...vm('witness', witnessAddr(INDEX), 9), qnetd: { address: witnessAddr(INDEX), port: 5403 } };
  return {
    name: 'ha-lab', dir: DIR, netns: 'hvlab-ha-lab', hostAddress: hostAddr(INDEX), hostPrefix: 24, hostReplicationAddress: replAddr(INDEX, 254),
    image: 'prepared', imageHash: 'x', memoryMb: 1536, user: 'root', key: `${DIR}/id_ed25519`, knownHosts: `${DIR}/known_hosts`, createdAt: '2026-12-06T00:00:00Z',
    nodes: labNodes,
    bmcNetwork: { bridge: 'br-bmc', subnet: bmcSubnet(INDEX), hostAddress: bmcHostAddr(INDEX), prefix: 29, via: hostAddr(INDEX) },
    ...(withWitness ? { witness } : {}),
  };
}

describe("the lab's site.yaml with ha", () => {
  it('two nodes + witness: loads clean, with every BMC and the witness as the lab describes them', () => {
    const lab = fakeLab(2, true);
    const result = checkAnswerText(labSiteYaml(lab, { ha: true }));
    expect(result.issues.map(formatIssue)).toEqual([]);
    const { nodes, ha } = result.answers!.spec;
    expect(nodes.map((n) => n.bmc)).toEqual(
      lab.nodes.map((n) => ({ type: 'ipmi', address: n.bmc.address, port: 623, user: n.bmc.user, passwordFrom: { file: `${DIR}/bmc-password` }, cipher: 3, lanplus: true })),
    );
    expect(ha).toEqual({
      enabled: true,
      witness: { address: witnessAddr(INDEX), port: 22, user: 'root', identityFile: `${DIR}/id_ed25519`, agent: false, hostKey: FP(9), qnetdPort: 5403 },
      timing: 'emulated',
      tls: 'on',
    });
  });

  it('three nodes: loads clean without a witness; without ha the file has neither bmc nor ha', () => {
    const three = checkAnswerText(labSiteYaml(fakeLab(3, false), { ha: true }));
    expect(three.issues.map(formatIssue)).toEqual([]);
    expect(three.answers!.spec.ha?.witness).toBeUndefined();
    expect(three.answers!.spec.nodes.every((n) => n.bmc?.cipher === 3)).toBe(true);

    const plain = labSiteYaml(fakeLab(2, true));
    expect(plain).not.toMatch(/bmc:|ha:/);
    expect(checkAnswerText(plain).issues).toEqual([]);
  });

  it("references the BMC password by the lab's file, never by value", () => {
    expect(labSiteYaml(fakeLab(2, true), { ha: true })).toContain(`passwordFrom: { file: ${DIR}/bmc-password }`);
  });
});
