/**
 * The migration test's guest on an HA cluster: Pacemaker owns it. Its DRBD resource becomes a
 * promotable clone and the domain a VirtualDomain resource (engine/ha/guest-cib.ts); Pacemaker
 * starts it, moves it (`crm_resource --move`: a live migration, VirtualDomain's migrate_to and
 * migrate_from) and stops it, so hvcluster never fights the cluster manager for DRBD roles. Two
 * Primaries exist only inside a move's window: allow-two-primaries and promoted-max=2 before the
 * move, promoted-max=1 and two primaries forbidden after it, whatever happened (and the timer of
 * engine/dual-primary.ts does the same if this process dies inside the window).
 */
import { guestCib, guestCibIds } from '../../engine/ha/guest-cib.js';
import { clearMove, createCibObjects, mayBePromotedOn, moveResource, promotedOn, removeCibObjects, runningOn, setMeta, waitForCluster } from '../../engine/ha/pacemaker.js';
import type { Host } from '../../engine/host.js';
import { GUEST_FILES, GUEST_NAME, TEST_RESOURCE } from './guest.js';

/** Waiting for Pacemaker to start, promote or stop something, at most. */
const SETTLE_MS = 4 * 60_000;

export const testGuestIds = (nodes: string[], holders: string[]) => guestCibIds(GUEST_NAME, nodes, holders);

/**
 * The test guest handed to Pacemaker: its domain XML on every holder (VirtualDomain's config), the
 * clone, the VirtualDomain resource and their constraints created, then waited for until it runs.
 * Returns the node Pacemaker started it on.
 */
export async function startUnderPacemaker(on: Host, holders: Host[], input: { nodes: string[]; xml: string; timeoutScale: number }): Promise<string> {
  await Promise.all(
    holders.map((h) =>
      h.perform({ server: h.server, step: h.step, description: `write the test guest's domain XML ${GUEST_FILES.xml} (VirtualDomain's config)`, actions: [{ upload: GUEST_FILES.xml, content: input.xml, mode: 0o600, owner: 'root:root' }] }),
    ),
  );
  const cib = guestCib({ name: GUEST_NAME, drbdResource: TEST_RESOURCE, config: GUEST_FILES.xml, holders: holders.map((h) => h.server), nodes: input.nodes, timeoutScale: input.timeoutScale, forceStop: true });
  await createCibObjects(on, 'resources', cib.resources, `the test guest's resources (${cib.ids.clone}, ${cib.ids.vm})`);
  await createCibObjects(on, 'constraints', cib.constraints, `the test guest's constraints (guest with its Promoted disk, started after the promotion)`);
  return waitForCluster(on, `Pacemaker to start ${cib.ids.vm}`, (s) => startedOn(s, cib.ids.vm), SETTLE_MS);
}

/** The one node a resource runs on as Started, if exactly one. Pure. */
function startedOn(status: Parameters<typeof runningOn>[0], id: string): string | undefined {
  const on = runningOn(status, id);
  return on.length === 1 && status.resources.some((r) => r.id === id && r.role === 'Started' && !r.failed) ? on[0] : undefined;
}

/** Opens the window: two primaries allowed (the caller set allow-two-primaries), promoted-max 2, both Promoted. */
export async function allowSecondPromotion(on: Host, holders: string[]): Promise<void> {
  const ids = guestCibIds(GUEST_NAME);
  await setMeta(on, ids.clone, 'promoted-max', '2', 'the live migration needs the target Primary too');
  await waitForCluster(on, `${TEST_RESOURCE} Promoted on ${holders.join(' and ')}`, (s) => (holders.every((h) => promotedOn(s, ids.drbd).includes(h)) ? true : undefined), SETTLE_MS);
}

/** Live-migrates the test guest through Pacemaker and waits until it runs on `to` only; the move's constraint is cleared either way. */
export async function moveThroughPacemaker(on: Host, to: string, timeoutMs: number): Promise<void> {
  const ids = guestCibIds(GUEST_NAME);
  try {
    await moveResource(on, ids.vm, to);
    await waitForCluster(on, `Pacemaker to live-migrate ${ids.vm} to ${to}`, (s) => (startedOn(s, ids.vm) === to ? true : undefined), timeoutMs);
  } finally {
    await clearMove(on, ids.vm);
  }
}

/**
 * Closes the window: promoted-max back to 1, then waits until only the node running the guest (or,
 * when it runs nowhere, at most one node) is Promoted. The caller then forbids two primaries.
 */
export async function forbidSecondPromotion(on: Host): Promise<string[]> {
  const ids = guestCibIds(GUEST_NAME);
  await setMeta(on, ids.clone, 'promoted-max', '1', 'the migration is over: one Primary');
  return waitForCluster(
    on,
    `${TEST_RESOURCE} Promoted on one node only, where the test guest runs`,
    (s) => {
      // Demoting counts: DRBD is Primary until the demote is done, and refuses to forbid two primaries till then.
      const promoted = mayBePromotedOn(s, ids.drbd);
      const guest = runningOn(s, ids.vm);
      if (promoted.length > 1) return undefined;
      if (guest.length === 1 && promoted[0] !== guest[0]) return undefined;
      return promoted;
    },
    SETTLE_MS,
  );
}

/** Stops the test guest (its disk stays Promoted where it ran, for the check of its data). */
export async function stopGuestUnderPacemaker(on: Host): Promise<void> {
  const ids = guestCibIds(GUEST_NAME);
  await setMeta(on, ids.vm, 'target-role', 'Stopped', 'the test is over: read its data from the disk');
  await waitForCluster(on, `Pacemaker to stop ${ids.vm}`, (s) => (runningOn(s, ids.vm).length === 0 ? true : undefined), SETTLE_MS);
}

/** Clean-up: the guest and its clone stopped by Pacemaker, then every object of theirs removed (constraints first). */
export async function removeTestGuestFromPacemaker(on: Host, present: string[]): Promise<void> {
  const ids = guestCibIds(GUEST_NAME);
  for (const id of [ids.vm, ids.clone]) if (present.includes(id)) await setMeta(on, id, 'target-role', 'Stopped', 'removing the test guest');
  await waitForCluster(on, `Pacemaker to stop ${ids.vm} and ${ids.clone}`, (s) => (runningOn(s, ids.vm).length === 0 && runningOn(s, ids.drbd).length === 0 ? true : undefined), SETTLE_MS);
  const order = (id: string) => (id === ids.clone ? 2 : id === ids.vm ? 1 : 0);
  await removeCibObjects(on, [...present].sort((a, b) => order(a) - order(b)), "the test guest's objects");
}
