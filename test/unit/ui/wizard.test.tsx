/**
 * The whole wizard with a fake engine: servers, host-key confirmation, inspection, layout, plan,
 * apply fed by engine events, done. Also writes the text captures in docs/wizard/ (WRITE_CAPTURES=1).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';
import { AnswerFileError } from '../../../installer/answers/issues.js';
import type { Answers } from '../../../installer/answers/schema.js';
import type { EngineEvent } from '../../../installer/engine/events.js';
import type { ServerFacts } from '../../../installer/facts/types.js';
import type { ServerLogin } from '../../../installer/plan/propose.js';
import type { VerifyChoice, WizardBackend } from '../../../installer/ui/backend.js';
import { Wizard } from '../../../installer/ui/Wizard.js';
import { EVENTS, labComparison } from './fixtures.js';
import { KEY, labPair, press, tick, waitFor } from './helpers.js';

const CAPTURES = new URL('../../../docs/wizard/', import.meta.url);
function capture(name: string, frame: string) {
  if (!process.env.WRITE_CAPTURES) return;
  mkdirSync(CAPTURES, { recursive: true });
  writeFileSync(new URL(`${name}.txt`, CAPTURES), `${frame.replace(/[ \t]+$/gm, '')}\n`);
}

class FakeBackend implements WizardBackend {
  readonly facts = labPair();
  planCalls: Answers[] = [];
  applied?: Answers;
  saved?: Answers;
  closed = false;
  failPlanOnce = false;
  failApply = false;
  /** The migration-test choice of each verify call. */
  verifyChoices: boolean[] = [];

  async inspect(login: ServerLogin, hooks: Parameters<WizardBackend['inspect']>[1]): Promise<{ fingerprint: string; facts: ServerFacts }> {
    hooks.onStage('connecting');
    const index = Number(login.address.split('.').at(-1)) - 1;
    const fingerprint = `SHA256:${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq'.slice(index)}${'0'.repeat(index)}`;
    if (index === 0 && !(await hooks.askHostKey('ssh-ed25519', fingerprint))) throw new Error('host key refused');
    hooks.onStage('inspecting');
    await tick(20);
    return { fingerprint, facts: this.facts[index]! };
  }

  async plan(answers: Answers) {
    this.planCalls.push(answers);
    if (this.failPlanOnce) {
      this.failPlanOnce = false;
      throw new AnswerFileError('the layout', [{ severity: 'error', path: ['spec', 'nodes', 1, 'name'], message: 'the server at 198.18.1.2 calls itself hv2, not hvx' }], {
        headline: (counts) => `the servers do not fit the layout (${counts}); nothing was changed on any server`,
      });
    }
    return { comparison: labComparison(), changes: [{ server: 'hv1', step: 'packages', description: 'install drbd-utils' }], warnings: [] };
  }

  async apply(answers: Answers, emit: (event: EngineEvent) => void) {
    this.applied = answers;
    for (const event of EVENTS) {
      emit(event);
      await tick(2);
    }
    await tick(150); // the live region with the progress bar is on screen for a while
    const rest: EngineEvent[] = this.failApply
      ? [
          { type: 'step-finished', server: 'hv1', step: 'drbd', status: 'failed', changes: [], durationMs: 4000, error: 'drbdadm up failed' },
          { type: 'step-finished', server: 'hv2', step: 'packages', status: 'changed', changes: ['apt-get install drbd-utils lvm2'], durationMs: 126_000 },
          { type: 'run-finished', runId: 'r', ok: false, changed: 2, unchanged: 2, failed: 1, durationMs: 131_000, logFile: '/logs/hv-cluster.log' },
        ]
      : [
          { type: 'progress', server: 'hv1', step: 'drbd', percent: 100 },
          { type: 'step-finished', server: 'hv1', step: 'drbd', status: 'changed', changes: ['drbdadm create-md r0'], durationMs: 60_000 },
          { type: 'step-finished', server: 'hv2', step: 'packages', status: 'changed', changes: ['apt-get install drbd-utils lvm2'], durationMs: 126_000 },
          { type: 'step-started', server: 'hv2', step: 'drbd', title: 'DRBD' },
          { type: 'step-finished', server: 'hv2', step: 'drbd', status: 'changed', changes: ['drbdadm create-md r0'], durationMs: 1_000 },
          { type: 'run-finished', runId: 'r', ok: true, changed: 3, unchanged: 2, failed: 0, durationMs: 190_000, logFile: '/logs/hv-cluster.log' },
        ];
    for (const event of rest) {
      emit(event);
      await tick(2);
    }
    return this.failApply
      ? { ok: false, logFile: '/logs/hv-cluster.log', failures: [{ server: 'hv1', step: 'drbd', message: 'command failed (exit 10): drbdadm up r0\nstderr: r0: Failure: (114) Lower device is already claimed.' }] }
      : { ok: true, logFile: '/logs/hv-cluster.log', failures: [] };
  }

  async verify(answers: Answers, options: VerifyChoice = {}) {
    this.verifyChoices.push(options.migrationTest ?? false);
    options.onPhase?.('hv1: starting the test guest');
    await tick(150); // the spinner with the migration test's phase is on screen for a while
    return {
      summary: { passed: 41, warnings: 1, errors: 0, skipped: 2, unreachable: [] },
      problems: [`warning cluster TIME_SYNC: ${answers.spec.nodes.length} nodes have no time sync service`],
      reportFile: '/work/hv-cluster-report.md',
      ok: true,
      ...(options.migrationTest
        ? {
            migration: {
              ok: true,
              cleanedUp: true,
              moves: [
                { from: 'hv1', to: 'hv2', ok: true, qemuDowntimeMs: 665, clientMaxGapMs: 1293, dataIntact: true },
                { from: 'hv2', to: 'hv1', ok: true, qemuDowntimeMs: 97, clientMaxGapMs: 529, dataIntact: true },
              ],
            },
          }
        : {}),
    };
  }

  save(answers: Answers) {
    this.saved = answers;
    return '/work/site.yaml';
  }

  async close() {
    this.closed = true;
  }
}

