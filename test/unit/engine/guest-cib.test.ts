import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VM_STOP_TIMEOUT_S, guestCib, guestCibIds } from '../../../installer/engine/ha/guest-cib.js';
import { mayBePromotedOn, promotedOn, runningOn } from '../../../installer/engine/ha/pacemaker.js';
import { haStopGraceS, stoppingOn } from '../../../installer/engine/ha/guest-pacemaker.js';
import { parseXml, descendants } from '../../../installer/facts/parse/xml.js';
import { parseFenceHistory } from '../../../installer/facts/parse/fence-history.js';
import { parseCrmMon } from '../../../installer/facts/parse/crm-mon.js';
import { testGuestIds } from '../../../installer/verify/migration/pacemaker.js';
import { testGuestCibIds } from '../../../installer/verify/migration/leftovers.js';

const input = { name: 'web', drbdResources: ['web'], config: '/var/lib/libvirt/boot/web.xml', holders: ['hv1', 'hv2'], nodes: ['hv1', 'hv2'] };
const meta = (xml: string, id: string) => Object.fromEntries(descendants(parseXml(xml), 'meta_attributes').filter((m) => m.attrs.id === `${id}-meta_attributes`).flatMap((m) => descendants(m, 'nvpair')).map((n) => [n.attrs.name, n.attrs.value]));
const params = (xml: string) => Object.fromEntries(descendants(parseXml(xml), 'instance_attributes').flatMap((m) => descendants(m, 'nvpair')).map((n) => [n.attrs.name, n.attrs.value]));

