/**
 * High availability end to end on a two-node lab with a witness (prepared image), added to the
 * running cluster (the run's `built` checkpoint: the lab's site applied without HA): apply with HA
 * (fencing proven from each node through the other's simulated BMC before anything HA is written,
 * Corosync on two links with the witness's quorum device over TLS, Pacemaker with one fence device
 * per node); the cluster is quorate with three votes; verify's HA checks all pass (links, fence
 * devices started off the node they fence, stonith enabled, DRBD's fencing policy); a second apply
 * changes nothing; a wrong BMC password is refused before anything changes.
 * A declared guest under Pacemaker (spec.guests, ha by default on an HA cluster): apply makes it
 * like any guest and hands it to Pacemaker, on hv1; `guest migrate` live-migrates it to hv2 through
 * Pacemaker (`crm_resource --move`, promoted-max 2 only inside the window) while a client reads it.
 * The drills, each on the node running that guest (hv2), each asserted from Pacemaker, DRBD, the
 * fence history and a client of the guests, the cluster verified clean after each (the next drill
 * runs every check first):
 * - `verify --link-test`: hv2's replication link cut: nobody fenced, DRBD's handler fences the peer
 *   off, one Primary, the guests keep running on hv2; the link back, resynced, constraint lifted;
 * - `--failover-test power-loss`: hv2 and its BMC off together: fencing fails, the guests run
 *   nowhere, verify names hv2 UNCLEAN; they are held down until the drill confirms hv2 off
 *   (`stonith_admin --confirm`), then start on hv1 (timed per phase); hv2 powered on again, rejoined.
 * The `dead-fence` drill (the same hold, released by the BMC answering again) runs on three nodes,
 * in cluster3.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { events, hvcluster } from '../helpers/hvcluster.js';
import { builtCluster } from '../helpers/built.js';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { status } from '../lab/lab.js';
import { labSiteYaml, writeLabSite } from '../lab/site.js';
import { bootableGuestImage } from '../helpers/guest-image.js';
import type { GuestList } from '../../installer/guests/list.js';
import { waitFor } from '../lab/util.js';
import { GuestClient } from '../helpers/guest-client.js';
import type { MoveResult as Migrated } from '../../installer/commands/guest.js';
import { CLIENT_GAP_LIMIT_MS } from '../../installer/verify/migration/judge.js';
import { longestGap } from '../../installer/verify/migration/probe.js';
import type { VerifyReport } from '../../installer/verify/report.js';
import { FAILOVER_PHASES, type FailoverReport } from '../../installer/verify/failover/drill.js';
import { LINK_PHASES } from '../../installer/verify/failover/link-drill.js';
import { parseFenceHistory, type FenceEvent } from '../../installer/facts/parse/fence-history.js';
import { parseCrmMon } from '../../installer/facts/parse/crm-mon.js';

const MIN = 60_000;
const NAME = SHARED_LAB.name;
const lab = useLab(SHARED_LAB);
const NODES = ['hv1', 'hv2'] as const;

let site = '';

async function verify(): Promise<{ code: number; report: VerifyReport; stderr: string }> {
  if (!site) site = writeLabSite(lab.info, { ha: true });
  return verifyWith([], 6 * MIN);
}

async function verifyWith(args: string[], timeoutMs: number): Promise<{ code: number; report: VerifyReport; stderr: string }> {
  const r = await hvcluster(NAME, ['verify', '-f', site, '--json', '--connect-timeout', '15', ...args], { timeoutMs });
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport, stderr: r.stderr };
  } catch {
    throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  }
}

async function apply(file: string, extra: string[] = []) {
  return hvcluster(NAME, ['apply', '-f', file, '--yes', '--json', ...extra], { timeoutMs: 20 * MIN });
}

describe('hvcluster apply with HA on two nodes and a witness', () => {
  beforeAll(async () => {
    await builtCluster(lab);
  }, 25 * MIN);

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

/** A node's record of fencing another (stonith_admin --history, XML): each attempt with its status. */
async function fenceHistory(from: string, target: string): Promise<FenceEvent[]> {
  return parseFenceHistory((await lab.ssh(from, `stonith_admin --history ${target} --verbose --output-as=xml`, { timeoutMs: 60_000 })).stdout);
}

