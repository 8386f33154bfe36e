/**
 * A run stopped between steps (Ctrl-C): its summary says "Interrupted" and where, the journal keeps
 * where it stopped, and the next apply says so. The engine runs real steps (services, drbd-module)
 * over a scripted connection that answers as an installed node does.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../installer/engine/events.js';
import { Journal, unfinishedMessage, type JournalState } from '../../../installer/engine/journal.js';
import type { Playbook } from '../../../installer/engine/playbook.js';
import { lineReporter } from '../../../installer/engine/reporters.js';
import { runPlaybook } from '../../../installer/engine/runner.js';
import { palette } from '../../../installer/output.js';
import type { ClusterPlan } from '../../../installer/plan/types.js';
import { fakeConnection, type FakeConnection } from '../../helpers/fake-connection.js';

const playbook: Playbook = {
  apiVersion: 'hvcluster/v1',
  kind: 'Playbook',
  name: 'install',
  description: 'test',
  steps: [
    { name: 'services', title: 'Enable and start libvirtd', kind: 'services' },
    { name: 'drbd-module', title: 'Load the DRBD kernel module', kind: 'drbd-module' },
    { name: 'services-again', title: 'Services once more', kind: 'services' },
  ],
};

/** A node where libvirtd is enabled and running and DRBD is loaded. */
function installedNode(name: string): FakeConnection {
  return fakeConnection({
    name,
    answer: [[/systemctl is-enabled/, 'libvirtd enabled active enabled active\n']],
    unmatched: 'version: 8.4.11 (api:1/proto:86-101)\n',
    uploads: 'refuse',
  });
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function run(stopAfterSteps: number) {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-journal-'));
  dirs.push(dir);
  const servers = ['hv1', 'hv2'];
  const plan = { cluster: 'acme', nodes: servers.map((name) => ({ name, model: { time: { servers: [] } } })) } as unknown as ClusterPlan;
  const events: EngineEvent[] = [];
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const report = lineReporter(out, palette(false));
  const journal = new Journal(join(dir, 'journal.json'), 'run-1', false, playbook.steps.map((s) => s.name));
  let finished = 0;
  const result = await runPlaybook({
    runId: 'run-1',
    playbook,
    answers: {} as never,
    plan,
    // What the batched read found: an installed node (no step changes anything, so nothing is read again).
    states: servers.map(
      () =>
        ({
          services: { ok: true, value: [{ service: 'libvirtd', enabled: 'enabled', active: 'active', socket: { enabled: 'enabled', active: 'active' } }] },
          packages: { ok: true, value: [] },
          drbd: { ok: true, value: { loadedVersion: '8.4.11' } },
        }) as never,
    ),
    connections: new Map(servers.map((s) => [s, installedNode(s)])),
    reconnect: async () => {
      throw new Error('no reconnect expected');
    },
    dryRun: false,
    emit: (event) => {
      events.push(event);
      report(event);
      if (event.type === 'step-finished') finished++;
    },
    logFile: '/logs/acme-run-1.log',
    journal,
    stopRequested: () => finished >= stopAfterSteps * servers.length,
  });
  return { result, events, text, journalFile: join(dir, 'journal.json') };
}

describe('an apply interrupted between steps', () => {
  it('ends with "Interrupted before step ..." and where, not "Failed: ... 0 failed"', async () => {
    const { result, events, text } = await run(2);
    expect(result.ok).toBe(false);
    expect(events.filter((e) => e.type === 'step-started').map((e) => (e as { step: string }).step)).toEqual(['services', 'services', 'drbd-module', 'drbd-module']);
    const summary = text.trim().split('\n').at(-1)!;
    expect(summary).toMatch(/^Interrupted before step "services-again" \(2 of 3 steps done\): 0 step\(s\) changed, 4 unchanged in \d+ ms; run apply again to finish\. Log: \/logs\/acme-run-1\.log$/);
    expect(text).not.toContain('Failed');
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', ok: false, failed: 0, interruptedBefore: 'services-again' });
  });

  it('leaves in the journal where it stopped, and the next apply says it', async () => {
    const { journalFile } = await run(1);
    const previous = Journal.unfinished(journalFile)!;
    expect(previous).toMatchObject({ runId: 'run-1', ok: false, stopped: { how: 'interrupted', step: 'drbd-module' } });
    expect(unfinishedMessage(previous)).toBe(
      'the previous apply (run run-1) did not finish; this run checks every step again and finishes the job. It was interrupted (Ctrl-C) before step "drbd-module" (step 2 of 3).',
    );
  });

  it('a run that finished is not reported to the next one', async () => {
    const { result, journalFile } = await run(99);
    expect(result.ok).toBe(true);
    expect(Journal.unfinished(journalFile)).toBeUndefined();
  });
});

describe('the next apply after a run that was cut off', () => {
  it('says in which step the killed run was, and what had finished everywhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvc-journal-'));
    dirs.push(dir);
    const path = join(dir, 'journal.json');
    const journal = new Journal(path, 'run-7', false, ['packages', 'system-files', 'network', 'storage']);
    journal.save();
    journal.stepStarted('packages');
    journal.stepDone('hv1', 'packages');
    journal.stepDone('hv2', 'packages');
    journal.stepStarted('system-files');
    journal.stepDone('hv2', 'system-files');
    // SIGKILL here: no finish() is ever written.
    const previous = Journal.unfinished(path)!;
    expect(JSON.parse(readFileSync(path, 'utf8')).finishedAt).toBeUndefined();
    expect(unfinishedMessage(previous)).toBe(
      'the previous apply (run run-7) did not finish; this run checks every step again and finishes the job. It was cut off during step "system-files" (step 2 of 4), after "packages".',
    );
  });

  it('a run that failed: where, and on which server', () => {
    const state: JournalState = {
      runId: 'run-8',
      startedAt: '',
      finishedAt: 'x',
      ok: false,
      dryRun: false,
      steps: ['packages', 'network'],
      current: 'network',
      stopped: { how: 'failed', step: 'network', servers: ['hv2'] },
      done: { hv1: ['packages', 'network'], hv2: ['packages'] },
    };
    expect(unfinishedMessage(state)).toMatch(/finishes the job\. It failed at step "network" \(step 2 of 2\) on hv2\.$/);
  });
});

describe('the journal file', () => {
  it('is written through a temporary name of its own: a file planted at the old fixed name is neither followed nor left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvc-journal-tmp-'));
    const path = join(dir, 'journal.json');
    // Another local user's trap at the name the journal used to write through.
    symlinkSync('/etc/passwd-not-ours', `${path}.tmp`);
    const journal = new Journal(path, 'run-2', false, ['a', 'b']);
    journal.save();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ runId: 'run-2' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['journal.json', 'journal.json.tmp']);
    expect(lstatSync(`${path}.tmp`).isSymbolicLink()).toBe(true);
  });
});
