/**
 * A live migration of a guest between two nodes that hold its DRBD resources: the dual-primary
 * window (a close timer armed on every holder first, engine/dual-primary.ts; two primaries allowed
 * in each resource's file and running configuration; the target promoted: by hvcluster, or for a
 * guest under Pacemaker by Pacemaker with promoted-max 2), the move (`virsh migrate --live --p2p`
 * over the replication network, or `crm_resource --move`: VirtualDomain's migrate_to), then the
 * window closed whatever happened: the node that does not run the guest demoted (promoted-max back
 * to 1 under Pacemaker), two primaries forbidden again, the timers disarmed. Two primaries never
 * outlive the migration. Used by `guest migrate` and `node drain`; the migration test opens and
 * closes its window with the same functions.
 */
import { armDualPrimaryClose, disarmDualPrimaryClose, MIGRATE_TIMEOUT_MS } from '../engine/dual-primary.js';
import { ensureFile } from '../engine/ensure-file.js';
import type { GuestCibIds } from '../engine/ha/guest-cib.js';
import { allowSecondPromotion, forbidSecondPromotion, moveThroughPacemaker } from '../engine/ha/guest-pacemaker.js';
import type { Host } from '../engine/host.js';
import { resourceFile } from '../engine/volumes.js';
import type { DrbdResourceModel } from '../plan/model.js';
import { firstLine, mutateUntil } from '../verify/migration/remote.js';

/** A guest's dual-primary window: its name, its DRBD resources, the nodes holding them. */
export interface MigrationWindow {
  guest: string;
  resources: DrbdResourceModel[];
  holders: Host[];
}

/** allow-two-primaries in every resource's .res on every holder, applied with `drbdadm adjust` and checked. */
export async function setTwoPrimaries(window: MigrationWindow, allow: boolean): Promise<void> {
  await Promise.all(
    window.holders.map(async (host) => {
      for (const model of window.resources) {
        await ensureFile(host, resourceFile({ ...model, allowTwoPrimaries: allow }));
        await host.mutate(`${allow ? 'allow' : 'forbid'} two primaries on ${model.name} (drbdadm adjust)`, { argv: ['drbdadm', 'adjust', model.name] });
        const shown = await host.read({ argv: ['drbdsetup', 'show', model.name] });
        if (/allow-two-primaries\s+yes/.test(shown.stdout) !== allow) throw new Error(`${host.server}: drbdadm adjust did not ${allow ? 'allow' : 'forbid'} two primaries on ${model.name}`);
      }
    }),
  );
}

/**
 * The end of a window, successful or not: every resource demoted on the holders that do not run the
 * guest (the target when the migration failed, the source when it succeeded), then two primaries
 * forbidden again. Throws with everything that could not be done (the armed timers then do it).
 */
export async function closeWindow(window: MigrationWindow, what: string): Promise<void> {
  const running = await Promise.all(
    window.holders.map(async (host) => ({ host, running: (await host.read({ argv: ['virsh', 'domstate', window.guest] }, { allowFailure: true })).stdout.trim() === 'running' })),
  );
  const errors: string[] = [];
  for (const { host, running: here } of running) {
    if (here) continue;
    for (const model of window.resources) {
      const role = (await host.read({ argv: ['drbdadm', 'role', model.name] }, { allowFailure: true })).stdout.trim();
      if (!role.startsWith('Primary')) continue;
      await mutateUntil(host, `demote ${model.name} on ${host.server} (it does not run ${what})`, ['drbdadm', 'secondary', model.name], 30_000).catch((e: unknown) => errors.push(firstLine(e)));
    }
  }
  const on = running.filter((r) => r.running).map((r) => r.host.server);
  if (on.length > 1) errors.push(`${what} runs on ${on.join(' and ')}`);
  await setTwoPrimaries(window, false).catch((e: unknown) => errors.push(firstLine(e)));
  if (errors.length > 0) throw new Error(`closing the dual-primary window of ${window.resources.map((r) => r.name).join(', ')}: ${errors.join('; ')}`);
}

/** The same for a guest under Pacemaker: Pacemaker demotes (promoted-max back to 1, through `on`), then two primaries are forbidden. */
export async function closeWindowThroughPacemaker(window: MigrationWindow, on: Host, ids: GuestCibIds): Promise<void> {
  const errors: string[] = [];
  await forbidSecondPromotion(on, ids).catch((e: unknown) => errors.push(firstLine(e)));
  await setTwoPrimaries(window, false).catch((e: unknown) => errors.push(firstLine(e)));
  if (errors.length > 0) throw new Error(`closing the dual-primary window of ${window.resources.map((r) => r.name).join(', ')}: ${errors.join('; ')}`);
}

