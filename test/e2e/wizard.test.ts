/**
 * The real wizard in a real terminal (tmux, 160x50) against a 2-node lab: the questions answered
 * with keys, host keys compared with the lab's, two proposals edited, the plan confirmed, the apply
 * watched to its end, verify with the live-migration test; the saved site.yaml then passes `hvcluster
 * plan` with zero changes.
 * Text captures of the screens go to docs/wizard/tmux-*.txt.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { BIN, hvcluster } from '../helpers/hvcluster.js';
import { expectMigrationKeyLogins, expectNoMigrationLeftovers } from '../helpers/migration.js';
import { netnsName } from '../lab/config.js';

const MIN = 60_000;
const lab = useLab(SHARED_LAB);
const SESSION = `hvwiz-${process.pid}`;
const DOCS = new URL('../../docs/wizard/', import.meta.url);

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}
const screen = () => tmux('capture-pane', '-p', '-t', SESSION);
const keys = (...k: string[]) => tmux('send-keys', '-t', SESSION, ...k);
/**
 * Sends keys, and sends them again only if the screen did not change at all within a while (the input
 * was not listening yet, e.g. before ink switched the terminal to raw mode): a key that was taken but
 * is slow to show (a loaded machine) must not be sent twice.
 */
async function sendUntil(send: () => void, next: string | RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = screen();
    send();
    const resendAt = Date.now() + 5000;
    for (;;) {
      const text = screen();
      if (typeof next === 'string' ? text.includes(next) : next.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(next)}; the screen:\n${text}`);
      if (Date.now() > resendAt && text === before) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Literal text (no key names), once it shows in the input; then Enter. */
async function answer(text: string): Promise<void> {
  await sendUntil(() => tmux('send-keys', '-t', SESSION, '-l', text), `: ${text}`);
  keys('Enter');
}

async function until(what: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (typeof what === 'string' ? text.includes(what) : what.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(what)}; the screen:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A key, then what it leads to (sent again only if the screen did not change at all). */
const step = (key: string, next: string | RegExp): Promise<string> => sendUntil(() => keys(key), next);

function keep(name: string, text: string) {
  mkdirSync(DOCS, { recursive: true });
  writeFileSync(new URL(`tmux-${name}.txt`, DOCS), `${text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '')}\n`);
}

afterAll(() => {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // already gone
  }
});

describe('the wizard in a terminal', () => {
  it('installs the lab cluster, proves live migration, and its site.yaml replays with zero changes', { timeout: 35 * MIN }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvcluster-wizard-'));
    const state = join(dir, 'state');
    const command = `cd ${dir} && env -u CI -u CONTINUOUS_INTEGRATION XDG_STATE_HOME=${state} ip netns exec ${netnsName(lab.info.name)} ${process.execPath} ${BIN} init; echo WIZARD-EXIT=$?; sleep 3600`;
    tmux('new-session', '-d', '-s', SESSION, '-x', '160', '-y', '50', command);

    await until('How many servers', MIN);
    keep('1-servers', screen());
    await step('Enter', /Server 1 of 2\n\? Address/);
    for (const node of lab.nodes) {
      await until(new RegExp(`Server ${node.index} of 2\\n\\? Address`));
      await answer(node.management.address);
      await until('Jump host');
      await step('Enter', 'Login user');
      await step('Enter', 'log in?');
      await step('Enter', 'Private key file');
      await step('C-u', /Private key file: *\n/);
      await answer(lab.info.key);
    }

    // Host keys: shown, compared with the lab's own record, trusted.
    const trusted = new Set<string>();
    for (;;) {
      const text = await until(/Trust this key|The proposed layout|✗/, 2 * MIN);
      if (text.includes('The proposed layout')) break;
      expect(text).not.toContain('✗');
      const server = /The host key of root@(\S+) is not known/.exec(text)![1]!;
      if (trusted.has(server)) continue;
      const node = lab.nodes.find((n) => n.management.address === server)!;
      expect(text).toContain(node.hostKeyFingerprint);
      if (trusted.size === 0) keep('2-host-key', text);
      trusted.add(server);
      keys('y');
    }
    expect(trusted.size).toBe(2);

    const layout = await until('Continue to the plan', 2 * MIN);
    keep('3-inventory-layout', layout);
    for (const node of lab.nodes) {
      expect(layout).toContain(node.dataDisk);
      expect(layout).toContain(node.replication.address);
    }
    // Edit the cluster name, and the package source (the lab's VMs are offline).
    await step('Enter', 'Ctrl-U clears');
    await step('C-u', /cluster name: *\n/);
    await answer('wiz-e2e');
    await until(/❯ cluster name\s+wiz-e2e/);
    for (let i = 0; i < 16; i++) keys('Down');
    await until(/❯ packages from\s+online/);
    await step('Enter', 'Ctrl-U clears');
    await step('C-u', /packages from: *\n/);
    await answer('/var/cache/apt/archives');
    await until(/❯ packages from\s+\/var\/cache\/apt\/archives/);
    await step('Down', /❯ Continue to the plan/);
    keys('Enter');

    const plan = await until('Plan for wiz-e2e', 3 * MIN);
    keep('4-plan', plan);
    await step('Enter', 'Apply this plan to hv1, hv2?');
    await step('y', 'Prove live migration too?');
    await step('Enter', /Applying wiz-e2e/);

    // Live progress, then the end.
    keep('5-apply-progress', await until(/Applying wiz-e2e[\s\S]*⠋|Applying wiz-e2e[\s\S]*[⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 3 * MIN));
    const end = await until(/is installed|Apply stopped/, 25 * MIN);
    keep(end.includes('is installed') ? '6-done' : '6-apply-failed', end);
    expect(end).toContain('is installed');
    // The health checks of `hvcluster verify` ran; the lab has no time sync, so warnings only.
    expect(end).toMatch(/Verify: \d+ passed, \d+ warnings, 0 errors/);
    // The live-migration test ran on the new cluster, both ways, and cleaned up after itself.
    expect(end).toContain('Live migration test: passed');
    expect(end).toMatch(/✓ hv1 → hv2: QEMU downtime \d+ ms, longest gap seen by the client \d+ ms, data intact/);
    expect(end).toMatch(/✓ hv2 → hv1: QEMU downtime \d+ ms/);
    expect(end).toContain('the test guest, its DRBD resource and volume are removed');
    const report = /Hand-over report: (\S+)/.exec(end)![1]!;
    expect(readFileSync(report, 'utf8')).toContain('wiz-e2e');
    await until('WIZARD-EXIT=0', MIN);
    // What the live-migration test left on the servers: nothing; and it moved the guest with the
    // nodes' own restricted migration keys, the only trust apply set up between them.
    await expectNoMigrationLeftovers(lab);
    await expectMigrationKeyLogins(lab);
    expect(readFileSync(report, 'utf8')).toMatch(/\| hv1 \| hv2 \| hvc-migtest \|/);

    const site = join(dir, 'site.yaml');
    expect(existsSync(site)).toBe(true);
    expect(end).toContain(site);
    const text = readFileSync(site, 'utf8');
    for (const node of lab.nodes) expect(text).toContain(node.hostKeyFingerprint);

    // The saved answers replay: plan against the installed servers finds nothing to change.
    const replay = await hvcluster(lab.info.name, ['plan', '-f', site, '--json'], { stateDir: state });
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout).summary).toMatchObject({ create: 0, change: 0, packages: 0 });
  });
});