/** Pacemaker's view from a node (crm_mon's XML, read with the installer's own parser). */
async function cluster(from: string) {
  return parseCrmMon((await lab.ssh(from, 'crm_mon -1 --output-as=xml', { timeoutMs: 60_000 })).stdout);
}

/** The declared HA guest: host 203 of the management subnet, on its preferred node hv1 (the node the drill powers off). */
const WEB_HOST = 203;
const HA_GUEST_NODE = 'hv1';
const dir = mkdtempSync(join(tmpdir(), 'hvcluster-ha-e2e-'));
let guestSite = '';
const webAddress = () => lab.info.hostAddress.replace(/\.\d+$/, `.${WEB_HOST}`);

/** The page the guest serves (`hvcluster migration test guest boot=ID`), fetched inside the lab's namespace, or '' when it does not answer. */
async function webPage(): Promise<string> {
  const script = `fetch('http://${webAddress()}/', { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).then((t) => process.stdout.write(t), () => {})`;
  return (await lab.exec([process.execPath, '-e', script], { timeoutMs: 30_000 })).stdout;
}
const bootOf = (page: string) => /boot=(\S+)/.exec(page)?.[1] ?? null;
let webBoot: string | null = null;
/** Where the declared guest runs now (the drills move it). */
let webNode: string = HA_GUEST_NODE;

const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const other = (node: string) => NODES.find((n) => n !== node)!;


function phasesLine(f: FailoverReport): string {
  return `${f.crashed} -> ${f.survivor}: ${FAILOVER_PHASES.map((p) => `${p} ${seconds(f.phases[p])}`).join(', ')}; rejoined ${seconds(f.rejoinedMs)}, resynced ${seconds(f.resyncedMs)}`;
}

describe('a declared guest under Pacemaker', () => {
  it('apply makes it like any guest (its disk replicated, its image imported) and hands it to Pacemaker: it runs on its preferred node; a second apply changes nothing', { timeout: 20 * MIN }, async () => {
    const image = await bootableGuestImage(lab, 'hv1', `${webAddress()}/24`, dir, 'web', 'qcow2');
    guestSite = join(dir, 'site-guest.yaml');
    writeFileSync(guestSite, `${labSiteYaml(lab.info, { ha: true }).trimEnd()}\n  guests:\n    - name: web\n      memory: 128MiB\n      preferredNode: ${HA_GUEST_NODE}\n      disks:\n        - image: ${image}\n`);
    const r = await apply(guestSite);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const changes = events(r.stdout).filter((e) => e.type === 'change').map((e) => `${e.server}: ${e.description}`);
    // Never defined in libvirt nor started by hvcluster: Pacemaker's VirtualDomain runs it from its XML.
    expect(changes.filter((c) => /define guest web|start guest web/.test(c))).toEqual([]);
    expect(changes.filter((c) => c.includes('hand guest web to Pacemaker'))).toHaveLength(1);
    const seen = await cluster('hv2');
    expect(seen.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual([`Started ${HA_GUEST_NODE}`]);
    expect(seen.resources.filter((x) => x.id === 'drbd-web-disk0' && x.role === 'Promoted').flatMap((x) => x.nodes)).toEqual([HA_GUEST_NODE]);
    await waitFor('the guest web to answer HTTP', async () => (bootOf(await webPage()) ?? undefined), { timeoutMs: 4 * MIN, intervalMs: 3000 });
    webBoot = bootOf(await webPage());
    const listed = await hvcluster(NAME, ['guest', 'list', '-f', guestSite, '--json'], { timeoutMs: 3 * MIN });
    expect(listed.code, listed.stderr).toBe(0);
    const list = JSON.parse(listed.stdout) as GuestList;
    expect(list.guests.map((g) => [g.name, g.state, g.runningOn, g.ha, g.problems])).toEqual([['web', 'running', HA_GUEST_NODE, true, []]]);
    const again = await apply(guestSite);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'step-finished' && e.status !== 'unchanged').map((e) => `${e.server} ${e.step}: ${JSON.stringify(e.changes)}`)).toEqual([]);
    // From here on verify reads the cluster as declared, the guest included.
    site = guestSite;
  });
});