describe('a guest as Pacemaker objects', () => {
  it('a promotable DRBD clone with one Promoted instance, on the replicas only', () => {
    const { resources, ids } = guestCib(input);
    expect(resources).toHaveLength(2);
    const clone = parseXml(resources[0]!);
    expect(clone.name).toBe('clone');
    expect(meta(resources[0]!, ids.disks[0]!.clone)).toMatchObject({ promotable: 'true', 'promoted-max': '1', 'clone-max': '2', notify: 'true' });
    expect(params(resources[0]!)).toEqual({ drbd_resource: 'web', unfence_if_all_uptodate: 'true' });
    const primitive = descendants(clone, 'primitive')[0]!;
    expect(primitive.attrs).toMatchObject({ id: 'drbd-web', class: 'ocf', provider: 'linbit', type: 'drbd' });
    // Both roles monitored, at different intervals (Pacemaker refuses two monitors with one interval).
    const monitors = descendants(primitive, 'op').filter((o) => o.attrs.name === 'monitor');
    expect(monitors.map((o) => `${o.attrs.role} ${o.attrs.interval}`)).toEqual(['Promoted 29s', 'Unpromoted 31s']);
  });

  it('VirtualDomain migrates live over the replication network, sticks where it runs', () => {
    const { resources, ids } = guestCib(input);
    const vm = parseXml(resources[1]!);
    expect(vm.attrs).toMatchObject({ id: 'vm-web', provider: 'heartbeat', type: 'VirtualDomain' });
    expect(params(resources[1]!)).toEqual({
      config: '/var/lib/libvirt/boot/web.xml',
      hypervisor: 'qemu:///system',
      remoteuri: 'qemu+ssh://%n-repl/system',
      // No utilization written into the CIB on every monitor (no placement-strategy uses it).
      autoset_utilization_cpu: 'false',
      autoset_utilization_host_memory: 'false',
      autoset_utilization_hv_memory: 'false',
    });
    expect(meta(resources[1]!, ids.vm)).toEqual({ 'allow-migrate': 'true', 'resource-stickiness': '100' });
    // Declared `autostart: false`: made stopped.
    expect(meta(guestCib({ ...input, stopped: true }).resources[1]!, ids.vm)).toEqual({ 'allow-migrate': 'true', 'resource-stickiness': '100', 'target-role': 'Stopped' });
    expect(descendants(vm, 'op').map((o) => o.attrs.name)).toEqual(['monitor', 'start', 'stop', 'migrate_to', 'migrate_from']);
  });

  it('the guest only with its Promoted disk, after the promotion; the emulated profile scales timeouts', () => {
    const { constraints } = guestCib({ ...input, timeoutScale: 2 });
    expect(constraints).toHaveLength(2);
    expect(parseXml(constraints[0]!).attrs).toMatchObject({ rsc: 'vm-web', 'with-rsc': 'drbd-web-clone', 'with-rsc-role': 'Promoted', score: 'INFINITY' });
    expect(parseXml(constraints[1]!).attrs).toMatchObject({ first: 'drbd-web-clone', 'first-action': 'promote', then: 'vm-web', 'then-action': 'start', kind: 'Mandatory' });
    const start = descendants(parseXml(guestCib({ ...input, timeoutScale: 2 }).resources[1]!), 'op').find((o) => o.attrs.name === 'start')!;
    expect(start.attrs.timeout).toBe('180s');
  });

  it('on three nodes with two replicas, the third node never runs nor probes the guest or its disk', () => {
    const { constraints, ids } = guestCib({ ...input, nodes: ['hv1', 'hv2', 'hv3'] });
    const avoid = constraints.slice(2).map((c) => parseXml(c).attrs);
    expect(avoid).toEqual([
      { id: 'drbd-web-avoids-hv3', rsc: 'drbd-web-clone', node: 'hv3', score: '-INFINITY', 'resource-discovery': 'never' },
      { id: 'vm-web-avoids-hv3', rsc: 'vm-web', node: 'hv3', score: '-INFINITY', 'resource-discovery': 'never' },
    ]);
    expect(ids.avoids).toEqual(['drbd-web-avoids-hv3', 'vm-web-avoids-hv3']);
    expect(guestCibIds('web', ['web'], ['hv1', 'hv2', 'hv3'], ['hv1', 'hv2']).avoids).toEqual(ids.avoids);
  });

  it('a guest of two disks: a clone per disk, the guest with both Promoted and after both promotions, placed on its node (a constraint removed once it runs)', () => {
    const { resources, constraints, ids } = guestCib({ ...input, name: 'db', drbdResources: ['db-disk0', 'db-disk1'], nodes: ['hv1', 'hv2', 'hv3'], preferredNode: 'hv2' });
    expect(resources.map((r) => parseXml(r).attrs.id)).toEqual(['drbd-db-disk0-clone', 'drbd-db-disk1-clone', 'vm-db']);
    expect(params(resources[1]!)).toMatchObject({ drbd_resource: 'db-disk1' });
    const attrs = constraints.map((c) => parseXml(c).attrs);
    expect(attrs.filter((a) => a['with-rsc-role'] === 'Promoted').map((a) => a['with-rsc'])).toEqual(['drbd-db-disk0-clone', 'drbd-db-disk1-clone']);
    expect(attrs.filter((a) => a['first-action'] === 'promote').map((a) => `${a.first} ${a.then}`)).toEqual(['drbd-db-disk0-clone vm-db', 'drbd-db-disk1-clone vm-db']);
    expect(attrs.find((a) => a.id === 'vm-db-placed-on-hv2')).toEqual({ id: 'vm-db-placed-on-hv2', rsc: 'vm-db', node: 'hv2', score: '1000' });
    expect(ids.placement).toBe('vm-db-placed-on-hv2');
    expect(ids.avoids).toEqual(['drbd-db-disk0-avoids-hv3', 'drbd-db-disk1-avoids-hv3', 'vm-db-avoids-hv3']);
    // Every object has its id in `all`, constraints before the guest, the guest before its clones.
    expect([...ids.all].sort()).toEqual([...resources, ...constraints].map((x) => parseXml(x).attrs.id).sort());
    expect(ids.all.indexOf('vm-db')).toBeGreaterThan(ids.all.indexOf('vm-db-placed-on-hv2'));
    expect(ids.all.indexOf('drbd-db-disk0-clone')).toBeGreaterThan(ids.all.indexOf('vm-db'));
  });

  it("the migration test's clean-up looks for every object the test guest can have", () => {
    const all = testGuestCibIds(['hv1', 'hv2', 'hv3']);
    const ids = testGuestIds(['hv1', 'hv2', 'hv3'], ['hv1', 'hv3']);
    for (const id of [ids.vm, ids.disks[0]!.clone, ids.disks[0]!.colocation, ids.disks[0]!.order, ...ids.avoids]) expect(all).toContain(id);
    expect(all).toEqual(expect.arrayContaining(ids.all));
  });
});

