/**
 * The dual-primary window closes without the installer. Before two primaries are allowed on a DRBD
 * resource (a live migration of its guest), every holder gets a transient systemd timer
 * (`hvcluster-dual-primary-RESOURCE`) that runs installer/remote/dual-primary-close.sh after
 * DUAL_PRIMARY_CLOSE_S: a holder whose device no guest holds open is demoted, then two primaries are
 * forbidden again (running resource and .res file), retrying while a migration still in flight keeps
 * both devices open. The installer disarms the timers once it has closed the window itself; a run
 * killed inside the window (SIGKILL, a lost laptop, a cut connection) leaves them to close it.
 */
import { join } from 'node:path';
import { REMOTE_DIR } from '../paths.js';
import { scriptText, type ArgvAction, type Change } from './change.js';
import type { Host } from './host.js';

export const CLOSE_SCRIPT = join(REMOTE_DIR, 'dual-primary-close.sh');
/** Its copy on the server, which the timer runs (in /run: a reboot ends the timer and the copy alike). */
export const CLOSE_SCRIPT_ON_SERVER = '/run/hvcluster/dual-primary-close.sh';

/** The longest `virsh migrate` the migration test waits for, ms. */
export const MIGRATE_TIMEOUT_MS = 10 * 60_000;
/**
 * What the window holds besides `virsh migrate` at its longest: allowing two primaries (drbdadm
 * adjust on each holder), promoting the target, reading the job, demoting the source (up to 30 s of
 * retries) and closing (another demote of up to 30 s, adjust again), with SSH round trips: 5 min is
 * well above all of it.
 */
export const WINDOW_MARGIN_S = 300;
/** Env var that shortens the deadline (the lab tests), seconds. */
export const CLOSE_AFTER_ENV = 'HVCLUSTER_DUAL_PRIMARY_CLOSE_S';

/**
 * Seconds from arming to the timer's deadline: the longest legitimate window (the migration timeout
 * plus WINDOW_MARGIN_S, 900 s), or HVCLUSTER_DUAL_PRIMARY_CLOSE_S. Even a deadline that comes too
 * early does no harm: DRBD refuses to demote a device a guest holds open and to forbid two primaries
 * while both sides are Primary, so the timer waits for an in-flight migration to end. Pure.
 */
export function dualPrimaryCloseAfterS(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[CLOSE_AFTER_ENV];
  if (value === undefined || value === '') return MIGRATE_TIMEOUT_MS / 1000 + WINDOW_MARGIN_S;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`${CLOSE_AFTER_ENV}=${value}: expected a whole number of seconds, at least 1`);
  return Number(value);
}

/** The transient unit's name (its .timer and .service). Pure. */
export function closeUnit(resource: string): string {
  return `hvcluster-dual-primary-${resource}`;
}

/** The command that arms the timer from the server's copy of the script. Pure. */
export function armAction(resource: string, seconds: number, clone?: string): ArgvAction {
  return { argv: ['sh', CLOSE_SCRIPT_ON_SERVER, 'arm', resource, String(seconds), ...(clone ? [clone] : [])] };
}

/** Arming on one holder: the script's copy in /run/hvcluster (root only), then `arm`. Pure but for reading the script. */
export function armChange(server: string, step: string, resource: string, seconds: number, clone?: string): Change {
  return {
    server,
    step,
    description: `arm the timer ${closeUnit(resource)}: it demotes and closes the dual-primary window of ${resource} in ${seconds} s unless this run does first`,
    actions: [
      { argv: ['install', '-d', '-m', '0700', '/run/hvcluster'] },
      { upload: CLOSE_SCRIPT_ON_SERVER, content: scriptText('dual-primary-close.sh'), mode: 0o700, owner: 'root:root' },
      armAction(resource, seconds, clone),
    ],
  };
}

/**
 * Arms the timer on one holder: copies the script to CLOSE_SCRIPT_ON_SERVER and has it start
 * `systemd-run --on-active=SECONDS` (re-arming replaces an earlier timer of the same resource).
 * `clone`: the resource's Pacemaker clone on an HA cluster (the timer sets its promoted-max back to 1).
 */
export async function armDualPrimaryClose(host: Host, resource: string, seconds: number, clone?: string): Promise<void> {
  const change = armChange(host.server, host.step, resource, seconds, clone);
  await host.procedure(change, async (io) => {
    for (const action of change.actions.slice(0, -1)) await io.perform(action);
    const r = await io.run(armAction(resource, seconds, clone), { allowFailure: true });
    if (r.exitCode !== 0 || !r.stdout.includes('armed ')) {
      throw new Error(`${host.server}: could not arm the timer that closes the dual-primary window of ${resource}: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? `exit ${r.exitCode}`}; two primaries are not allowed without it (is systemd-run there?)`);
    }
  });
}

/** Disarms it on one holder (idempotent; the script is piped, no copy needed). */
export async function disarmDualPrimaryClose(host: Host, resource: string): Promise<void> {
  await host.mutate(`disarm the timer ${closeUnit(resource)} (the dual-primary window of ${resource} is closed)`, { script: 'dual-primary-close.sh', args: ['disarm', resource] });
}
