/**
 * The guests step's plan on the lab's two nodes: a new guest from nothing (the domain XML first,
 * its volumes, the definitions, the import, the start), a guest in place (nothing), a running guest
 * whose definition changed (defined again, a warning, not restarted), an import cut short (written
 * again), an existing disk not made by an import (left alone, said so), and the refusals: libvirtd
 * down, no CPU model common to the holders.
 */
import { describe, expect, it } from 'vitest';
import { changeSummary } from '../../../installer/engine/change.js';
import { StepRefusedError } from '../../../installer/engine/steps/step.js';
import { resourceFile } from '../../../installer/engine/volumes.js';
import { guestModels, type GuestModel } from '../../../installer/plan/guest-model.js';
import type { ClusterPlan } from '../../../installer/plan/types.js';
import { TemplateEnvironment } from '../../../installer/render/environment.js';
import { guestDomainModel } from '../../../installer/plan/guest-model.js';
import { inputOf, kindOf, labPlan, type CaseNode } from './harness.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const SHA = 'c'.repeat(64);
const IMAGE = '/srv/images/web.qcow2';

/** web: one 64 MiB disk from a qcow2 image, started on hv1 (ha: under Pacemaker; absent: to be removed, its disks on both nodes). */
function webModel(ha = false, state: 'present' | 'absent' = 'present'): GuestModel {
  const { answers } = labPlan();
  const withGuest = { ...answers, spec: { ...answers.spec, guests: [{ name: 'web', vcpus: 1, memory: 128, disks: [{ image: IMAGE }], nics: [{}], autostart: true, boot: ['hd'], machine: 'q35', state, ha }] } } as unknown as typeof answers;
  return guestModels({ answers: withGuest, major: '8.4', freeMiB: { hv1: 1000, hv2: 1000 }, existingHolders: state === 'absent' ? { web: ['hv1', 'hv2'] } : {}, imageSizeMiB: { [IMAGE]: 64 }, imageFormat: { [IMAGE]: 'qcow2' } })[0]!;
}

const withGuests = (guests: GuestModel[]) => (plan: ClusterPlan) => {
  plan.guests = guests;
};

/** What guest-state.sh prints on a node with libvirt, the given domains and files. */
function guestRead(options: { domain?: string; files?: Record<string, string>; hostModel?: string; usable?: string[]; libvirt?: boolean } = {}): string {
  const files = Object.entries(options.files ?? {}).flatMap(([name, content]) => [`file ${name}`, b64(content), 'end']);
  return [
    ...files,
    'virsh yes',
    `libvirt ${options.libvirt === false ? 'no' : 'yes'}`,
    `domains ${options.domain && options.domain !== 'absent' ? 'web' : ''}`,
    `domain web ${options.domain ?? 'absent'} ${options.domain && options.domain !== 'absent' ? 'no' : '-'}`,
    `cpu host-model ${options.hostModel ?? 'EPYC-Rome'}`,
    `cpu usable ${(options.usable ?? ['qemu64', 'EPYC', 'EPYC-Rome']).join(' ')}`,
  ].join('\n');
}

/** volume-state.sh's output for web-disk0: absent, or in place (up, connected, UpToDate) with its file. */
function volumeRead(inPlace: boolean, role = 'Secondary'): string {
  if (!inPlace) return ['lv web-disk0 absent', 'state web-disk0 - - -', 'md web-disk0 -'].join('\n');
  const { plan } = labPlan();
  const file = resourceFile({ name: 'web-disk0', major: '8.4', minor: 0, port: 7788, device: '/dev/drbd0', disk: '/dev/hvdata/web-disk0', hosts: plan.nodes.map((n) => ({ name: n.name, nodeId: n.model.node.nodeId, address: n.model.node.replication.address })), allowTwoPrimaries: false });
  return ['lv web-disk0 present', `state web-disk0 Connected UpToDate/UpToDate ${role}/${role === 'Primary' ? 'Secondary' : 'Primary'}`, 'md web-disk0 -', 'res web-disk0.res', b64(file.content), 'end'].join('\n');
}

