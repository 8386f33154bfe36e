/** A DRBD sync that makes no progress for SYNC_STALL_MS is a failure, not a wait (installer/engine/volumes.ts). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYNC_STALL_MS, SyncStallWatch, stalledSyncMessage, syncProgress } from '../../../installer/engine/volumes.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/engine/${name}`, import.meta.url), 'utf8');
const first = fixture('proc-drbd-slow-sync-1.txt');
const second = fixture('proc-drbd-slow-sync-2.txt');

describe('the initial sync watch', () => {
  it('reads the progress of its own minor in /proc/drbd, not another one', () => {
    expect(syncProgress(first, 1)).toEqual({ percent: 9.2, outOfSyncKiB: 256459452 });
    expect(syncProgress(first, 0)).toEqual({ outOfSyncKiB: 0 });
    // DRBD 9: /proc/drbd lists no minors; drbdsetup status --statistics of the resource follows it.
    expect(syncProgress('version: 9.2.8 (api:2/proto:86-122)\nvm-test role:Primary\n  disk:UpToDate\n  hv2 role:Secondary\n    replication:SyncSource peer-disk:Inconsistent done:25.00\n      received:0 sent:262144 out-of-sync:786432 pending:0 unacked:0\n', 3)).toEqual({
      percent: 25,
      outOfSyncKiB: 786432,
    });
  });

  it('is 2 minutes by default', () => {
    expect(SYNC_STALL_MS).toBe(120_000);
  });

  it('counts a slow sync as progress while the KiB out of sync fall, though the percentage stands still', () => {
    const watch = new SyncStallWatch(0);
    const state = (text: string) => ({ dstate: 'UpToDate/Inconsistent', ...syncProgress(text, 1) });
    expect(watch.observe(state(first), 1_000)).toBe(0);
    expect(watch.observe(state(first), 100_000)).toBe(99_000);
    expect(watch.observe(state(second), 110_000)).toBe(0); // 9.2 % both times, 1024 KiB less out of sync
    expect(watch.observe(state(second), 110_000 + SYNC_STALL_MS)).toBe(SYNC_STALL_MS);
  });

  it('counts a sync stuck at 25 % as stalled and says what it was stuck at and what to check', () => {
    const stuck = first.replace("sync'ed:  9.2%", "sync'ed: 25.0%");
    const watch = new SyncStallWatch(0);
    const state = { dstate: 'UpToDate/Inconsistent', ...syncProgress(stuck, 1) };
    watch.observe(state, 0);
    const stalled = watch.observe(state, 121_000);
    expect(stalled).toBeGreaterThanOrEqual(SYNC_STALL_MS);
    expect(stalledSyncMessage('hvc-probe', stalled, state, 9000)).toBe(
      'the initial sync of hvc-probe made no progress for 121 s (stuck at 25.0%, 256459452 KiB still out of sync, disk states UpToDate/Inconsistent); ' +
        "DRBD is connected but its data does not flow: a replication path that drops 9000-byte frames does this (network.replicationMtu), check it with ping -M do -s 8972 PEER-REPLICATION-ADDRESS from each node",
    );
  });
});
