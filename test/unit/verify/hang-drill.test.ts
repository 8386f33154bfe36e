/**
 * The failover drill's hung node (`--failover-test hang`): the commands it sends (data), what it
 * announces, the judgement of its outcome (only fencing's power cycle may end a hang), and how its
 * clean-up gets a hung node back (a fake host: it answers at once, after its timer, or never).
 */
import { describe, expect, it } from 'vitest';
import { failoverFault } from '../../../installer/commands/verify.js';
import type { ExecResult } from '../../../installer/ssh/types.js';
import type { Host } from '../../../installer/engine/host.js';
import { failoverChecks } from '../../../installer/verify/checks/failover.js';
import type { FailoverReport } from '../../../installer/verify/failover/drill.js';
import { FAILOVER_FAULTS, FAILOVER_FAULT_TEXT, FAULT_RESTORE_S, freezeAction, parseThaw, thawAction } from '../../../installer/verify/failover/faults.js';
import { hangNotFencedText, hangProblem, parseBootIdFile, rebootedBetween, recoverHungNode } from '../../../installer/verify/failover/hang.js';

const BOOT_A = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const BOOT_B = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

describe('the hang fault', () => {
  it('is a fault of --failover-test, announced as a frozen userspace over a running kernel that fencing must power-cycle', () => {
    expect(FAILOVER_FAULTS).toContain('hang');
    expect(failoverFault('hang')).toBe('hang');
    const text = FAILOVER_FAULT_TEXT.hang;
    expect(text).toMatch(/^freezes the node's userspace \(every process but PID 1 stopped/);
    expect(text).toContain('its kernel and DRBD run on');
    expect(text).toContain('fencing must power-cycle it through its BMC');
    // The usage error's list of faults shows the text up to its first ';'.
    expect(text.split(';')[0]).toContain('as a hung server looks to its peers');
  });

  it('is set and undone by drill-fault.sh: freeze with the restore delay, thaw without arguments', () => {
    expect(freezeAction(FAULT_RESTORE_S)).toEqual({ script: 'drill-fault.sh', args: ['freeze', '1200'], timeoutMs: 60_000 });
    expect(thawAction()).toEqual({ script: 'drill-fault.sh', args: ['thaw'], timeoutMs: 60_000 });
    expect(parseThaw('thawed timer-cancelled\n')).toEqual({ timerCancelled: true });
    expect(parseThaw('thawed\n')).toEqual({ timerCancelled: false });
    expect(() => parseThaw('drill-fault.sh: usage: thaw\n')).toThrow('drill-fault.sh thaw answered "drill-fault.sh: usage: thaw", not `thawed`');
  });
});

describe('the judgement of a hang drill', () => {
  it('reads boot ids, and compares them only when both are known', () => {
    expect(parseBootIdFile(`${BOOT_A}\n`)).toBe(BOOT_A);
    expect(parseBootIdFile('cat: /proc/sys/kernel/random/boot_id: No such file or directory')).toBeNull();
    expect(parseBootIdFile('')).toBeNull();
    expect(rebootedBetween(BOOT_A, BOOT_B)).toBe(true);
    expect(rebootedBetween(BOOT_A, BOOT_A)).toBe(false);
    expect(rebootedBetween(null, BOOT_B)).toBeNull();
  });

  it('a node never fenced: the error says what failed, why it matters and what to read', () => {
    expect(hangNotFencedText('hv1', 'hv2', 600_400, true)).toBe(
      'hv1 hung (every process but PID 1 stopped) and was not fenced within 600 s: a hung node looks lost to its peers, and only fencing through its BMC ends the hang and lets hv2 take its guests over safely. Read `stonith_admin --history hv1` and `crm_mon -1` on hv2, and the fencing checks of verify',
    );
    // Never even lost: the freeze itself did not take.
    expect(hangNotFencedText('hv1', 'hv2', 600_000, false)).toBe(
      'hv1 was never lost to hv2 within 600 s of its freeze: its userspace did not stop (or Corosync went on). Read `systemctl status hvcluster-drill-freeze.service` and `journalctl -u hvcluster-drill-freeze` on hv1',
    );
  });

  const drill: FailoverReport = {
    ok: true,
    guest: { name: 'hvc-migtest', address: '198.18.1.200/24' },
    crashed: 'hv1',
    survivor: 'hv2',
    phases: { lost: 27_000, fenced: 40_100, promoted: 44_000, started: 101_000, answered: 110_500 },
    rejoinedMs: 118_000,
    resyncedMs: 135_000,
    guestSeenOn: ['hv2'],
    fencing: [{ target: 'hv1', action: 'reboot', status: 'success', origin: 'hv2', delegate: 'hv2', completed: '2026-12-07 17:30:01Z', exitReason: null }],
    dataIntact: true,
    rebooted: true,
    splitBrain: false,
    timing: { profile: 'emulated', tokenMs: 10_000, stonithTimeoutS: 180, fenceMonitorS: 120, fenceMonitorTimeoutS: 60, resourceTimeoutScale: 2 },
    fault: 'hang',
    hold: null,
    restored: [],
    cleanup: { ok: true, leftovers: [] },
    durationMs: 250_000,
  };

  it('passes when fencing rebooted the node; fails, saying why, when it came back without a reboot', () => {
    expect(hangProblem(drill)).toBeNull();
    expect(failoverChecks(drill)[0]).toMatchObject({ status: 'pass', subject: 'hv1 -> hv2' });
    expect(failoverChecks(drill)[0]!.found).toBe(
      'hvc-migtest: hang: lost 27.0 s, fenced 40.1 s, promoted 44.0 s, started 101.0 s, answering 110.5 s; back 118.0 s, resynced 135.0 s (from the fault); fencing reboot by hv2; data intact; timing emulated',
    );
    const thawed = { ...drill, ok: false, rebooted: false };
    expect(hangProblem(thawed)).toMatch(/^hv1 came back without a reboot \(the same boot id\): its hang was ended by the drill's timer, not by fencing; check that hv1's fence device powers hv1 itself/);
    expect(failoverChecks(thawed)[0]).toMatchObject({ status: 'error' });
    expect(failoverChecks(thawed)[0]!.found).toContain('hv1 came back without a reboot');
    // Only a hang requires the reboot; an unknown boot is no verdict.
    expect(hangProblem({ ...drill, fault: 'power-off', rebooted: false })).toBeNull();
    expect(hangProblem({ ...drill, rebooted: null })).toBeNull();
  });
});

/** A host whose SSH answers from the n-th attempt on (never with Infinity), with that boot id; it records the commands. */
function fakeHost(answersFrom: number, boot: string) {
  let attempts = 0;
  const sent: string[] = [];
  const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: '' }) as ExecResult;
  const host = {
    server: 'hv1',
    reconnect: async () => {
      attempts += 1;
      if (attempts < answersFrom) throw new Error('hv1: timed out waiting for the SSH banner');
    },
    read: async () => ok(`${boot}\n`),
    mutate: async (_what: string, action: { args: readonly string[] }) => {
      sent.push(action.args.join(' '));
      return ok('thawed\n');
    },
  };
  return { host: host as unknown as Host, sent, attempts: () => attempts };
}