/** The domain XML the step writes for web (minor 0, on both nodes, the common host model). */
function webXml(cpu = 'EPYC-Rome', ha = false): string {
  const { plan } = labPlan();
  return new TemplateEnvironment().render('guest-domain.xml.hbs', guestDomainModel(plan.cluster, webModel(ha), ['/dev/drbd0'], cpu));
}

function planOf(nodes: CaseNode[]) {
  const input = inputOf('guests', nodes, { edit: withGuests([webModel()]) });
  return kindOf('guests').plan(input);
}

const lines = (plan: ReturnType<typeof planOf>) => plan.changes.map((c) => `${c.server}: ${changeSummary(c).description}`);

describe('the guests step plan', () => {
  it('a new guest: its XML on both nodes first, its volume, defined on both, the image imported on its preferred node, then started there', () => {
    const plan = planOf(['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead(), volumes: volumeRead(false) } })));
    expect(lines(plan)).toEqual([
      'hv1: write /etc/hvcluster/guests/web.xml (the domain of guest web)',
      'hv2: write /etc/hvcluster/guests/web.xml (the domain of guest web)',
      'hv1: create logical volume hvdata/web-disk0 (66 MiB)',
      'hv1: write /etc/drbd.d/web-disk0.res (DRBD resource web-disk0)',
      'hv1: create DRBD metadata for web-disk0 on /dev/hvdata/web-disk0',
      'hv2: create logical volume hvdata/web-disk0 (66 MiB)',
      'hv2: write /etc/drbd.d/web-disk0.res (DRBD resource web-disk0)',
      'hv2: create DRBD metadata for web-disk0 on /dev/hvdata/web-disk0',
      'hv1: bring up DRBD resource web-disk0',
      'hv2: bring up DRBD resource web-disk0',
      expect.stringMatching(/^hv1: start replication of web-disk0: skip the initial sync if/),
      'hv1: return web-disk0 to secondary on hv1',
      'hv1: define guest web in libvirt (1 vCPU, 128 MiB, 1 disk(s))',
      'hv2: define guest web in libvirt (1 vCPU, 128 MiB, 1 disk(s))',
      `hv1: import ${IMAGE} (qcow2, 64 MiB) into web-disk0 (/dev/drbd0) on hv1, checked by sha256`,
      'hv1: start guest web on hv1 (its preferred node)',
    ]);
    const xml = plan.changes[0]!.actions[0] as { content: string };
    expect(xml.content).toBe(webXml());
    expect(xml.content).toContain("<source dev='/dev/drbd0'/>");
    expect(xml.content).toContain('<model fallback=\'forbid\'>EPYC-Rome</model>');
    expect(changeSummary(plan.changes.at(-1)!).actions).toEqual(['drbdadm primary web-disk0', 'virsh start web']);
  });

  it('a guest in place (volume up, XML the same, defined, running, imported): nothing to do', () => {
    const files = { 'web.xml': webXml(), 'web-disk0.import': `done ${SHA}\n` };
    const plan = planOf([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'running', files }), volumes: volumeRead(true, 'Primary') } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } },
    ]);
    expect(plan.changes).toEqual([]);
    expect(plan.notes).toEqual([]);
  });

  it('a running guest whose definition changed: written and defined again on both, a warning that it applies at its next start, no restart', () => {
    const files = { 'web.xml': webXml().replace('128', '64'), 'web-disk0.import': `done ${SHA}\n` };
    const plan = planOf([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'running', files }), volumes: volumeRead(true, 'Primary') } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } },
    ]);
    expect(lines(plan)).toEqual([
      'hv1: write /etc/hvcluster/guests/web.xml (the domain of guest web)',
      'hv2: write /etc/hvcluster/guests/web.xml (the domain of guest web)',
      'hv1: define guest web in libvirt (1 vCPU, 128 MiB, 1 disk(s))',
      'hv2: define guest web in libvirt (1 vCPU, 128 MiB, 1 disk(s))',
    ]);
    expect(plan.notes).toEqual([{ level: 'warn', text: 'hv1: guest web runs with its earlier definition; the new one (/etc/hvcluster/guests/web.xml) takes effect when it is next started' }]);
  });

  it('a guest stopped with `guest stop` (its mark on a holder) is left stopped, and said so', () => {
    const files = { 'web.xml': webXml(), 'web-disk0.import': `done ${SHA}\n`, 'web.stopped': 'stopped by hvcluster guest stop\n' };
    const plan = planOf(['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } })));
    expect(plan.changes).toEqual([]);
    expect(plan.notes).toEqual([{ level: 'info', text: 'guest web is not started: it was stopped with `hvcluster guest stop` (/etc/hvcluster/guests/web.stopped on hv1, hv2); `hvcluster guest start web` starts it' }]);
  });

  it('an import cut short (its record says pending) is written again before the guest starts', () => {
    const files = { 'web.xml': webXml(), 'web-disk0.import': 'pending\n' };
    const plan = planOf([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } },
    ]);
    expect(lines(plan)).toEqual([`hv1: import ${IMAGE} (qcow2, 64 MiB) into web-disk0 (/dev/drbd0) on hv1, checked by sha256`, 'hv1: start guest web on hv1 (its preferred node)']);
  });

  it("an import record on another holder counts: pending there is written again, done there is done", () => {
    const xml = { 'web.xml': webXml() };
    const pendingOnHv2 = planOf([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'shut-off', files: xml }), volumes: volumeRead(true) } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off', files: { ...xml, 'web-disk0.import': 'pending\n' } }), volumes: volumeRead(true) } },
    ]);
    expect(lines(pendingOnHv2)[0]).toMatch(/^hv1: import \/srv\/images\/web.qcow2/);
    const doneOnHv2 = planOf([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'shut-off', files: { ...xml, 'web-disk0.import': 'pending\n' } }), volumes: volumeRead(true) } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'running', files: { ...xml, 'web-disk0.import': `done ${SHA}\n` } }), volumes: volumeRead(true, 'Primary') } },
    ]);
    expect(doneOnHv2.changes).toEqual([]);
  });

  it('an import cut short while the guest runs is refused: the image is never written under a running guest', () => {
    const files = { 'web.xml': webXml(), 'web-disk0.import': 'pending\n' };
    const plan = () =>
      planOf([
        { name: 'hv1', reads: { guests: guestRead({ domain: 'running', files }), volumes: volumeRead(true, 'Primary') } },
        { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } },
      ]);
    expect(plan).toThrow(StepRefusedError);
    expect(plan).toThrow(/the import of \/srv\/images\/web.qcow2 into web-disk0 did not finish, and guest web runs on hv1/);
  });

  it('a disk that exists without an import record holds data of its own: not overwritten, and said so', () => {
    const files = { 'web.xml': webXml() };
    const plan = planOf([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'running', files }), volumes: volumeRead(true, 'Primary') } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } },
    ]);
    expect(plan.changes).toEqual([]);
    expect(plan.notes).toEqual([{ level: 'info', text: `guest web: web-disk0 already holds data (made before this run, not by an import): ${IMAGE} is not written into it` }]);
  });

  it('holders with different host CPU models: the newest model both can run', () => {
    const plan = planOf([
      { name: 'hv1', reads: { guests: guestRead({ hostModel: 'EPYC-Milan', usable: ['qemu64', 'EPYC', 'EPYC-Rome', 'EPYC-Milan'] }), volumes: volumeRead(false) } },
      { name: 'hv2', reads: { guests: guestRead({ hostModel: 'EPYC-Rome', usable: ['qemu64', 'EPYC', 'EPYC-Rome'] }), volumes: volumeRead(false) } },
    ]);
    expect((plan.changes[0]!.actions[0] as { content: string }).content).toBe(webXml('EPYC-Rome'));
  });

  it('refuses when no CPU model is common to the holders, or libvirtd does not answer', () => {
    const noCommon = () =>
      planOf([
        { name: 'hv1', reads: { guests: guestRead({ hostModel: 'EPYC-Rome', usable: ['EPYC-Rome'] }), volumes: volumeRead(false) } },
        { name: 'hv2', reads: { guests: guestRead({ hostModel: 'Skylake-Server', usable: ['Skylake-Server'] }), volumes: volumeRead(false) } },
      ]);
    expect(noCommon).toThrow(/no CPU model is offered by every node holding guest web \(hv1: EPYC-Rome; hv2: Skylake-Server\)/);
    const down = () =>
      planOf([
        { name: 'hv1', reads: { guests: guestRead(), volumes: volumeRead(false) } },
        { name: 'hv2', reads: { guests: guestRead({ libvirt: false }), volumes: volumeRead(false) } },
      ]);
    expect(down).toThrow(/hv2: step "guests": libvirtd does not answer/);
  });
});

