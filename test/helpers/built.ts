/**
 * The shared lab's `built` state: the lab's site.yaml (no HA, no guests) applied. The files that start
 * from a built cluster (verify, guests, HA) restore it when an earlier file of this run saved it
 * (apply-faults ends with it), and otherwise apply it here and save it for the files after them.
 */
import { expect } from 'vitest';
import { hvcluster } from './hvcluster.js';
import { BUILT, type LabHandle } from './lab.js';
import { writeLabSite } from '../lab/site.js';

const MIN = 60_000;

/** Restores or builds `built` on the shared lab; returns the path of the lab's site.yaml. */
export async function builtCluster(lab: LabHandle): Promise<string> {
  const site = writeLabSite(lab.info);
  await lab.restoreOrBuild(BUILT, async () => {
    const apply = () => hvcluster(lab.info.name, ['apply', '-f', site, '--yes', '--json'], { timeoutMs: 12 * MIN });
    let applied = await apply();
    if (applied.code === 4) {
      // Only a lost connection (a nested VM starved of CPU on a busy host) earns a second apply;
      // apply is idempotent. Any other failure fails here.
      console.warn(`apply lost a connection, applying again:\n${applied.stderr.slice(-1500)}`);
      applied = await apply();
    }
    expect(applied.code, `${applied.stderr}\n${applied.stdout.slice(-3000)}`).toBe(0);
  });
  return site;
}
