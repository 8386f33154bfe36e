/**
 * The HA drills end to end on the two-node lab with a witness (`npm run test:e2e:extended`: not in
 * `npm test`, whose 90 minutes on a two-core CI machine of emulated VMs hold the core files only):
 * the run's `built` cluster with HA and the declared guest `web` under Pacemaker on hv1 (as ha.test.ts
 * builds them), then on web's node, each drill asserted from Pacemaker (`crm_mon --output-as=xml`),
 * the fence history (`stonith_admin --history`), DRBD and a client of the guests:
 * - `verify --link-test`: hv1's replication link cut: nobody fenced, DRBD's handler fences the peer
 *   off, one Primary, the guests keep running on hv1; the link back, resynced, constraint lifted;
 * - `--failover-test power-loss`: hv1 and its BMC off together: fencing fails and the guests run
 *   nowhere, verify names hv1 UNCLEAN and refuses a second drill; they are held down until the drill
 *   confirms hv1 off (`stonith_admin --confirm`), then start on hv2 (timed per phase); hv1 powered
 *   on again, rejoined; the cluster verifies clean.
 * - `--failover-test partition`: the guests' node cut off every network: it loses quorum, its DRBD
 *   handler keeps its I/O frozen, the quorate side fences it and takes the guests over; back, its
 *   disks resync without a split brain.
 * - `--failover-test hang`: every process of the guests' node but PID 1 stopped: lost to its peers
 *   while its kernel keeps DRBD connected and Primary, SSH silent; fenced (a power cycle: a new boot),
 *   the guests taken over; back, nothing left frozen, resynced.
 * - `--failover-test --guest web --yes-i-accept-downtime`: the drill on the declared guest itself (no
 *   test guest): refused without the consent; its node powered off, its downtime measured until its
 *   agent answers on the survivor, its disk resynced.
 * - Ctrl-C during `--failover-test` on the node without web, right after its power-off: verify
 *   powers it on again, waits until it rejoins, removes its test guest, says so and exits 130.
 * - the watchdog level (`spec.ha.watchdog`, diskless SBD on the i6300esb) added by an apply (each
 *   node's stack restarted after web was live-migrated off it), then `--failover-test power-loss`:
 *   fencing falls through to the watchdog, the guests taken over without an operator, no sooner than
 *   stonith-watchdog-timeout after the node was lost; the level removed again by an apply.
 * And `backup restore` into web under Pacemaker (its set written where its disk stays Promoted), and a
 * copy declared `autostart: false` that Pacemaker is handed stopped and the restore leaves stopped.
 * The `dead-fence` drill (the same hold, released by the BMC answering again) runs on three nodes, in
 * cluster3.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_PASSPHRASE_ENV, backupYaml, serveBackups } from '../helpers/backup-lab.js';
import { builtCluster } from '../helpers/built.js';
import { events, hvcluster, hvclusterInterrupted } from '../helpers/hvcluster.js';
import { HA_GUEST_NODE, NODES, bootOf, haLab, other, seconds } from '../helpers/ha-lab.js';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { waitFor } from '../lab/util.js';
import { parseCrmMon } from '../../installer/facts/parse/crm-mon.js';
import { FAILOVER_PHASES, type FailoverReport } from '../../installer/verify/failover/drill.js';
import { LINK_PHASES } from '../../installer/verify/failover/link-drill.js';
import { parseMd5 } from '../../installer/verify/migration/guest.js';

const MIN = 60_000;
const lab = useLab(SHARED_LAB);
const h = haLab(lab);

let site = '';
let webBoot: string | null = null;
/** Where the declared guest runs now (the drills move it). */
let webNode: string = HA_GUEST_NODE;

function phasesLine(f: FailoverReport): string {
  return `${f.crashed} -> ${f.survivor}: ${FAILOVER_PHASES.map((p) => `${p} ${seconds(f.phases[p])}`).join(', ')}; rejoined ${seconds(f.rejoinedMs)}, resynced ${seconds(f.resyncedMs)}`;
}

