/**
 * Vitest global setup: at the end of the run, takes down the labs that e2e files shared during it
 * (test/helpers/lab.ts: a shared lab outlives the file that booted it, for the next file to restore).
 * Labs that another run marked (an earlier one, or one running beside it), and every lab when
 * HVCLUSTER_KEEP_LAB=1, are left alone. It also names the run
 * (HVCLUSTER_TEST_RUN) for the checkpoints files share within it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_ROOT, SHARED_MARKER, sharedMark } from '../lab/config.js';
import { down } from '../lab/lab.js';

export default function setup(): () => Promise<void> {
  const startedAt = Date.now();
  // The run's id: a checkpoint one file saves for the others is only restored within the same run
  // (test/helpers/lab.ts restoreOrBuild). The test workers inherit it. A developer iterating on one
  // file may give it (with HVCLUSTER_KEEP_LAB=1) to restore the checkpoints of an earlier run.
  process.env.HVCLUSTER_TEST_RUN ||= `${new Date(startedAt).toISOString()}-${process.pid}`;
  return async () => {
    if (process.env.HVCLUSTER_KEEP_LAB === '1' || !existsSync(LAB_ROOT)) return;
    for (const name of readdirSync(LAB_ROOT)) {
      const marker = join(LAB_ROOT, name, SHARED_MARKER);
      // Only the labs this run marked: another run (a unit-only one, too) may be using the others now.
      if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === sharedMark()) await down(name);
    }
  };
}
