/**
 * The HA step kinds' pure plans: the CIB objects compared with the live CIB (a second apply
 * changes nothing; a changed BMC password rewrites that device only; Pacemaker not running is a
 * refusal outside a dry run), the fence check's answers and messages, the quorum device's
 * certificate exchange planned only when a node lacks the witness's CA or the cluster's certificate.
 */
import { describe, expect, it } from 'vitest';
import { describeAction } from '../../../installer/engine/change.js';
import { cibObjects, fenceDeviceXml, fencingTopologyXml, locationXml } from '../../../installer/engine/ha/cib.js';
import { parseCibState, parseQdeviceState, parseQnetdState, parseSbdState, systemdHoldsWatchdog, type SbdState } from '../../../installer/engine/ha/state.js';
import { guestDisksInSync, sbdStep } from '../../../installer/engine/steps/sbd.js';
import type { NodeRead } from '../../../installer/guests/moves.js';
import { watchdogIssues } from '../../../installer/plan/watchdog-preflight.js';
import type { PlaybookStep } from '../../../installer/engine/playbook.js';
import { avoidOwnNode, clusterConfigStep, fenceDevice } from '../../../installer/engine/steps/cluster-config.js';
import { fenceCheckStep, fenceRefusal, parseFenceStatus } from '../../../installer/engine/steps/fence-check.js';
import { enrolled, qdeviceStep } from '../../../installer/engine/steps/qdevice.js';
import { StepRefusedError, type NodeInput, type ServerState, type StepInput } from '../../../installer/engine/steps/step.js';
import type { Answers } from '../../../installer/answers/schema.js';
import { planCluster } from '../../../installer/plan/index.js';
import { labFacts, loadSite } from '../plan/helpers.js';

const PASSWORDS = { hv1: 'bmc-secret-1', hv2: 'bmc-secret-2' };

function haAnswers(watchdog = false): Answers {
  const { answers } = loadSite();
  const bmc = (i: 1 | 2) => ({ type: 'ipmi' as const, address: `198.18.251.${i}`, port: 623, user: 'hvfence', passwordFrom: { env: `BMC_${i}` }, cipher: 3, lanplus: true });
  return {
    ...answers,
    spec: {
      ...answers.spec,
      nodes: answers.spec.nodes.map((n, i) => ({ ...n, bmc: bmc(i === 0 ? 1 : 2) })),
      ha: { enabled: true, timing: 'emulated', tls: 'on', witness: { address: '198.18.1.10', port: 22, user: 'root', agent: true, qnetdPort: 5403 }, ...(watchdog ? { watchdog: { device: '/dev/watchdog', timeout: 30 } } : {}) },
    },
  } as Answers;
}

function input(kind: string, reads: Record<string, Record<string, unknown>>, options: { stale?: boolean; passwords?: Record<string, string>; witness?: Record<string, unknown>; watchdog?: boolean } = {}): StepInput {
  const answers = haAnswers(options.watchdog);
  const plan = planCluster(answers, [labFacts(1), labFacts(2)], { drbdSecret: 'a'.repeat(48), corosyncKey: 'K'.repeat(256), bmcPasswords: options.passwords ?? PASSWORDS });
  const nodes: NodeInput[] = plan.nodes.map((node, i) => ({
    node,
    state: { ...(labFacts(i === 0 ? 1 : 2) as ServerState), ...Object.fromEntries(Object.entries(reads[node.name] ?? {}).map(([k, v]) => [k, { ok: true, value: v }])) } as ServerState,
    data: {},
  }));
  const step: PlaybookStep = { name: kind, title: kind, kind };
  return {
    step,
    runId: 'R1',
    dryRun: false,
    answers,
    plan,
    backupDir: '/var/backups/hvcluster/R1',
    self: nodes[0]!,
    nodes,
    ...(options.witness ? { witness: { name: 'witness', state: Object.fromEntries(Object.entries(options.witness).map(([k, v]) => [k, { ok: true, value: v }])) as unknown as ServerState } } : {}),
    stale: options.stale ?? false,
  };
}

