/**
 * What the migration test can leave on a node (a run killed before its clean-up): one read-only
 * script and its parser, shared by the test's clean-up and by verify's MIGRATION_LEFTOVERS check, so
 * both name the same things. Pure (verify runs the same script inside its probe read).
 */
import type { ScriptAction } from '../../engine/change.js';
import { guestCibIds } from '../../engine/ha/guest-cib.js';
import { GUEST_FILES, GUEST_NAME, TEST_RESOURCE } from './guest.js';

export interface NodeLeftovers {
  domain: 'running' | 'defined' | null;
  /** The resource is known to the kernel (drbdsetup). */
  resourceUp: boolean;
  role: string | null;
  /** allow-two-primaries is on in the running resource (drbdsetup show). */
  twoPrimaries: boolean;
  resFile: boolean;
  lv: boolean;
  /** The timer that closes the test resource's dual-primary window is armed, or its close is running. */
  closeTimer: boolean;
  /** The test guest's objects in Pacemaker's configuration (an HA cluster; the same on every node). */
  cib: string[];
  files: string[];
}

export const TEST_RES_FILE = `/etc/drbd.d/${TEST_RESOURCE}.res`;
/** The transient systemd unit (.timer, .service) that closes the test resource's dual-primary window (engine/dual-primary.ts). */
export const CLOSE_UNIT = `hvcluster-dual-primary-${TEST_RESOURCE}`;

/**
 * Every id the test guest can have in the CIB on a cluster of these nodes, in the order a removal
 * deletes them: its constraints (also under the names hvcluster 0.1's first HA version gave them, and
 * a placement on any node), the guest, its clone. Pure.
 */
export function testGuestCibIds(nodes: readonly string[]): string[] {
  const ids = guestCibIds(GUEST_NAME, [TEST_RESOURCE], nodes, []);
  // (The failover drill's guest is placed on the node it is to power off: `verify --failover-node`.)
  const placements = nodes.map((n) => guestCibIds(GUEST_NAME, [TEST_RESOURCE], nodes, nodes, n).placement!);
  return [`${ids.vm}-with-drbd`, `${ids.vm}-after-drbd`, ...placements, ...ids.all];
}

/**
 * One read of everything the test could have left on a node (installer/remote/migration-leftovers.sh).
 * `haNodes`: on an HA cluster, its nodes (the test guest's Pacemaker objects are looked for too);
 * elsewhere null, and the cluster stack is not read. Pure.
 */
export function leftoversRead(vg: string, haNodes: readonly string[] | null): ScriptAction {
  return { script: 'migration-leftovers.sh', args: [vg, TEST_RESOURCE, GUEST_NAME, CLOSE_UNIT, TEST_RES_FILE, haNodes ? testGuestCibIds(haNodes).join(',') : '', ...Object.values(GUEST_FILES)], timeoutMs: 60_000 };
}

export function parseLeftovers(text: string): NodeLeftovers {
  const get = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const state = get('domain');
  return {
    domain: state === '' ? null : state === 'running' || state === 'paused' || state === 'in shutdown' ? 'running' : 'defined',
    resourceUp: get('up') === 'yes',
    role: get('role') === '' ? null : get('role'),
    twoPrimaries: get('twoprimaries') === 'yes',
    resFile: get('resfile') === 'yes',
    lv: get('lv') === 'yes',
    closeTimer: get('closetimer') === 'yes',
    cib: [...text.matchAll(/^cib=(.*)$/gm)].map((m) => m[1]!),
    files: [...text.matchAll(/^file=(.*)$/gm)].map((m) => m[1]!),
  };
}

/** Human descriptions of what is left, for the report. Pure. */
export function describeLeftovers(l: NodeLeftovers): string[] {
  return [
    ...(l.domain ? [`test domain ${GUEST_NAME} (${l.domain})`] : []),
    ...(l.resourceUp ? [`DRBD resource ${TEST_RESOURCE} up${l.role ? ` (${l.role})` : ''}`] : []),
    ...(l.role?.startsWith('Primary') ? [`${TEST_RESOURCE} is Primary`] : []),
    ...(l.twoPrimaries ? [`${TEST_RESOURCE} allows two primaries`] : []),
    ...(l.resFile ? [TEST_RES_FILE] : []),
    ...(l.lv ? [`logical volume ${TEST_RESOURCE}`] : []),
    ...(l.closeTimer ? [`timer ${CLOSE_UNIT} (it closes the dual-primary window of ${TEST_RESOURCE})`] : []),
    ...(l.cib.length > 0 ? [`Pacemaker's objects of the test guest (${l.cib.join(', ')})`] : []),
    ...l.files,
  ];
}
