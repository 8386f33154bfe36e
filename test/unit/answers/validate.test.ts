import { describe, expect, it } from 'vitest';
import { checkAnswers, formatIssue, parseAnswers, validateAnswers, type Answers } from '../../../installer/answers/index.js';
import { fixture } from './helpers.js';

/** The valid two-node answers, with `change` applied to a copy. */
function answers(change: (a: Answers) => void = () => {}): Answers {
  const copy = structuredClone(parseAnswers(fixture('valid/two-nodes.yaml')).answers);
  change(copy);
  return copy;
}
const check = (a: Answers) => validateAnswers(a).map(formatIssue);

describe('validateAnswers', () => {
  it('finds nothing wrong with the valid files', () => {
    expect(check(answers())).toEqual([]);
  });

  it('node names are unique, ignoring case', () => {
    expect(check(answers((a) => (a.spec.nodes[1]!.name = 'HV1')))).toEqual([
      "spec.nodes[1].name: node name 'HV1' is already used by spec.nodes[0]; each node needs its own name (its `uname -n`)",
    ]);
  });

  it('an address is used once across nodes and networks', () => {
    expect(check(answers((a) => (a.spec.nodes[1]!.replication.address = '198.19.1.11/24')))).toEqual([
      'spec.nodes[1].replication.address: address 198.19.1.11 is already used by spec.nodes[0].replication.address; expected a different address for each node and network',
    ]);
  });

  it('network and broadcast addresses are not host addresses', () => {
    expect(check(answers((a) => (a.spec.nodes[0]!.replication.address = '198.19.1.0/24')))).toEqual([
      'spec.nodes[0].replication.address: 198.19.1.0/24 is the network address of 198.19.1.0/24; expected a host address inside the subnet',
    ]);
    // a /31 or /32 has neither
    expect(check(answers((a) => {
      a.spec.nodes[0]!.replication.address = '198.19.1.0/31';
      a.spec.nodes[1]!.replication.address = '198.19.1.1/31';
    }))).toEqual([]);
  });

  it('replication addresses share one subnet, and so do management addresses', () => {
    expect(check(answers((a) => {
      a.spec.nodes[1]!.replication.address = '198.19.1.12/25';
      a.spec.nodes[1]!.management.address = '198.18.2.12/24';
      a.spec.nodes[1]!.management.gateway = '198.18.2.1';
    }))).toEqual([
      'spec.nodes[1].replication.address: 198.19.1.12/25 is not in the replication subnet 198.19.1.0/24 of spec.nodes[0]; expected all replication addresses in one subnet',
      'spec.nodes[1].management.address: 198.18.2.12/24 is not in the management subnet 198.18.1.0/24 of spec.nodes[0]; expected all management addresses in one subnet',
    ]);
  });

  it('the replication subnet is apart from the management subnet', () => {
    expect(check(answers((a) => {
      a.spec.nodes[0]!.replication.address = '198.18.0.11/16';
      a.spec.nodes[1]!.replication.address = '198.18.0.12/16';
    }))).toEqual([
      'spec.nodes[0].replication.address: replication subnet 198.18.0.0/16 overlaps the management subnet 198.18.1.0/24; expected a separate subnet for replication, like 198.19.1.0/24',
      'spec.nodes[1].replication.address: replication subnet 198.18.0.0/16 overlaps the management subnet 198.18.1.0/24; expected a separate subnet for replication, like 198.19.1.0/24',
    ]);
  });

  it('the gateway is inside the management subnet and is not a node', () => {
    expect(check(answers((a) => {
      a.spec.nodes[0]!.management.gateway = '198.18.2.1';
      a.spec.nodes[1]!.management.gateway = '198.18.1.11';
    }))).toEqual([
      'spec.nodes[0].management.gateway: gateway 198.18.2.1 is outside the management subnet 198.18.1.0/24; expected an address inside it',
      "spec.nodes[1].management.gateway: gateway 198.18.1.11 is the address of spec.nodes[0].management.address; expected the router's address",
    ]);
  });

  it('replication has a NIC of its own, bonds list each NIC once, the bridge name is free', () => {
    expect(check(answers((a) => {
      a.spec.nodes[0]!.replication.interface = 'ens3';
      a.spec.nodes[1]!.management = { ...a.spec.nodes[1]!.management, interface: undefined, bond: { name: 'bond0', interfaces: ['eno1', 'eno1', 'bond0'], mode: 'active-backup' } };
      a.spec.network.bridge = 'ens4';
    }))).toEqual([
      'spec.nodes[0].replication.interface: ens3 already carries the management network; expected a NIC of its own for replication',
      'spec.nodes[1].management.bond.interfaces[1]: interface eno1 is listed twice in the bond',
      'spec.nodes[1].management.bond.interfaces[2]: the bond bond0 cannot enslave itself; expected the NICs it bonds',
      'spec.network.bridge: bridge name ens4 is an interface of hv2; expected a name of its own, like br0',
    ]);
  });

  it('two nodes are not reached at the same SSH address and port', () => {
    expect(check(answers((a) => {
      a.spec.nodes[0]!.ssh.address = 'hv.example.com';
      a.spec.nodes[1]!.ssh.address = 'HV.example.com';
    }))).toEqual([
      "spec.nodes[1].ssh.address: HV.example.com port 22 is also how spec.nodes[0] is reached; expected each node's own SSH address",
    ]);
    expect(check(answers((a) => {
      a.spec.nodes[0]!.ssh.address = 'gateway.example.com';
      a.spec.nodes[1]!.ssh.address = 'gateway.example.com';
      a.spec.nodes[1]!.ssh.port = 2222;
    }))).toEqual([]);
  });

  it('warns about kernel disk names and wipe: true', () => {
    expect(check(answers((a) => {
      a.spec.nodes[0]!.storage.disk = '/dev/sdb';
      a.spec.nodes[1]!.storage = { disk: '/dev/nvme1n1', wipe: true };
    }))).toEqual([
      'spec.nodes[0].storage.disk: warning: /dev/sdb is a kernel name that can change across reboots; use its /dev/disk/by-id/... link (see `ls -l /dev/disk/by-id/` on hv1)',
      'spec.nodes[1].storage.disk: warning: /dev/nvme1n1 is a kernel name that can change across reboots; use its /dev/disk/by-id/... link (see `ls -l /dev/disk/by-id/` on hv2)',
      'spec.nodes[1].storage.wipe: warning: wipe is true: everything on /dev/nvme1n1 of hv2 may be erased',
    ]);
    expect(validateAnswers(answers((a) => (a.spec.nodes[0]!.storage.disk = '/dev/sdb')))[0]!.severity).toBe('warning');
  });

  it('offline packages need a path, online ones none', () => {
    expect(check(answers((a) => (a.spec.packages = { source: 'offline' })))).toEqual([
      'spec.packages: source is offline but offline.path is missing; expected offline: { path: /srv/hvcluster-debs }',
    ]);
    expect(check(answers((a) => (a.spec.packages = { source: 'online', offline: { path: '/srv/debs' } })))).toEqual([
      'spec.packages.offline: offline is set but source is online; expected source: offline, or no offline block',
    ]);
  });
});

