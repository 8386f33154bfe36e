/**
 * Removing everything the migration test creates, on every node: the test domain, the DRBD
 * resource (never left Primary, let alone two Primaries), its .res file, its LV and the guest's
 * files. Idempotent: it runs before the test (a killed run's leftovers) and after it, failed or not.
 * `haNodes`: an HA cluster's nodes (the test guest's Pacemaker objects go first); null elsewhere.
 */
import type { ArgvAction, ScriptAction } from '../../engine/change.js';
import type { Host } from '../../engine/host.js';
import { GUEST_NAME, TEST_RESOURCE } from './guest.js';
import { disarmDualPrimaryClose } from '../../engine/dual-primary.js';
import { CLOSE_UNIT, TEST_RES_FILE as RES_FILE, describeLeftovers, leftoversRead, parseLeftovers, type NodeLeftovers } from './leftovers.js';
import { firstLine, mutateUntil } from './remote.js';
import { removeTestGuestFromPacemaker } from './pacemaker.js';

export { describeLeftovers, leftoversRead, parseLeftovers, type NodeLeftovers } from './leftovers.js';

export async function readLeftovers(ctx: Host, vg: string, haNodes: readonly string[] | null): Promise<NodeLeftovers> {
  const r = await ctx.read(leftoversRead(vg, haNodes), { allowFailure: true });
  return parseLeftovers(r.stdout);
}

/**
 * Cleans every node. Domains go first everywhere (nothing holds the DRBD devices any more), then the
 * resources, then files and LVs. Never throws for one node's failure: what is left is reported.
 */
export async function cleanupMigrationTest(ctxs: Host[], vg: string, haNodes: readonly string[] | null): Promise<{ actions: { server: string; description: string }[]; leftovers: { server: string; what: string }[] }> {
  const actions: { server: string; description: string }[] = [];
  const errors: { server: string; what: string }[] = [];
  const act = async (ctx: Host, description: string, command: ArgvAction | ScriptAction) => {
    actions.push({ server: ctx.server, description });
    try {
      await ctx.mutate(description, { ...command, timeoutMs: 120_000 });
    } catch (error) {
      errors.push({ server: ctx.server, what: `${description} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` });
    }
  };
  const states = new Map<string, NodeLeftovers>();
  await Promise.all(ctxs.map(async (ctx) => states.set(ctx.server, await readLeftovers(ctx, vg, haNodes).catch(() => parseLeftovers('')))));

  // 0. On an HA cluster, Pacemaker's objects of the test guest first: stopped (the guest, then its
  // DRBD clone: Pacemaker takes the resource down), then removed, so nothing restarts what follows removes.
  const withCib = ctxs.find((ctx) => states.get(ctx.server)!.cib.length > 0);
  if (withCib) {
    const present = states.get(withCib.server)!.cib;
    actions.push({ server: withCib.server, description: `stop and remove the test guest's Pacemaker objects (${present.join(', ')})` });
    try {
      await removeTestGuestFromPacemaker(withCib, present);
    } catch (error) {
      errors.push({ server: withCib.server, what: `removing the test guest from Pacemaker failed: ${firstLine(error)}` });
    }
    // What Pacemaker stopped is no longer there to stop: read again.
    await Promise.all(ctxs.map(async (ctx) => states.set(ctx.server, await readLeftovers(ctx, vg, haNodes).catch(() => parseLeftovers('')))));
  }

  // 1. The test domain, on every node.
  await Promise.all(
    ctxs.map(async (ctx) => {
      const state = states.get(ctx.server)!;
      if (state.domain === 'running') await act(ctx, `stop the test guest ${GUEST_NAME}`, { argv: ['virsh', 'destroy', GUEST_NAME] });
      if (state.domain !== null) await act(ctx, `remove the test guest's definition ${GUEST_NAME}`, { script: 'domain-undefine.sh', args: [GUEST_NAME] });
    }),
  );
  // 2. The resource: Secondary everywhere first, then down (down demotes too, but a failed demote is worth its own message).
  await Promise.all(
    ctxs.map(async (ctx) => {
      const state = states.get(ctx.server)!;
      if (state.role?.startsWith('Primary')) {
        actions.push({ server: ctx.server, description: `demote ${TEST_RESOURCE} to Secondary` });
        await mutateUntil(ctx, `demote ${TEST_RESOURCE} to Secondary`, ['drbdadm', 'secondary', TEST_RESOURCE], 30_000).catch((error: Error) =>
          errors.push({ server: ctx.server, what: `demote ${TEST_RESOURCE} failed: ${error.message.split('\n')[0]}` }),
        );
      }
    }),
  );
  await Promise.all(
    ctxs.map(async (ctx) => {
      const state = states.get(ctx.server)!;
      if (state.resourceUp) await act(ctx, `take the DRBD resource ${TEST_RESOURCE} down`, { script: 'drbd-down.sh', args: [TEST_RESOURCE] });
    }),
  );
  // 3. Config, volume, files.
  await Promise.all(
    ctxs.map(async (ctx) => {
      const state = states.get(ctx.server)!;
      if (state.resFile) await act(ctx, `remove ${RES_FILE}`, { argv: ['rm', '-f', RES_FILE] });
      if (state.lv) await act(ctx, `remove the logical volume ${vg}/${TEST_RESOURCE}`, { argv: ['lvremove', '-f', '-y', `${vg}/${TEST_RESOURCE}`] });
      if (state.files.length > 0) await act(ctx, `remove the test guest's files (${state.files.join(', ')})`, { argv: ['rm', '-f', ...state.files] });
    }),
  );

  // 4. The timer that would close the dual-primary window (a killed run's, or one a failed close left
  // armed): nothing is left for it to close.
  await Promise.all(
    ctxs.map(async (ctx) => {
      if (!states.get(ctx.server)!.closeTimer) return;
      actions.push({ server: ctx.server, description: `disarm the timer ${CLOSE_UNIT}` });
      await disarmDualPrimaryClose(ctx, TEST_RESOURCE).catch((error: Error) => errors.push({ server: ctx.server, what: `disarm the timer ${CLOSE_UNIT} failed: ${error.message.split('\n')[0]}` }));
    }),
  );

  // 5. What is left, read again.
  const leftovers: { server: string; what: string }[] = [...errors];
  await Promise.all(
    ctxs.map(async (ctx) => {
      try {
        for (const what of describeLeftovers(await readLeftovers(ctx, vg, haNodes))) leftovers.push({ server: ctx.server, what });
      } catch (error) {
        leftovers.push({ server: ctx.server, what: `could not check: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` });
      }
    }),
  );
  return { actions, leftovers };
}

/** The clean-up at the end of a test run: never throws, a failure of the clean-up itself is a leftover too. */
export async function cleanupAfterTest(ctxs: Host[], vg: string, haNodes: readonly string[] | null): Promise<{ actions: { server: string; description: string }[]; leftovers: { server: string; what: string }[] }> {
  try {
    return await cleanupMigrationTest(ctxs, vg, haNodes);
  } catch (error) {
    return { actions: [], leftovers: [{ server: '*', what: `clean-up failed: ${firstLine(error)}` }] };
  }
}