// Live migration through Pacemaker: `guest migrate` of the declared HA guest (the migration test's
// window under HA is the same code: guests/live-migrate.ts).
describe('live migration under Pacemaker', () => {
  it('guest migrate moves the HA guest through Pacemaker (crm_resource --move, promoted-max 2 only inside the window) while it keeps answering; nothing left', { timeout: 15 * MIN }, async () => {
    expect(webBoot, 'the declared guest answered in the test before').not.toBeNull();
    const client = new GuestClient(lab.info.netns, webAddress());
    const r = await hvcluster(NAME, ['guest', 'migrate', 'web', '--to', 'hv2', '-f', guestSite, '--json'], { timeoutMs: 12 * MIN });
    const seen = await client.stop();
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const doc = JSON.parse(r.stdout) as { migrations: Migrated[] };
    expect(doc.migrations.map((m) => [m.guest, m.from, m.to])).toEqual([['web', 'hv1', 'hv2']]);
    const m = doc.migrations[0]!;
    const { maxGapMs } = longestGap(seen.answerTimes, m.startedAt, m.finishedAt + 10_000);
    console.log(`[ha migration] web hv1 -> hv2 through Pacemaker: QEMU downtime ${m.downtimeMs} ms, client gap ${maxGapMs} ms, ${m.finishedAt - m.startedAt} ms in all`);
    expect(m.downtimeMs).toEqual(expect.any(Number));
    expect(m.downtimeMs!).toBeLessThan(CLIENT_GAP_LIMIT_MS);
    // Pacemaker moved it: crm_resource's move inside a window of promoted-max 2, never a virsh migrate of hvcluster's own.
    expect(r.stderr).toContain('move vm-web to hv2 (crm_resource --move)');
    expect(r.stderr).toContain('set promoted-max=2 on drbd-web-disk0-clone');
    expect(r.stderr).toContain('set promoted-max=1 on drbd-web-disk0-clone');
    expect(r.stderr).not.toMatch(/live-migrate/);
    // The same boot (a live migration, not a restart), running on hv2 only, one Primary, no move preference left.
    expect(bootOf(await webPage())).toBe(webBoot);
    const seenBy = await cluster('hv1');
    expect(seenBy.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual(['Started hv2']);
    expect(seenBy.resources.filter((x) => x.id === 'drbd-web-disk0' && x.role === 'Promoted').flatMap((x) => x.nodes)).toEqual(['hv2']);
    expect((await lab.ssh('hv1', 'cibadmin --query --scope constraints')).stdout).not.toMatch(/cli-prefer|cli-ban/);
    for (const node of NODES) expect((await lab.ssh(node, 'drbdsetup show web-disk0 | grep -c "allow-two-primaries *yes"')).stdout.trim(), node).toBe('0');
    webNode = 'hv2';
  });
});

/** Waits until the drill has powered a node off (the lab sees its VM stopped); returns it. */
async function nodePoweredOff(drill: Promise<{ code: number; report: VerifyReport }>): Promise<string> {
  let ended: { code: number; report: VerifyReport } | undefined;
  void drill.then((r) => (ended = r)).catch(() => undefined);
  return waitFor(
    'the drill to power a node off',
    async () => {
      if (ended) throw new Error(`the drill ended before it powered a node off (exit ${ended.code}): ${JSON.stringify(ended.report.failover ?? ended.report.checks.filter((c) => c.status === 'error')).slice(0, 3000)}`);
      return (await status()).find((l) => l.name === NAME)?.nodes.find((n) => NODES.includes(n.name as never) && n.state === 'stopped')?.name;
    },
    { timeoutMs: 12 * MIN, intervalMs: 500 },
  );
}

// The replication link of the declared guest's node is cut: nobody is fenced, the guests stay put.
describe('the replication-link drill', () => {
  it("verify --link-test: DRBD's handler fences the peer off in Pacemaker, the guests keep running where they ran, never two Primaries; the link back, they resync without a split brain", { timeout: 15 * MIN }, async () => {
    const node = webBoot ? webNode : undefined;
    const peer = other(node ?? 'hv1');
    const historyBefore = await fenceHistory(peer, "'*'");
    const { code, report } = await verifyWith(['--link-test', '--yes', ...(node ? ['--failover-node', node] : [])], 12 * MIN);
    const l = report.linkDrill?.report;
    expect(l?.ok, JSON.stringify(report.linkDrill).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    if (node) expect(l!.node).toBe(node);
    for (const p of LINK_PHASES) expect(l!.phases[p], p).toBeGreaterThan(0);
    expect(l!.phases.peerFenced!).toBeGreaterThanOrEqual(l!.phases.disconnected!);
    expect(l!.phases.unfenced!).toBeGreaterThanOrEqual(l!.phases.resynced!);
    expect(l!.maxPrimaries).toBe(1);
    expect(l!.membersKept).toBe(true);
    expect(l!.guestRebooted).toBe(false);
    expect(l!.splitBrain).toBe(false);
    expect(l!.dataIntact).toBe(true);
    // Nobody fenced, in the survivor's own record; the link is up again on the node.
    expect((await fenceHistory(peer, "'*'")).length).toBe(historyBefore.length);
    expect((await lab.ssh(l!.node!, `cat /sys/class/net/${l!.link!}/operstate`)).stdout.trim()).toBe('up');
    console.log(`[ha link drill] ${l!.node} ${l!.link}: ${LINK_PHASES.map((p) => `${p} ${seconds(l!.phases[p])}`).join(', ')}; guest silent at most ${l!.guestMaxGapMs} ms`);
    if (webBoot) {
      // The declared guest never moved nor rebooted; its disk resynced and its handler's constraint went too.
      expect(bootOf(await webPage())).toBe(webBoot);
      expect((await cluster(peer)).resources.filter((r) => r.id === 'vm-web' && r.active).map((r) => `${r.role} ${r.nodes.join(',')}`)).toEqual([`Started ${webNode}`]);
      await waitFor('web-disk0 Connected and UpToDate on both nodes', async () => ((await lab.ssh(peer, 'drbdadm cstate web-disk0; drbdadm dstate web-disk0')).stdout.trim() === 'Connected\nUpToDate/UpToDate' ? true : undefined), { timeoutMs: 5 * MIN, intervalMs: 3000 });
      await waitFor('no DRBD fence constraint left', async () => (!(await lab.ssh(peer, 'cibadmin --query --scope constraints')).stdout.includes('drbd-fence-by-handler') ? true : undefined), { timeoutMs: 3 * MIN, intervalMs: 3000 });
    }
    // The cluster verifies clean again: the next drill's verify (it runs every check first and exits 0 only when they pass).
  });
});

// Total power loss: the node and its BMC off together. IPMI fencing cannot succeed, so the guest
// stays down until the node is confirmed off; the drill does what the operator would, then powers
// the node on again once its BMC is back.
describe('total power loss', () => {
  it('power-loss: the guest stays down while fencing fails, starts on the survivor once the node is confirmed off (the command reported), and the node comes back', { timeout: 25 * MIN }, async () => {
    const drill = verifyWith(['--failover-test', 'power-loss', '--yes', ...(webBoot ? ['--failover-node', webNode] : [])], 22 * MIN);
    const crashed = await nodePoweredOff(drill);
    const survivor = other(crashed);
    // While the drill holds (fencing cannot reach the BMC): a failed fencing attempt, then the checks below.
    await waitFor(`a failed fencing attempt of ${crashed}`, async () => ((await fenceHistory(survivor, crashed)).some((e) => e.status === 'failed') ? true : undefined), { timeoutMs: 6 * MIN, intervalMs: 2000 });
    const seen = await cluster(survivor);
    expect(seen.nodes.find((n) => n.name === crashed)).toMatchObject({ online: false, unclean: true });
    // Pacemaker still lists the guests on the UNCLEAN node (they may run there until it is fenced) and
    // nowhere else; libvirt on the survivor runs neither.
    for (const vm of ['vm-hvc-migtest', ...(webBoot ? ['vm-web'] : [])]) {
      expect(seen.resources.filter((r) => r.id === vm && r.active).flatMap((r) => r.nodes).filter((n) => n !== crashed), vm).toEqual([]);
    }
    expect((await lab.ssh(survivor, 'virsh list --name')).stdout.split('\n').filter((d) => d === 'hvc-migtest' || d === 'web')).toEqual([]);
    // verify names the situation from the survivor (the crashed node itself is unreachable: exit 2),
    // and refuses a second drill meanwhile, saying why.
    const v = await verifyWith(['--failover-test', '--yes'], 6 * MIN);
    expect(v.code).toBe(2);
    expect(v.report.checks.find((c) => c.code === 'HA_MEMBERS' && c.server === survivor)?.found).toContain(`${crashed} is UNCLEAN (it must be fenced)`);
    expect(v.report.failover).toEqual({ skipped: `the health checks found unreachable servers (${crashed}); fix them first` });
    const { code, report } = await drill;
    const f = report.failover?.report;
    expect(f?.ok, JSON.stringify(report.failover).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    expect(f!.crashed).toBe(crashed);
    expect(f!.fault).toBe('power-loss');
    expect(f!.fencing.some((e) => e.status === 'failed')).toBe(true);
    expect(f!.hold).toMatchObject({ runningElsewhere: [], releasedBy: 'confirmed', confirmCommand: `stonith_admin --confirm ${crashed}` });
    expect(f!.hold!.failedFencings).toBeGreaterThan(0);
    for (const p of FAILOVER_PHASES) expect(f!.phases[p], p).toBeGreaterThan(0);
    // Started only after the confirmation, on the survivor only, its data intact; the node back and resynced.
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.hold!.releasedMs!);
    expect(f!.guestSeenOn).toEqual([survivor]);
    expect(f!.dataIntact).toBe(true);
    expect(f!.rejoinedMs).not.toBeNull();
    expect(f!.resyncedMs).not.toBeNull();
    expect(f!.cleanup.ok).toBe(true);
    // The survivor's record: attempts failed (the BMC unreachable), then the operator's confirmation.
    const history = await fenceHistory(survivor, crashed);
    expect(history.some((e) => e.status === 'failed'), JSON.stringify(history)).toBe(true);
    expect((await lab.ssh(survivor, 'ip route show type blackhole')).stdout.trim()).toBe('');
    console.log(`[ha failover, power loss] ${phasesLine(f!)}; held ${seconds(f!.hold!.releasedMs)} (${f!.hold!.failedFencings} failed fencing attempts)`);
    if (webBoot) {
      const now = await cluster(survivor);
      expect(now.resources.filter((r) => r.id === 'vm-web' && r.active).map((r) => `${r.role} ${r.nodes.join(',')}`)).toEqual([`Started ${survivor}`]);
      const page = await waitFor('the guest web to answer again', async () => bootOf(await webPage()) ?? undefined, { timeoutMs: 4 * MIN, intervalMs: 3000 });
      expect(page).not.toBe(webBoot);
      await waitFor('web-disk0 Connected and UpToDate on both nodes', async () => ((await lab.ssh(survivor, 'drbdadm cstate web-disk0; drbdadm dstate web-disk0')).stdout.trim() === 'Connected\nUpToDate/UpToDate' ? true : undefined), { timeoutMs: 5 * MIN, intervalMs: 3000 });
    }
    const after = await verifyWith([], 6 * MIN);
    expect(after.report.checks.filter((c) => c.status === 'error').map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
    expect(after.code).toBe(0);
  });
});
