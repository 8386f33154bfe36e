/**
 * What the rendered files must say, independently of the golden files: strictness (every template
 * renders for both fixtures, a missing value is an error naming the template), the netplan file's
 * structure as YAML, /etc/hosts never mapping a node to loopback, optional parts of the network.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RenderModel } from '../../../installer/plan/model.js';
import { TemplateEnvironment, TemplateError } from '../../../installer/render/environment.js';
import { copyOf, FIXTURES, NODE_TEMPLATES, pick, RESOURCE_TEMPLATE, SECRET_TEMPLATES, threeNode9, twoNode84 } from './fixtures.js';

const env = new TemplateEnvironment();
// A script's header follows its #! line.
const MANAGED = /^(#!\/bin\/sh\n)?# Managed by hvcluster: .*overwritten.*\n# Source of truth: the hvcluster answer file/;

function renderError(template: string, values: object): TemplateError {
  try {
    env.render(template, values);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error(`${template} rendered although a value was missing`);
}

describe('corosync-authkey.hbs', () => {
  it('is exactly the cluster key: 256 characters, no header, no newline', () => {
    for (const fixture of FIXTURES) for (const model of fixture.models) expect(env.render('corosync-authkey.hbs', model)).toBe(model.ha!.corosyncKey);
  });
});

describe('backup-passphrase.hbs', () => {
  it('is exactly the passphrase, no header, no newline (borg reads the whole file through BORG_PASSCOMMAND)', () => {
    for (const fixture of FIXTURES) for (const model of fixture.models) expect(env.render('backup-passphrase.hbs', model)).toBe(model.backup!.passphrase);
  });
});

describe('every template', () => {
  describe.each(FIXTURES)('$id', (fixture) => {
    // Corosync's authkey and the backup passphrase are the secret itself, every byte of it: no header, no newline.
    it.each(Object.keys(NODE_TEMPLATES).filter((t) => !SECRET_TEMPLATES.includes(t)))('%s renders for every node, starting with the managed-file header', (template) => {
      for (const model of fixture.models) {
        const text = env.render(template, model);
        expect(text).toMatch(MANAGED);
        expect(text.endsWith('\n')).toBe(true);
        expect(text).not.toMatch(/\n\n\n/);
        expect(text).not.toMatch(/[ \t]+\n/);
      }
    });

    it(`${RESOURCE_TEMPLATE} renders every resource`, () => {
      for (const resource of fixture.resources) expect(env.render(RESOURCE_TEMPLATE, resource)).toMatch(MANAGED);
    });
  });

  // One value each template needs, deleted: the error names the template file and the line.
  const missing: [template: string, remove: (model: RenderModel) => void][] = [
    ['drbd-global-common.conf.hbs', (model) => delete (model.drbd as Partial<RenderModel['drbd']>).resyncRate],
    ['interfaces.hbs', (model) => delete (model.network as Partial<RenderModel['network']>).replicationMtu],
    ['netplan.yaml.hbs', (model) => delete (model.network as Partial<RenderModel['network']>).replication],
    ['hosts.hbs', (model) => delete (pick(model.nodes, 1) as Partial<RenderModel['node']>).replicationName],
    ['sysctl.conf.hbs', (model) => delete (model.network as Partial<RenderModel['network']>).bridge],
    ['chrony.conf.hbs', (model) => delete (model.time as Partial<RenderModel['time']>).servers],
    ['libvirt-qemu-migration.conf.hbs', (model) => delete (model.hypervisor as Partial<RenderModel['hypervisor']>).migrationAddress],
    ['backup-repository.mount.hbs', (model) => delete (model.backup!.nfs as Partial<NonNullable<NonNullable<RenderModel['backup']>['nfs']>>).options],
    ['hvcluster-backup.timer.hbs', (model) => delete model.backup!.schedule],
  ];
  it.each(missing)('%s: a missing value throws a TemplateError naming the template', (template, remove) => {
    const model = copyOf(pick(threeNode9.models, 1));
    remove(model);
    expect(renderError(template, model).message).toMatch(new RegExp(`^template ${template.replace(/\./g, '\\.')}:\\d+`));
  });

  it(`${RESOURCE_TEMPLATE}: a missing port or node-id throws a TemplateError naming the template`, () => {
    const withoutPort = copyOf(pick(twoNode84.resources, 0)) as Partial<(typeof twoNode84.resources)[number]>;
    delete withoutPort.port;
    expect(renderError(RESOURCE_TEMPLATE, withoutPort).message).toMatch(/^template drbd-resource\.res\.hbs:\d+/);
    const withoutNodeId = copyOf(pick(threeNode9.resources, 0));
    delete (pick(withoutNodeId.hosts, 2) as { nodeId?: number }).nodeId;
    expect(renderError(RESOURCE_TEMPLATE, withoutNodeId).message).toMatch(/^template drbd-resource\.res\.hbs:\d+: .*"nodeId" not defined/);
  });
});

describe('backup units', () => {
  const unit = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

  it("mount the repository's NFS export at its path, as the answer file's options plus _netdev,nofail, the automount never unmounting it", () => {
    expect(unit(env.render('backup-repository.mount.hbs', pick(threeNode9.models, 0)))).toEqual([
      '[Unit]',
      'Description=hvcluster: backup repository storage nas.example.com:/volume1/hv',
      '[Mount]',
      'What=nas.example.com:/volume1/hv',
      'Where=/srv/hv-backup',
      'Type=nfs',
      'Options=vers=4.1,hard,timeo=600,_netdev,nofail',
    ]);
    const automount = unit(env.render('backup-repository.automount.hbs', pick(threeNode9.models, 0)));
    expect(automount).toEqual(['[Unit]', 'Description=hvcluster: backup repository storage at /srv/hv-backup (mounted on first use)', '[Automount]', 'Where=/srv/hv-backup', '[Install]', 'WantedBy=remote-fs.target']);
    expect(automount.join('\n')).not.toContain('TimeoutIdleSec');
  });

  it('run backup-node.sh on the schedule, at low CPU and I/O priority, catching up a run missed while the node was off', () => {
    const model = pick(twoNode84.models, 1);
    expect(unit(env.render('hvcluster-backup.service.hbs', model))).toEqual([
      '[Unit]',
      'Description=hvcluster: back up the guests hv2 runs',
      'Wants=network-online.target',
      'After=network-online.target remote-fs.target',
      'RequiresMountsFor=/var/lib/hvcluster/backup',
      '[Service]',
      'Type=oneshot',
      'ExecStart=/usr/local/lib/hvcluster/backup-node.sh run /etc/hvcluster/backup.conf',
      'Nice=10',
      'IOSchedulingClass=idle',
    ]);
    expect(unit(env.render('hvcluster-backup.timer.hbs', model))).toEqual([
      '[Unit]',
      'Description=hvcluster: backups of the guests on hv2 (*-*-* 02:00:00)',
      '[Timer]',
      'OnCalendar=*-*-* 02:00:00',
      'Persistent=true',
      '[Install]',
      'WantedBy=timers.target',
    ]);
  });
});

describe('DRBD', () => {
  it('never renders an automatic split-brain policy that discards data', () => {
    for (const fixture of FIXTURES) {
      const text = env.render('drbd-global-common.conf.hbs', pick(fixture.models, 0));
      expect(text).toMatch(/^\tusage-count no;$/m);
      for (const policy of ['0pri', '1pri', '2pri']) expect(text).toMatch(new RegExp(`^\\t\\tafter-sb-${policy} disconnect;$`, 'm'));
      expect(text).not.toMatch(/^[^#]*discard/m);
    }
  });

  it('opens two primaries only when the model says so', () => {
    const resource = copyOf(pick(threeNode9.resources, 0));
    resource.allowTwoPrimaries = false;
    expect(env.render(RESOURCE_TEMPLATE, resource)).toMatch(/^\t\tallow-two-primaries no;$/m);
    resource.allowTwoPrimaries = true;
    expect(env.render(RESOURCE_TEMPLATE, resource)).toMatch(/^\t\tallow-two-primaries yes;$/m);
  });

  it('uses node-ids and a connection mesh for DRBD 9 only', () => {
    const for84 = env.render(RESOURCE_TEMPLATE, pick(twoNode84.resources, 0));
    expect(for84).not.toMatch(/node-id|connection-mesh/);
    const for9 = env.render(RESOURCE_TEMPLATE, pick(threeNode9.resources, 1));
    expect(for9).toMatch(/^\ton hv2 \{\n\t\tnode-id 1;\n\t\taddress 198\.19\.1\.12:7791;\n\t\}$/m);
    expect(for9).toMatch(/^\t\thosts hv2 hv3;$/m);
  });

  it('fixture invariant: 8.4 resources have exactly two hosts (drbdadm-84 would accept a third)', () => {
    for (const resource of twoNode84.resources) expect(resource.hosts).toHaveLength(2);
  });
});

describe('netplan', () => {
  interface Netplan {
    network: {
      version: number;
      renderer: string;
      ethernets: Record<string, { addresses?: string[]; mtu?: number; dhcp4: boolean }>;
      bonds?: Record<string, { interfaces: string[]; parameters: { mode: string; 'mii-monitor-interval': number } }>;
      bridges: Record<
        string,
        {
          interfaces: string[];
          addresses: string[];
          routes?: { to: string; via: string }[];
          nameservers?: { addresses: string[] };
          parameters: { stp: boolean; 'forward-delay': number };
        }
      >;
    };
  }

  it.each(FIXTURES.flatMap((fixture) => fixture.models.map((model) => [fixture.id, model.node.name, model] as const)))(
    '%s %s: parses as YAML with the bridge, its port and the replication NIC',
    (_id, _name, model) => {
      const { network } = parse(env.render('netplan.yaml.hbs', model)) as Netplan;
      expect(network.version).toBe(2);
      expect(network.renderer).toBe('networkd');
      const bridge = network.bridges[model.network.bridge];
      expect(bridge).toBeDefined();
      expect(bridge?.addresses).toEqual([model.node.management.cidr]);
      expect(bridge?.routes).toEqual([{ to: 'default', via: model.network.gateway }]);
      expect(bridge?.nameservers).toEqual({ addresses: model.network.dns });
      expect(bridge?.parameters).toEqual({ stp: false, 'forward-delay': 0 });
      expect(network.ethernets[model.network.replicationInterface]).toEqual({
        dhcp4: false,
        dhcp6: false,
        addresses: [model.node.replication.cidr],
        mtu: model.network.replicationMtu,
      });
      const bond = model.network.bond;
      if (bond) {
        expect(bridge?.interfaces).toEqual([bond.name]);
        expect(network.bonds?.[bond.name]).toEqual({ interfaces: bond.slaves, parameters: { mode: bond.mode, 'mii-monitor-interval': 100 } });
        for (const slave of bond.slaves) expect(network.ethernets[slave]).toEqual({ dhcp4: false, dhcp6: false });
        expect(Object.keys(network.ethernets).sort()).toEqual([...bond.slaves, model.network.replicationInterface].sort());
      } else {
        expect(bridge?.interfaces).toEqual([model.network.managementInterface]);
        expect(network.bonds).toBeUndefined();
        expect(Object.keys(network.ethernets).sort()).toEqual([model.network.managementInterface, model.network.replicationInterface].sort());
      }
    },
  );

  it('leaves out routes and nameservers when there is no gateway and no DNS server', () => {
    const model = copyOf(pick(twoNode84.models, 0));
    delete model.network.gateway;
    model.network.dns = [];
    const { network } = parse(env.render('netplan.yaml.hbs', model)) as Netplan;
    expect(network.bridges.vmbr0?.routes).toBeUndefined();
    expect(network.bridges.vmbr0?.nameservers).toBeUndefined();
  });
});

describe('ifupdown interfaces', () => {
  it('leaves out gateway and dns-nameservers when there are none', () => {
    const model = copyOf(pick(twoNode84.models, 0));
    delete model.network.gateway;
    model.network.dns = [];
    const text = env.render('interfaces.hbs', model);
    expect(text).not.toMatch(/gateway |dns-nameservers/);
    expect(text).toContain('\taddress 198.18.1.11/24\n\tbridge_ports eno1\n');
  });

  it('enslaves the bond, not its ports, to the bridge', () => {
    const text = env.render('interfaces.hbs', pick(threeNode9.models, 0));
    expect(text).toContain('auto bond0\niface bond0 inet manual\n\tbond-slaves eno1 eno2\n\tbond-mode active-backup\n\tbond-miimon 100\n');
    expect(text).toContain('\tbridge_ports bond0\n');
    expect(text).not.toMatch(/^auto eno[12]$/m);
  });

  it('gives only the bridge and the replication NIC addresses, the replication NIC its MTU', () => {
    const model = pick(twoNode84.models, 1);
    const text = env.render('interfaces.hbs', model);
    expect(text.match(/^\taddress .*$/gm)).toEqual(['\taddress 198.18.1.12/24', '\taddress 198.19.1.12/24']);
    expect(text).toContain('iface enp65s0f0 inet static\n\taddress 198.19.1.12/24\n\tmtu 9000\n');
    expect(text).toContain('source /etc/network/interfaces.d/*\n');
  });
});

describe('/etc/hosts', () => {
  it.each(FIXTURES)('$id: every node by its management address, its replication name by its replication address', (fixture) => {
    for (const model of fixture.models) {
      const text = env.render('hosts.hbs', model);
      expect(text).not.toMatch(/^127\.0\.1\.1/m);
      const entries = text
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.split(/\s+/));
      const addressOf = (name: string) => entries.filter((fields) => fields.slice(1).includes(name)).map((fields) => fields[0]);
      for (const node of model.nodes) {
        expect(addressOf(node.name)).toEqual([node.management.address]);
        expect(addressOf(node.replicationName)).toEqual([node.replication.address]);
      }
      expect(addressOf('localhost')).toEqual(['127.0.0.1', '::1']);
    }
  });

  it('lists a fully qualified node name with its short name', () => {
    const model = copyOf(pick(twoNode84.models, 0));
    for (const node of model.nodes) node.name = `${node.name}.example.net`;
    const text = env.render('hosts.hbs', model);
    expect(text).toContain('\n198.18.1.11\thv1.example.net hv1\n198.18.1.12\thv2.example.net hv2\n');
  });
});

describe('sysctl, chrony, libvirt', () => {
  it('sysctl: every setting has a comment above it', () => {
    const lines = env.render('sysctl.conf.hbs', pick(twoNode84.models, 0)).split('\n');
    const settings = lines.flatMap((line, index) => (/^-?[a-z]/.test(line) ? [index] : []));
    expect(settings.length).toBeGreaterThanOrEqual(4);
    for (const index of settings) {
      let above = index - 1;
      while (above >= 0 && /^-?[a-z]/.test(lines[above] ?? '')) above -= 1;
      expect(lines[above], `comment above ${lines[index]}`).toMatch(/^#/);
    }
    expect(lines).toContain('-net.bridge.bridge-nf-call-iptables = 0');
    expect(lines.some((line) => line.startsWith('net.ipv4.ip_forward'))).toBe(false);
  });

  it('chrony: one server line per configured server', () => {
    const text = env.render('chrony.conf.hbs', pick(threeNode9.models, 0));
    expect(text.match(/^server .*$/gm)).toEqual(['server 198.18.1.123 iburst', 'server 198.18.2.123 iburst']);
    expect(text).not.toMatch(/^(allow|local|pool)\b/m);
    expect(text).toMatch(/^makestep 1 3$/m);
  });

  it("libvirt: migration listens on and is sent to the node's replication address", () => {
    for (const model of threeNode9.models) {
      const text = env.render('libvirt-qemu-migration.conf.hbs', model);
      // the block the engine merges into qemu.conf: from the managed header to the end line
      expect(text.endsWith('\n# End of the settings managed by hvcluster.\n')).toBe(true);
      const settings = text
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'));
      expect(settings).toEqual([
        `migration_address = "${model.node.replication.address}"`,
        `migration_host = "${model.node.replication.address}"`,
      ]);
    }
  });
});
