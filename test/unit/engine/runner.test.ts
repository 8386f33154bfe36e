/**
 * The runner's contract with step kinds: what a step plans on is read once for the whole run, read
 * again only where a change may have made it stale, a dry run plans on what it has (and knows it is
 * stale), and a plan is performed exactly. Step kinds here are stand-ins registered for the test;
 * the reads are answered by fake connections that count the execs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { STATE_READS, readPaths } from '../../../installer/engine/reads.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../installer/engine/events.js';
import { parsePlaybook, type Playbook } from '../../../installer/engine/playbook.js';
import { parseReads, readScript } from '../../../installer/engine/read-batch.js';
import { runPlaybook } from '../../../installer/engine/runner.js';
import { STEP_KINDS } from '../../../installer/engine/steps/index.js';
import { changeOf, type ServerState, type StepKind } from '../../../installer/engine/steps/step.js';
import type { FactDefinition } from '../../../installer/facts/fact.js';
import { findCommand } from '../../../installer/facts/fact.js';
import type { ClusterPlan } from '../../../installer/plan/types.js';
import { fakeConnection, type FakeConnection } from '../../helpers/fake-connection.js';
import { labPlan } from './harness.js';

const added: string[] = [];
function register(name: string, kind: StepKind): void {
  STEP_KINDS[name] = kind;
  added.push(name);
}
afterEach(() => {
  for (const name of added.splice(0)) delete STEP_KINDS[name];
});

/** A step that writes a marker when the node's packages read says `missing` (as a packages step would install them). */
const installer: StepKind = {
  scope: 'node',
  reads: ['packages'],
  plan: (input) => {
    const value = input.self.state.packages;
    const missing = value?.ok && (value.value as unknown as string) === 'missing';
    return { changes: missing ? [changeOf(input, input.self, 'install', [{ argv: ['true'] }])] : [] };
  },
};
/** A step that only reads, and records whether its input was stale. */
const seen: { server: string; stale: boolean; services: unknown }[] = [];
const checker: StepKind = {
  scope: 'node',
  reads: ['services'],
  clusterReads: ['pathProbe'],
  plan: (input) => {
    seen.push({ server: input.self.node.name, stale: input.stale, services: input.self.state.services });
    return { changes: [] };
  },
};

function playbook(...kinds: string[]): Playbook {
  return { apiVersion: 'hvcluster/v1', kind: 'Playbook', name: 't', description: 't', steps: kinds.map((kind, i) => ({ name: `s${i}-${kind}`, title: kind, kind })) };
}

async function run(book: Playbook, states: Record<string, Partial<ServerState>>, options: { dryRun?: boolean } = {}) {
  const { answers, plan } = labPlan();
  const connections = new Map<string, FakeConnection>(plan.nodes.map((n) => [n.name, fakeConnection({ name: n.name, answer: () => '@@hvc-fact services@@\n@@hvc-cmd services@@\nlibvirtd enabled active enabled active\n\n@@hvc-rc services 0@@\n@@hvc-end services 0@@\n@@hvc-done@@\n' })]));
  const events: EngineEvent[] = [];
  const result = await runPlaybook({
    runId: 'R1',
    playbook: book,
    answers,
    plan: plan as ClusterPlan,
    states: plan.nodes.map((n) => (states[n.name] ?? {}) as ServerState),
    connections: new Map(connections),
    reconnect: () => Promise.reject(new Error('no reconnect')),
    dryRun: options.dryRun ?? false,
    emit: (e) => events.push(e),
    logFile: '/dev/null',
  });
  return { result, events, execs: (server: string) => connections.get(server)!.commands };
}

const everything = (packages: string): Partial<ServerState> =>
  ({ packages: { ok: true, value: packages }, services: { ok: true, value: [] }, pathProbe: { ok: true, value: { noPing: false, peers: [] } } }) as never;