/** The configuration section apply would leave: what cibadmin --query prints after it. */
function cibAfterApply(edit: (xml: string) => string = (x) => x, watchdog = false): string {
  const { plan } = { plan: input('cluster-config', {}, { watchdog }).plan };
  const ha = plan.ha!;
  const props = Object.entries(ha.properties).map(([n, v]) => `<nvpair id="cib-bootstrap-options-${n}" name="${n}" value="${v}"/>`).join('');
  const devices = ha.fence.map((f) => fenceDeviceXml(fenceDevice(f, ha))).join('');
  const locations = ha.fence.map((f) => locationXml(avoidOwnNode(f).id, avoidOwnNode(f).location)).join('');
  const topology = ha.watchdog ? fencingTopologyXml(ha.watchdog.levels) : '';
  return edit(`<configuration><crm_config><cluster_property_set id="cib-bootstrap-options"><nvpair id="x" name="dc-version" value="2.1.5"/>${props}</cluster_property_set></crm_config><nodes/><resources>${devices}</resources><constraints>${locations}</constraints>${topology}</configuration>`);
}

describe('cluster-config: the CIB objects hvcluster owns', () => {
  it('on a cluster not configured yet: properties, then each node\'s fence device and the constraint keeping it off that node, on the first node', () => {
    const cib = { state: 'active', xml: '<configuration><crm_config/><nodes/><resources/><constraints/></configuration>' };
    const plan = clusterConfigStep.plan(input('cluster-config', { hv1: { cib }, hv2: { cib } }));
    expect(plan.changes.map((c) => `${c.server}: ${c.description}`)).toEqual([
      'hv1: set cluster properties stonith-enabled=true no-quorum-policy=stop stonith-timeout=180s cluster-name=lab load-threshold=1000%',
      "hv1: fence device fence-hv1: fence_ipmilan through hv1's BMC 198.18.251.1",
      'hv1: keep fence-hv1 off hv1 (a node never fences itself)',
      "hv1: fence device fence-hv2: fence_ipmilan through hv2's BMC 198.18.251.2",
      'hv1: keep fence-hv2 off hv2 (a node never fences itself)',
      'hv1: wait until Pacemaker runs fence-hv1, fence-hv2 (at most 180 s each)',
    ]);
    // Apply ends with the devices it wrote Started (the last change waits for each).
    expect(plan.changes.at(-1)!.actions.map(describeAction)).toEqual(['resource-started.sh fence-hv1 180', 'resource-started.sh fence-hv2 180']);
    const device = plan.changes[1]!;
    const upload = device.actions[0] as { upload: string; content: string; mode: number };
    expect(upload.mode).toBe(0o600);
    expect(upload.content).toContain('name="password" value="bmc-secret-1"');
    expect(upload.content).toContain('name="pcmk_host_list" value="hv1"');
    expect(upload.content).toContain('name="cipher" value="3"');
    expect(upload.content).toContain('name="failure-timeout" value="120s"');
    // What plan lists and logs of it: never the password.
    expect(device.actions.map(describeAction).join('\n')).not.toContain('bmc-secret');
    expect(device.actions.map(describeAction)).toEqual([
      'upload /run/hvcluster-fence-hv1.xml (0600 root:root)',
      'cibadmin --modify --allow-create --scope resources --xml-file /run/hvcluster-fence-hv1.xml',
      'rm -f /run/hvcluster-fence-hv1.xml',
    ]);
  });

  it('changes nothing when the live CIB holds what apply writes (a second apply), whatever else it holds', () => {
    const cib = { state: 'active', xml: cibAfterApply((x) => x.replace('<resources>', '<resources><primitive id="operator-ip" class="ocf" provider="heartbeat" type="IPaddr2"/>')) };
    expect(cibObjects(cib.xml).fenceDevices['fence-hv2']!.params.password).toBe('bmc-secret-2');
    expect(clusterConfigStep.plan(input('cluster-config', { hv1: { cib }, hv2: { cib: { state: 'inactive' } } })).changes).toEqual([]);
  });

  it("rewrites only the device whose BMC password changed in the answer file's secret", () => {
    const cib = { state: 'active', xml: cibAfterApply() };
    const plan = clusterConfigStep.plan(input('cluster-config', { hv1: { cib }, hv2: { cib } }, { passwords: { ...PASSWORDS, hv2: 'rotated' } }));
    expect(plan.changes.map((c) => c.description)).toEqual(["fence device fence-hv2: fence_ipmilan through hv2's BMC 198.18.251.2", 'wait until Pacemaker runs fence-hv2 (at most 180 s each)']);
  });

  it('refuses when Pacemaker runs nowhere (outside a dry run, which plans everything)', () => {
    const reads = { hv1: { cib: { state: 'inactive' } }, hv2: { cib: { state: 'unsettled' } } };
    expect(() => clusterConfigStep.plan(input('cluster-config', reads))).toThrow(StepRefusedError);
    expect(() => clusterConfigStep.plan(input('cluster-config', reads))).toThrow('cannot configure Pacemaker (hv1: Pacemaker is not running, hv2: no controller elected)');
    expect(clusterConfigStep.plan(input('cluster-config', reads, { stale: true })).changes).toHaveLength(6);
  });
});

