/** The clean-up's order and reporting, against fake connections that play a node left dirty by a killed run. */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { scriptText } from '../../../installer/engine/change.js';
import type { EngineEvent } from '../../../installer/engine/events.js';
import { Guard } from '../../../installer/engine/guard.js';
import { Host } from '../../../installer/engine/host.js';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { planCluster } from '../../../installer/plan/index.js';
import type { ServerConnection } from '../../../installer/ssh/types.js';
import { cleanupMigrationTest } from '../../../installer/verify/migration/cleanup.js';
import { fakeConnection } from '../../helpers/fake-connection.js';
import { labFacts, loadSite } from '../plan/helpers.js';

const DIRTY = 'domain=running\nup=yes\nrole=Primary/Primary\nresfile=yes\nlv=yes\nfile=/var/lib/libvirt/boot/hvc-migtest.xml\n';
const CLEAN = 'domain=\nup=no\nrole=\nresfile=no\nlv=no\n';

/** A script sent on stdin, by its file name: `sh -s -- ARGS` with drbd-down.sh on stdin reads `drbd-down.sh ARGS`. */
const SCRIPTS = readdirSync(REMOTE_DIR)
  .filter((f) => f.endsWith('.sh'))
  .map((f) => [f, scriptText(f)] as const);
function readable(command: string, stdin: unknown): string {
  const script = typeof stdin === 'string' ? SCRIPTS.find(([, text]) => text === stdin)?.[0] : undefined;
  return script ? command.replace(/^sh -s --/, script) : command;
}

function fakeNode(name: string, log: string[], options: { stuck?: boolean; dirty?: string } = {}): ServerConnection {
  let cleaned = false;
  return fakeConnection({
    name,
    answer: (raw, execOptions) => {
      const command = readable(raw, execOptions?.stdin);
      if (command.startsWith('migration-leftovers.sh')) return cleaned && !options.stuck ? CLEAN : (options.dirty ?? DIRTY);
      log.push(`${name}: ${command}`);
      if (command.startsWith('lvremove')) cleaned = true;
      return '';
    },
  });
}

function contexts(log: string[], events: EngineEvent[], stuck = false, dirty?: string): Host[] {
  const answers = loadSite().answers;
  const plan = planCluster(answers, [labFacts(1), labFacts(2)]);
  const emit = (e: EngineEvent) => events.push(e);
  const connections = new Map(plan.nodes.map((node, i) => [node.name, fakeNode(node.name, log, { stuck: stuck && i === 1, ...(dirty ? { dirty } : {}) })]));
  const session = { runId: 't', dryRun: false, guard: new Guard(false, emit), emit, backupRoot: '/tmp', connection: (s: string) => connections.get(s)!, reconnect: () => Promise.reject(new Error('no')) };
  return plan.nodes.map((node) => new Host(session, node.name, 'migration-test'));
}

describe('migration test clean-up', () => {
  it('stops the guest everywhere before it demotes, takes DRBD down before it removes the LV, and reports every action through the guard', async () => {
    const log: string[] = [];
    const events: EngineEvent[] = [];
    const { actions, leftovers } = await cleanupMigrationTest(contexts(log, events), 'hvdata', null);
    expect(leftovers).toEqual([]);
    const index = (pattern: RegExp) => log.findIndex((l) => pattern.test(l));
    const lastIndex = (pattern: RegExp) => log.findLastIndex((l) => pattern.test(l));
    expect(lastIndex(/virsh destroy/)).toBeLessThan(index(/drbdadm secondary/));
    expect(lastIndex(/drbdadm secondary/)).toBeLessThan(index(/drbd-down\.sh/));
    expect(lastIndex(/drbd-down\.sh/)).toBeLessThan(index(/lvremove/));
    expect(log.filter((l) => l.startsWith('hv1: ')).map((l) => l.split(' ')[1])).toEqual(['virsh', 'domain-undefine.sh', 'drbdadm', 'drbd-down.sh', 'rm', 'lvremove', 'rm']);
    const changes = events.filter((e) => e.type === 'change').map((e) => (e as { description: string }).description);
    expect(changes).toEqual(actions.map((a) => a.description));
    expect(changes).toContain('demote hvc-migtest to Secondary');
  });

  it("disarms the dual-primary timer of a killed run last, once nothing is left for it to close", async () => {
    const log: string[] = [];
    const { actions, leftovers } = await cleanupMigrationTest(contexts(log, [], false, `${DIRTY}closetimer=yes\n`), 'hvdata', null);
    expect(leftovers).toEqual([]);
    expect(actions.filter((a) => a.server === 'hv1').at(-1)?.description).toBe('disarm the timer hvcluster-dual-primary-hvc-migtest');
    const disarm = log.findIndex((l) => l.startsWith('hv1: dual-primary-close.sh disarm hvc-migtest'));
    expect(disarm).toBeGreaterThan(log.findIndex((l) => l.startsWith('hv1: drbd-down.sh hvc-migtest')));
    // Without an armed timer, nothing to disarm.
    const quiet: string[] = [];
    await cleanupMigrationTest(contexts(quiet, []), 'hvdata', null);
    expect(quiet.some((l) => l.includes('disarm'))).toBe(false);
  });

  it('names what is still there when a node does not come clean', async () => {
    const { leftovers } = await cleanupMigrationTest(contexts([], [], true), 'hvdata', null);
    expect(leftovers.map((l) => `${l.server}: ${l.what}`)).toEqual(
      expect.arrayContaining(['hv2: test domain hvc-migtest (running)', 'hv2: hvc-migtest is Primary', 'hv2: logical volume hvc-migtest']),
    );
    expect(leftovers.every((l) => l.server === 'hv2')).toBe(true);
  });
});
