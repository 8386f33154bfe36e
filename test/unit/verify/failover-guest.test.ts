/**
 * The failover drill on a declared guest (`--failover-test --guest NAME --yes-i-accept-downtime`):
 * the command line's refusals (before connecting), which guests of the answer file and the plan it
 * takes, where the guest runs and who takes it over (crm_mon's view), its agent's ping, and how the
 * results say its downtime instead of its data.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { main } from '../../../installer/cli.js';
import type { CrmStatus } from '../../../installer/facts/parse/crm-mon.js';
import { failoverChecks } from '../../../installer/verify/checks/failover.js';
import { agentPingArgv, declaredPlacement, declaredSubject, drillGuestRefusal, guestDrillUsageError } from '../../../installer/verify/failover/declared-guest.js';
import { failoverTimeline, type FailoverReport } from '../../../installer/verify/failover/drill.js';

const HA_SITE = readFileSync(new URL('../../fixtures/answers/valid/two-nodes-ha.yaml', import.meta.url), 'utf8');
const withGuests = (guests: string) => parseAnswers(`${HA_SITE.trimEnd()}\n  guests:\n${guests}`, 'site.yaml').answers!;

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += String(d)));
  err.on('data', (d) => (e += String(d)));
  return { streams: { stdout: out, stderr: err, env: {}, isTTY: false } as never, out: () => o, err: () => e };
}

describe('--guest on the command line', () => {
  const base = { guest: 'web', fault: 'power-off', yes: true, acceptDowntime: true, failoverNode: undefined };

  it('takes a guest with --failover-test, --yes and --yes-i-accept-downtime', () => {
    expect(guestDrillUsageError(base)).toBeNull();
    expect(guestDrillUsageError({ ...base, guest: undefined, acceptDowntime: false })).toBeNull();
  });

  it('refuses it without the failover drill, without the consent to its downtime, or with --failover-node; and the consent alone', () => {
    expect(guestDrillUsageError({ ...base, fault: undefined })?.message).toBe('--guest web names the guest the failover drill fails over: give --failover-test [FAULT] too');
    const unconsented = guestDrillUsageError({ ...base, acceptDowntime: false })!;
    expect(unconsented.message).toBe('--guest web: the failover drill fails the node where web runs, so web is down until the survivor has fenced that node and restarted it (minutes): confirm with --yes-i-accept-downtime');
    expect(unconsented.hint).toContain('without --guest');
    expect(guestDrillUsageError({ ...base, failoverNode: 'hv2' })?.message).toBe('--guest web and --failover-node hv2: the drill fails the node where web runs; give one of them');
    expect(guestDrillUsageError({ ...base, guest: undefined })?.message).toBe('--yes-i-accept-downtime confirms the downtime of the guest --guest names: give --guest NAME too');
  });

  it('exits 2 before connecting, saying why', async () => {
    const site = new URL('../../fixtures/answers/valid/two-nodes-ha.yaml', import.meta.url).pathname;
    const unconsented = capture();
    expect(await main(['verify', '-f', site, '--failover-test', 'hang', '--guest', 'web', '--yes'], unconsented.streams)).toBe(2);
    expect(unconsented.err()).toContain('--guest web: the failover drill fails the node where web runs');
    const alone = capture();
    expect(await main(['verify', '-f', site, '--guest', 'web', '--yes-i-accept-downtime'], alone.streams)).toBe(2);
    expect(alone.err()).toContain('--guest web names the guest the failover drill fails over');
  });
});

describe('the guests the drill takes', () => {
  const answers = withGuests(['    - { name: web, memory: 1GiB, disks: [{ size: 20GiB }] }', '    - { name: batch, memory: 1GiB, ha: false, disks: [{ size: 20GiB }] }', '    - { name: old, memory: 1GiB, state: absent, disks: [{ size: 20GiB }] }'].join('\n'));

  it('from the answer file: a present guest under Pacemaker; each refusal names the guests it could use', () => {
    expect(drillGuestRefusal(answers, 'web')).toBeNull();
    expect(drillGuestRefusal(answers, 'db')).toEqual({ message: '--guest db: not a guest of spec.guests', hint: 'guests the drill can use: web' });
    expect(drillGuestRefusal(answers, 'batch')?.message).toBe('--guest batch: the guest is not under Pacemaker (ha: false): nothing would restart it on a survivor');
    expect(drillGuestRefusal(answers, 'old')?.message).toBe('--guest old: the guest is declared absent');
    expect(drillGuestRefusal(withGuests('    - { name: batch, memory: 1GiB, ha: false, disks: [{ size: 20GiB }] }'), 'x')?.hint).toMatch(/^no guest of spec.guests is under Pacemaker: drop --guest/);
  });

  it('from the answer file (verify plans no guests): its Pacemaker ids, every disk', () => {
    const two = withGuests(['    - { name: web, memory: 1GiB, disks: [{ size: 20GiB }, { size: 1GiB }] }', '    - { name: batch, memory: 1GiB, ha: false, disks: [{ size: 20GiB }] }'].join('\n'));
    expect(declaredSubject(two, 'web')).toEqual({ name: 'web', vm: 'vm-web', drbd: ['drbd-web-disk0', 'drbd-web-disk1'], resources: ['web-disk0', 'web-disk1'] });
    expect(() => declaredSubject(two, 'batch')).toThrow('--guest batch: the guest is not under Pacemaker (ha: false): nothing would restart it on a survivor (guests the drill can use: web)');
    expect(() => declaredSubject(two, 'db')).toThrow('--guest db: not a guest of spec.guests (guests the drill can use: web)');
  });

  const resource = (id: string, role: string, node: string) => ({ id, agent: 'ocf:heartbeat:VirtualDomain', role, active: true, failed: false, managed: true, blocked: false, nodes: [node], clone: null });
  /** crm_mon: vm-web Started on `vmOn`, each disk's clone on `disksOn` (Promoted where web runs). */
  const status = (vmOn: string[], disksOn: string[][] = [['hv1', 'hv2'], ['hv1', 'hv2']]): CrmStatus =>
    ({
      dc: 'hv2',
      withQuorum: true,
      options: {},
      nodes: [],
      failures: [],
      resources: [
        ...vmOn.map((n) => resource('vm-web', 'Started', n)),
        ...disksOn.flatMap((nodes, d) => nodes.map((n, i) => resource(`drbd-web-disk${d}:${i}`, vmOn.includes(n) ? 'Promoted' : 'Unpromoted', n))),
      ],
    }) as CrmStatus;

  it('where it runs (failed there) and the other node running its disks (taking it over); refused when it runs nowhere or twice, or no other node holds every disk', () => {
    const web = declaredSubject(withGuests('    - { name: web, memory: 1GiB, disks: [{ size: 20GiB }, { size: 1GiB }] }'), 'web');
    expect(declaredPlacement(status(['hv2']), web)).toEqual({ node: 'hv2', peer: 'hv1' });
    expect(declaredPlacement(status(['hv3'], [['hv3', 'hv1'], ['hv1', 'hv3']]), web)).toEqual({ node: 'hv3', peer: 'hv1' });
    expect(() => declaredPlacement(status([]), web)).toThrow('web is not Started on one node under Pacemaker (crm_mon: nowhere): start it first (`hvcluster guest start web`)');
    expect(() => declaredPlacement(status(['hv1', 'hv2']), web)).toThrow('(crm_mon: hv1, hv2)');
    expect(() => declaredPlacement(status(['hv2'], [['hv1', 'hv2'], ['hv2']]), web)).toThrow(
      "web runs on hv2, but no other node runs every one of its disks (drbd-web-disk0, drbd-web-disk1) in Pacemaker (crm_mon: hv1, hv2): nothing could take it over; wait until verify's HA checks pass",
    );
    // Its agent is what says it is back (at most 5 s per ping).
    expect(agentPingArgv('web')).toEqual(['virsh', 'qemu-agent-command', 'web', '--timeout', '5', '{"execute":"guest-ping"}']);
  });
});