describe('fence-check: answers of fence-status.sh', () => {
  const target = () => input('fence-check', {}).plan.ha!.fence[1]!;

  it('reads on, off, no agent and failures with the agent\'s error line, not its Python warnings', () => {
    expect(parseFenceStatus('fence hv2 on 0\n')).toEqual({ peer: 'hv2', result: 'on', exit: 0, output: '' });
    expect(parseFenceStatus('fence hv2 off 2\n').result).toBe('off');
    const failed = parseFenceStatus("fence hv2 failed 1\n/usr/sbin/fence_ipmilan:30: DeprecationWarning: 'pipes' is deprecated\n  from pipes import quote\n2026-12-06 01:13:00,532 ERROR: Failed: Unable to obtain correct plug status or plug is not available\n");
    const refusal = fenceRefusal('hv1', target(), failed, 1);
    expect(refusal.message).toBe("hv1 cannot query hv2's BMC 198.18.251.2:623 with fence_ipmilan (exit 1: Failed: Unable to obtain correct plug status or plug is not available)");
    expect(refusal.hint).toContain('spec.nodes[1].bmc (address, port, user, passwordFrom, cipher, lanplus)');
  });

  it('a BMC that says "off" while its node answers SSH belongs to another machine', () => {
    const refusal = fenceRefusal('hv1', target(), parseFenceStatus('fence hv2 off 2'), 1);
    expect(refusal.message).toContain('this BMC belongs to another machine');
    expect(refusal.hint).toContain('spec.nodes[1].bmc.address');
  });

  it('checks every other node from every node, never a node itself', () => {
    const plan = fenceCheckStep.plan(input('fence-check', {})) as unknown as { checks: { from: string; target: { node: string } }[] };
    expect(plan.checks.map((c) => `${c.from} -> ${c.target.node}`)).toEqual(['hv1 -> hv2', 'hv2 -> hv1']);
  });
});


describe('quorum-device: the witness and the certificates', () => {
  const qnetd = { installed: true, enabled: true, active: true, ca: 'Q0E=', clusterCert: true };

  it('changes nothing when every node trusts the witness CA and holds the cluster certificate', () => {
    const ok = { qdevice: { ca: 'Q0E=', client: true } };
    expect(enrolled({ ca: 'Q0E=', client: true }, 'Q0E=')).toBe(true);
    expect(qdeviceStep.plan(input('qdevice', { hv1: ok, hv2: ok }, { witness: { qnetd } })).changes).toEqual([]);
  });

  it('enrols the nodes again when one trusts another CA: request on the first node, signature on the witness, import on the others', () => {
    const plan = qdeviceStep.plan(input('qdevice', { hv1: { qdevice: { ca: 'Q0E=', client: true } }, hv2: { qdevice: { ca: 'T0xE', client: true } } }, { witness: { qnetd } }));
    expect(plan.changes.map((c) => `${c.server}: ${c.description}`)).toEqual([
      "hv1: trust the witness's CA and request the cluster's qdevice certificate",
      'witness: sign the qdevice certificate of cluster lab',
      "hv1: import the cluster's signed qdevice certificate",
      "hv2: trust the witness's CA and import the cluster's qdevice certificate",
    ]);
  });

  it('installs, initialises and starts corosync-qnetd on a bare witness', () => {
    const bare = { installed: false, enabled: false, active: false, ca: null, clusterCert: false };
    const none = { qdevice: { ca: null, client: false } };
    const plan = qdeviceStep.plan(input('qdevice', { hv1: none, hv2: none }, { witness: { qnetd: bare } }));
    expect(plan.changes.slice(0, 3).map((c) => `${c.server}: ${c.description}`)).toEqual([
      'witness: install corosync-qnetd',
      "witness: create the witness's certificate authority",
      'witness: enable and start corosync-qnetd',
    ]);
    expect(plan.changes).toHaveLength(7);
  });
});