describe("Pacemaker's state as the installer reads it", () => {
  it('where a guest runs and where its disk is Promoted (crm_mon 2.1.5 XML, elements as the lab prints them)', () => {
    const xml = `<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml"><summary/><nodes/><resources>
      <clone id="drbd-web-clone" multi_state="true" unique="false" maintenance="false" managed="true" disabled="false" failed="false" failure_ignored="false">
        <resource id="drbd-web" resource_agent="ocf:linbit:drbd" role="Promoted" active="true" orphaned="false" blocked="false" maintenance="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1"><node name="hv2" id="2" cached="true"/></resource>
        <resource id="drbd-web" resource_agent="ocf:linbit:drbd" role="Unpromoted" active="true" orphaned="false" blocked="false" maintenance="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1"><node name="hv1" id="1" cached="true"/></resource>
      </clone>
      <resource id="vm-web" resource_agent="ocf:heartbeat:VirtualDomain" role="Started" active="true" orphaned="false" blocked="false" maintenance="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1"><node name="hv2" id="2" cached="true"/></resource>
    </resources></pacemaker-result>`;
    const status = parseCrmMon(xml);
    expect(promotedOn(status, 'drbd-web')).toEqual(['hv2']);
    expect(runningOn(status, 'drbd-web').sort()).toEqual(['hv1', 'hv2']);
    expect(runningOn(status, 'vm-web')).toEqual(['hv2']);
    expect(runningOn(status, 'vm-other')).toEqual([]);
    // A clone by its own id: where its instances run (apply's removal waits on the ids it deletes,
    // clones included, before it deletes them and the DRBD resources under them).
    expect(runningOn(status, 'drbd-web-clone').sort()).toEqual(['hv1', 'hv2']);
    expect(mayBePromotedOn(status, 'drbd-web')).toEqual(['hv2']);
  });

  it('a disk being demoted still counts as possibly Primary (crm_mon while the demote runs, captured on the lab)', () => {
    // After promoted-max went back to 1, crm_mon showed hv1 Demoting: DRBD there was still Primary
    // and refused to forbid two primaries. The close of the window waits until no node is Demoting.
    const xml = `<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml"><summary/><nodes/><resources>
      <clone id="drbd-hvc-migtest-clone" multi_state="true" unique="false" managed="true" disabled="false" failed="false" failure_ignored="false">
        <resource id="drbd-hvc-migtest" resource_agent="ocf:linbit:drbd" role="Demoting" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1"><node name="hv1" id="1" cached="true"/></resource>
        <resource id="drbd-hvc-migtest" resource_agent="ocf:linbit:drbd" role="Promoted" active="true" orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1"><node name="hv2" id="2" cached="true"/></resource>
      </clone>
    </resources></pacemaker-result>`;
    const status = parseCrmMon(xml);
    expect(promotedOn(status, 'drbd-hvc-migtest')).toEqual(['hv2']);
    expect(mayBePromotedOn(status, 'drbd-hvc-migtest').sort()).toEqual(['hv1', 'hv2']);
  });

  it('a guest being stopped: where its stop runs (the pending role crm_mon shows while VirtualDomain waits for the shutdown)', () => {
    const xml = `<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml"><summary/><nodes/><resources>
      <resource id="vm-web" resource_agent="ocf:heartbeat:VirtualDomain" role="Stopping" target_role="Stopped" active="true" orphaned="false" blocked="false" maintenance="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1" pending="Stopping"><node name="hv2" id="2" cached="true"/></resource>
      <resource id="vm-db" resource_agent="ocf:heartbeat:VirtualDomain" role="Started" active="true" orphaned="false" blocked="false" maintenance="false" managed="true" failed="false" failure_ignored="false" nodes_running_on="1"><node name="hv1" id="1" cached="true"/></resource>
    </resources></pacemaker-result>`;
    const status = parseCrmMon(xml);
    expect(stoppingOn(status, 'vm-web')).toBe('hv2');
    expect(runningOn(status, 'vm-web')).toEqual(['hv2']);
    expect(stoppingOn(status, 'vm-db')).toBeUndefined();
    expect(stoppingOn(status, 'vm-none')).toBeUndefined();
  });

  it("guest stop's grace under Pacemaker: the operator's --timeout, at most 30 s short of VirtualDomain's stop timeout", () => {
    expect(haStopGraceS(120, 1)).toBe(VM_STOP_TIMEOUT_S - 30);
    expect(haStopGraceS(20, 1)).toBe(20);
    expect(haStopGraceS(120, 2)).toBe(120);
    expect(haStopGraceS(600, 2)).toBe(2 * VM_STOP_TIMEOUT_S - 30);
    expect(haStopGraceS(0, 1)).toBe(0);
  });

  it('a fencing history (stonith_admin --history --verbose, captured on the lab after a failover)', () => {
    const events = parseFenceHistory(readFileSync(new URL('../../fixtures/ha/stonith-history-success.xml', import.meta.url), 'utf8'));
    expect(events).toEqual([{ target: 'hv1', action: 'reboot', status: 'success', origin: 'hv2', delegate: 'hv2', completed: '2026-12-06 04:59:41Z', exitReason: null }]);
  });
});

describe('a test guest', () => {
  it('is destroyed at once when stopped (it has nothing to shut down)', () => {
    expect(params(guestCib({ ...input, forceStop: true }).resources[1]!).force_stop).toBe('true');
    expect(params(guestCib(input).resources[1]!).force_stop).toBeUndefined();
  });
});