describe('the runner', () => {
  it('runs a whole playbook on what was read before it, without one more exec, when nothing changes', async () => {
    register('t-install', installer);
    register('t-check', checker);
    seen.length = 0;
    const { result, execs } = await run(playbook('t-install', 't-check'), { hv1: everything('ok'), hv2: everything('ok') });
    expect(result.ok).toBe(true);
    expect([execs('hv1'), execs('hv2')]).toEqual([[], []]);
    expect(seen.map((s) => s.stale)).toEqual([false, false]);
  });

  it('reads a step’s facts again where a change came before it: its own reads on that server, cluster-wide reads everywhere', async () => {
    register('t-install', installer);
    register('t-check', checker);
    seen.length = 0;
    const { result, execs } = await run(playbook('t-install', 't-check'), { hv1: everything('missing'), hv2: everything('ok') });
    expect(result.ok).toBe(true);
    // hv1 changed: its services and the path probe are read again (one exec). hv2 did not: only the
    // path probe (about its peer, which changed), in one exec.
    expect(execs('hv1').filter((c) => c.includes('hvc-fact'))).toHaveLength(1);
    expect(execs('hv1').find((c) => c.includes('hvc-fact'))).toMatch(/fact services@@.*fact pathProbe@@/s);
    expect(execs('hv2')).toHaveLength(1);
    expect(execs('hv2')[0]).toContain('fact pathProbe@@');
    expect(execs('hv2')[0]).not.toContain('fact services@@');
    expect(seen.find((s) => s.server === 'hv1')!.services).toEqual({ ok: true, value: [{ service: 'libvirtd', enabled: 'enabled', active: 'active', socket: { enabled: 'enabled', active: 'active' } }] });
  });

  it('in a dry run reads nothing again: the later step plans on what it has, and is told it may be stale', async () => {
    register('t-install', installer);
    register('t-check', checker);
    seen.length = 0;
    const { execs, result } = await run(playbook('t-install', 't-check'), { hv1: everything('missing'), hv2: everything('ok') }, { dryRun: true });
    expect(result.guard.changes.map((c) => `${c.server} ${c.description}`)).toEqual(['hv1 install']);
    expect([execs('hv1'), execs('hv2')]).toEqual([[], []]);
    // hv1 had a planned change; hv2's path probe is about hv1 too.
    expect(Object.fromEntries(seen.map((s) => [s.server, s.stale]))).toEqual({ hv1: true, hv2: true });
  });

  it('reads what no earlier read covered in one exec per server before the first step', async () => {
    register('t-check', checker);
    const { execs } = await run(playbook('t-check'), { hv1: {}, hv2: {} });
    for (const server of ['hv1', 'hv2']) {
      expect(execs(server)).toHaveLength(1);
      expect(execs(server)[0]).toMatch(/fact services@@.*fact pathProbe@@/s);
    }
  });

  it('fails a step whose perform leaves out a change it planned', async () => {
    register('t-lazy', { scope: 'node', reads: [], plan: (input) => ({ changes: [changeOf(input, input.self, 'something', [{ argv: ['true'] }])] }), perform: async () => undefined });
    const { result } = await run(playbook('t-lazy'), {});
    expect(result.ok).toBe(false);
    expect(String((result.errors[0]!.error as Error).message)).toContain('internal: step s0-t-lazy planned changes it did not make: hv1: something');
  });
});

describe('playbook data between steps', () => {
  const yaml = (steps: string[]) => `apiVersion: hvcluster/v1\nkind: Playbook\nname: t\ndescription: t\nsteps:\n${steps.map((k) => `  - { name: ${k}, title: ${k}, kind: ${k} }`).join('\n')}\n`;

  it('loads when each step’s data comes from a step before it', () => {
    expect(parsePlaybook(yaml(['node-keys', 'node-trust']), 't.yaml', STEP_KINDS).steps).toHaveLength(2);
  });

  it('refuses, at load time, a step put before the step whose data it needs', () => {
    expect(() => parsePlaybook(yaml(['node-trust', 'node-keys']), 't.yaml', STEP_KINDS)).toThrow(
      't.yaml: steps[0] (node-trust) needs node-keys, which no step before it produces (step kind node-keys does): move it after that step',
    );
    expect(() => parsePlaybook(yaml(['replication-probe']), 't.yaml', STEP_KINDS)).toThrow('needs fresh-volume-group, which no step before it produces (step kind volume-group does)');
  });
});

describe('the batched read', () => {
  it('reads the planned files through read-files.sh as a function of the batch, exactly as the file is', () => {
    const { answers } = labPlan();
    const def = STATE_READS.files({ answers, node: 'hv1' });
    const out = spawnSync('sh', ['-c', readScript([def])], { encoding: 'utf8' });
    const files = parseReads(out.stdout, [def]).files as { ok: true; value: Map<string, string | null> };
    expect(files.ok).toBe(true);
    expect([...files.value.keys()]).toEqual(readPaths(answers));
    // This machine's own /etc/hosts, byte for byte.
    expect(files.value.get('/etc/hosts')).toBe(readFileSync('/etc/hosts', 'utf8'));
    expect(files.value.get('/etc/netplan/60-hvcluster.yaml')).toBeNull();
  });

  it('runs in sh and comes back read by read, a failing read apart from the others', () => {
    const defs: FactDefinition<unknown>[] = [
      { name: 'one', script: 'hv_cmd echo printf "%s\\n" "a b"', parse: (s) => findCommand(s, 'echo')!.stdout.trim() },
      { name: 'two', script: 'hv_cmd nope hvc-no-such-command', parse: (s) => { if (findCommand(s, 'nope')!.missing) throw new Error('not installed'); return 'x'; } },
      { name: 'three', script: 'hv_cmd n sh -c "echo 3"', parse: (s) => Number(findCommand(s, 'n')!.stdout) },
    ];
    const out = spawnSync('sh', ['-c', readScript(defs)], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(parseReads(out.stdout, defs)).toEqual({ one: { ok: true, value: 'a b' }, two: { ok: false, reason: 'could not parse: not installed' }, three: { ok: true, value: 3 } });
  });
});
