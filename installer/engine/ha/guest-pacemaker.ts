/**
 * A guest Pacemaker owns (engine/ha/guest-cib.ts), driven the one way hvcluster drives it, for the
 * migration test's guest and the declared guests alike: handed over (its objects created, then
 * waited for until it runs), moved live (`crm_resource --move`: VirtualDomain's migrate_to and
 * migrate_from) inside a window where each of its disks may be Promoted on two nodes
 * (promoted-max 2; the caller allows two primaries in DRBD around it, engine/dual-primary.ts),
 * started and stopped (target-role), and removed (stopped, then its objects deleted, constraints
 * first). hvcluster never sets DRBD roles of a disk Pacemaker manages.
 */
import type { Host } from '../host.js';
import type { CrmStatus } from '../../facts/parse/crm-mon.js';
import { VM_STOP_TIMEOUT_S, type GuestCibIds } from './guest-cib.js';
import { clearMove, createCibObjects, instances, mayBePromotedOn, moveResource, promotedOn, removeCibObjects, runningOn, setMeta, waitForCluster } from './pacemaker.js';

/** Waiting for Pacemaker to start, promote or stop something, at most. */
export const PACEMAKER_SETTLE_MS = 4 * 60_000;

/** The one node a resource runs on as Started, if exactly one. Pure. */
export function startedOn(status: CrmStatus, id: string): string | undefined {
  const on = runningOn(status, id);
  return on.length === 1 && status.resources.some((r) => r.id === id && r.role === 'Started' && !r.failed) ? on[0] : undefined;
}

/** Creates the guest's objects (resources, then constraints), waits until it runs, then removes its temporary placement; returns the node. */
export async function handToPacemaker(on: Host, cib: { resources: string[]; constraints: string[]; ids: GuestCibIds }, what: string, timeoutMs = PACEMAKER_SETTLE_MS): Promise<string> {
  await createCibObjects(on, 'resources', cib.resources, `${what}'s resources (${[...cib.ids.disks.map((d) => d.clone), cib.ids.vm].join(', ')})`);
  await createCibObjects(on, 'constraints', cib.constraints, `${what}'s constraints (with its Promoted disks, started after their promotion${cib.ids.placement ? ', placed on its node' : ''})`);
  const node = await waitForCluster(on, `Pacemaker to start ${cib.ids.vm}`, (s) => startedOn(s, cib.ids.vm), timeoutMs);
  if (cib.ids.placement) await removeCibObjects(on, [cib.ids.placement], `${what}'s placement (it runs: its stickiness keeps it there)`);
  return node;
}

/** Opens the window: promoted-max 2 on each disk, then waits until every disk is Promoted on every holder (the caller allowed two primaries). */
export async function allowSecondPromotion(on: Host, ids: GuestCibIds, holders: readonly string[]): Promise<void> {
  for (const disk of ids.disks) await setMeta(on, disk.clone, 'promoted-max', '2', 'the live migration needs the target Primary too');
  await waitForCluster(
    on,
    `${ids.disks.map((d) => d.resource).join(', ')} Promoted on ${holders.join(' and ')}`,
    (s) => (ids.disks.every((d) => holders.every((h) => promotedOn(s, d.drbd).includes(h))) ? true : undefined),
    PACEMAKER_SETTLE_MS,
  );
}

/** Live-migrates the guest through Pacemaker and waits until it runs on `to` only; the move's constraint is cleared either way. */
export async function moveThroughPacemaker(on: Host, ids: GuestCibIds, to: string, timeoutMs: number): Promise<void> {
  try {
    await moveResource(on, ids.vm, to);
    await waitForCluster(on, `Pacemaker to live-migrate ${ids.vm} to ${to}`, (s) => (startedOn(s, ids.vm) === to ? true : undefined), timeoutMs);
  } finally {
    await clearMove(on, ids.vm);
  }
}

/**
 * Closes the window: promoted-max back to 1 on each disk, then waits until each is Promoted on one
 * node only, where the guest runs (or, when it runs nowhere, on at most one node). Returns the nodes
 * where the disks stay Promoted. The caller then forbids two primaries.
 */
export async function forbidSecondPromotion(on: Host, ids: GuestCibIds): Promise<string[]> {
  for (const disk of ids.disks) await setMeta(on, disk.clone, 'promoted-max', '1', 'the migration is over: one Primary');
  return waitForCluster(
    on,
    `${ids.disks.map((d) => d.resource).join(', ')} Promoted on one node only, where ${ids.vm} runs`,
    (s) => {
      // Demoting counts: DRBD is Primary until the demote is done, and refuses to forbid two primaries till then.
      const guest = runningOn(s, ids.vm);
      const promoted = new Set<string>();
      for (const disk of ids.disks) {
        const on = mayBePromotedOn(s, disk.drbd);
        if (on.length > 1) return undefined;
        if (guest.length === 1 && on[0] !== guest[0]) return undefined;
        on.forEach((n) => promoted.add(n));
      }
      return [...promoted];
    },
    PACEMAKER_SETTLE_MS,
  );
}

