/**
 * verify's HA checks on real output of a 2-node + witness Pacemaker/Corosync cluster (DRBD 8.4,
 * fence_ipmilan against the lab's simulated BMCs), captured healthy and in failure states
 * (test/fixtures/verify/ha/): each check passes on the healthy capture and reports the right failure
 * on each broken one; small edits make the states the lab could not (two_node, a disagreeing Primary).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { evaluate } from '../../../installer/verify/evaluate.js';
import { parseCib, parseCrmMon, parseQuorumtool } from '../../../installer/verify/parse-ha.js';
import { probePlan, probeScript } from '../../../installer/verify/probes.js';
import { observe } from '../../../installer/verify/verify-cluster.js';
import { fakeConnection } from '../../helpers/fake-connection.js';
import { parseXml } from '../../../installer/facts/parse/xml.js';
import { answers, fixture, input } from './helpers.js';
import { byCode, HA_CODES, HA_STATES, haAnswers, haInput, haResults } from './ha-helpers.js';

const statuses = (results: ReturnType<typeof haResults>, code: string) => byCode(results, code).map((r) => `${r.server}:${r.status}`);

describe('HA checks: healthy cluster', () => {
  const results = haResults('healthy');

  it('reports every HA code, and every one passes (the watchdog level is not configured: skipped, saying what that means)', () => {
    expect([...new Set(results.map((r) => r.code))].sort()).toEqual([...HA_CODES].sort());
    expect(results.filter((r) => r.status !== 'pass' && r.code !== 'HA_WATCHDOG').map((r) => `${r.code} ${r.server}: ${r.found}`)).toEqual([]);
    expect(byCode(results, 'HA_WATCHDOG')[0]).toMatchObject({ status: 'skipped', found: expect.stringContaining('a node whose BMC is dead stays unfenced until an operator confirms it off') });
  });

  it('per node: services, members, quorum, qdevice, two_node, links, fence device, DRBD fencing', () => {
    for (const code of ['HA_SERVICES', 'HA_MEMBERS', 'HA_QUORUM', 'HA_QDEVICE', 'HA_NO_TWO_NODE', 'HA_LINKS', 'HA_STONITH_DEVICES', 'HA_DRBD_FENCING']) {
      expect(statuses(results, code), code).toEqual(['hv1:pass', 'hv2:pass']);
    }
    expect(byCode(results, 'HA_QUORUM', 'hv1')[0]!.found).toBe('quorate, 3 of 3 votes (quorum 2)');
    expect(byCode(results, 'HA_QDEVICE', 'hv1')[0]!.found).toContain('connected to 198.18.1.10:5403');
    expect(byCode(results, 'HA_QDEVICE', 'hv1')[0]!.found).toContain('TLS off (lab only)');
    expect(byCode(results, 'HA_STONITH_DEVICES', 'hv1')[0]!.found).toBe('fence-hv1 (fence_ipmilan 198.19.251.1:623, cipher 3) Started on hv2');
    expect(byCode(results, 'HA_LINKS', 'hv2')[0]!.found).toBe('link 0 198.19.1.2: all connected; link 1 198.18.1.2: all connected');
  });

  it('every report prints the effective token and stonith-timeout', () => {
    const t = byCode(results, 'HA_TIMING')[0]!;
    expect(t.status).toBe('pass');
    expect(t.found).toBe('emulated timing: token 10000 ms, stonith-timeout 180 s');
    expect(t.data).toMatchObject({ timing: 'emulated', tokenMs: 10000, stonithTimeoutSeconds: 180 });
  });

  it('Pacemaker promoted r0 where DRBD has it Primary', () => {
    expect(byCode(results, 'HA_PRIMARY_AGREEMENT')[0]!.found).toBe('r0: Primary on hv2, as Pacemaker promoted it');
  });
});

describe('HA checks: only with ha in the answer file', () => {
  it('an answer file without ha reports no HA result, and its probe script reads nothing of the cluster stack', () => {
    expect(evaluate(input()).filter((r) => r.code.startsWith('HA_'))).toEqual([]);
    const script = probeScript(probePlan(answers(), 'hv1'));
    expect(script).not.toContain('v-ha');
    // The migration test's leftovers read names no Pacemaker object, so its guarded CIB read never runs.
    expect(script.replace(/\nif \[ -n "\$cibids" \] && command -v cibadmin[^]*?\nfi\n/, '\n')).not.toContain('cibadmin');
    expect(script).toContain("/etc/drbd.d/hvc-migtest.res '' ");
  });

  it('ha.enabled false: none either', () => {
    const off = haInput('healthy', { site: [['  ha:\n', '  ha:\n    enabled: false\n']] });
    expect(evaluate(off).filter((r) => r.code.startsWith('HA_'))).toEqual([]);
  });

  it('with ha, the probe script reads the stack, the CIB through ha-state.sh', () => {
    const script = probeScript(probePlan(haAnswers(), 'hv1'));
    for (const cmd of ['crm_mon -1 --output-as=xml', 'hv_ha cib', 'corosync-quorumtool -s', 'corosync-qdevice-tool -s', 'corosync-cfgtool -s', 'stonith_admin --list-registered', 'drbdsetup show', 'drbdadm dump all']) {
      expect(script).toContain(cmd);
    }
    expect(script).not.toMatch(/hv_cmdt? ha-cib[^\n]*cibadmin/);
  });
});

describe('HA checks: failure states captured on the lab', () => {
  it('witness down (corosync-qnetd stopped): HA_QDEVICE error on both nodes, HA_QUORUM warns of the missing vote', () => {
    const r = haResults('qdevice-down');
    expect(statuses(r, 'HA_QDEVICE')).toEqual(['hv1:error', 'hv2:error']);
    expect(byCode(r, 'HA_QDEVICE', 'hv1')[0]!.found).toBe('the qdevice is not connected to the witness 198.18.1.10:5403: Connect failed');
    expect(statuses(r, 'HA_QUORUM')).toEqual(['hv1:warning', 'hv2:warning']);
    expect(byCode(r, 'HA_QUORUM', 'hv1')[0]!.found).toContain('2 of 3 votes');
    expect(byCode(r, 'HA_QDEVICE', 'hv1')[0]!.fix).toContain('corosync-qnetd');
  });

  it('the qdevice without TLS where the answer file wants it: error (tls off is for the lab only)', () => {
    const r = haResults('healthy', { site: [['tls: "off"', 'tls: "on"']] });
    expect(statuses(r, 'HA_QDEVICE')).toEqual(['hv1:error', 'hv2:error']);
    expect(byCode(r, 'HA_QDEVICE', 'hv1')[0]!.found).toBe('the qdevice runs with tls off, the answer file says on');
  });

  it('a connected qdevice whose vote corosync does not count is an error', () => {
    const r = haResults('healthy', { hv1: [['         0          1            Qdevice', '         0          0            Qdevice (votes 1)']] });
    expect(byCode(r, 'HA_QDEVICE', 'hv1')[0]).toMatchObject({ status: 'error', found: 'the qdevice is connected but corosync counts no vote from it' });
  });

  it('replication NIC down on hv2: HA_LINKS warns on both nodes naming link 0; the fence constraint crm-fence-peer placed is a warning while DRBD is disconnected', () => {
    const r = haResults('link-down');
    expect(statuses(r, 'HA_LINKS')).toEqual(['hv1:warning', 'hv2:warning']);
    expect(byCode(r, 'HA_LINKS', 'hv1')[0]!.found).toBe('hv2 is not connected on link 0 (198.19.1.1): disconnected');
    const c = byCode(r, 'HA_FENCE_CONSTRAINTS');
    expect(c.map((x) => x.status)).toEqual(['warning']);
    expect(c[0]!.found).toContain('drbd-fence-by-handler-r0-ms-r0 is in place');
    // drbdadm refuses the configuration while the replication address is gone: the running policy is still read.
    expect(byCode(r, 'HA_DRBD_FENCING', 'hv2')[0]).toMatchObject({ status: 'warning', subject: 'r0' });
    expect(byCode(r, 'HA_DRBD_FENCING', 'hv2')[0]!.found).toBe(
      'r0: fencing resource-and-stonith in the running resource; the handlers could not be read: drbdadm dump all: exit 10: drbd.d/r0.res:10: in resource r0, on hv2: IP 198.19.1.2 not found on this host.',
    );
  });

  it('both links down to a peer is an error', () => {
    const r = haResults('link-down', { hv1: [['nodeid:          2:\tconnected', 'nodeid:          2:\tdisconnected']] });
    expect(byCode(r, 'HA_LINKS', 'hv1')[0]).toMatchObject({ status: 'error', found: 'hv2 is reachable on no link' });
  });

  it('a drbd-fence-by-handler constraint left while r0 is Connected and UpToDate on both is stale: error', () => {
    const r = haResults('stale-fence-constraint');
    const c = byCode(r, 'HA_FENCE_CONSTRAINTS');
    expect(c.map((x) => x.status)).toEqual(['error']);
    expect(c[0]!.found).toBe('drbd-fence-by-handler-r0-ms-r0 is stale: r0 is Connected and UpToDate on hv1 and hv2, yet the constraint still forbids promoting it elsewhere');
    expect(c[0]!.fix).toContain('crm configure delete drbd-fence-by-handler-r0-ms-r0');
  });

  it('a failed action on a resource that runs again: warning listing it', () => {
    const r = byCode(haResults('failed-action'), 'HA_FAILED_ACTIONS')[0]!;
    expect(r.status).toBe('warning');
    expect(r.found).toContain('dummy_asyncmon_0 on hv1: error (Simulated failure)');
    expect(r.fix).toContain('crm_resource --cleanup');
  });

  it('a fence device with a wrong password: HA_STONITH_DEVICES error for that node only, HA_FAILED_ACTIONS error', () => {
    const r = haResults('fence-wrong-password');
    expect(statuses(r, 'HA_STONITH_DEVICES')).toEqual(['hv1:pass', 'hv2:error']);
    expect(byCode(r, 'HA_STONITH_DEVICES', 'hv2')[0]!.found).toBe('fence-hv2: it is Stopped');
    expect(byCode(r, 'HA_STONITH_DEVICES', 'hv2')[0]!.fix).toBe(
      'the device does not answer: test the BMC with `fence_ipmilan -a 198.19.251.2 -u 623 -l hvadmin -p PASSWORD -P -C 3 -o status` from another node (address, user, the password of bmc.passwordFrom, cipher), fix it (`hvcluster apply` writes the answer file\'s values), then `crm_resource --cleanup --resource fence-hv2`',
    );
    expect(byCode(r, 'HA_FAILED_ACTIONS')[0]).toMatchObject({ status: 'error' });
    expect(byCode(r, 'HA_FAILED_ACTIONS')[0]!.found).toContain('fence-hv2_start_0 on hv1');
  });

  it('stonith-enabled=false: HA_STONITH_ENABLED error', () => {
    const r = byCode(haResults('stonith-disabled'), 'HA_STONITH_ENABLED')[0]!;
    expect(r.status).toBe('error');
    expect(r.found).toContain('stonith-enabled is false');
    expect(r.fix).toContain('crm configure property stonith-enabled=true');
  });

  it('each failure state fails only the checks it concerns (and the failed actions the lab left behind)', () => {
    const failing = (state: (typeof HA_STATES)[number]) => [...new Set(haResults(state).filter((r) => r.status !== 'pass' && r.status !== 'skipped').map((r) => r.code))].sort();
    expect(failing('healthy')).toEqual([]);
    expect(failing('qdevice-down')).toEqual(['HA_QDEVICE', 'HA_QUORUM']);
    expect(failing('stonith-disabled')).toEqual(['HA_STONITH_ENABLED']);
    expect(failing('fence-wrong-password')).toEqual(['HA_FAILED_ACTIONS', 'HA_STONITH_DEVICES']);
    expect(failing('stale-fence-constraint')).toEqual(['HA_FAILED_ACTIONS', 'HA_FENCE_CONSTRAINTS']);
  });
});

describe('HA checks: a node without the cluster stack (before HA is applied)', () => {
  const r = haResults('not-installed');

  it('every check fails with what is missing, none throws or passes by accident', () => {
    expect(statuses(r, 'HA_SERVICES')).toEqual(['hv1:error', 'hv2:error']);
    expect(byCode(r, 'HA_SERVICES', 'hv1')[0]!.found).toBe('corosync is not installed (no unit); corosync-qdevice is not installed (no unit); pacemaker is not installed (no unit)');
    expect(byCode(r, 'HA_MEMBERS', 'hv1')[0]!.found).toMatch(/^Pacemaker does not answer: .*crm_mon/);
    expect(byCode(r, 'HA_QUORUM', 'hv1')[0]!.status).toBe('error');
    expect(byCode(r, 'HA_QDEVICE', 'hv1')[0]!.status).toBe('error');
    expect(byCode(r, 'HA_NO_TWO_NODE', 'hv1')[0]!.found).toBe("could not read Corosync's keys: ha-cmap: exit 127: corosync-cmapctl is not installed (package corosync)");
    expect(byCode(r, 'HA_STONITH_ENABLED')[0]!.found).toContain('could not read the CIB');
    expect(statuses(r, 'HA_STONITH_DEVICES')).toEqual(['hv1:error', 'hv2:error']);
    expect(byCode(r, 'HA_DRBD_FENCING', 'hv1')[0]).toMatchObject({ status: 'pass', found: 'no DRBD resource configured yet' });
    expect(byCode(r, 'HA_TIMING')[0]).toMatchObject({ status: 'warning' });
    expect(byCode(r, 'HA_TIMING')[0]!.found).toContain('token unknown');
    // Nothing disappears: the checks that need the CIB say why they could not run.
    expect([...new Set(r.map((x) => x.code))].sort()).toEqual([...HA_CODES].sort());
    expect(statuses(r, 'HA_PRIMARY_AGREEMENT')).toEqual(['cluster:skipped']);
  });

  it('the probes do not load the DRBD module: drbdsetup show only when /proc/drbd exists', () => {
    expect(fixture('ha/not-installed/hv1.out')).not.toContain('ha-drbd-show');
    expect(probeScript(probePlan(haAnswers(), 'hv1'))).toContain('if [ -r /proc/drbd ]; then hv_cmdt ha-drbd-show 15 drbdsetup show; fi');
  });
});

describe('HA checks: the watchdog level (spec.ha.watchdog)', () => {
  const site: [string | RegExp, string][] = [['    timing: emulated\n', '    timing: emulated\n    watchdog:\n      timeout: 30\n']];
  const levels = ['hv1', 'hv2'].map((n) => `<fencing-level id="fl-${n}-1" target="${n}" index="1" devices="fence-${n}"/><fencing-level id="fl-${n}-2" target="${n}" index="2" devices="watchdog"/>`).join('');
  const inPlace: [string | RegExp, string][] = [
    ['name="have-watchdog" value="false"', 'name="have-watchdog" value="true"'],
    ['<nvpair name="stonith-timeout" value="180s" id="cib-bootstrap-options-stonith-timeout"/>', '<nvpair name="stonith-timeout" value="240s" id="cib-bootstrap-options-stonith-timeout"/><nvpair name="stonith-watchdog-timeout" value="60s" id="cib-bootstrap-options-stonith-watchdog-timeout"/>'],
    ['  </configuration>', `    <fencing-topology>${levels}</fencing-topology>\n  </configuration>`],
    ['pacemaker active enabled\n', 'pacemaker active enabled\nsbd active enabled\n'],
  ];

  it('asked for on a cluster without it: sbd missing on each node, no watchdog in Pacemaker, stonith-timeout short of the watchdog\'s wait', () => {
    const r = haResults('healthy', { site });
    expect(statuses(r, 'HA_SERVICES')).toEqual(['hv1:error', 'hv2:error']);
    expect(byCode(r, 'HA_SERVICES', 'hv1')[0]!.found).toBe('sbd is not installed (no unit)');
    const w = byCode(r, 'HA_WATCHDOG')[0]!;
    expect(w.status).toBe('error');
    expect(w.found).toBe('have-watchdog is false (Pacemaker does not see sbd running); stonith-watchdog-timeout is unset, planned 60s; no fencing level 1 = fence-hv1 for hv1; no fencing level 2 = watchdog for hv1; no fencing level 1 = fence-hv2 for hv2; no fencing level 2 = watchdog for hv2');
    expect(byCode(r, 'HA_TIMING')[0]).toMatchObject({ status: 'warning', found: expect.stringContaining('plans stonith-timeout 240 s (180 s and the watchdog level\'s 60 s)') });
  });

  it('in place: sbd running, have-watchdog, stonith-watchdog-timeout twice the watchdog, each node BMC then watchdog: every check passes', () => {
    const r = haResults('healthy', { site, hv1: inPlace, hv2: inPlace });
    expect(r.filter((x) => x.status !== 'pass').map((x) => `${x.code} ${x.server}: ${x.found}`)).toEqual([]);
    expect(byCode(r, 'HA_WATCHDOG')[0]!.found).toBe('watchdog level in place: sbd seen by Pacemaker, stonith-watchdog-timeout 60s, each node fenced through its BMC, then its watchdog');
    expect(byCode(r, 'HA_SERVICES', 'hv2')[0]!.found).toBe('corosync, corosync-qdevice, pacemaker, sbd active and enabled; drbd.service left to Pacemaker');
  });

  it('left behind without spec.ha.watchdog: a warning (apply removes it)', () => {
    const r = haResults('healthy', { hv1: inPlace, hv2: inPlace });
    const w = byCode(r, 'HA_WATCHDOG')[0]!;
    expect(w.status).toBe('warning');
    expect(w.found).toContain('stonith-watchdog-timeout is 60s without spec.ha.watchdog');
  });
});

describe('HA checks: states made by editing the captures', () => {
  it('two_node on beside the qdevice: HA_NO_TWO_NODE error', () => {
    const r = haResults('healthy', { hv2: [['runtime.votequorum.two_node (u8) = 0', 'runtime.votequorum.two_node (u8) = 1']] });
    expect(statuses(r, 'HA_NO_TWO_NODE')).toEqual(['hv1:pass', 'hv2:error']);
    expect(byCode(r, 'HA_NO_TWO_NODE', 'hv2')[0]!.found).toBe('two_node is on beside a quorum device (net)');
  });

  it('DRBD Primary where Pacemaker did not promote: HA_PRIMARY_AGREEMENT error naming both', () => {
    const r = haResults('healthy', {
      events2: {
        hv1: [['exists resource name:r0 role:Secondary', 'exists resource name:r0 role:Primary']],
      },
    });
    const a = byCode(r, 'HA_PRIMARY_AGREEMENT')[0]!;
    expect(a.status).toBe('error');
    expect(a.found).toBe('r0: Pacemaker promoted it on hv2, DRBD is Primary on hv1, hv2');
  });

  it('fencing not resource-and-stonith in the running resource, or a handler missing: HA_DRBD_FENCING error', () => {
    const policy = haResults('healthy', { hv1: [['fencing         \tresource-and-stonith;', 'fencing         \tresource-only;']] });
    expect(byCode(policy, 'HA_DRBD_FENCING', 'hv1')[0]).toMatchObject({ status: 'error' });
    expect(byCode(policy, 'HA_DRBD_FENCING', 'hv1')[0]!.found).toContain('fencing is resource-only in the running resource');
    const handler = haResults('healthy', { hv2: [['        after-resync-target /usr/lib/drbd/crm-unfence-peer.sh;\n', '']] });
    expect(byCode(handler, 'HA_DRBD_FENCING', 'hv2')[0]!.found).toBe('r0: after-resync-target is not set, planned /usr/lib/drbd/crm-unfence-peer.sh');
  });

  it('pacemaker stopped or drbd.service enabled: HA_SERVICES error', () => {
    const r = haResults('healthy', { hv1: [['pacemaker active enabled', 'pacemaker inactive enabled']], hv2: [['drbd inactive disabled', 'drbd inactive enabled']] });
    expect(byCode(r, 'HA_SERVICES', 'hv1')[0]).toMatchObject({ status: 'error', found: 'pacemaker is inactive' });
    expect(byCode(r, 'HA_SERVICES', 'hv2')[0]!.found).toContain('drbd.service is enabled');
  });

  it('Pacemaker not answering: HA_MEMBERS error with the command\'s message', () => {
    const r = haResults('healthy', { hv1: [[/@@hvc-cmd ha-mon@@\n[\s\S]*?@@hvc-rc ha-mon 0@@/, '@@hvc-cmd ha-mon@@\n\n@@hvc-err@@ crm_mon: Connection to cluster failed: Connection refused\n@@hvc-rc ha-mon 102@@']] });
    expect(byCode(r, 'HA_MEMBERS', 'hv1')[0]!.status).toBe('error');
    expect(byCode(r, 'HA_MEMBERS', 'hv1')[0]!.found).toContain('Connection refused');
    // The CIB and crm_mon are cluster-wide: read from hv2 instead.
    expect(statuses(r, 'HA_STONITH_DEVICES')).toEqual(['hv1:pass', 'hv2:pass']);
  });

  it('a fence device whose BMC address differs from the answer file: error naming the field', () => {
    const r = haResults('healthy', { site: [['address: 198.19.251.2', 'address: 198.19.251.7']] });
    expect(byCode(r, 'HA_STONITH_DEVICES', 'hv2')[0]!.found).toBe('fence-hv2: ip is 198.19.251.2, the answer file says 198.19.251.7');
  });

  it('the production profile on this cluster: HA_TIMING warns and still prints the values', () => {
    const r = byCode(haResults('healthy', { site: [['timing: emulated', 'timing: production']] }), 'HA_TIMING')[0]!;
    expect(r.status).toBe('warning');
    expect(r.found).toBe('production timing: token 10000 ms, stonith-timeout 180 s; the production profile plans token 3000 ms; the production profile plans stonith-timeout 60 s');
  });

  it('no node reachable: no HA result (SSH_REACHABLE reports it)', () => {
    expect(evaluate(haInput('healthy', { unreachable: ['hv1', 'hv2'] })).filter((x) => x.code.startsWith('HA_'))).toEqual([]);
  });

  it('an unreachable node: the other node still reports the cluster-wide checks', () => {
    const r = evaluate(haInput('healthy', { unreachable: ['hv1'] })).filter((x) => x.code.startsWith('HA_'));
    expect(statuses(r, 'HA_STONITH_ENABLED')).toEqual(['cluster:pass']);
    expect(byCode(r, 'HA_QUORUM').map((x) => x.server)).toEqual(['hv2']);
    // r0 is promoted on hv2, which was read: agreement holds. Unreachable hv2: nothing to compare on hv1, no false alarm.
    expect(statuses(r, 'HA_PRIMARY_AGREEMENT')).toEqual(['cluster:pass']);
    const r2 = evaluate(haInput('healthy', { unreachable: ['hv2'] })).filter((x) => x.code === 'HA_PRIMARY_AGREEMENT');
    expect(r2.map((x) => `${x.status}: ${x.found}`)).toEqual(['pass: r0: Primary on no node, as Pacemaker promoted it (compared on hv1 only: the other nodes were not read)']);
  });
});

describe('HA: no fence password anywhere', () => {
  it('the captures hold none: ha-state.sh replaced the values on the node', () => {
    for (const state of HA_STATES.filter((s) => s !== 'not-installed')) {
      for (const n of ['hv1', 'hv2']) {
        const text = fixture(`ha/${state}/${n}.out`);
        expect(text).toContain('<nvpair name="password" value="(redacted)"');
        expect(text).not.toContain('(scrubbed)');
      }
    }
  });

  it('the parsed CIB carries no password parameter, only that one is set', () => {
    const section = fixture('ha/healthy/hv1.out');
    const cib = /@@hvc-cmd ha-cib@@\n([\s\S]*?)\n@@hvc-rc ha-cib/.exec(section)![1]!;
    const parsed = parseCib(cib);
    const fence = parsed.primitives.find((p) => p.id === 'fence-hv1')!;
    expect(fence.hasPassword).toBe(true);
    expect(Object.keys(fence.params).filter((k) => /pass/i.test(k))).toEqual([]);
    expect(fence.params).toMatchObject({ ip: '198.19.251.1', ipport: '623', username: 'hvadmin', lanplus: '1', cipher: '3', pcmk_host_list: 'hv1' });
    expect(JSON.stringify(parsed)).not.toContain('redacted');
  });

  it('with ha, verify reads the servers as secret output (the run log keeps only its size); without, as before', async () => {
    const stdout = fixture('healthy-hv1.out');
    for (const [a, secret] of [[haAnswers(), true], [answers(), undefined]] as const) {
      const conn = fakeConnection({ name: 'hv1', unmatched: stdout });
      const [obs] = await observe(a, [{ name: 'hv1', pinned: true }], new Map([['hv1', conn]]));
      expect(obs!.reachable).toBe(true);
      expect(conn.execs[0]!.options?.secretOutput).toBe(secret);
    }
  });

  it('ha-state.sh cib removes every password value whatever the attribute order, and keeps the exit code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvc-ha-state-'));
    writeFileSync(
      join(dir, 'cibadmin'),
      `#!/bin/sh\ncat <<'X'\n<cib>\n  <nvpair id="f-password" name="password" value="s3cr&amp;t"/>\n  <nvpair value="other-secret" name="passwd" id="f-passwd"/>\n  <nvpair name="ip" value="198.19.251.1" id="f-ip"/>\n</cib>\nX\nexit 3\n`,
    );
    chmodSync(join(dir, 'cibadmin'), 0o755);
    const r = spawnSync('sh', [join(REMOTE_DIR, 'ha-state.sh'), 'cib'], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    expect(r.status).toBe(3);
    expect(r.stdout).not.toContain('s3cr');
    expect(r.stdout).not.toContain('other-secret');
    expect(r.stdout).toContain('<nvpair id="f-password" name="password" value="(redacted)"/>');
    expect(r.stdout).toContain('<nvpair value="(redacted)" name="passwd" id="f-passwd"/>');
    expect(r.stdout).toContain('value="198.19.251.1"');
    expect(readFileSync(join(REMOTE_DIR, 'ha-state.sh'), 'utf8')).toContain('cibadmin --query');
  });
});

describe('HA parsers', () => {
  it('quorumtool: a qdevice that casts no vote', () => {
    const q = parseQuorumtool(/@@hvc-cmd ha-quorum@@\n([\s\S]*?)\n@@hvc-rc/.exec(fixture('ha/qdevice-down/hv1.out'))![1]!);
    expect(q).toMatchObject({ quorate: true, expectedVotes: 3, totalVotes: 2, quorum: 2, qdevice: { votes: 0, configuredVotes: 1 } });
    expect(q.members.map((m) => `${m.nodeId} ${m.name} ${m.qdevice}${m.local ? ' local' : ''}`)).toEqual(['1 hv1 A,NV,NMW local', '2 hv2 A,NV,NMW']);
  });

  it('crm_mon: clone instances with their roles, failures', () => {
    const mon = parseCrmMon(/@@hvc-cmd ha-mon@@\n([\s\S]*?)\n@@hvc-rc/.exec(fixture('ha/fence-wrong-password/hv1.out'))![1]!);
    expect(mon.resources.filter((r) => r.id === 'p-r0').map((r) => `${r.role} ${r.nodes.join()}`)).toEqual(['Promoted hv2', 'Unpromoted hv1']);
    expect(mon.resources.find((r) => r.id === 'fence-hv2')).toMatchObject({ role: 'Stopped', active: false });
    expect(mon.failures.map((f) => f.opKey)).toEqual(['fence-hv2_start_0']);
  });

  it('the XML reader refuses output cut off', () => {
    expect(() => parseXml('<a><b x="1"/>')).toThrow(/not closed/);
    expect(parseXml('<?xml version="1.0"?><a x="&lt;1&amp;"><b/></a>')).toEqual({ name: 'a', attrs: { x: '<1&' }, children: [{ name: 'b', attrs: {}, children: [] }] });
  });
});

describe('the failover drill on these states', () => {
  it('runs on the healthy cluster, and is refused while a member is in standby, saying which', async () => {
    const { failoverTestBlockers } = await import('../../../installer/verify/verify-cluster.js');
    // (the HA checks only: the HA captures hold no DRBD probe, which other checks would report)
    expect(failoverTestBlockers(haResults('healthy'), haInput('healthy'))).toBeNull();
    const standby: [string | RegExp, string][] = [[/(<node name="hv2" id="2" online="true") standby="false"/, '$1 standby="true"']];
    const i = haInput('healthy', { hv1: standby, hv2: standby });
    const checks = haResults('healthy', { hv1: standby, hv2: standby });
    expect(byCode(checks, 'HA_MEMBERS', 'hv1')[0]).toMatchObject({ status: 'warning' });
    expect(failoverTestBlockers(checks, i)).toMatch(/^a cluster member is not fully active \(hv1: .*hv2.*standby.*\); bring it back first \(`crm_standby --node NODE --delete`/);
  });
});
