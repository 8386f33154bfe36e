/**
 * DRBD states beyond the healthy one (test/fixtures/verify/drbd/STATE/): a split brain while it is
 * current, waiting on one side, and once resolved; a resync running, paused and stalled. Each state's
 * events2, /proc/drbd and kernel-log probes replace those of the healthy capture of each node.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, exitCodeFor, summarize } from '../../../installer/verify/evaluate.js';
import { buildReport } from '../../../installer/verify/report.js';
import { formatMarkdown } from '../../../installer/verify/output/markdown.js';
import { formatText } from '../../../installer/verify/output/text.js';
import type { CheckResult, VerifyInput } from '../../../installer/verify/types.js';
import { drbdInput, input } from './helpers.js';

const find = (results: CheckResult[], code: string, server?: string) => results.filter((r) => r.code === code && (server === undefined || r.server === server));
const run = (i: VerifyInput) => {
  const results = evaluate(i);
  return { results, exit: exitCodeFor(summarize(results, i)) };
};
const plain = { green: (s: string) => s, yellow: (s: string) => s, red: (s: string) => s, dim: (s: string) => s, bold: (s: string) => s, cyan: (s: string) => s } as never;

describe('a split brain is judged by the resource\'s state now, the kernel log says when and how', () => {
  it('both ends StandAlone after "Split-Brain detected but unresolved": DRBD_SPLIT_BRAIN error on each, with the recovery, exit 1', () => {
    const { results, exit } = run(drbdInput('split-brain-standalone'));
    expect(exit).toBe(1);
    for (const server of ['hv1', 'hv2']) {
      const sb = find(results, 'DRBD_SPLIT_BRAIN', server);
      expect(sb).toHaveLength(1);
      expect(sb[0]).toMatchObject({ status: 'error', subject: 'hvc-probe', servers: [server, server === 'hv1' ? 'hv2' : 'hv1'] });
      expect(sb[0]!.found).toBe('hvc-probe: split brain detected at 2026-12-05T15:25:01+0000 and not resolved: StandAlone, no connection since (disks UpToDate/DUnknown)');
      // The log also holds an earlier split brain of this boot, resolved at the time: the last one counts.
      expect(sb[0]!.data).toMatchObject({ detectedAt: '2026-12-05T15:25:01+0000', resolution: null, connectedAt: null });
      expect(sb[0]!.fix).toContain('drbdadm connect --discard-my-data hvc-probe');
      expect(find(results, 'DRBD_CONNECTED', server)[0]!.status).toBe('error');
    }
  });

  it('one end waiting (WFConnection) with no connection since the split brain, the other StandAlone: still an error on both', () => {
    const { results, exit } = run(drbdInput('split-brain-waiting'));
    expect(exit).toBe(1);
    const hv1 = find(results, 'DRBD_SPLIT_BRAIN', 'hv1')[0]!;
    expect(hv1).toMatchObject({ status: 'error', subject: 'hvc-probe' });
    expect(hv1.found).toBe(
      'hvc-probe: split brain detected at 2026-12-05T15:25:01+0000 and not resolved: hv1 waits for hv2 (WFConnection), which refuses the connection until one side discards its data (disks UpToDate/DUnknown)',
    );
    expect(hv1.fix).toContain('--discard-my-data');
    expect(find(results, 'DRBD_SPLIT_BRAIN', 'hv2')[0]!.status).toBe('error');
  });

  it('resolved (hv2 discarded its data, both Connected and UpToDate): a warning with when and how on each, no recovery asked, exit 0', () => {
    const { results, exit } = run(drbdInput('split-brain-resolved'));
    expect(results.filter((r) => r.status === 'error')).toEqual([]);
    expect(exit).toBe(0);
    const hv2 = find(results, 'DRBD_SPLIT_BRAIN', 'hv2')[0]!;
    expect(hv2).toMatchObject({ status: 'warning', subject: 'hvc-probe' });
    expect(hv2.found).toBe(
      'hvc-probe: split brain detected at 2026-12-05T15:25:01+0000, resolved at 2026-12-05T15:25:35+0000: hv2 discarded its data and resynced from hv1 (manual recovery: connect --discard-my-data); now Connected/Established, UpToDate/UpToDate',
    );
    expect(hv2.fix).not.toContain('--discard-my-data');
    expect(hv2.fix).toContain('discarded on hv2');
    expect(hv2.data).toMatchObject({ detectedAt: '2026-12-05T15:25:01+0000', resolution: { at: '2026-12-05T15:25:35+0000', discarded: 'here', automatic: false }, connectedAt: '2026-12-05T15:25:35+0000' });
    expect(find(results, 'DRBD_SPLIT_BRAIN', 'hv1')[0]!.found).toContain('hv2 discarded its data and resynced from hv1');
    expect(find(results, 'DRBD_CONNECTED').map((r) => r.status)).toEqual(['pass', 'pass']);
  });

  it('a node whose log has no split brain passes (the healthy capture)', () => {
    const { results } = run(input());
    expect(find(results, 'DRBD_SPLIT_BRAIN').map((r) => [r.server, r.status, r.found])).toEqual([
      ['hv1', 'pass', "no split brain in this boot's kernel log"],
      ['hv2', 'pass', "no split brain in this boot's kernel log"],
    ]);
  });
});

describe('a resync is reported with its progress; a stalled one is an error', () => {
  it('running (throttled to 200 KiB/s): DRBD_RESYNC warning with percent, speed and time to go on both ends, exit 0', () => {
    const { results, exit } = run(drbdInput('resync-running'));
    expect(results.filter((r) => r.status === 'error')).toEqual([]);
    expect(exit).toBe(0);
    const target = find(results, 'DRBD_RESYNC', 'hv2')[0]!;
    expect(target).toMatchObject({ status: 'warning', subject: 'hvc-probe' });
    // /proc/drbd printed "sync'ed:100.0% (3584/8192)K": the kernel's percent counts in 4 MiB steps; verify's is from left/total.
    expect(target.found).toBe('hvc-probe: resync from hv1 56.2% done, 3,584 of 8,192 KiB left at 240 KiB/s, about 0:00:14 to go');
    expect(target.data).toMatchObject({ replication: 'SyncTarget', peer: 'hv1', percent: 56.2, leftKiB: 3584, totalKiB: 8192, speedKiBps: 240, wantKiBps: 200, etaSeconds: 14, movedKiBInSample: 1944, sampleSeconds: 3 });
    expect(find(results, 'DRBD_RESYNC', 'hv1')[0]!.found).toBe('hvc-probe: resync to hv2 38.0% done, 5,072 of 8,192 KiB left at 240 KiB/s, about 0:00:20 to go');
    expect(find(results, 'DRBD_DISK', 'hv2')[0]).toMatchObject({ status: 'warning', found: 'hvc-probe: local Inconsistent; hv1 UpToDate (resync 56.2% done, see DRBD_RESYNC)' });
    expect(find(results, 'DRBD_OUT_OF_SYNC', 'hv2')[0]).toMatchObject({ status: 'warning', found: 'hvc-probe: 3848 KiB out of sync, being resynced (56.2% done)' });
  });

  it('the progress shows in the text output and the Markdown report (and the JSON report\'s resources)', () => {
    const i = drbdInput('resync-running');
    const report = buildReport(i, evaluate(i), { version: 'test', startedAt: new Date(0), durationMs: 1000 });
    expect(formatText(report, plain)).toContain('hvc-probe: resync from hv1 56.2% done, 3,584 of 8,192 KiB left at 240 KiB/s, about 0:00:14 to go');
    expect(report.resources[0]!.state.hv2!.resync).toEqual({ percent: 56.2, leftKiB: 3584, totalKiB: 8192, speedKiBps: 240, etaSeconds: 14 });
    expect(JSON.parse(JSON.stringify(report)).checks.find((c: CheckResult) => c.code === 'DRBD_RESYNC' && c.server === 'hv2').data.percent).toBe(56.2);
    expect(formatMarkdown(report)).toContain('hv2: Secondary, disk Inconsistent, peer:Connected/SyncTarget, resync 56.2% (3,584 of 8,192 KiB left, 240 KiB/s, about 0:00:14 to go)');
  });

  it('no block resynced between the two looks (the SyncTarget\'s backing volume suspended): DRBD_RESYNC error, exit 1', () => {
    const { results, exit } = run(drbdInput('resync-stalled'));
    expect(exit).toBe(1);
    const target = find(results, 'DRBD_RESYNC', 'hv2')[0]!;
    expect(target).toMatchObject({ status: 'error', subject: 'hvc-probe' });
    // The kernel's ~18 s speed still shows the blocks of before the stall; its own "(stalled)" comes after 180 s.
    expect(target.found).toBe("hvc-probe: resync from hv1 stalled at 99.9% done, 8 of 8,192 KiB left: no block resynced in 3 s (the kernel's ~18 s average still says 96 KiB/s)");
    expect(target.data).toMatchObject({ stalled: true, movedKiBInSample: 0 });
    expect(target.fix).toContain('drbdadm disconnect hvc-probe; drbdadm connect hvc-probe');
    expect(find(results, 'DRBD_RESYNC', 'hv1')[0]!.status).toBe('error');
  });

  it('paused by the user on hv2: a warning there naming the user, on hv1 naming the peer, with resume-sync', () => {
    const { results, exit } = run(drbdInput('resync-paused'));
    expect(exit).toBe(0);
    const target = find(results, 'DRBD_RESYNC', 'hv2')[0]!;
    expect(target).toMatchObject({ status: 'warning', found: 'hvc-probe: resync from hv1 paused (user) at 1,328 KiB left' });
    expect(target.fix).toContain('drbdadm resume-sync hvc-probe');
    expect(find(results, 'DRBD_RESYNC', 'hv1')[0]).toMatchObject({ status: 'warning', found: 'hvc-probe: resync to hv2 paused (peer) at 1,328 KiB left' });
  });

  it('no resync on a healthy resource: DRBD_RESYNC passes', () => {
    const { results } = run(drbdInput('split-brain-resolved'));
    expect(find(results, 'DRBD_RESYNC').map((r) => [r.server, r.status, r.found])).toEqual([
      ['hv1', 'pass', 'hvc-probe: no resync running'],
      ['hv2', 'pass', 'hvc-probe: no resync running'],
    ]);
  });
});