/** Asks Pacemaker to start the guest (target-role Started) and waits until it runs; returns the node. */
export async function startThroughPacemaker(on: Host, ids: GuestCibIds, why: string): Promise<string> {
  await setMeta(on, ids.vm, 'target-role', 'Started', why);
  return waitForCluster(on, `Pacemaker to start ${ids.vm}`, (s) => startedOn(s, ids.vm), PACEMAKER_SETTLE_MS);
}

/** hvcluster destroys the guest's domain itself once Pacemaker's stop of it has begun and `afterMs` has passed. */
export interface DestroyWhileStopping {
  /** The libvirt domain (the guest's name). */
  domain: string;
  /** 0: as soon as the stop has begun (the guest's state is discarded anyway). */
  afterMs: number;
  /** The node's host, to run the destroy where the guest runs. */
  hostOf: (node: string) => Host;
  why: string;
}

/**
 * Asks Pacemaker to stop the guest (target-role Stopped; its disks stay Promoted where it ran) and
 * waits until it runs nowhere; returns the node where hvcluster destroyed it, if it did.
 *
 * VirtualDomain asks the guest to shut down (ACPI) and destroys it only in the last 5 s of its stop
 * timeout: for a guest that ignores ACPI on a busy node the destroy may not fit, the stop fails, and
 * Pacemaker fences the node, with every guest on it. With `destroy`, hvcluster destroys the domain
 * itself once crm_mon shows the stop under way (not before: a recurring monitor would count a guest
 * gone by itself as a failure) and `afterMs` has passed; VirtualDomain's wait then finds it shut off
 * and the stop succeeds.
 */
export async function stopThroughPacemaker(on: Host, ids: GuestCibIds, why: string, destroy?: DestroyWhileStopping): Promise<string | null> {
  await setMeta(on, ids.vm, 'target-role', 'Stopped', why);
  const asked = Date.now();
  let destroyedOn: string | null = null;
  if (destroy) {
    const node = await waitForCluster(
      on,
      `Pacemaker to begin stopping ${ids.vm}`,
      (s) => (runningOn(s, ids.vm).length === 0 ? null : Date.now() - asked >= destroy.afterMs ? stoppingOn(s, ids.vm) : undefined),
      PACEMAKER_SETTLE_MS,
    );
    if (node !== null) {
      await destroy.hostOf(node).mutate(`destroy guest ${destroy.domain} on ${node} (${destroy.why}; Pacemaker's stop then finds it shut off)`, { script: 'domain-destroy.sh', args: [destroy.domain] });
      destroyedOn = node;
    }
  }
  await waitForCluster(on, `Pacemaker to stop ${ids.vm}`, (s) => (runningOn(s, ids.vm).length === 0 ? true : undefined), PACEMAKER_SETTLE_MS);
  return destroyedOn;
}

/** What `guest stop` leaves hvcluster's own destroy of a guest under Pacemaker before VirtualDomain's stop timeout ends, s. */
export const HA_STOP_MARGIN_S = 30;

/** How long `guest stop` lets a guest under Pacemaker shut down before hvcluster destroys it: the operator's --timeout, at most HA_STOP_MARGIN_S short of VirtualDomain's stop timeout. Pure. */
export const haStopGraceS = (timeoutS: number, timeoutScale: number): number => Math.max(0, Math.min(timeoutS, VM_STOP_TIMEOUT_S * timeoutScale - HA_STOP_MARGIN_S));

/** The node where Pacemaker is stopping a resource (crm_mon's pending role), if it is. Pure. */
export const stoppingOn = (status: CrmStatus, id: string): string | undefined => instances(status, id).find((i) => i.role === 'Stopping')?.node;

/** Removal: the guest and its clones stopped by Pacemaker, then every object of theirs that is present deleted (constraints first). */
export async function removeFromPacemaker(on: Host, ids: GuestCibIds, present: readonly string[], what: string): Promise<void> {
  for (const id of [ids.vm, ...ids.disks.map((d) => d.clone)]) if (present.includes(id)) await setMeta(on, id, 'target-role', 'Stopped', `removing ${what}`);
  await waitForCluster(
    on,
    `Pacemaker to stop ${[ids.vm, ...ids.disks.map((d) => d.clone)].join(' and ')}`,
    (s) => (runningOn(s, ids.vm).length === 0 && ids.disks.every((d) => runningOn(s, d.drbd).length === 0) ? true : undefined),
    PACEMAKER_SETTLE_MS,
  );
  const order = new Map(ids.all.map((id, i) => [id, i]));
  await removeCibObjects(on, [...present].sort((a, b) => (order.get(a) ?? -1) - (order.get(b) ?? -1)), `${what}'s objects`);
}
