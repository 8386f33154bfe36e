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
 * The drills (replication link, power loss, partition) are in ha-drills.test.ts, dead-fence in
 * cluster3.test.ts; both run with `npm run test:e2e:extended`, not in `npm test`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { events, hvcluster } from '../helpers/hvcluster.js';
import { builtCluster } from '../helpers/built.js';
import { HA_GUEST_NODE, NODES, bootOf, haLab } from '../helpers/ha-lab.js';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { writeLabSite } from '../lab/site.js';
import type { GuestList } from '../../installer/guests/list.js';
import { waitFor } from '../lab/util.js';
import { GuestClient } from '../helpers/guest-client.js';
import type { MoveResult as Migrated } from '../../installer/commands/guest.js';
import { CLIENT_GAP_LIMIT_MS } from '../../installer/verify/migration/judge.js';
import { longestGap } from '../../installer/verify/migration/probe.js';
import { parseMd5 } from '../../installer/verify/migration/guest.js';

const MIN = 60_000;
const NAME = SHARED_LAB.name;
const lab = useLab(SHARED_LAB);
const h = haLab(lab);

let site = '';
const verify = () => h.verify(site || (site = writeLabSite(lab.info, { ha: true })), [], 6 * MIN);
const apply = (file: string) => h.apply(file);

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
    // No watchdog level in this answer file: HA_WATCHDOG is skipped, saying so; everything else passes.
    expect(ha.filter((c) => c.status !== 'pass' && !(c.code === 'HA_WATCHDOG' && c.status === 'skipped')).map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
    expect(ha.find((c) => c.code === 'HA_WATCHDOG')?.found).toContain('no watchdog level (spec.ha.watchdog not set)');
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

let guestSite = '';
let webBoot: string | null = null;

describe('a declared guest under Pacemaker', () => {
  it('apply makes it like any guest (its disk replicated, its image imported) and hands it to Pacemaker: it runs on its preferred node; a second apply changes nothing', { timeout: 20 * MIN }, async () => {
    guestSite = await h.webSite();
    const r = await apply(guestSite);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const changes = events(r.stdout).filter((e) => e.type === 'change').map((e) => `${e.server}: ${e.description}`);
    // Never defined in libvirt nor started by hvcluster: Pacemaker's VirtualDomain runs it from its XML.
    expect(changes.filter((c) => /define guest web|start guest web/.test(c))).toEqual([]);
    expect(changes.filter((c) => c.includes('hand guest web to Pacemaker'))).toHaveLength(1);
    const seen = await h.cluster('hv2');
    expect(seen.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual([`Started ${HA_GUEST_NODE}`]);
    expect(seen.resources.filter((x) => x.id === 'drbd-web-disk0' && x.role === 'Promoted').flatMap((x) => x.nodes)).toEqual([HA_GUEST_NODE]);
    await waitFor('the guest web to answer HTTP', async () => (bootOf(await h.webPage()) ?? undefined), { timeoutMs: 4 * MIN, intervalMs: 3000 });
    webBoot = bootOf(await h.webPage());
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
    const client = new GuestClient(lab.info.netns, h.webAddress());
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
    expect(bootOf(await h.webPage())).toBe(webBoot);
    const seenBy = await h.cluster('hv1');
    expect(seenBy.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual(['Started hv2']);
    expect(seenBy.resources.filter((x) => x.id === 'drbd-web-disk0' && x.role === 'Promoted').flatMap((x) => x.nodes)).toEqual(['hv2']);
    expect((await lab.ssh('hv1', 'cibadmin --query --scope constraints')).stdout).not.toMatch(/cli-prefer|cli-ban/);
    for (const node of NODES) expect((await lab.ssh(node, 'drbdsetup show web-disk0 | grep -c "allow-two-primaries *yes"')).stdout.trim(), node).toBe('0');
  });

  it('snapshot rollback of the HA guest: stopped and started through Pacemaker, written back on the node where its disk stays Promoted; it boots from what it held', { timeout: 15 * MIN }, async () => {
    // web runs on hv2. What its disk holds now (the boot image: its first 4 MiB hold the boot sector and the FAT).
    const md5 = async (cgi: string) => parseMd5(await h.webPage(`/cgi-bin/${cgi}`, 60_000));
    const before = await md5('check');
    expect(before).not.toBeNull();
    const created = await hvcluster(NAME, ['snapshot', 'create', 'web', 'before', '-f', guestSite, '--json'], { timeoutMs: 5 * MIN });
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ node: 'hv2', consistency: 'agent' });
    // Random data over its boot sector: it runs on (from memory), but would not boot again.
    const broken = await md5('write');
    expect(broken).not.toBe(before);
    const r = await hvcluster(NAME, ['snapshot', 'rollback', 'web', 'before', '--yes', '-f', guestSite, '--json'], { timeoutMs: 12 * MIN });
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ guest: 'web', node: 'hv2', startedOn: 'hv2' });
    expect(r.stderr).toContain('set target-role=Stopped on vm-web');
    expect(r.stderr).toContain('set target-role=Started on vm-web');
    expect(r.stderr).not.toContain('promote web-disk0');
    // hvcluster destroyed it once Pacemaker's stop had begun (its state is discarded): no wait for a shutdown, no failed stop.
    expect(r.stderr).toContain('destroy guest web on hv2');
    // It booted again (a new boot) from the disk as it was, on hv2, Promoted there only.
    await waitFor('web to answer after its rollback', async () => {
      const boot = bootOf(await h.webPage());
      return boot && boot !== webBoot ? boot : undefined;
    }, { timeoutMs: 5 * MIN, intervalMs: 3000 });
    expect(await md5('check')).toBe(before);
    const seenBy = await h.cluster('hv1');
    expect(seenBy.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => `${x.role} ${x.nodes.join(',')}`)).toEqual(['Started hv2']);
    expect(seenBy.failures.filter((f) => f.opKey.startsWith('vm-web'))).toEqual([]);
    expect(seenBy.nodes.filter((n) => !n.online).map((n) => n.name)).toEqual([]);
    const removed = await hvcluster(NAME, ['snapshot', 'remove', 'web', 'before', '-f', guestSite], { timeoutMs: 3 * MIN });
    expect(removed.code, removed.stderr).toBe(0);
  });

  it('guest stop of the HA guest, which ignores ACPI: Pacemaker asked, hvcluster destroys it after --timeout (not VirtualDomain at the end of its stop timeout); guest start brings it back', { timeout: 10 * MIN }, async () => {
    const stopped = await hvcluster(NAME, ['guest', 'stop', 'web', '--timeout', '10', '-f', guestSite, '--json'], { timeoutMs: 6 * MIN });
    expect(stopped.code, stopped.stderr.slice(-4000)).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ guest: 'web', stoppedOn: 'hv2', forced: true });
    expect(stopped.stderr).toContain('set target-role=Stopped on vm-web');
    expect(stopped.stderr).toContain('destroy guest web on hv2');
    const down = await h.cluster('hv1');
    expect(down.resources.filter((x) => x.id === 'vm-web' && x.active)).toEqual([]);
    expect(down.failures.filter((f) => f.opKey.startsWith('vm-web'))).toEqual([]);
    expect((await lab.ssh('hv2', 'virsh list --name')).stdout.split('\n')).not.toContain('web');
    const started = await hvcluster(NAME, ['guest', 'start', 'web', '-f', guestSite, '--json'], { timeoutMs: 6 * MIN });
    expect(started.code, started.stderr.slice(-4000)).toBe(0);
    expect(started.stderr).toContain('set target-role=Started on vm-web');
    await waitFor('web to answer after guest start', async () => bootOf(await h.webPage()) ?? undefined, { timeoutMs: 5 * MIN, intervalMs: 3000 });
    const up = await h.cluster('hv1');
    expect(up.resources.filter((x) => x.id === 'vm-web' && x.active).map((x) => x.nodes.join(','))).toEqual([JSON.parse(started.stdout).node]);
  });
});
