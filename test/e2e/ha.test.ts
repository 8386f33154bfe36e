/**
 * High availability end to end on a two-node lab with a witness (prepared image): apply with HA
 * (fencing proven from each node through the other's simulated BMC before anything HA is written,
 * Corosync on two links with the witness's quorum device over TLS, Pacemaker with one fence device
 * per node); the cluster is quorate with three votes; verify's HA checks all pass (links, fence
 * devices started off the node they fence, stonith enabled, DRBD's fencing policy); a second apply
 * changes nothing; a wrong BMC password is refused before anything changes. The drills fence
 * through the BMCs after the network step moved the nodes' addresses onto the bridge.
 * Then the fencing drills: hv2 crashed (kill -9 of its QEMU) is fenced by hv1 through hv2's BMC
 * (power cycled: the lab starts it again) and rejoins; hv2 crashed with its BMC dead as well is
 * NOT declared down: fencing fails and hv2 stays UNCLEAN until its BMC answers again, then fencing
 * succeeds and it rejoins. Each drill prints its phases (detection, fencing, back in the cluster).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { events, hvcluster } from '../helpers/hvcluster.js';
import { useLab } from '../helpers/lab.js';
import { bmcKill, bmcStart, crashNode } from '../lab/lab.js';
import { writeLabSite } from '../lab/site.js';
import { waitFor } from '../lab/util.js';
import type { VerifyReport } from '../../installer/verify/report.js';

const MIN = 60_000;
const NAME = 'ha2';
const lab = useLab({ name: NAME, nodes: 2, image: 'prepared', witness: true });
const NODES = ['hv1', 'hv2'] as const;

let site = '';

async function verify(): Promise<{ code: number; report: VerifyReport; stderr: string }> {
  if (!site) site = writeLabSite(lab.info, { ha: true });
  const r = await hvcluster(NAME, ['verify', '-f', site, '--json', '--connect-timeout', '15'], { timeoutMs: 6 * MIN });
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport, stderr: r.stderr };
  } catch {
    throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

async function apply(file: string, extra: string[] = []) {
  return hvcluster(NAME, ['apply', '-f', file, '--yes', '--json', ...extra], { timeoutMs: 20 * MIN });
}

describe('hvcluster apply with HA on two nodes and a witness', () => {
  it('refuses a BMC that does not answer with the answer file\'s password, naming node and field, before any HA change', { timeout: 20 * MIN }, async () => {
    site = writeLabSite(lab.info, { ha: true });
    const wrong = site.replace(/site\.yaml$/, 'site-wrong-bmc.yaml');
    const passwordFile = lab.info.nodes[1]!.bmc!.passwordFile;
    const badFile = `${passwordFile}.wrong`;
    writeFileSync(badFile, 'not-the-password\n', { mode: 0o600 });
    // Only hv2's BMC gets the wrong password (the lab's BMCs share one password file).
    const text = readFileSync(site, 'utf8');
    const second = text.indexOf(passwordFile, text.indexOf(passwordFile) + 1);
    writeFileSync(wrong, text.slice(0, second) + badFile + text.slice(second + passwordFile.length));
    const r = await apply(wrong);
    expect(r.code, r.stderr.slice(-3000)).toBe(1);
    expect(r.stderr).toMatch(/hv1 cannot query hv2's BMC 198\.19\.\d+\.\d+:623 with fence_ipmilan \(exit 1: Failed: Unable to obtain correct plug status/);
    expect(r.stderr).not.toMatch(/hv2 cannot query hv1's BMC/);
    expect(r.stderr).toContain('spec.nodes[1].bmc');
    expect(r.stderr).not.toContain('not-the-password');
    const steps = events(r.stdout).filter((e) => e.type === 'step-finished' && e.status === 'changed').map((e) => e.step);
    expect(steps.every((s) => s === 'packages'), steps.join(', ')).toBe(true);
    for (const node of NODES) expect((await lab.ssh(node, 'test -e /etc/corosync/authkey; echo $?')).stdout.trim()).toBe('1');
  });

  it('builds the HA cluster: quorate with three votes, the witness connected with TLS on, no BMC password in the output', { timeout: 25 * MIN }, async () => {
    const r = await apply(site);
    expect(r.code, `${r.stderr.slice(-4000)}`).toBe(0);
    const q = await lab.ssh('hv1', 'corosync-quorumtool -s');
    expect(q.stdout).toMatch(/Quorate:\s+Yes/);
    expect(q.stdout).toMatch(/Total votes:\s+3/);
    expect(q.stdout).not.toMatch(/2Node/);
    // Connected to the witness, with TLS on in the running configuration (the certificates the quorum-device step exchanged).
    const qd = await lab.ssh('hv1', 'corosync-qdevice-tool -s; corosync-cmapctl -g quorum.device.net.tls');
    expect(qd.stdout).toMatch(/State:\s+Connected/);
    expect(qd.stdout).toContain('quorum.device.net.tls (str) = on');
    // Links, fence devices (started, off their own node, registered), stonith-enabled and DRBD's
    // fencing policy are verify's HA checks, asserted in the next test.
    // The CIB holds the BMC passwords: apply's output never shows them.
    const password = readFileSync(lab.info.nodes[0]!.bmc!.passwordFile, 'utf8').trim();
    expect(r.stdout + r.stderr).not.toContain(password);
  });

  it("verify's HA checks pass on the built cluster, with the effective timing reported", { timeout: 8 * MIN }, async () => {
    const { report } = await verify();
    const ha = report.checks.filter((c) => c.code.startsWith('HA_'));
    expect(ha.filter((c) => c.status !== 'pass').map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
    for (const code of ['HA_QUORUM', 'HA_QDEVICE', 'HA_NO_TWO_NODE', 'HA_LINKS', 'HA_STONITH_ENABLED', 'HA_STONITH_DEVICES', 'HA_DRBD_FENCING', 'HA_TIMING']) {
      expect(ha.some((c) => c.code === code), code).toBe(true);
    }
    expect(ha.find((c) => c.code === 'HA_TIMING')!.found).toContain('token 10000 ms');
    const password = readFileSync(lab.info.nodes[0]!.bmc!.passwordFile, 'utf8').trim();
    expect(JSON.stringify(report)).not.toContain(password);
  });

  it('a second apply changes nothing', { timeout: 15 * MIN }, async () => {
    const r = await apply(site);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const changed = events(r.stdout).filter((e) => e.type === 'step-finished' && e.status !== 'unchanged');
    expect(changed.map((e) => `${e.server} ${e.step}: ${JSON.stringify(e.changes)}`)).toEqual([]);
  });
});

/** hv1's record of fencing hv2 (stonith_admin --history, XML): each attempt with its status and completion time. */
async function fenceHistory(target: string): Promise<{ action: string; status: string; completed?: string }[]> {
  const r = await lab.ssh('hv1', `stonith_admin --history ${target} --verbose --output-as=xml`, { timeoutMs: 60_000 });
  return [...r.stdout.matchAll(/<fence_event ([^>]*)\/?>/g)].map((m) => {
    const attr = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1]!)?.[1];
    return { action: attr('action') ?? '', status: attr('status') ?? '', ...(attr('completed') ? { completed: attr('completed')! } : {}) };
  });
}