describe('the guests step plan for a guest under Pacemaker', () => {
  // The step needs of the HA plan only that there is one, and its timing profile.
  const haPlan = (plan: ClusterPlan) => {
    plan.guests = [webModel(true)];
    plan.ha = { timing: { profile: 'emulated' } } as unknown as NonNullable<ClusterPlan['ha']>;
  };
  const planHa = (nodes: CaseNode[]) => kindOf('guests').plan(inputOf('guests', nodes, { edit: haPlan }));
  const cib = (xml: string) => ({ state: 'active', xml: `<configuration><resources>${xml}</resources><constraints/></configuration>` });
  const EMPTY = cib('');

  it('a new HA guest: made and imported like any other, never defined in libvirt nor started by hvcluster, handed to Pacemaker and waited for', () => {
    const plan = planHa(['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead(), volumes: volumeRead(false), cib: EMPTY } })));
    const all = lines(plan);
    expect(all.filter((l) => /define guest|start guest/.test(l))).toEqual([]);
    expect(all.at(-2)).toBe(`hv1: import ${IMAGE} (qcow2, 64 MiB) into web-disk0 (/dev/drbd0) on hv1, checked by sha256`);
    expect(all.at(-1)).toBe('hv1: hand guest web to Pacemaker (drbd-web-disk0-clone, vm-web; preferring hv1) and wait until it runs there');
    const actions = changeSummary(plan.changes.at(-1)!).actions;
    expect(actions.filter((a) => a.startsWith('cibadmin --create --scope resources'))).toHaveLength(2);
    expect(actions.filter((a) => a.startsWith('cibadmin --create --scope constraints'))).toHaveLength(3);
    expect(actions.slice(-2)).toEqual(['resource-started.sh vm-web 300', 'cib-remove.sh vm-web-placed-on-hv1']);
    // VirtualDomain runs it from the XML apply wrote on both holders.
    expect(actions.find((a) => a.includes('VirtualDomain'))).toContain('/etc/hvcluster/guests/web.xml');
  });

  it('declared `autostart: false`: handed to Pacemaker stopped (target-role Stopped), with no placement and no wait', () => {
    const stoppedPlan = (plan: ClusterPlan) => {
      plan.guests = [{ ...webModel(true), autostart: false }];
      plan.ha = { timing: { profile: 'emulated' } } as unknown as NonNullable<ClusterPlan['ha']>;
    };
    const plan = kindOf('guests').plan(inputOf('guests', ['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead(), volumes: volumeRead(false), cib: EMPTY } })), { edit: stoppedPlan }));
    expect(lines(plan).at(-1)).toBe('hv1: hand guest web to Pacemaker (drbd-web-disk0-clone, vm-web) stopped (autostart: false; `hvcluster guest start web` starts it)');
    const actions = changeSummary(plan.changes.at(-1)!).actions;
    expect(actions.every((a) => a.startsWith('cibadmin --create'))).toBe(true);
    expect(actions.filter((a) => a.includes('--scope constraints'))).toHaveLength(2);
    expect(actions.find((a) => a.includes('VirtualDomain'))).toContain('name="target-role" value="Stopped"');
  });

  it('in Pacemaker already: nothing; with some of its objects missing (an apply cut short): the missing ones, said so', () => {
    const files = { 'web.xml': webXml('EPYC-Rome', true), 'web-disk0.import': `done ${SHA}\n` };
    // In place: its placement was removed once it ran.
    const ids = ['drbd-web-disk0-clone', 'drbd-web-disk0', 'vm-web', 'vm-web-with-drbd-web-disk0', 'vm-web-after-drbd-web-disk0'];
    const present = (keep: string[]) => cib(keep.map((id) => `<primitive id="${id}"/>`).join(''));
    const nodes = (c: ReturnType<typeof cib>): CaseNode[] => [
      { name: 'hv1', reads: { guests: guestRead({ domain: 'running', files }), volumes: volumeRead(true, 'Primary'), cib: c } },
      { name: 'hv2', reads: { guests: guestRead({ files }), volumes: volumeRead(true), cib: c } },
    ];
    expect(planHa(nodes(present(ids))).changes).toEqual([]);
    const partial = planHa(nodes(present(ids.slice(0, 3))));
    expect(lines(partial)).toEqual(['hv1: hand guest web to Pacemaker (drbd-web-disk0-clone, vm-web; preferring hv1) and wait until it runs there']);
    expect(changeSummary(partial.changes[0]!).actions.filter((a) => a.startsWith('cibadmin'))).toHaveLength(3);
    expect(partial.notes).toEqual([{ level: 'info', text: 'guest web: 2 of its 4 Pacemaker objects are missing (an apply that did not finish): they are created' }]);
  });

  it('refuses when Pacemaker answers on no node', () => {
    const down = () => planHa(['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead(), volumes: volumeRead(false), cib: { state: 'inactive' } } })));
    expect(down).toThrow(StepRefusedError);
    expect(down).toThrow(/guest web is to run under Pacemaker, which answers on no node/);
  });
});

describe('the guests step plan for a guest declared state: absent', () => {
  const planAbsent = (nodes: CaseNode[]) => kindOf('guests').plan(inputOf('guests', nodes, { edit: withGuests([webModel(false, 'absent')]) }));

  it('everything of it removed on each node: definition, DRBD resource, its file and volume, import record, XML; a warning says so', () => {
    const files = { 'web.xml': webXml(), 'web-disk0.import': `done ${SHA}\n`, 'web.stopped': 'x\n' };
    const plan = planAbsent(['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead({ domain: 'shut-off', files }), volumes: volumeRead(true) } })));
    expect(lines(plan)).toEqual(['hv1: remove guest web from hv1 (state: absent): hvdata/web-disk0', 'hv2: remove guest web from hv2 (state: absent): hvdata/web-disk0']);
    expect(changeSummary(plan.changes[0]!).actions).toEqual([
      'domain-undefine.sh web',
      'drbd-down.sh web-disk0',
      'rm -f /etc/drbd.d/web-disk0.res',
      'lvremove -y hvdata/web-disk0',
      'rm -f /etc/hvcluster/guests/web-disk0.import',
      'rm -f /etc/hvcluster/guests/web.xml /etc/hvcluster/guests/web.stopped',
    ]);
    expect(plan.notes).toEqual([{ level: 'warn', text: 'guest web is declared state: absent: its disks and everything else of it are deleted on hv1, hv2' }]);
  });

  it('nothing left of it: no change; running somewhere: refused (stop it first)', () => {
    const gone = planAbsent(['hv1', 'hv2'].map((name) => ({ name, reads: { guests: guestRead(), volumes: volumeRead(false) } })));
    expect(gone.changes).toEqual([]);
    const running = () => planAbsent([
      { name: 'hv1', reads: { guests: guestRead({ domain: 'running' }), volumes: volumeRead(true, 'Primary') } },
      { name: 'hv2', reads: { guests: guestRead({ domain: 'shut-off' }), volumes: volumeRead(true) } },
    ]);
    expect(running).toThrow(StepRefusedError);
    expect(running).toThrow(/guest web is declared state: absent but runs on hv1/);
  });
});