/** The declared guest after a drill took it over: Started on the survivor only, answering from a new boot, its disk resynced without a split brain; then the cluster verifies clean. */
async function expectWebTakenOver(survivor: string): Promise<void> {
  expect((await h.cluster(survivor)).resources.filter((r) => r.id === 'vm-web' && r.active).map((r) => `${r.role} ${r.nodes.join(',')}`)).toEqual([`Started ${survivor}`]);
  const page = await waitFor('the guest web to answer again', async () => bootOf(await h.webPage()) ?? undefined, { timeoutMs: 4 * MIN, intervalMs: 3000 });
  expect(page).not.toBe(webBoot);
  webBoot = page;
  webNode = survivor;
  await h.webDiskInSync(survivor);
  await h.expectClean(site);
}

beforeAll(async () => {
  await builtCluster(lab);
  site = await h.webSite();
  const r = await h.apply(site);
  expect(r.code, r.stderr.slice(-4000)).toBe(0);
  webBoot = await waitFor('the guest web to answer HTTP', async () => bootOf(await h.webPage()) ?? undefined, { timeoutMs: 6 * MIN, intervalMs: 3000 });
  webNode = HA_GUEST_NODE;
}, 40 * MIN);

// The replication link of the declared guest's node is cut: nobody is fenced, the guests stay put.
describe('the replication-link drill', () => {
  it("verify --link-test: DRBD's handler fences the peer off in Pacemaker, the guests keep running where they ran, never two Primaries; the link back, they resync without a split brain", { timeout: 15 * MIN }, async () => {
    const node = webNode;
    const peer = other(node);
    const historyBefore = await h.fenceHistory(peer, "'*'");
    const { code, report } = await h.verify(site, ['--link-test', '--yes', '--failover-node', node], 12 * MIN);
    const l = report.linkDrill?.report;
    expect(l?.ok, JSON.stringify(report.linkDrill).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    expect(l!.node).toBe(node);
    for (const p of LINK_PHASES) expect(l!.phases[p], p).toBeGreaterThan(0);
    expect(l!.phases.peerFenced!).toBeGreaterThanOrEqual(l!.phases.disconnected!);
    expect(l!.phases.unfenced!).toBeGreaterThanOrEqual(l!.phases.resynced!);
    expect(l!.maxPrimaries).toBe(1);
    expect(l!.membersKept).toBe(true);
    expect(l!.guestRebooted).toBe(false);
    expect(l!.splitBrain).toBe(false);
    expect(l!.dataIntact).toBe(true);
    // Nobody fenced, in the survivor's own record; the link is up again on the node.
    expect((await h.fenceHistory(peer, "'*'")).length).toBe(historyBefore.length);
    expect((await lab.ssh(l!.node!, `cat /sys/class/net/${l!.link!}/operstate`)).stdout.trim()).toBe('up');
    console.log(`[ha link drill] ${l!.node} ${l!.link}: ${LINK_PHASES.map((p) => `${p} ${seconds(l!.phases[p])}`).join(', ')}; guest silent at most ${l!.guestMaxGapMs} ms`);
    {
      // The declared guest never moved nor rebooted; its disk resynced and its handler's constraint went too.
      expect(bootOf(await h.webPage())).toBe(webBoot);
      expect((await h.cluster(peer)).resources.filter((r) => r.id === 'vm-web' && r.active).map((r) => `${r.role} ${r.nodes.join(',')}`)).toEqual([`Started ${webNode}`]);
      await h.webDiskInSync(peer);
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
    const drill = h.verify(site, ['--failover-test', 'power-loss', '--yes', '--failover-node', webNode], 22 * MIN);
    const crashed = await h.nodePoweredOff(drill);
    const survivor = other(crashed);
    // While the drill holds (fencing cannot reach the BMC): a failed fencing attempt, then the checks below.
    await waitFor(`a failed fencing attempt of ${crashed}`, async () => ((await h.fenceHistory(survivor, crashed)).some((e) => e.status === 'failed') ? true : undefined), { timeoutMs: 6 * MIN, intervalMs: 2000 });
    const seen = await h.cluster(survivor);
    expect(seen.nodes.find((n) => n.name === crashed)).toMatchObject({ online: false, unclean: true });
    // Pacemaker still lists the guests on the UNCLEAN node (they may run there until it is fenced) and
    // nowhere else; libvirt on the survivor runs neither.
    for (const vm of ['vm-hvc-migtest', 'vm-web']) {
      expect(seen.resources.filter((r) => r.id === vm && r.active).flatMap((r) => r.nodes).filter((n) => n !== crashed), vm).toEqual([]);
    }
    expect((await lab.ssh(survivor, 'virsh list --name')).stdout.split('\n').filter((d) => d === 'hvc-migtest' || d === 'web')).toEqual([]);
    // verify names the situation from the survivor (the crashed node itself is unreachable: exit 2),
    // and refuses a second drill meanwhile, saying why.
    const v = await h.verify(site, ['--failover-test', '--yes'], 6 * MIN);
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
    const history = await h.fenceHistory(survivor, crashed);
    expect(history.some((e) => e.status === 'failed'), JSON.stringify(history)).toBe(true);
    expect((await lab.ssh(survivor, 'ip route show type blackhole')).stdout.trim()).toBe('');
    console.log(`[ha failover, power loss] ${phasesLine(f!)}; held ${seconds(f!.hold!.releasedMs)} (${f!.hold!.failedFencings} failed fencing attempts)`);
    await expectWebTakenOver(survivor);
  });
});

// A network partition: the guests' node cut off every network while it runs. It loses quorum (the
// other node has the witness's vote); DRBD's fence-peer handler there must not report success
// without quorum (hvcluster's drbd-fence-peer.sh), so its I/O stays frozen and it starts no new data
// generation; the quorate side fences it and takes the guests over; back from its reboot, its disks
// resync from the survivor without a split brain.
describe('network partition', () => {
  it('partition: the cut-off node is fenced by the quorate side, which takes the guests over; back, its disks resync without a split brain', { timeout: 25 * MIN }, async () => {
    const cut = webNode;
    const { code, report } = await h.verify(site, ['--failover-test', 'partition', '--yes', '--failover-node', cut], 22 * MIN);
    const f = report.failover?.report;
    expect(f?.ok, JSON.stringify(report.failover).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    expect(f!.fault).toBe('partition');
    expect([f!.crashed, f!.survivor]).toEqual([cut, other(cut)]);
    for (const p of FAILOVER_PHASES) expect(f!.phases[p], p).toBeGreaterThan(0);
    expect(f!.fencing.some((e) => e.status === 'success')).toBe(true);
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.phases.fenced!);
    expect(f!.guestSeenOn).toEqual([other(cut)]);
    expect(f!.dataIntact).toBe(true);
    expect(f!.splitBrain).toBe(false);
    expect(f!.resyncedMs).not.toBeNull();
    console.log(`[ha failover, partition] ${phasesLine(f!)}`);
    // What the cut-off node's handler said before it was fenced (its previous boot's journal).
    console.log(`[ha failover, partition] ${cut}'s fence-peer handler: ${(await lab.ssh(cut, 'journalctl -b -1 -t hvcluster-fence-peer --no-pager -o cat 2>&1 | tail -3')).stdout.trim() || 'nothing logged'}`);
    // The declared guest too: on the survivor, a new boot, its disk resynced without a split brain.
    const survivor = other(cut);
    await expectWebTakenOver(survivor);
  });
});

// A hung node: every process but PID 1 stopped (`kill -STOP -- -1`, drill-fault.sh freeze), its
// kernel running on: Corosync silent and the guests frozen, but DRBD still connected and Primary, and
// SSH silent too. Its peers must fence it through its BMC (the power cycle ends the hang) before they
// take the guests over; back from its reboot, nothing of the freeze is left.
describe('a hung node', () => {
  it('hang: the frozen node is lost while DRBD stays connected to it, fenced by a power cycle (a new boot), the guests taken over; back, nothing left frozen, resynced', { timeout: 25 * MIN }, async () => {
    const node = (await h.cluster(NODES[0])).resources.find((r) => r.id === 'vm-web' && r.active)?.nodes[0] ?? webNode;
    const survivor = other(node);
    const bootBefore = (await lab.ssh(node, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    const fencedBefore = (await h.fenceHistory(survivor, node)).filter((e) => e.status === 'success').length;
    const drill = h.verify(site, ['--failover-test', 'hang', '--yes', '--failover-node', node], 22 * MIN);
    let ended = false;
    void drill.then(() => (ended = true), () => (ended = true));
    // The drill builds its test guest first (minutes); the freeze comes 2 s after its thaw timer is set
    // (an SSH that times out or gets no banner: the node already frozen).
    await waitFor(
      `the drill to set ${node}'s freeze`,
      async () => {
        if (ended) throw new Error(`the drill ended before it froze ${node}: ${JSON.stringify((await drill).report.failover).slice(0, 3000)}`);
        const r = await lab.ssh(node, 'systemctl is-active hvcluster-drill-thaw.timer', { timeoutMs: 10_000 });
        return r.stdout.trim() === 'active' || r.code === 124 || r.code === 255 ? true : undefined;
      },
      { timeoutMs: 12 * MIN, intervalMs: 3000 },
    );
    // As the survivor sees the hang, until fencing cuts DRBD's connection: the node lost (crm_mon),
    // and web-disk0's connection to it (its kernel answers DRBD while its userspace is stopped).
    const samples: { lost: boolean; cs: string; ro: string }[] = [];
    let sshWhileHung: Promise<string> | undefined;
    await waitFor(
      `${survivor} to lose ${node}, then DRBD's connection to it`,
      async () => {
        if (ended) return true;
        const r = await lab.ssh(survivor, 'crm_mon -1 --output-as=xml; echo @@drbd; drbdadm cstate web-disk0; drbdadm role web-disk0', { timeoutMs: 60_000 });
        const [xml = '', drbd = ''] = r.stdout.split('@@drbd');
        let member;
        try {
          member = parseCrmMon(xml).nodes.find((n) => n.name === node);
        } catch {
          return undefined;
        }
        const [cs = '?', ro = '?'] = drbd.trim().split('\n').map((l) => l.trim());
        const sample = { lost: !member || !member.online || member.unclean, cs, ro };
        samples.push(sample);
        // Lost: its SSH must not answer either (sshd is stopped too; a reboot takes longer than this try).
        if (sample.lost && !sshWhileHung) sshWhileHung = lab.ssh(node, 'echo alive', { timeoutMs: 20_000 }).then((x) => x.stdout);
        return sample.lost && sample.cs !== 'Connected' ? true : undefined;
      },
      { timeoutMs: 8 * MIN, intervalMs: 1000 },
    );
    expect(samples.some((x) => x.lost && x.cs === 'Connected' && x.ro === 'Secondary/Primary'), `samples from ${survivor}: ${JSON.stringify(samples)}`).toBe(true);
    expect(await sshWhileHung).not.toContain('alive');
    const { code, report } = await drill;
    const f = report.failover?.report;
    expect(f?.ok, JSON.stringify(report.failover).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    expect(f!.fault).toBe('hang');
    expect([f!.crashed, f!.survivor]).toEqual([node, survivor]);
    for (const p of FAILOVER_PHASES) expect(f!.phases[p], p).toBeGreaterThan(0);
    expect(f!.phases.promoted!).toBeGreaterThanOrEqual(f!.phases.fenced!);
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.phases.fenced!);
    expect(f!.rebooted).toBe(true);
    expect(f!.guestSeenOn).toEqual([survivor]);
    expect(f!.dataIntact).toBe(true);
    expect(f!.splitBrain).toBe(false);
    expect(f!.resyncedMs).not.toBeNull();
    expect(f!.restored).toEqual([]);
    expect(f!.cleanup.ok).toBe(true);
    // Fenced by Pacemaker through the BMC, in the survivor's own record; the node rebooted, nothing stopped, no drill unit left.
    const history = await h.fenceHistory(survivor, node);
    expect(history.filter((e) => e.status === 'success').length, JSON.stringify(history)).toBeGreaterThan(fencedBefore);
    expect((await lab.ssh(node, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim()).not.toBe(bootBefore);
    expect((await lab.ssh(node, "systemctl list-units --all --plain --no-legend 'hvcluster-drill-*'")).stdout.trim()).toBe('');
    expect((await lab.ssh(node, "ps -eo pid=,stat=,comm= | awk '$2 ~ /^T/'")).stdout.trim()).toBe('');
    console.log(`[ha failover, hang] ${phasesLine(f!)}; ${survivor} saw web-disk0 Connected to the lost node in ${samples.filter((x) => x.lost && x.cs === 'Connected').length} of ${samples.length} samples`);
    // The declared guest too: on the survivor, a new boot, its disk resynced without a split brain.
    await expectWebTakenOver(survivor);
  });
});

// The drill on a declared guest: web itself instead of the test guest, its node failed, its real
// downtime measured until its guest agent answers on the survivor; its data is not touched.
describe('the failover drill on a declared guest', () => {
  it('--guest web: refused without --yes-i-accept-downtime; with it, web\'s node powered off, web back on the survivor with its downtime measured, no test guest made', { timeout: 25 * MIN }, async () => {
    const refused = await h.verify(site, ['--failover-test', '--guest', 'web', '--yes'], 2 * MIN);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('confirm with --yes-i-accept-downtime');
    const node = (await h.cluster(NODES[0])).resources.find((r) => r.id === 'vm-web' && r.active)?.nodes[0] ?? webNode;
    const survivor = other(node);
    const { code, report } = await h.verify(site, ['--failover-test', '--guest', 'web', '--yes', '--yes-i-accept-downtime'], 22 * MIN);
    const f = report.failover?.report;
    expect(f?.ok, JSON.stringify(report.failover).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    expect(f!.guest).toEqual({ name: 'web', address: null, declared: true });
    expect([f!.crashed, f!.survivor]).toEqual([node, survivor]);
    for (const p of FAILOVER_PHASES) expect(f!.phases[p], p).toBeGreaterThan(0);
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.phases.fenced!);
    expect(f!.phases.answered!).toBeGreaterThanOrEqual(f!.phases.started!);
    expect(f!.guestSeenOn).toEqual([survivor]);
    expect(f!.dataIntact).toBeNull();
    expect(f!.splitBrain).toBe(false);
    expect(f!.resyncedMs).not.toBeNull();
    expect(report.checks.find((c) => c.code === 'FAILOVER_TEST' && c.subject === `${node} -> ${survivor}`)?.found).toContain(`downtime ${seconds(f!.phases.answered)}`);
    // No test guest was made: neither node has its domain, Pacemaker never had it.
    for (const n of NODES) expect((await lab.ssh(n, 'virsh list --all --name')).stdout.split('\n').map((d) => d.trim())).not.toContain('hvc-migtest');
    console.log(`[ha failover, declared guest web] ${phasesLine(f!)}; web's downtime ${seconds(f!.phases.answered)}`);
    await expectWebTakenOver(survivor);
  });
});

// Backups of a guest under Pacemaker: restored into itself where its disk stays Promoted, and into a stopped copy.
describe('backup restore under Pacemaker', () => {
  it("web's set restored into web (refused while it runs, and --to the other node; with --force stopped through Pacemaker and started again where its disk is Promoted, booting from what it held); a copy declared autostart: false is handed to Pacemaker stopped and stays stopped once restored", { timeout: 30 * MIN }, async () => {
    process.env[BACKUP_PASSPHRASE_ENV] = 'correct horse battery staple, lab only';
    const server = await serveBackups(lab);
    const backupSite = site.replace(/\.yaml$/, '-backup.yaml');
    const copy = ['    - name: web-r', '      memory: 128MiB', '      autostart: false', '      disks:', '        - size: 64MiB', ''].join('\n');
    writeFileSync(backupSite, `${readFileSync(site, 'utf8').trimEnd()}\n${copy}${backupYaml(server, ['web'])}`);
    const applied = await h.apply(backupSite);
    expect(applied.code, applied.stderr.slice(-4000)).toBe(0);
    // The copy is in Pacemaker, stopped: nothing of it runs, its disk Promoted on one node.
    const handed = await h.cluster(webNode);
    expect(handed.resources.filter((x) => x.id === 'vm-web-r' && x.active)).toEqual([]);
    expect(handed.resources.filter((x) => x.id.startsWith('drbd-web-r-disk0') && x.role === 'Promoted').flatMap((x) => x.nodes)).toHaveLength(1);

    const md5 = async (cgi: string) => parseMd5(await h.webPage(`/cgi-bin/${cgi}`, 60_000));
    const before = await md5('check');
    expect(before).not.toBeNull();
    const run = await hvcluster(lab.info.name, ['backup', 'run', 'web', '-f', backupSite, '--json'], { timeoutMs: 15 * MIN });
    expect(run.code, run.stderr.slice(-4000)).toBe(0);
    expect((JSON.parse(run.stdout) as { sets: { guest: string; node: string }[] }).sets.map((x) => [x.guest, x.node])).toEqual([['web', webNode]]);
    // Random data over its boot sector: it runs on from memory, but would not boot again.
    expect(await md5('write')).not.toBe(before);

    const running = await hvcluster(lab.info.name, ['backup', 'restore', 'web', '-f', backupSite], { timeoutMs: 5 * MIN });
    expect(running.code).toBe(1);
    expect(running.stderr).toContain(`guest web runs on ${webNode}: restoring would overwrite the disks it uses`);
    const elsewhere = await hvcluster(lab.info.name, ['backup', 'restore', 'web', '--force', '--to', other(webNode), '-f', backupSite], { timeoutMs: 5 * MIN });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`guest web is under Pacemaker, which keeps its disks Promoted on ${webNode}`);
    expect(elsewhere.stderr).toContain(`hvcluster guest migrate web --to ${other(webNode)}`);

    const r = await hvcluster(lab.info.name, ['backup', 'restore', 'web', '--force', '-f', backupSite, '--json'], { timeoutMs: 12 * MIN });
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ guest: 'web', target: 'web', node: webNode, startedOn: webNode });
    expect(r.stderr).toContain('set target-role=Stopped on vm-web');
    expect(r.stderr).toContain(`destroy guest web on ${webNode}`);
    expect(r.stderr).toContain('set target-role=Started on vm-web');
    // Pacemaker keeps its disk Promoted: hvcluster neither promotes nor demotes it.
    expect(r.stderr).not.toMatch(/promote web-disk0|demote web-disk0/);
    webBoot = await waitFor('web to answer after its restore', async () => {
      const boot = bootOf(await h.webPage());
      return boot && boot !== webBoot ? boot : undefined;
    }, { timeoutMs: 5 * MIN, intervalMs: 3000 });
    expect(await md5('check')).toBe(before);
    const seen = await h.cluster(other(webNode));
    expect(seen.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual([`Started ${webNode}`]);
    expect(seen.failures.filter((f) => f.opKey.startsWith('vm-web'))).toEqual([]);
    expect(seen.nodes.filter((n) => !n.online).map((n) => n.name)).toEqual([]);

    // Into the stopped copy: written where its disk is Promoted, left stopped (it would answer on web's address).
    const copied = await hvcluster(lab.info.name, ['backup', 'restore', 'web', '--as', 'web-r', '-f', backupSite, '--json'], { timeoutMs: 12 * MIN });
    expect(copied.code, copied.stderr.slice(-4000)).toBe(0);
    expect(JSON.parse(copied.stdout)).toMatchObject({ guest: 'web', target: 'web-r', startedOn: null });
    expect(copied.stderr).not.toContain('set target-role=Started');
    expect((await h.cluster(webNode)).resources.filter((x) => x.id === 'vm-web-r' && x.active)).toEqual([]);

    // The copy removed again (declared absent), back to the site without backups.
    const absent = `${readFileSync(site, 'utf8').trimEnd()}\n${copy.replace('      autostart: false\n', '      state: absent\n')}`;
    const removeSite = site.replace(/\.yaml$/, '-copy-absent.yaml');
    writeFileSync(removeSite, absent);
    const removed = await h.apply(removeSite);
    expect(removed.code, removed.stderr.slice(-4000)).toBe(0);
    expect((await h.cluster(webNode)).resources.filter((x) => x.id.includes('web-r'))).toEqual([]);
    await h.expectClean(site);
  });
});

// Ctrl-C during a drill: the cluster restored, and said so.
describe('Ctrl-C during a drill', () => {
  it('--failover-test interrupted once the node is off: it is powered on, rejoins, the test guest is removed everywhere, verify says what it undid and exits 130; the cluster verifies clean', { timeout: 25 * MIN }, async () => {
    const victim = other(webNode);
    const r = await hvclusterInterrupted(lab.info.name, ['verify', '-f', site, '--failover-test', '--yes', '--failover-node', victim, '--json', '--connect-timeout', '15'], {
      when: (said) => said.includes(`${victim} failed (power-off); watching`),
      untilMs: 12 * MIN,
      what: `the power-off of ${victim}`,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(130);
    const after = r.stderr.slice(r.interruptedAt);
    expect(after).toContain('stopping: the drill stops waiting, undoes its fault');
    expect(after).toContain(`verify was interrupted: the drill stopped and removed what it had created; undone: ${victim} powered on through its BMC`);
    const report = (JSON.parse(r.stdout) as { failover?: { report?: FailoverReport } }).failover?.report;
    expect(report?.error?.message, JSON.stringify(report?.error)).toMatch(/Ctrl-C|interrupted|stop/i);
    expect(report?.restored).toEqual([`${victim} powered on through its BMC`]);
    expect(report?.cleanup, JSON.stringify(report?.cleanup)).toEqual({ ok: true, leftovers: [] });
    // Back as a member, nothing of the test guest anywhere, web untouched where it ran.
    const seen = await h.cluster(webNode);
    expect(seen.nodes.filter((n) => !n.online || n.unclean).map((n) => n.name)).toEqual([]);
    expect(seen.resources.filter((x) => x.id.includes('hvc-migtest'))).toEqual([]);
    expect(seen.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual([`Started ${webNode}`]);
    for (const node of NODES) {
      expect((await lab.ssh(node, 'virsh -q list --all --name | grep -c hvc-migtest; lvs --noheadings -o lv_name | grep -c hvc-migtest; true')).stdout.trim().split(/\s+/), node).toEqual(['0', '0']);
    }
    expect(bootOf(await h.webPage())).toBe(webBoot);
    await h.webDiskInSync(webNode);
    await h.expectClean(site);
  });
});

// The second fencing level: diskless SBD on each node's i6300esb watchdog (spec.ha.watchdog), added
// to the running cluster by a second apply (sbd installed, the stack restarted one node at a time,
// the guests kept running), then total power loss again: fencing through the dead BMC fails and
// falls through to the watchdog level, so the survivor takes the guests over after
// stonith-watchdog-timeout, without an operator. Last: the level removed again by an apply.
describe('total power loss with the watchdog level', () => {
  it('apply adds sbd node by node (web kept running), verify sees the level; power-loss: fenced through the watchdog no sooner than stonith-watchdog-timeout, the guests taken over without an operator; apply removes the level again', { timeout: 75 * MIN }, async () => {
    const sbdSite = site.replace(/\.yaml$/, '-watchdog.yaml');
    writeFileSync(sbdSite, readFileSync(site, 'utf8').replace(/^ {2}ha:\n/m, '  ha:\n    watchdog:\n      timeout: 30\n'));
    const added = await h.apply(sbdSite);
    expect(added.code, added.stderr.slice(-4000)).toBe(0);
    const restarts = events(added.stdout).filter((e) => e.type === 'change' && String(e.description).startsWith('restart the cluster stack')).map((e) => e.server);
    expect(restarts.sort()).toEqual([...NODES]);
    for (const node of NODES) {
      expect((await lab.ssh(node, 'systemctl is-active sbd; systemctl is-enabled sbd; grep ^SBD_WATCHDOG_TIMEOUT= /etc/default/sbd')).stdout.trim().split('\n'), node).toEqual(['active', 'enabled', 'SBD_WATCHDOG_TIMEOUT=30']);
    }
    const props = (await lab.ssh('hv1', 'crm_attribute -t crm_config -n stonith-watchdog-timeout -q; crm_attribute -t crm_config -n have-watchdog -q; cibadmin --query --scope fencing-topology')).stdout;
    expect(props).toMatch(/^60s\ntrue\n/);
    for (const node of NODES) {
      expect(props).toContain(`target="${node}" index="1" devices="fence-${node}"`);
      expect(props).toContain(`target="${node}" index="2" devices="watchdog"`);
    }
    // The guest ran on throughout: live-migrated away from each node before its stack restarted, never rebooted.
    const moved = events(added.stdout).filter((e) => e.type === 'change' && /^move vm-web to hv\d/.test(String(e.description))).map((e) => `${e.server}: ${e.description}`);
    expect(moved, JSON.stringify(moved)).toHaveLength(2);
    expect(await waitFor('the guest web to answer', async () => bootOf(await h.webPage()) ?? undefined, { timeoutMs: 2 * MIN, intervalMs: 2000 })).toBe(webBoot);
    webNode = (await h.cluster('hv1')).resources.find((r) => r.id === 'vm-web' && r.active)!.nodes[0]!;
    const again = await h.apply(sbdSite);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(events(again.stdout).filter((e) => e.type === 'step-finished' && e.status !== 'unchanged').map((e) => `${e.server} ${e.step}: ${JSON.stringify(e.changes)}`)).toEqual([]);
    const clean = await h.verify(sbdSite, [], 6 * MIN);
    expect(clean.report.checks.filter((c) => c.status === 'error').map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
    expect(clean.report.checks.find((c) => c.code === 'HA_WATCHDOG')?.status).toBe('pass');

    const { code, report } = await h.verify(sbdSite, ['--failover-test', 'power-loss', '--yes', '--failover-node', webNode], 22 * MIN);
    const f = report.failover?.report;
    expect(f?.ok, JSON.stringify(report.failover).slice(0, 4000)).toBe(true);
    expect(code).toBe(0);
    const crashed = f!.crashed!;
    const survivor = other(crashed);
    expect(f!.hold).toMatchObject({ runningElsewhere: [], releasedBy: 'watchdog', confirmCommand: null });
    for (const p of FAILOVER_PHASES) expect(f!.phases[p], p).toBeGreaterThan(0);
    // Fenced through the watchdog: no sooner than stonith-watchdog-timeout after the node was lost; started after that, on the survivor only.
    expect(f!.phases.fenced! - f!.phases.lost!).toBeGreaterThanOrEqual(60_000);
    expect(f!.phases.started!).toBeGreaterThanOrEqual(f!.hold!.releasedMs!);
    expect(f!.guestSeenOn).toEqual([survivor]);
    expect(f!.dataIntact).toBe(true);
    expect(f!.fencing.some((e) => e.status === 'success')).toBe(true);
    expect(f!.rejoinedMs).not.toBeNull();
    expect(f!.resyncedMs).not.toBeNull();
    expect(f!.cleanup.ok).toBe(true);
    expect((await lab.ssh(survivor, 'ip route show type blackhole')).stdout.trim()).toBe('');
    console.log(`[ha failover, power loss, watchdog level] ${phasesLine(f!)}; fenced through the watchdog ${seconds(f!.phases.fenced! - f!.phases.lost!)} after the node was lost`);
    await expectWebTakenOver(survivor);
    expect((await lab.ssh(crashed, 'systemctl is-active sbd')).stdout.trim()).toBe('active');

    // The level removed: Pacemaker stops counting on it first, then sbd leaves each node's stack.
    const removed = await h.apply(site);
    expect(removed.code, removed.stderr.slice(-4000)).toBe(0);
    for (const node of NODES) expect((await lab.ssh(node, 'systemctl is-active sbd; systemctl is-enabled sbd; true')).stdout.trim().split('\n'), node).toEqual(['inactive', 'disabled']);
    const left = (await lab.ssh('hv1', 'crm_attribute -t crm_config -n stonith-watchdog-timeout -q 2>&1; cibadmin --query --scope fencing-topology 2>&1; true')).stdout;
    expect(left).not.toMatch(/^60s/m);
    expect(left).not.toContain('devices="watchdog"');
    webNode = (await h.cluster('hv1')).resources.find((r) => r.id === 'vm-web' && r.active)!.nodes[0]!;
    await h.expectClean(site);
  });
});