describe('HA reads', () => {
  it('parse what the remote scripts print', () => {
    expect(parseCibState('cib inactive\n')).toEqual({ state: 'inactive' });
    expect(parseCibState('cib active\n<configuration/>\n')).toEqual({ state: 'active', xml: '<configuration/>\n' });
    expect(parseQdeviceState('qdevice ca -\nqdevice client no\n')).toEqual({ ca: null, client: false });
    expect(parseQnetdState('qnetd package installed\nqnetd service enabled active\nqnetd ca Q0E=\nqnetd cluster-cert yes\n')).toEqual({ installed: true, enabled: true, active: true, ca: 'Q0E=', clusterCert: true });
  });
});

const SBD_OK: SbdState = { devicePresent: true, identity: 'i6300ESB timer', maxTimeoutS: 2046, holders: [], systemdRuntime: '0', enabled: true, active: true, config: 'current' };
const SBD_NONE: SbdState = { ...SBD_OK, enabled: false, active: false };

describe('the watchdog level (spec.ha.watchdog)', () => {
  /** Each node's reads: its sbd, /etc/default/sbd as planned (what the files step wrote), the CIB. */
  const reads = (sbd: Partial<Record<'hv1' | 'hv2', Partial<SbdState>>>, cib: { state: string; xml?: string }, watchdog = true) => {
    const planned = input('sbd', {}, { watchdog }).plan.nodes;
    const files = (node: string) => new Map([['/etc/default/sbd', planned.find((n) => n.name === node)!.files.find((f) => f.path === '/etc/default/sbd')?.content ?? null]]);
    return Object.fromEntries((['hv1', 'hv2'] as const).map((n) => [n, { sbd: { ...SBD_OK, ...sbd[n] }, files: files(n), cib }]));
  };
  const active = (xml: string) => ({ state: 'active', xml });

  it('plans sbd, its settings, stonith-watchdog-timeout twice its timeout and stonith-timeout raised by it, and the topology BMC then watchdog', () => {
    const plan = input('sbd', {}, { watchdog: true }).plan;
    expect(plan.nodes[0]!.packages).toContain('sbd');
    expect(plan.nodes[0]!.files.find((f) => f.path === '/etc/default/sbd')?.content).toContain('SBD_WATCHDOG_DEV=/dev/watchdog\nSBD_WATCHDOG_TIMEOUT=30\n');
    expect(plan.ha!.properties).toMatchObject({ 'stonith-timeout': '240s', 'stonith-watchdog-timeout': '60s' });
    expect(plan.ha!.watchdog!.levels.map((l) => `${l.id} ${l.target} ${l.index} ${l.devices}`)).toEqual(['fl-hv1-1 hv1 1 fence-hv1', 'fl-hv1-2 hv1 2 watchdog', 'fl-hv2-1 hv2 1 fence-hv2', 'fl-hv2-2 hv2 2 watchdog']);
    // Without it: none of that.
    const plain = input('sbd', {}).plan;
    expect(plain.nodes[0]!.packages).not.toContain('sbd');
    expect(plain.nodes[0]!.files.map((f) => f.path)).not.toContain('/etc/default/sbd');
    expect(plain.ha!.properties['stonith-watchdog-timeout']).toBeUndefined();
  });

  it('sbd step: restarts the stack of each node where sbd is not running as planned, one node after the other; nothing where it is', () => {
    const cib = active(cibAfterApply(undefined, true));
    const plan = sbdStep.plan(input('sbd', reads({ hv1: { enabled: false, active: false }, hv2: { config: 'newer' } }, cib), { watchdog: true }));
    expect(plan.changes.map((c) => `${c.server}: ${c.description}`)).toEqual([
      'hv1: restart the cluster stack on hv1 with sbd (sbd is not enabled), its guests live-migrated to their other node first',
      'hv2: restart the cluster stack on hv2 with sbd (/etc/default/sbd changed after sbd started), its guests live-migrated to their other node first',
    ]);
    expect(plan.changes[0]!.actions.map(describeAction)).toEqual(['cluster-stack-restart.sh with-sbd hv1 yes 300']);
    expect(sbdStep.plan(input('sbd', reads({}, cib), { watchdog: true })).changes).toEqual([]);
  });

  it('sbd step in a dry run: settings the files step would still change count as a restart', () => {
    const r = reads({}, active(cibAfterApply(undefined, true)));
    r.hv2!.files = new Map([['/etc/default/sbd', 'SBD_WATCHDOG_TIMEOUT=10\n']]);
    expect(sbdStep.plan(input('sbd', r, { watchdog: true })).changes.map((c) => c.description)).toEqual([
      'restart the cluster stack on hv2 with sbd (/etc/default/sbd changes), its guests live-migrated to their other node first',
    ]);
  });

  it('sbd step without spec.ha.watchdog: Pacemaker stops counting on the watchdog first, then each node restarts without sbd; nothing on a cluster that never had it', () => {
    const left = active(cibAfterApply(undefined, true));
    const plan = sbdStep.plan(input('sbd', reads({}, left, false)));
    expect(plan.changes.map((c) => `${c.server}: ${c.description}`)).toEqual([
      'hv1: Pacemaker stops counting on the watchdog: stonith-watchdog-timeout and the watchdog fencing levels removed',
      'hv1: restart the cluster stack on hv1 without sbd (spec.ha.watchdog is gone and sbd runs), its guests live-migrated to their other node first',
      'hv2: restart the cluster stack on hv2 without sbd (spec.ha.watchdog is gone and sbd runs), its guests live-migrated to their other node first',
    ]);
    expect(plan.changes[0]!.actions.map(describeAction)).toEqual([
      'cibadmin --delete --scope fencing-topology --xml-text \'<fencing-level id="fl-hv1-1"/>\'',
      'cibadmin --delete --scope fencing-topology --xml-text \'<fencing-level id="fl-hv1-2"/>\'',
      'cibadmin --delete --scope fencing-topology --xml-text \'<fencing-level id="fl-hv2-1"/>\'',
      'cibadmin --delete --scope fencing-topology --xml-text \'<fencing-level id="fl-hv2-2"/>\'',
      'crm_attribute --type crm_config --name stonith-watchdog-timeout --delete',
    ]);
    expect(sbdStep.plan(input('sbd', reads({ hv1: SBD_NONE, hv2: SBD_NONE }, active(cibAfterApply()), false))).changes).toEqual([]);
  });

  it('cluster-config: writes the topology levels that are missing, nothing once they are there', () => {
    const without = active(cibAfterApply((x) => x.replace(/<fencing-topology>.*<\/fencing-topology>/, ''), true));
    const plan = clusterConfigStep.plan(input('cluster-config', { hv1: { cib: without }, hv2: { cib: without } }, { watchdog: true }));
    expect(plan.changes.map((c) => c.description)).toEqual(['fencing topology: hv1 level 1 fence-hv1, hv1 level 2 watchdog, hv2 level 1 fence-hv2, hv2 level 2 watchdog']);
    expect(plan.changes[0]!.actions.map(describeAction)[0]).toContain('cibadmin --modify --allow-create --scope configuration --xml-text \'<fencing-topology><fencing-level id="fl-hv1-1" target="hv1" index="1" devices="fence-hv1"/>');
    const full = active(cibAfterApply(undefined, true));
    expect(cibObjects(full.xml).fencingLevels['fl-hv2-2']).toEqual({ target: 'hv2', index: 2, devices: 'watchdog' });
    expect(clusterConfigStep.plan(input('cluster-config', { hv1: { cib: full }, hv2: { cib: full } }, { watchdog: true })).changes).toEqual([]);
  });

  it('reads sbd-state.sh; systemd holds the watchdog only with a runtime watchdog set', () => {
    expect(parseSbdState('sbd device present\nsbd identity i6300ESB timer\nsbd max-timeout 2046\nsbd holders -\nsbd systemd-runtime 0\nsbd enabled yes\nsbd active yes\nsbd config newer\n')).toEqual({ ...SBD_OK, config: 'newer' });
    expect(parseSbdState('sbd device missing\nsbd identity -\nsbd max-timeout -\nsbd holders 812:watchdog,900:wd_keepalive\nsbd systemd-runtime -\nsbd enabled no\nsbd active no\nsbd config missing\n')).toEqual({
      devicePresent: false, identity: null, maxTimeoutS: null, holders: ['812:watchdog', '900:wd_keepalive'], systemdRuntime: null, enabled: false, active: false, config: 'missing',
    });
    expect([null, '0', 'infinity', '1min', '30s'].map(systemdHoldsWatchdog)).toEqual([false, false, true, true, true]);
  });

  it('preflight: a missing device, one held by another daemon or systemd, a timeout the driver refuses are errors; softdog a warning', () => {
    const answers = haAnswers(true);
    expect(watchdogIssues(answers, [SBD_OK, SBD_OK])).toEqual([]);
    expect(watchdogIssues(haAnswers(false), [{ ...SBD_OK, devicePresent: false }, undefined])).toEqual([]);
    const issues = watchdogIssues(answers, [{ ...SBD_NONE, devicePresent: false }, { ...SBD_NONE, holders: ['812:watchdog'], maxTimeoutS: 20, identity: 'Software Watchdog' }]);
    expect(issues.map((i) => `${i.severity} ${i.path.join('.')}: ${i.message.slice(0, 70)}`)).toEqual([
      'error spec.ha.watchdog.device: no watchdog device /dev/watchdog on hv1: load the driver of its hardwa',
      'error spec.ha.watchdog.device: /dev/watchdog on hv2 is held open by 812:watchdog: a watchdog has one ',
      'error spec.ha.watchdog.timeout: the watchdog of hv2 (Software Watchdog) accepts at most 20 s, less tha',
      'warning spec.ha.watchdog.device: /dev/watchdog on hv2 is softdog, the kernel\'s software watchdog: a hun',
    ]);
    expect(watchdogIssues(answers, [{ ...SBD_OK, systemdRuntime: '1min' }, SBD_OK])[0]!.message).toContain('systemd feeds the hardware watchdog on hv1 (RuntimeWatchdogSec, shown as 1min)');
  });
});

