/** The plan screen (diffs, confirmation by typing a disk's name) and the apply screen fed with engine events. */
import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { EngineEvent } from '../../../installer/engine/events.js';
import { initialProgress, progressReducer } from '../../../installer/ui/progress-state.js';
import { HostKeyConfirm, InspectView } from '../../../installer/ui/screens/Inspect.js';
import { PlanScreen } from '../../../installer/ui/screens/Plan.js';
import { FailureView, ProgressView } from '../../../installer/ui/screens/Progress.js';
import { EVENTS, labComparison } from './fixtures.js';
import { labPair as labPairFacts } from './helpers.js';
import { KEY, press, tick, waitFor } from './helpers.js';

describe('PlanScreen', () => {
  it('shows files per server, the diffs on d, and applies after y', async () => {
    const onApply = vi.fn();
    const { stdin, lastFrame } = render(<PlanScreen comparison={labComparison()} erase={[]} onApply={onApply} onBack={() => undefined} />);
    const frame = await waitFor(lastFrame, 'Plan for hv-cluster');
    expect(frame).toContain('== hv1 ==');
    expect(frame).toMatch(/change\s+\/etc\/hosts/);
    expect(frame).toMatch(/create\s+\/etc\/drbd.d\/global_common.conf/);
    expect(frame).toContain('install   drbd-utils');
    await press(stdin, 'd');
    expect(await waitFor(lastFrame, '+++ /etc/hosts (planned)')).toContain('--- /etc/hosts (on hv1)');
    await press(stdin, KEY.enter);
    await waitFor(lastFrame, 'Apply this plan to hv1, hv2?');
    await press(stdin, 'y');
    expect(onApply).toHaveBeenCalledOnce();
  });

  it('counts the changes apply will make per server, and lists them in order on c (the dry run list, network revert and node trust included)', async () => {
    const changes = [
      { server: 'hv1', step: 'network', description: 'reconfigure the network (...); the server restores its previous network by itself after 150 s' },
      { server: 'hv1', step: 'node-trust', description: 'authorize the migration key of hv2 (from its addresses only, restricted) in /root/.ssh/authorized_keys' },
      { server: 'hv2', step: 'network', description: 'reconfigure the network (...)' },
    ];
    const { stdin, lastFrame } = render(<PlanScreen comparison={labComparison()} changes={changes} erase={[]} onApply={() => undefined} onBack={() => undefined} />);
    const frame = await waitFor(lastFrame, 'Plan for hv-cluster');
    expect(frame).toMatch(/changes\s+2 in order\n/);
    expect(frame).toMatch(/changes\s+1 in order\n/);
    expect(frame).not.toContain('authorize the migration key');
    await press(stdin, 'c');
    const listed = await waitFor(lastFrame, 'authorize the migration key of hv2');
    // In order, each under its step (the terminal wraps long lines).
    expect(listed.replace(/\s+/g, ' ')).toContain('changes 2 in order: network reconfigure the network (...); the server restores its previous network by itself after 150 s node-trust authorize');
    await press(stdin, 'c');
    await waitFor(lastFrame, 'c list the changes');
    expect(lastFrame()).not.toContain('authorize the migration key');
  });

  it('erases a disk only after its name is typed exactly', async () => {
    const onApply = vi.fn();
    const erase = [{ node: 'hv2', disk: '/dev/disk/by-id/virtio-hvdata-demo-2', name: 'vdb', reasons: ['first MiB not zero'] }];
    const { stdin, lastFrame } = render(<PlanScreen comparison={labComparison()} erase={erase} onApply={onApply} onBack={() => undefined} />);
    await waitFor(lastFrame, 'Plan for');
    await press(stdin, KEY.enter);
    expect(await waitFor(lastFrame, 'Type vdb to confirm')).toMatch(/hv2: \/dev\/disk\/by-id\/virtio-hvdata-demo-2 holds data \(first MiB not zero\)\.\s+Applying\s+ERASES\s+everything\s+on\s+it\./);
    await press(stdin, 'sdb', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('"sdb" is not vdb; nothing will be erased until you type it exactly');
    expect(lastFrame()).not.toContain('Apply this plan');
    await press(stdin, KEY.backspace, KEY.backspace, KEY.backspace, 'vdb', KEY.enter);
    await waitFor(lastFrame, 'Apply this plan');
    await press(stdin, 'n');
    await waitFor(lastFrame, 'd show the diffs');
    expect(onApply).not.toHaveBeenCalled();
  });
});

describe('ProgressView', () => {
  it('keeps finished steps above and shows the current ones with a progress bar', async () => {
    const state = EVENTS.reduce(progressReducer, initialProgress);
    const { lastFrame } = render(<ProgressView state={state} />);
    const frame = await waitFor(lastFrame, '42.5%');
    expect(frame).toContain('Applying hv-cluster');
    expect(frame).toMatch(/✓ hv1\s+preflight\s+unchanged\s+310 ms/);
    expect(frame).toMatch(/● hv1\s+packages\s+changed\s+125\.4 s/);
    expect(frame).toContain('- apt-get install drbd-utils lvm2');
    expect(frame).toMatch(/hv1\s+2\/4\s+initial DRBD sync/);
    expect(frame).toMatch(/hv2\s+1\/4\s+installing drbd-utils/);
    expect(frame).toContain('█'.repeat(13));
    expect(frame).toContain('full sync 435 MiB of 1 GiB');
  });

  it('prints its header once the run has started, not before (while the run waits for the cluster lock)', async () => {
    let state = initialProgress;
    const { lastFrame, rerender } = render(<ProgressView state={state} />);
    await tick(20);
    expect(lastFrame() ?? '').not.toContain('Applying');
    state = progressReducer(state, EVENTS[0]!);
    rerender(<ProgressView state={state} />);
    const frame = await waitFor(lastFrame, 'Applying hv-cluster');
    expect(frame.match(/Applying/g)).toHaveLength(1);
  });

  it('updates as events arrive, and ends with the failure view naming server, step, command, stderr and log', async () => {
    let state = EVENTS.slice(0, 5).reduce(progressReducer, initialProgress);
    const { lastFrame, rerender } = render(<ProgressView state={state} />);
    await waitFor(lastFrame, 'preflight');
    for (const event of EVENTS.slice(5)) {
      state = progressReducer(state, event);
      rerender(<ProgressView state={state} />);
      await tick(5);
    }
    const failed: EngineEvent[] = [
      { type: 'step-finished', server: 'hv2', step: 'packages', status: 'failed', changes: [], durationMs: 3000, error: 'apt-get install failed (exit 100)' },
      { type: 'run-finished', runId: 'r', ok: false, changed: 1, unchanged: 2, failed: 1, durationMs: 130_000, logFile: state.logFile },
    ];
    for (const event of failed) state = progressReducer(state, event);
    rerender(
      <>
        <ProgressView state={state} />
        <FailureView
          logFile={state.logFile}
          failures={[{ server: 'hv2', step: 'packages', message: 'command failed (exit 100): apt-get install -y drbd-utils\nE: Unable to locate package drbd-utils', hint: 'check the apt sources' }]}
        />
      </>,
    );
    const frame = await waitFor(lastFrame, 'Apply stopped');
    expect(frame).toMatch(/✗ hv2\s+packages\s+FAILED/);
    expect(frame).toContain('server hv2, step packages');
    expect(frame).toContain('apt-get install -y drbd-utils');
    expect(frame).toContain('E: Unable to locate package drbd-utils');
    expect(frame).toContain('/root/.local/state/hvcluster/logs/hv-cluster.log');
  });
});

describe('host keys', () => {
  it('asks to trust an unknown key, showing its fingerprint', async () => {
    const answer = vi.fn();
    const { stdin, lastFrame } = render(
      <HostKeyConfirm question={{ server: 'root@198.18.1.1', keyType: 'ssh-ed25519', fingerprint: 'SHA256:wl0ClC8NRYgrGxVQFZ4ioBsUTRgatPOUH5BtqIt52/I', answer }} />,
    );
    const frame = await waitFor(lastFrame, 'Trust this key');
    expect(frame).toContain('ssh-ed25519 SHA256:wl0ClC8NRYgrGxVQFZ4ioBsUTRgatPOUH5BtqIt52/I');
    expect(frame).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    await press(stdin, 'x', KEY.enter);
    expect(answer).toHaveBeenCalledWith(false);
  });

  it('shows a spinner per server while inspecting', async () => {
    const [facts] = labPairFacts();
    const { lastFrame } = render(
      <InspectView
        servers={[
          { label: 'root@198.18.1.1', stage: 'done', facts, fingerprint: 'SHA256:abc' },
          { label: 'root@198.18.1.2', stage: 'inspecting' },
          { label: 'root@198.18.1.3', stage: 'failed', error: 'connection refused', hint: 'is sshd running?' },
        ]}
      />,
    );
    const frame = await waitFor(lastFrame, 'reading facts');
    expect(frame).toMatch(/✓ root@198\.18\.1\.1 hv1: Debian GNU\/Linux 12 \(bookworm\), 1 CPUs/);
    expect(frame).toContain('root@198.18.1.2  reading facts…');
    expect(frame).toContain('✗ root@198.18.1.3 connection refused');
  });
});