describe('validateAnswers on answers built in code re-checks the limits of the schema', () => {
  it('2 or 3 nodes, host-name node names, wipe a boolean, the MTU range', () => {
    const one = answers((a) => a.spec.nodes.pop());
    expect(check(one)).toEqual(['spec.nodes: expected 2 or 3 nodes, found 1']);
    expect(check(answers((a) => {
      a.spec.nodes[1]!.name = 'hv 2';
      (a.spec.nodes[1]!.storage as { wipe: unknown }).wipe = 'no';
      a.spec.network.replicationMtu = 9217;
    }))).toEqual([
      'spec.nodes[1].name: expected a host name, the output of `uname -n` on that server, found "hv 2"',
      'spec.nodes[1].storage.wipe: expected true or false (true erases everything on the disk)',
      'spec.network.replicationMtu: expected an MTU from 576 to 9216, found 9217',
    ]);
  });
});

describe('checkAnswers (answers built in code, like the wizard)', () => {
  it('fills defaults and reports schema and semantic issues by key path', () => {
    const input = {
      apiVersion: 'hvcluster/v1',
      kind: 'Cluster',
      metadata: { name: 'acme' },
      spec: {
        nodes: [
          { name: 'hv1', management: { interface: 'ens3', address: '198.18.1.11/24' }, replication: { interface: 'ens4', address: '198.19.1.11/24' }, storage: { disk: '/dev/disk/by-id/a' } },
          { name: 'hv2', management: { interface: 'ens3', address: '198.18.1.12/24' }, replication: { interface: 'ens4', address: '198.19.1.12/24' }, storage: { disk: '/dev/disk/by-id/b' } },
        ],
      },
    };
    const ok = checkAnswers(input);
    expect(ok.issues).toEqual([]);
    expect(ok.answers?.spec.nodes[1]!.ssh).toEqual({ address: '198.18.1.12', port: 22, user: 'root', agent: true });

    // Both nodes pass the schema on their own, so their relations are checked alongside the schema errors.
    const bad = structuredClone(input);
    bad.spec.nodes[1]!.name = 'hv1';
    bad.metadata.name = 'Acme';
    const result = checkAnswers(bad);
    expect(result.answers).toBeUndefined();
    expect(result.issues.map(formatIssue)).toEqual([
      "metadata.name: expected a DNS label (lowercase letters, digits and '-', at most 63 characters), like acme-prod, found \"Acme\"",
      "spec.nodes[1].name: node name 'hv1' is already used by spec.nodes[0]; each node needs its own name (its `uname -n`)",
    ]);
    // A node that fails the schema is left out of the relations.
    const worse = structuredClone(bad);
    (worse.spec.nodes[0]!.storage as Record<string, unknown>).wipe = 'yes';
    expect(checkAnswers(worse).issues.map(formatIssue)).toEqual([
      "metadata.name: expected a DNS label (lowercase letters, digits and '-', at most 63 characters), like acme-prod, found \"Acme\"",
      'spec.nodes[0].storage.wipe: expected true or false (true erases everything on the disk), found "yes"',
    ]);
  });
});

