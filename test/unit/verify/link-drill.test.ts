import { describe, expect, it } from 'vitest';
import { linkChecks, linkFigures } from '../../../installer/verify/checks/link.js';
import { linkProblems, linkTimeline, type LinkDrillReport } from '../../../installer/verify/failover/link-drill.js';

// The figures of the dev lab's run (bench/results-lab.md, 2026-12-07).
const passed: LinkDrillReport = {
  ok: true,
  guest: { name: 'hvc-migtest', address: '198.18.1.200/24' },
  node: 'hv1',
  peer: 'hv2',
  link: 'ens4',
  phases: { disconnected: 12_100, peerFenced: 28_300, written: 31_400, restored: 53_100, reconnected: 63_200, resynced: 63_200, unfenced: 64_200 },
  maxPrimaries: 1,
  guestMaxGapMs: 691,
  guestRebooted: false,
  guestSeenOn: ['hv1'],
  membersKept: true,
  fencing: [],
  splitBrain: false,
  dataIntact: true,
  restored: [],
  cleanup: { ok: true, leftovers: [] },
  durationMs: 150_000,
};

describe('the replication-link drill in the results', () => {
  it('passes with its figures from the cut, and a clean-up result', () => {
    expect(linkProblems(passed)).toEqual([]);
    expect(linkFigures(passed)).toBe(
      'disconnected 12.1 s, peerFenced 28.3 s, written 31.4 s, restored 53.1 s, reconnected 63.2 s, resynced 63.2 s, unfenced 64.2 s (from the cut); guest silent at most 691 ms; Primaries at once: at most 1; data intact',
    );
    expect(linkChecks(passed).map((c) => [c.code, c.status, c.subject])).toEqual([
      ['LINK_TEST', 'pass', 'hv1 ens4 cut'],
      ['LINK_TEST', 'pass', 'clean-up'],
    ]);
    expect(linkTimeline(passed)[1]).toEqual(['peer fenced off in Pacemaker (crm-fence-peer)', '28.3 s']);
  });

  it('fails on each outcome a cluster must not show, each said', () => {
    const problems = linkProblems({
      ...passed,
      ok: false,
      maxPrimaries: 2,
      guestSeenOn: ['hv1', 'hv2'],
      guestRebooted: true,
      membersKept: false,
      fencing: [{ target: 'hv2', action: 'reboot', status: 'success', origin: 'hv1', delegate: 'hv1', completed: null, exitReason: null }],
      splitBrain: true,
      dataIntact: false,
      phases: { disconnected: 12_100 },
    });
    expect(problems).toEqual([
      "the guest's disk was Primary on 2 nodes at once",
      'the guest was seen running on hv2 during the cut',
      'the guest rebooted during the cut',
      'a node left the cluster while only the replication link was cut (Corosync needs its second link)',
      'a node was fenced: hv2 reboot success',
      'DRBD found a split brain when the link came back',
      "the guest's data read back differs from what it wrote",
      'phases not reached: peerFenced, written, restored, reconnected, resynced, unfenced',
    ]);
    const failed = linkChecks({ ...passed, ok: false, error: { phase: 'disconnected', message: 'timed out' }, cleanup: { ok: false, leftovers: [{ server: 'hv1', what: 'domain hvc-migtest' }] }, restored: ["hv1's replication link ens4 up again"] });
    expect(failed[0]).toMatchObject({ status: 'error' });
    expect(failed[0]!.found).toMatch(/^hvc-migtest: stopped in phase disconnected: timed out \[/);
    expect(failed[1]).toMatchObject({ status: 'error', found: 'the clean-up left things behind: hv1: domain hvc-migtest' });
  });
});
