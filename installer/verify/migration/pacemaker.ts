/**
 * The migration test's guest on an HA cluster: Pacemaker owns it, as it owns a declared HA guest
 * (engine/ha/guest-pacemaker.ts, the same code): its DRBD resource becomes a promotable clone and the
 * domain a VirtualDomain resource (engine/ha/guest-cib.ts); Pacemaker starts it, moves it
 * (`crm_resource --move`) and stops it, so hvcluster never fights the cluster manager for DRBD roles.
 * Two Primaries exist only inside a move's window: allow-two-primaries and promoted-max=2 before the
 * move, promoted-max=1 and two primaries forbidden after it, whatever happened (and the timer of
 * engine/dual-primary.ts does the same if this process dies inside the window).
 */
import { guestCib, guestCibIds, type GuestCibIds } from '../../engine/ha/guest-cib.js';
import { handToPacemaker, removeFromPacemaker, stopThroughPacemaker } from '../../engine/ha/guest-pacemaker.js';
import type { Host } from '../../engine/host.js';
import { GUEST_FILES, GUEST_NAME, TEST_RESOURCE } from './guest.js';

/** The test guest's CIB ids (one disk: the test resource). */
export const testGuestIds = (nodes: readonly string[] = [], holders: readonly string[] = nodes): GuestCibIds => guestCibIds(GUEST_NAME, [TEST_RESOURCE], nodes, holders);

/**
 * The test guest handed to Pacemaker: its domain XML on every holder (VirtualDomain's config), the
 * clone, the VirtualDomain resource and their constraints created, then waited for until it runs.
 * Returns the node Pacemaker started it on.
 */
export async function startUnderPacemaker(on: Host, holders: Host[], input: { nodes: string[]; xml: string; timeoutScale: number; preferredNode?: string }): Promise<string> {
  await Promise.all(
    holders.map((h) =>
      h.perform({ server: h.server, step: h.step, description: `write the test guest's domain XML ${GUEST_FILES.xml} (VirtualDomain's config)`, actions: [{ upload: GUEST_FILES.xml, content: input.xml, mode: 0o600, owner: 'root:root' }] }),
    ),
  );
  const cib = guestCib({ name: GUEST_NAME, drbdResources: [TEST_RESOURCE], config: GUEST_FILES.xml, holders: holders.map((h) => h.server), nodes: input.nodes, timeoutScale: input.timeoutScale, forceStop: true, ...(input.preferredNode !== undefined ? { preferredNode: input.preferredNode } : {}) });
  return handToPacemaker(on, cib, 'the test guest');
}

/** Stops the test guest (its disk stays Promoted where it ran, for the check of its data). */
export const stopGuestUnderPacemaker = async (on: Host): Promise<void> => {
  await stopThroughPacemaker(on, testGuestIds(), 'the test is over: read its data from the disk');
};

/** Clean-up: the guest and its clone stopped by Pacemaker, then every object of theirs removed (constraints first). */
export const removeTestGuestFromPacemaker = (on: Host, present: string[]): Promise<void> => removeFromPacemaker(on, testGuestIds(), present, 'the test guest');