describe('validateAnswers: HA', () => {
  const bmc = (address: string, env: string) => ({ type: 'ipmi' as const, address, port: 623, user: 'hvfence', passwordFrom: { env }, cipher: 17, lanplus: true });
  const witness = { address: '198.18.1.10', port: 22, user: 'root', agent: true, qnetdPort: 5403 };
  /** Two nodes with BMCs and a witness, then `change`. */
  const ha = (change: (a: Answers) => void = () => {}) =>
    answers((a) => {
      a.spec.nodes[0]!.bmc = bmc('198.18.2.11', 'HV1_BMC');
      a.spec.nodes[1]!.bmc = bmc('198.18.2.12', 'HV2_BMC');
      a.spec.ha = { enabled: true, witness: { ...witness }, timing: 'production', tls: 'on' };
      change(a);
    });
  const third = (a: Answers) => {
    a.spec.nodes.push({ ...structuredClone(a.spec.nodes[1]!), name: 'hv3', management: { ...a.spec.nodes[1]!.management, address: '198.18.1.13/24' }, replication: { ...a.spec.nodes[1]!.replication, address: '198.19.1.13/24' }, ssh: { ...a.spec.nodes[1]!.ssh, address: '198.18.1.13' }, bmc: bmc('198.18.2.13', 'HV3_BMC') });
  };

  it('two nodes with BMCs and a witness, and three nodes with BMCs and no witness, are clean', () => {
    expect(check(ha())).toEqual([]);
    expect(check(ha((a) => { third(a); delete a.spec.ha!.witness; }))).toEqual([]);
  });

  it('three nodes still need a BMC each, and refuse a witness', () => {
    expect(check(ha((a) => { third(a); delete a.spec.nodes[2]!.bmc; }))).toEqual([
      "spec.nodes[2]: node hv3 has no bmc: HA never runs without a fence device (a survivor must power hv3 off before it starts hv3's guests); add bmc: { address, user, passwordFrom } for hv3's IPMI controller (iDRAC, iLO, XClarity...)",
      'spec.ha.witness: three nodes make quorum on their own (2 of 3 votes), and hvcluster uses a witness only with two nodes; remove witness',
    ]);
  });

  it('a witness reached like a node over SSH is that node; the same gateway on another port is not', () => {
    const viaGateway = (port: number) => ha((a) => {
      a.spec.nodes[1]!.ssh = { ...a.spec.nodes[1]!.ssh, address: 'gw.example.com', port: 2202 };
      a.spec.ha!.witness = { ...witness, address: 'GW.example.com', port };
    });
    expect(check(viaGateway(2202))).toEqual([
      'spec.ha.witness.address: the witness GW.example.com port 2202 is how hv2 is reached (spec.nodes[1].ssh); expected a separate server: a node that is also the witness takes the tie-breaking vote down with it',
    ]);
    expect(check(viaGateway(2203))).toEqual([]);
  });

  it("a witness or a BMC named like a node is that node", () => {
    expect(check(ha((a) => (a.spec.ha!.witness!.address = 'HV2')))).toEqual([
      'spec.ha.witness.address: the witness HV2 is the name of node hv2 (spec.nodes[1].name); expected a separate server: a node that is also the witness takes the tie-breaking vote down with it',
    ]);
    expect(check(ha((a) => (a.spec.nodes[0]!.bmc!.address = 'hv1')))).toEqual([
      "spec.nodes[0].bmc.address: BMC address hv1 is the name of node hv1 (spec.nodes[0].name); the BMC must be a separate device with its own address (the server's IPMI controller), reachable when the node's system is dead",
    ]);
    // hv1-idrac is another name.
    expect(check(ha((a) => (a.spec.nodes[0]!.bmc!.address = 'hv1-idrac')))).toEqual([]);
  });

  it("a BMC at the witness's address, or at another node's management address, is refused", () => {
    expect(check(ha((a) => (a.spec.nodes[0]!.bmc!.address = '198.18.1.10')))).toEqual([
      "spec.nodes[0].bmc.address: BMC address 198.18.1.10 is the witness's address (spec.ha.witness.address); expected the address of hv1's own BMC",
    ]);
    expect(check(ha((a) => (a.spec.nodes[0]!.bmc!.address = '198.18.1.12')))).toEqual([
      "spec.nodes[0].bmc.address: BMC address 198.18.1.12 is the management address of hv2 (spec.nodes[1].management.address); the BMC must be a separate device with its own address (the server's IPMI controller), reachable when the node's system is dead",
    ]);
    // Two BMCs behind one address on different ports (a BMC proxy) are two devices.
    expect(check(ha((a) => Object.assign(a.spec.nodes[1]!.bmc!, { address: '198.18.2.11', port: 624 })))).toEqual([]);
  });

  it('ha enabled: false checks no fencing and says the BMCs are unused; tls: off warns only when HA is on', () => {
    expect(check(ha((a) => { a.spec.ha!.enabled = false; a.spec.ha!.tls = 'off'; delete a.spec.ha!.witness; delete a.spec.nodes[1]!.bmc; }))).toEqual([
      'spec.nodes[0].bmc: warning: bmc is only used with ha, which is off here (spec.ha.enabled: false): the BMC is never contacted',
    ]);
    expect(check(ha((a) => (a.spec.ha!.tls = 'off')))).toEqual([
      'spec.ha.tls: warning: tls: off is only for a lab: the connection to the witness is not authenticated, so anything on the management network can pose as the witness and cast its vote',
    ]);
  });

  it('the watchdog level: with a witness its timeout covers the quorum device\'s sync_timeout; three nodes take shorter ones; with HA off it does nothing', () => {
    expect(check(ha((a) => (a.spec.ha!.watchdog = { device: '/dev/watchdog', timeout: 30 })))).toEqual([]);
    expect(check(ha((a) => (a.spec.ha!.watchdog = { device: '/dev/watchdog', timeout: 10 })))).toEqual([
      "spec.ha.watchdog.timeout: timeout 10 is shorter than the quorum device's sync_timeout (30 s): while the witness's vote is renegotiated a healthy node may be without quorum that long, and its watchdog would reset it; expected at least 30",
    ]);
    expect(check(ha((a) => { third(a); delete a.spec.ha!.witness; a.spec.ha!.watchdog = { device: '/dev/watchdog', timeout: 10 }; }))).toEqual([]);
    expect(check(ha((a) => { a.spec.ha!.enabled = false; delete a.spec.ha!.witness; a.spec.ha!.watchdog = { device: '/dev/watchdog', timeout: 30 }; }))).toEqual([
      'spec.nodes[0].bmc: warning: bmc is only used with ha, which is off here (spec.ha.enabled: false): the BMC is never contacted',
      'spec.nodes[1].bmc: warning: bmc is only used with ha, which is off here (spec.ha.enabled: false): the BMC is never contacted',
      'spec.ha.watchdog: warning: watchdog is only used with ha, which is off here (spec.ha.enabled: false): sbd is not installed',
    ]);
  });

  it('cipher 0 is refused on any node, with HA or without', () => {
    expect(check(answers((a) => (a.spec.nodes[1]!.bmc = { ...bmc('198.18.2.12', 'HV2_BMC'), cipher: 0 })))).toEqual([
      'spec.nodes[1].bmc: warning: bmc is only used with ha: without spec.ha nothing fences this node and the BMC is never contacted; add spec.ha to use it, or remove bmc',
      'spec.nodes[1].bmc.cipher: cipher 0 sends the password unauthenticated: the BMC accepts any password and anyone on its network can power the node off; expected 17, or 3 for a BMC without it (and disable cipher 0 on the BMC)',
    ]);
  });
});

describe('validateAnswers: guests', () => {
  const guest = (name: string, extra: Partial<Answers['spec']['guests'][number]> = {}): Answers['spec']['guests'][number] => ({
    name, vcpus: 1, memory: 1024, disks: [{ size: 10_240 }], nics: [{}], autostart: true, boot: ['hd'], machine: 'q35', state: 'present', ...extra,
  });

  it('checks the guests of answers built in code against their nodes and HA', () => {
    expect(check(answers((a) => (a.spec.guests = [guest('web'), guest('db', { preferredNode: 'hv2' })])))).toEqual([]);
    expect(check(answers((a) => (a.spec.guests = [guest('web', { preferredNode: 'hv3', ha: true }), guest('web')])))).toEqual([
      'spec.guests[0].preferredNode: hv3 is not a node of the cluster (hv1, hv2)',
      'spec.guests[0].ha: ha: true needs an HA cluster (spec.ha, enabled): without it nobody restarts the guest elsewhere',
      'spec.guests[1].name: guest web is already declared at spec.guests[0]: every guest needs its own name',
    ]);
  });
});