/** Node states as crm_mon on hv1 sees them: name -> online / pending (a member whose Pacemaker has not joined yet) / unclean. */
async function members(): Promise<Record<string, { online: boolean; pending: boolean; unclean: boolean }>> {
  const r = await lab.ssh('hv1', 'crm_mon -1 --output-as=xml', { timeoutMs: 60_000 });
  return Object.fromEntries(
    [...r.stdout.matchAll(/<node name="([^"]+)"[^>]* online="(true|false)"[^>]* pending="(true|false)"[^>]* unclean="(true|false)"/g)].map((m) => [
      m[1]!,
      { online: m[2] === 'true', pending: m[3] === 'true', unclean: m[4] === 'true' },
    ]),
  );
}

/** hv2 back as a full member: online, its Pacemaker joined, clean. */
async function hv2Joined(): Promise<number | undefined> {
  const m = (await members()).hv2;
  return m?.online && !m.pending && !m.unclean ? Date.now() : undefined;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('fencing drills on the HA cluster', () => {
  it('hv2 crashed: hv1 fences it through its BMC, hv2 boots and rejoins', { timeout: 12 * MIN }, async () => {
    const before = (await fenceHistory('hv2')).filter((e) => e.status === 'success').length;
    const crashedAt = Date.now();
    await crashNode(NAME, 'hv2');
    const lostAt = await waitFor('hv1 to see hv2 lost', async () => ((await members()).hv2?.online === false ? Date.now() : undefined), { timeoutMs: 3 * MIN, intervalMs: 1000 });
    const fencedAt = await waitFor('a successful fencing of hv2 in hv1\'s history', async () => ((await fenceHistory('hv2')).filter((e) => e.status === 'success').length > before ? Date.now() : undefined), { timeoutMs: 5 * MIN, intervalMs: 2000 });
    const back = await waitFor('hv2 a full member again', hv2Joined, { timeoutMs: 6 * MIN, intervalMs: 3000 });
    console.log(`[ha drill] crash -> lost ${seconds(lostAt - crashedAt)}, -> fenced ${seconds(fencedAt - crashedAt)}, -> back in the cluster ${seconds(back - crashedAt)}`);
    const q = await lab.ssh('hv2', 'corosync-quorumtool -s');
    expect(q.stdout).toMatch(/Total votes:\s+3/);
  });

  it('hv2 crashed with its BMC dead: hv2 stays UNCLEAN (never assumed down) until its BMC answers, then is fenced', { timeout: 15 * MIN }, async () => {
    await waitFor('hv2 a full member', hv2Joined, { timeoutMs: 6 * MIN, intervalMs: 3000 });
    const before = await fenceHistory('hv2');
    await bmcKill(NAME, 'hv2');
    const crashedAt = Date.now();
    await crashNode(NAME, 'hv2');
    const failedAt = await waitFor('a failed fencing attempt of hv2', async () => ((await fenceHistory('hv2')).filter((e) => e.status === 'failed').length > before.filter((e) => e.status === 'failed').length ? Date.now() : undefined), {
      timeoutMs: 6 * MIN,
      intervalMs: 3000,
    });
    const m = await members();
    expect(m.hv2).toEqual({ online: false, pending: false, unclean: true });
    // verify names the situation from the survivor (hv2 itself is unreachable).
    const v = await verify();
    expect(v.code).toBe(2);
    expect(v.report.checks.find((c) => c.code === 'HA_MEMBERS' && c.server === 'hv1')?.found).toContain('hv2 is UNCLEAN (it must be fenced)');
    expect((await fenceHistory('hv2')).filter((e) => e.status === 'success').length).toBe(before.filter((e) => e.status === 'success').length);
    await bmcStart(NAME, 'hv2');
    const fencedAt = await waitFor('fencing of hv2 to succeed once its BMC answers', async () => ((await fenceHistory('hv2')).filter((e) => e.status === 'success').length > before.filter((e) => e.status === 'success').length ? Date.now() : undefined), {
      timeoutMs: 6 * MIN,
      intervalMs: 3000,
    });
    await waitFor('hv2 a full member again', hv2Joined, { timeoutMs: 6 * MIN, intervalMs: 3000 });
    console.log(`[ha drill] crash with dead BMC -> first failed fencing ${seconds(failedAt - crashedAt)}; BMC back -> fenced ${seconds(fencedAt - failedAt)} later`);
  });
});