describe("the sbd step's drain", () => {
  it('moves guests only once every guest disk present on a node is Connected and UpToDate on both (a restarted node resyncs first)', () => {
    const answers = { ...haAnswers(true), spec: { ...haAnswers(true).spec, guests: [{ name: 'web', disks: [{ size: 64 }] }] } } as unknown as Answers;
    const node = (cstate: string | null, dstate: string | null, lvPresent = true): NodeRead =>
      ({ guests: {} as NodeRead['guests'], volumes: { byName: new Map([['web-disk0', { lvPresent, state: { cstate, dstate, role: null }, metadata: null }]]), resourceFiles: new Map() } }) as unknown as NodeRead;
    expect(guestDisksInSync(answers, new Map([['hv1', node('Connected', 'UpToDate/UpToDate')], ['hv2', node('Connected', 'UpToDate/UpToDate')]]))).toBe(true);
    expect(guestDisksInSync(answers, new Map([['hv1', node(null, null)], ['hv2', node('WFConnection', 'UpToDate/Outdated')]]))).toBe(false);
    expect(guestDisksInSync(answers, new Map([['hv1', node('SyncSource', 'UpToDate/Inconsistent')], ['hv2', node('SyncTarget', 'Inconsistent/UpToDate')]]))).toBe(false);
    // A node without the guest's volume is not waited for.
    expect(guestDisksInSync(answers, new Map([['hv1', node('Connected', 'UpToDate/UpToDate')], ['hv3', node(null, null, false)]]))).toBe(true);
  });
});