export interface LiveMigration {
  window: MigrationWindow;
  source: Host;
  target: Host;
  /** The target's replication name: `virsh migrate` reaches its libvirtd over SSH there, QEMU's stream follows. */
  peer: string;
  /** When the close timers act if this process does not (dualPrimaryCloseAfterS). */
  closeAfterS: number;
  /** Told as the migration goes (window open, migrating, window closed). */
  onPhase?: (text: string) => void;
  /** The guest is under Pacemaker, with these objects: Pacemaker promotes and moves it. */
  pacemaker?: GuestCibIds;
}

export interface MigrationFigures {
  /** When `virsh migrate` started and returned (epoch ms): the span a client of the guest may see a gap in. */
  startedAt: number;
  finishedAt: number;
  /** `virsh migrate`'s duration, ms. */
  totalMs: number;
  /** QEMU's own downtime figure (virsh domjobinfo --completed on the target), ms; undefined when it did not say. */
  downtimeMs?: number;
  /** virsh domjobinfo --completed on the target, as it printed it. */
  jobInfo: string;
}

/** QEMU's downtime from `virsh domjobinfo --completed` (`Total downtime: 393 ms`). Pure. */
export function downtimeOf(jobInfo: string): number | undefined {
  const m = /^Total downtime:\s+(\d+)\s*ms/m.exec(jobInfo);
  return m ? Number(m[1]) : undefined;
}

/** Moves the running guest from source to target (see the file's comment); the window is closed even when it fails. */
export async function liveMigrate(m: LiveMigration): Promise<MigrationFigures> {
  const { window, source, target, pacemaker } = m;
  const names = window.resources.map((r) => r.name).join(', ');
  const clones = new Map(pacemaker?.disks.map((d) => [d.resource, d.clone]) ?? []);
  try {
    await Promise.all(window.holders.flatMap((host) => window.resources.map((r) => armDualPrimaryClose(host, r.name, m.closeAfterS, clones.get(r.name)))));
    await setTwoPrimaries(window, true);
    m.onPhase?.(`two primaries allowed on ${names} (timers on ${window.holders.map((h) => h.server).join(', ')} close the window in ${m.closeAfterS} s if this run does not)`);
    if (pacemaker) await allowSecondPromotion(source, pacemaker, [source.server, target.server]);
    else for (const r of window.resources) await target.mutate(`promote ${r.name} on ${target.server} (migration target)`, { argv: ['drbdadm', 'primary', r.name] });
    m.onPhase?.(`live-migrating ${window.guest} from ${source.server} to ${target.server}${pacemaker ? ' through Pacemaker' : ''}`);
    const t0 = Date.now();
    if (pacemaker) await moveThroughPacemaker(source, pacemaker, target.server, MIGRATE_TIMEOUT_MS);
    else {
      await source.mutate(`live-migrate ${window.guest} from ${source.server} to ${target.server} over the replication network`, {
        argv: ['virsh', 'migrate', '--live', '--p2p', '--persistent', window.guest, `qemu+ssh://${m.peer}/system`],
        timeoutMs: MIGRATE_TIMEOUT_MS,
      });
    }
    const finishedAt = Date.now();
    const totalMs = finishedAt - t0;
    const job = await target.read({ argv: ['virsh', 'domjobinfo', '--completed', window.guest] }, { allowFailure: true });
    const state = (await target.read({ argv: ['virsh', 'domstate', window.guest] }, { allowFailure: true })).stdout.trim();
    if (state !== 'running') throw new Error(`after the migration ${window.guest} is "${state || 'absent'}" on ${target.server}, not running`);
    if (!pacemaker) for (const r of window.resources) await mutateUntil(source, `demote ${r.name} on ${source.server} (migration source)`, ['drbdadm', 'secondary', r.name], 30_000);
    const downtimeMs = downtimeOf(job.stdout);
    return { startedAt: t0, finishedAt, totalMs, ...(downtimeMs !== undefined ? { downtimeMs } : {}), jobInfo: job.stdout.trimEnd() };
  } finally {
    if (pacemaker) await closeWindowThroughPacemaker(window, source, pacemaker);
    else await closeWindow(window, `guest ${window.guest}`);
    await Promise.all(window.holders.flatMap((host) => window.resources.map((r) => disarmDualPrimaryClose(host, r.name))));
    m.onPhase?.(`dual-primary window of ${names} closed`);
  }
}