describe('getting a hung node back after a failed drill', () => {
  const thawDueAt = Date.parse('2026-12-07T17:50:00Z');
  const base = { thawDueAt, bootBefore: BOOT_A, attemptMs: 1, pauseMs: 0 };

  it('a node that answers (fenced and rebooted): thawed at once, nothing left', async () => {
    const f = fakeHost(1, BOOT_B);
    const said: string[] = [];
    expect(await recoverHungNode({ ...base, host: f.host, fenced: true, stopRequested: () => false, say: (t) => said.push(t) })).toEqual(['hv1 back from a reboot: nothing left frozen, no drill timer left']);
    expect(f.sent).toEqual(['thaw']);
    expect(said).toEqual([]);
  });

  it('a node never fenced: waits for its thaw timer, then thaws it and says it was never fenced', async () => {
    const f = fakeHost(4, BOOT_A);
    const said: string[] = [];
    let clock = thawDueAt - 5 * 60_000;
    const now = () => (clock += 60_000);
    expect(await recoverHungNode({ ...base, host: f.host, fenced: false, stopRequested: () => false, say: (t) => said.push(t), now })).toEqual(['hv1 answers again without a reboot (never fenced): nothing left frozen, no drill timer left']);
    expect(said).toEqual(['hv1 was never fenced and still hangs: waiting for its thaw timer (due 2026-12-07T17:50:00Z); Ctrl-C leaves it to the timer']);
    expect(f.attempts()).toBe(4);
  });

  it('Ctrl-C, or a node that never answers by its deadline: not done, saying what ends the hang', async () => {
    const stopped = fakeHost(Infinity, BOOT_A);
    const left = 'NOT done: hv1 still answers nothing: fencing reboots it, or its thaw timer continues every process at 2026-12-07T17:50:00Z (20 minutes after the freeze); or power-cycle it through its BMC';
    expect(await recoverHungNode({ ...base, host: stopped.host, fenced: false, stopRequested: () => true, say: () => undefined })).toEqual([left]);
    expect(stopped.attempts()).toBe(1);
    const never = fakeHost(Infinity, BOOT_A);
    let clock = thawDueAt;
    expect(await recoverHungNode({ ...base, host: never.host, fenced: false, stopRequested: () => false, say: () => undefined, now: () => (clock += 30_000) })).toEqual([left]);
    expect(never.sent).toEqual([]);
  });
});
