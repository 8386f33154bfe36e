/** The layout screen: the proposal from real lab facts, editing, on-the-spot validation, the inventory. */
import { render } from 'ink-testing-library';
import React from 'react';
import { describe, expect, it, vi } from 'vitest';
import { proposeLayout } from '../../../installer/plan/propose.js';
import { InventoryView } from '../../../installer/ui/screens/Inventory.js';
import { LayoutScreen, layoutFields } from '../../../installer/ui/screens/Layout.js';
import { KEY, labLogins, labNode2, labPair, press, waitFor } from './helpers.js';
import { labFacts } from '../plan/helpers.js';

const fieldIndex = (path: string) => layoutFields(2).findIndex((f) => f.path === path);

describe('LayoutScreen', () => {
  it('shows the proposal, rejects a bad replication address with the answer-file message, keeps a good one', async () => {
    const facts = labPair();
    const onDone = vi.fn();
    const { stdin, lastFrame } = render(<LayoutScreen initial={proposeLayout(facts)} logins={labLogins} facts={facts} onDone={onDone} />);
    const first = await waitFor(lastFrame, 'Continue to the plan');
    expect(first).toContain('/dev/disk/by-id/virtio-hvdata-demo-1');
    expect(first).toContain('198.19.1.2/24');
    expect(first).not.toContain('✗');

    const down = Array(fieldIndex('spec.nodes[0].replication.address')).fill(KEY.down);
    await press(stdin, ...down, KEY.enter);
    await waitFor(lastFrame, 'Enter keeps it');
    await press(stdin, ...Array(20).fill(KEY.backspace), '198.19.1.300/24', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain('expected an IPv4 address with prefix, like 198.19.1.12/24');
    await press(stdin, ...Array(20).fill(KEY.backspace), '198.19.1.9/24', KEY.enter);
    const frame = await waitFor(lastFrame, /replication address\s+198\.19\.1\.9\/24/);
    expect(frame).not.toContain('✗');

    await press(stdin, ...Array(30).fill(KEY.down), KEY.enter);
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    const [layout, answers] = onDone.mock.calls[0]!;
    expect(layout.nodes[0].replicationAddress).toBe('198.19.1.9/24');
    expect(answers.spec.nodes[0].ssh).toMatchObject({ address: '198.18.1.1', identityFile: '/keys/id_ed25519', hostKey: labLogins[0]!.hostKey });
  });

  it('marks a disk with data for erasing, and refuses to continue with an invalid cluster name', async () => {
    const facts = [labFacts(1), labNode2(['vdb size=1073741824 parts=0 holders= head=0', 'vdb size=1073741824 parts=0 holders= head=1'])];
    const onDone = vi.fn();
    const { stdin, lastFrame } = render(<LayoutScreen initial={proposeLayout(facts)} logins={labLogins} facts={facts} onDone={onDone} />);
    const first = await waitFor(lastFrame, 'Continue to the plan');
    expect(first).toContain('missing required key');
    // Choose node 2's only disk although it is not blank.
    await press(stdin, ...Array(fieldIndex('spec.nodes[1].storage.disk')).fill(KEY.down), KEY.enter);
    expect(await waitFor(lastFrame, 'not blank:')).toContain('/dev/disk/by-id/virtio-hvdata-demo-2');
    await press(stdin, '/dev/disk/by-id/virtio-hvdata-demo-2', KEY.enter);
    expect(await waitFor(lastFrame, 'ERASED')).toContain('holds data: it will be ERASED');
    // Cluster name
    await press(stdin, ...Array(30).fill(KEY.up), KEY.enter, ...Array(12).fill(KEY.backspace), 'Bad_Name', KEY.enter);
    expect(await waitFor(lastFrame, '✗')).toContain("expected a DNS label (lowercase letters, digits and '-', at most 63 characters)");
    await press(stdin, KEY.escape);
    await press(stdin, ...Array(30).fill(KEY.down), KEY.enter);
    expect(onDone).toHaveBeenCalled();
    expect(onDone.mock.calls[0]![1].spec.nodes[1].storage).toEqual({ disk: '/dev/disk/by-id/virtio-hvdata-demo-2', wipe: true });
  });
});

describe('InventoryView', () => {
  it('shows the servers side by side', async () => {
    const { lastFrame } = render(<InventoryView servers={labPair().map((facts, i) => ({ label: `root@198.18.1.${i + 1}`, facts }))} />);
    const frame = await waitFor(lastFrame, 'hv2');
    const row = frame.split('\n').find((line) => line.includes('hv1'))!;
    expect(row).toContain('hv2');
    expect(frame).toContain('Debian GNU/Linux 12');
    expect(frame).toMatch(/vdb 1(\.0)? GiB blank/);
    expect(frame).toContain('ens4 up 198.19.1.2/24');
  });
});
