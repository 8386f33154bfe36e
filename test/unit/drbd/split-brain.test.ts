import { describe, expect, it } from 'vitest';
import { describeSide, parseSplitBrainSide, planResolve, snapshotSizeMiB, type SplitBrainSide } from '../../../installer/drbd/split-brain.js';

const MIB = 1024 * 1024;
const state = (over: Record<string, string> = {}) =>
  Object.entries({
    resfile: 'yes',
    cstate: 'StandAlone',
    dstate: 'UpToDate/DUnknown',
    role: 'Secondary/Unknown',
    oos: '4096',
    'lv-bytes': String(512 * MIB),
    'vg-free-bytes': String(4096 * MIB),
    detected: '2026-12-07T02:10:01+0000',
    gi: '8C3B...:0000:...:1:1:0:1:0:0:0',
    ...over,
  })
    .map(([k, v]) => `${k} ${v}`)
    .join('\n');
const side = (node: string, over: Record<string, string> = {}): SplitBrainSide => parseSplitBrainSide(node, state(over));
const NOW = new Date('2026-12-07T02:15:00.123Z');

describe('drbd resolve: a split brain read and planned', () => {
  it("reads split-brain.sh's state lines; - and missing values are unknown", () => {
    expect(side('hv2')).toEqual({
      node: 'hv2', holds: true, cstate: 'StandAlone', dstate: 'UpToDate/DUnknown', role: 'Secondary/Unknown', outOfSyncKiB: 4096,
      lvBytes: 512 * MIB, vgFreeBytes: 4096 * MIB, detectedAt: '2026-12-07T02:10:01+0000', generation: '8C3B...:0000:...:1:1:0:1:0:0:0',
    });
    expect(parseSplitBrainSide('hv3', 'resfile no\ncstate -\noos -\n')).toMatchObject({ holds: false, cstate: null, outOfSyncKiB: null, lvBytes: null });
  });

  it('plans: the other holder is the victim, its whole volume kept as a snapshot named after the resource and the time', () => {
    const plan = planResolve('hvc-probe', 'hv1', [side('hv1'), side('hv2', { cstate: 'WFConnection' }), side('hv3', { resfile: 'no' })], 'hvdata', NOW);
    expect(plan.victim.node).toBe('hv2');
    expect(plan.survivor.node).toBe('hv1');
    expect(plan.snapshot).toEqual({ vg: 'hvdata', name: 'hvc-probe-splitbrain-20261207T021500Z', sizeMiB: 512 });
    expect(describeSide(plan.victim)).toBe('hv2: Secondary, WFConnection, UpToDate; out of sync as it knows it: 4.0 MiB; split brain seen 2026-12-07T02:10:01+0000; data generation 8C3B...:0000:...:1:1:0:1:0:0:0');
  });

  it('sizes the snapshot: the whole volume when the group has room, else twice what is out of sync plus 256 MiB, never more than the volume', () => {
    expect(snapshotSizeMiB(512 * MIB, 512 * MIB, 0)).toBe(512);
    expect(snapshotSizeMiB(10240 * MIB, 1024 * MIB, 100 * 1024)).toBe(456);
    expect(snapshotSizeMiB(300 * MIB, 100 * MIB, 100 * 1024)).toBe(300);
  });

  it('refuses, saying why and what to do, and changes nothing: no split brain, a Primary victim, a survivor without UpToDate data, no room for the snapshot, a wrong survivor', () => {
    const plan = (sides: SplitBrainSide[], survivor = 'hv1') => () => planResolve('r0', survivor, sides, 'vg', NOW);
    expect(plan([side('hv1', { resfile: 'no' }), side('hv2', { resfile: 'no' })])).toThrow('no node holds a DRBD resource r0');
    expect(plan([side('hv1', { cstate: 'Connected' }), side('hv2', { cstate: 'Connected' })])).toThrow('r0 is connected (hv1 Connected, hv2 Connected): there is no split brain to resolve');
    expect(plan([side('hv1', { cstate: 'WFConnection' }), side('hv2', { cstate: 'WFConnection' })])).toThrow('DRBD did not detect a split brain');
    expect(plan([side('hv1'), side('hv2', { role: 'Primary/Unknown' })])).toThrow(/hv2 is Primary for r0/);
    expect(plan([side('hv1', { dstate: 'Outdated/DUnknown' }), side('hv2')])).toThrow("hv1's data of r0 is Outdated, not UpToDate: it cannot be the survivor");
    expect(plan([side('hv1'), side('hv2', { 'lv-bytes': String(10240 * MIB), 'vg-free-bytes': String(300 * MIB), oos: String(100 * 1024) })])).toThrow("hv2's volume group vg has 300 MiB free: a snapshot keeping its data of r0 needs 456 MiB");
    expect(plan([side('hv1'), side('hv2')], 'hv3')).toThrow('--survivor hv3 does not hold r0');
    try {
      plan([side('hv1'), side('hv2', { role: 'Primary/Unknown' })])();
    } catch (error) {
      expect((error as { hint?: string }).hint).toContain('hvcluster guest stop');
      expect((error as { exitCode?: number }).exitCode).toBe(1);
    }
  });
});