async function answerServers(stdin: { write: (s: string) => void }, lastFrame: () => string | undefined) {
  await waitFor(lastFrame, 'How many servers');
  capture('1-servers', lastFrame()!);
  await press(stdin, KEY.enter);
  for (const i of [1, 2]) {
    await waitFor(lastFrame, `Server ${i} of 2`);
    await press(stdin, `198.18.1.${i}`, KEY.enter);
    await waitFor(lastFrame, 'Jump host');
    await press(stdin, KEY.enter); // none
    await waitFor(lastFrame, 'Login user');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'log in?');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Private key file');
    if (i === 2) capture('1-servers-filled', lastFrame()!);
    await press(stdin, ...Array(20).fill(KEY.backspace), '/keys/id', KEY.enter);
  }
}

describe('the wizard', () => {
  it('goes from the servers to a finished install, confirming the host key, and saves the answers', async () => {
    const backend = new FakeBackend();
    backend.failPlanOnce = true;
    const onExit = vi.fn();
    const { stdin, lastFrame } = render(<Wizard backend={backend} fileExists={() => true} onExit={onExit} />);
    await answerServers(stdin, lastFrame);

    const question = await waitFor(lastFrame, 'Trust this key');
    capture('2-host-key', question);
    expect(question).toContain('The host key of root@198.18.1.1 is not known.');
    await press(stdin, 'y');

    const layout = await waitFor(lastFrame, 'Continue to the plan');
    capture('3-inventory-layout', layout);
    expect(layout).toContain('DRBD module 8.4.11');
    await press(stdin, ...Array(30).fill(KEY.down), KEY.enter);

    // The first plan finds the servers do not fit: back on the layout with the findings.
    const notice = await waitFor(lastFrame, 'the servers do not fit');
    expect(notice).toContain('spec.nodes[1].name: the server at 198.18.1.2 calls itself hv2, not hvx');
    await press(stdin, KEY.enter);

    const plan = await waitFor(lastFrame, 'Plan for hv-cluster');
    capture('4-plan', plan);
    await press(stdin, 'd');
    capture('4-plan-diffs', await waitFor(lastFrame, '+++ /etc/hosts (planned)'));
    await press(stdin, 'd', KEY.enter);
    capture('4-plan-confirm', await waitFor(lastFrame, 'Apply this plan'));
    await press(stdin, 'y');
    // Esc goes back to the plan; then the live-migration test is chosen (the default).
    await waitFor(lastFrame, 'Prove live migration too?');
    await press(stdin, KEY.escape);
    await waitFor(lastFrame, 'Enter continue');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Apply this plan');
    await press(stdin, 'y');
    capture('4-migration-choice', await waitFor(lastFrame, 'Prove live migration too?'));
    await press(stdin, KEY.enter);

    capture('6-verifying', await waitFor(lastFrame, 'hv1: starting the test guest', 5000));
    const done = await waitFor(lastFrame, 'is installed', 5000);
    capture('6-done', done);
    expect(backend.verifyChoices).toEqual([true]);
    expect(done).toContain('Live migration test: passed');
    expect(done).toContain('✓ hv1 → hv2: QEMU downtime 665 ms, longest gap seen by the client 1293 ms, data intact');
    expect(done).toContain('✓ hv2 → hv1: QEMU downtime 97 ms');
    expect(done).toMatch(/● hv2\s+drbd\s+changed/);
    expect(done.match(/hv1\s+preflight/g)).toHaveLength(1);
    expect(done).toContain('Answer file: /work/site.yaml');
    expect(done).toContain('Log: /logs/hv-cluster.log');
    expect(done).toContain('Verify: 41 passed, 1 warnings, 0 errors, 2 skipped');
    expect(done).toContain('warning cluster TIME_SYNC: 2 nodes have no time sync service');
    expect(done).toContain('Hand-over report: /work/hv-cluster-report.md');
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledWith(0));
    expect(backend.closed).toBe(true);
    expect(backend.saved).toBe(backend.applied);
    expect(backend.saved!.spec.nodes.map((n) => n.ssh.hostKey)).toEqual([
      'SHA256:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq',
      'SHA256:BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq0',
    ]);
    expect(backend.saved!.spec.nodes[0]!.storage).toEqual({ disk: '/dev/disk/by-id/virtio-hvdata-demo-1', wipe: false });
  });

  it('shows the progress while applying, and the failure view when a step fails', async () => {
    const backend = new FakeBackend();
    backend.failApply = true;
    const onExit = vi.fn();
    const { stdin, lastFrame, frames } = render(<Wizard backend={backend} fileExists={() => true} onExit={onExit} />);
    await answerServers(stdin, lastFrame);
    await waitFor(lastFrame, 'Trust this key');
    await press(stdin, 'y');
    await waitFor(lastFrame, 'Continue to the plan');
    await press(stdin, ...Array(30).fill(KEY.down), KEY.enter);
    await waitFor(lastFrame, 'Plan for hv-cluster');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Apply this plan');
    await press(stdin, 'y');
    await waitFor(lastFrame, 'Prove live migration too?');
    await press(stdin, KEY.down, KEY.enter); // the health checks only
    const failed = await waitFor(lastFrame, 'Apply stopped', 5000);
    capture('5-apply-failed', failed);
    expect(failed).toContain('server hv1, step drbd');
    expect(failed).toContain('r0: Failure: (114) Lower device is already claimed.');
    expect(failed).toContain('/logs/hv-cluster.log');
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledWith(1));
    const live = frames.find((f) => f.includes('42.5%'));
    expect(live).toBeDefined();
    capture('5-apply-progress', live!);
  });

  it('leaves on Ctrl-C before anything was changed', async () => {
    const backend = new FakeBackend();
    const onExit = vi.fn();
    const { stdin, lastFrame } = render(<Wizard backend={backend} fileExists={() => true} onExit={onExit} />);
    await waitFor(lastFrame, 'How many servers');
    await press(stdin, '\u0003');
    await vi.waitFor(() => expect(onExit).toHaveBeenCalledWith(130));
    expect(backend.closed).toBe(true);
  });

  it('refuses an untrusted host key and offers to enter the servers again', async () => {
    const backend = new FakeBackend();
    const { stdin, lastFrame } = render(<Wizard backend={backend} fileExists={() => true} />);
    await answerServers(stdin, lastFrame);
    await waitFor(lastFrame, 'Trust this key');
    await press(stdin, 'n');
    const frame = await waitFor(lastFrame, 'Enter the servers again?');
    expect(frame).toContain('✗ root@198.18.1.1 host key refused');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'How many servers');
  });
});