describe("a declared guest's drill in the results", () => {
  const drill: FailoverReport = {
    ok: true,
    guest: { name: 'web', address: null, declared: true },
    crashed: 'hv1',
    survivor: 'hv2',
    phases: { lost: 27_000, fenced: 38_000, promoted: 43_000, started: 95_000, answered: 131_400 },
    rejoinedMs: 120_000,
    resyncedMs: 140_000,
    guestSeenOn: ['hv2'],
    fencing: [{ target: 'hv1', action: 'reboot', status: 'success', origin: 'hv2', delegate: 'hv2', completed: '2026-12-07 18:00:01Z', exitReason: null }],
    dataIntact: null,
    rebooted: true,
    splitBrain: false,
    timing: { profile: 'emulated', tokenMs: 10_000, stonithTimeoutS: 180, fenceMonitorS: 120, fenceMonitorTimeoutS: 60, resourceTimeoutScale: 2 },
    fault: 'power-off',
    hold: null,
    restored: [],
    cleanup: { ok: true, leftovers: [] },
    durationMs: 200_000,
  };

  it('passes without a data check, its downtime said; the timeline names its agent', () => {
    const [takeover] = failoverChecks(drill);
    expect(takeover).toMatchObject({ status: 'pass', subject: 'hv1 -> hv2' });
    expect(takeover!.found).toBe(
      'web: power-off: lost 27.0 s, fenced 38.0 s, promoted 43.0 s, started 95.0 s, answering 131.4 s; back 120.0 s, resynced 140.0 s (from the fault); fencing reboot by hv2; downtime 131.4 s (a declared guest: data not touched); timing emulated',
    );
    expect(failoverTimeline(drill)[4]).toEqual(["guest's agent answers (its downtime)", '131.4 s']);
    const testGuest: FailoverReport['guest'] = { name: 'hvc-migtest', address: '198.18.1.200/24' };
    expect(failoverTimeline({ ...drill, guest: testGuest })[4]).toEqual(['guest answers a client again', '131.4 s']);
  });
});
