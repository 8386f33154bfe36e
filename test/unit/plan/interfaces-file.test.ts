import { describe, expect, it } from 'vitest';
import { comparePlan } from '../../../installer/plan/diff.js';
import { planCluster } from '../../../installer/plan/index.js';
import { foreignStanzas, KEPT_HEADER, mergeInterfaces } from '../../../installer/plan/interfaces-file.js';
import { labFacts, loadSite } from './helpers.js';

const MANAGED = ['lo', 'ens3', 'br0', 'ens4'];
const RENDERED = '# Managed by hvcluster\nsource /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto br0\niface br0 inet static\n\taddress 198.18.1.1/24\n\tbridge_ports ens3\n';

/** A server's own file: the lab's (ens3, ens4), plus a third NIC, a VLAN, hotplug and a mapping. */
const CURRENT = `# This file describes the network interfaces available on your system
source /etc/network/interfaces.d/*
source-directory /etc/network/extra.d

auto lo
iface lo inet loopback

# management
allow-hotplug ens3 ens5
iface ens3 inet static
	address 198.18.1.1/24
	gateway 198.18.1.254
iface ens3 inet6 auto

auto ens4
iface ens4 inet static
	address 198.19.1.1/24

# backup network on the third NIC
auto ens5 ens5.20
iface ens5 inet static
	address 10.9.0.5/24
	# its own comment
	post-up ip route add 10.10.0.0/16 via 10.9.0.1
iface ens5.20 inet manual
	vlan-raw-device ens5

mapping eth9
	script /usr/local/bin/map
`;

describe('/etc/network/interfaces: stanzas of interfaces hvcluster does not manage', () => {
  it('keeps the other interfaces stanzas (options included) and drops those of managed interfaces', () => {
    expect(foreignStanzas(CURRENT, RENDERED, MANAGED)).toEqual([
      'source-directory /etc/network/extra.d',
      'allow-hotplug ens5',
      'auto ens5 ens5.20',
      'iface ens5 inet static\n\taddress 10.9.0.5/24\n\tpost-up ip route add 10.10.0.0/16 via 10.9.0.1',
      'iface ens5.20 inet manual\n\tvlan-raw-device ens5',
      'mapping eth9\n\tscript /usr/local/bin/map',
    ]);
  });

  it('puts them after the rendered file under a comment that says so, and is idempotent', () => {
    const merged = mergeInterfaces(CURRENT, RENDERED, MANAGED);
    expect(merged.startsWith(RENDERED)).toBe(true);
    expect(merged).toContain(`\n${KEPT_HEADER}\n`);
    expect(merged).not.toContain('iface ens3');
    expect(merged).not.toContain('198.19.1.1');
    expect(mergeInterfaces(merged, RENDERED, MANAGED)).toBe(merged);
  });

  it('leaves the rendered file as it is when nothing is foreign, or there was no file', () => {
    const lab = 'source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\nauto ens3\niface ens3 inet static\n\taddress 198.18.1.1/24\nauto ens4\niface ens4 inet static\n\taddress 198.19.1.1/24\n';
    expect(mergeInterfaces(lab, RENDERED, MANAGED)).toBe(RENDERED);
    expect(mergeInterfaces(null, RENDERED, MANAGED)).toBe(RENDERED);
  });

  it('shows in the plan what is kept (context) and what is replaced (removed lines)', () => {
    const loaded = loadSite();
    const plan = planCluster(loaded.answers, [labFacts(1), labFacts(2)], { file: 'site.yaml' });
    const file = plan.nodes[0]!.files.find((f) => f.path === '/etc/network/interfaces')!;
    expect(file.managedInterfaces).toEqual(['lo', 'ens3', 'br0', 'ens4']);
    const comparison = comparePlan(plan, [new Map([['/etc/network/interfaces', CURRENT]]), new Map()]);
    const hv1 = comparison.nodes[0]!.files.find((f) => f.path === '/etc/network/interfaces')!;
    expect(hv1.change).toBe('change');
    expect(hv1.desired).toContain('iface ens5 inet static\n\taddress 10.9.0.5/24');
    expect(hv1.diff).toContain('-iface ens3 inet6 auto');
    expect(hv1.diff).toContain(`+${KEPT_HEADER}`);
  });
});
