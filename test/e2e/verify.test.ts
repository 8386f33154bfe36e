/**
 * verify end to end on the shared two-node lab (prepared image): the lab's site applied (the run's
 * `built` checkpoint when an earlier file saved it), then every check passes; then
 * one fault at a time, each caught by the right check code with a non-zero exit, and restored before
 * the next: a split brain on hvc-probe (an error while StandAlone, a warning with when and how once
 * resolved), a throttled resync (reported with its progress),
 * DRBD disconnected on hv1, hv2's clock 5 minutes off, hv1's replication MTU at 1400 with
 * the answer file at 1500, hv2 powered off (unreachable: exit 2, hv1's checks still reported).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hvcluster } from '../helpers/hvcluster.js';
import { builtCluster } from '../helpers/built.js';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { poweroffNode } from '../lab/lab.js';
import { waitFor } from '../lab/util.js';
import type { CheckResult } from '../../installer/verify/types.js';
import type { VerifyReport } from '../../installer/verify/report.js';

const MIN = 60_000;
const NAME = SHARED_LAB.name;
const lab = useLab(SHARED_LAB);
const out = mkdtempSync(join(tmpdir(), 'hvcluster-verify-e2e-'));
// Chrony may not be synchronized yet right after apply, and the nested VMs share two busy cores: only
// these may warn on a healthy lab.
const LAB_WARNINGS = new Set(['TIME_SYNC', 'REPL_LATENCY', 'CLOCK_SKEW']);

let site = '';

async function verify(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; report: VerifyReport; stderr: string }> {
  const r = await hvcluster(NAME, ['verify', '-f', site, '--json', '--connect-timeout', '15', ...extra], { timeoutMs: 6 * MIN, env });
  let report: VerifyReport;
  try {
    report = JSON.parse(r.stdout) as VerifyReport;
  } catch {
    throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const results = (report: VerifyReport, code: string, server?: string): CheckResult[] =>
  report.checks.filter((c) => c.code === code && (server === undefined || c.server === server));
const errors = (report: VerifyReport) => report.checks.filter((c) => c.status === 'error').map((c) => `${c.code} ${c.server} ${c.subject ?? ''}: ${c.found}`);

const NODES = ['hv1', 'hv2'] as const;

/** Per node: how many unresolved split brains this boot's kernel log holds, and the connection state. */
async function splitBrainState(): Promise<{ node: string; detected: number; cstate: string }[]> {
  return Promise.all(
    NODES.map(async (node) => {
      const r = await lab.ssh(node, "journalctl -k -b | grep -c 'Split-Brain detected but unresolved'; drbdadm cstate hvc-probe", { timeoutMs: 30_000 });
      const [detected = '0', cstate = ''] = r.stdout.trim().split('\n');
      return { node, detected: Number(detected), cstate: cstate.trim() };
    }),
  );
}

/** A running resync's share done on a node, from /proc/drbd's `sync'ed: P% (LEFT/TOTAL)K`; null when no resync runs. */
async function syncedPercent(node: string): Promise<number | null> {
  const r = await lab.ssh(node, 'cat /proc/drbd', { timeoutMs: 30_000 });
  const m = /sync'ed:\s*[\d.]+%\s*\((\d+)\/(\d+)\)K/.exec(r.stdout);
  return m ? (100 * (Number(m[2]) - Number(m[1]))) / Number(m[2]) : null;
}

/** Both ends of hvc-probe Connected and UpToDate again (after a fault was undone). */
async function drbdHealthy(timeoutMs = 3 * MIN): Promise<void> {
  await waitFor(
    'hvc-probe Connected and UpToDate/UpToDate on hv1 and hv2',
    async () => {
      const states = await Promise.all(['hv1', 'hv2'].map((n) => lab.ssh(n, 'drbdadm cstate hvc-probe; drbdadm dstate hvc-probe', { timeoutMs: 30_000 })));
      return states.every((s) => s.code === 0 && s.stdout.trim() === 'Connected\nUpToDate/UpToDate');
    },
    { timeoutMs, intervalMs: 2000 },
  );
}


describe('hvcluster verify on a two-node lab', () => {
  // The cluster of the lab's site.yaml, applied: by an earlier file of this run (apply-faults ends
  // with it), or here.
  beforeAll(async () => {
    site = await builtCluster(lab);
  }, 25 * MIN);

  it('passes every check on the healthy cluster: exit 0, JSON, JUnit and the hand-over report', { timeout: 8 * MIN }, async () => {
    const junit = join(out, 'verify.xml');
    const md = join(out, 'report.md');
    const { code, report, stderr } = await verify(['--junit', junit, '--report', md], { HVCLUSTER_SSH_STATS: '1' });
    // Read-only and batched: per server one handshake, one channel, one exec (facts and probes in one script).
    const stats = stderr.split('\n').filter((l) => l.startsWith('hvcluster-ssh-stats ')).map((l) => JSON.parse(l.slice('hvcluster-ssh-stats '.length)) as { server: string });
    expect(stats.sort((a, b) => a.server.localeCompare(b.server))).toEqual(['hv1', 'hv2'].map((server) => expect.objectContaining({ server, handshakes: 1, channelOpens: 1, execs: 1, bytesUploaded: 0 })));
    expect(errors(report)).toEqual([]);
    expect(report.checks.filter((c) => c.status === 'warning' && !LAB_WARNINGS.has(c.code)).map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
    expect(code).toBe(0);
    expect(report.exitCode).toBe(0);
    for (const code of ['SSH_REACHABLE', 'HOSTNAME', 'HOSTS_RESOLVE', 'REPL_MTU', 'DRBD_CONNECTED', 'DRBD_DISK', 'LVM_VG', 'LIBVIRTD', 'MIGRATION_CONNECT', 'MEMORY_HEADROOM']) {
      expect(results(report, code).map((c) => c.status), code).toEqual(results(report, code).map(() => 'pass'));
      expect(results(report, code).length, code).toBeGreaterThanOrEqual(2);
    }
    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)?.length).toBe(report.checks.length);
    expect(xml).not.toContain('<failure');
    const text = readFileSync(md, 'utf8');
    expect(text).toContain(`# Cluster ${report.cluster}: hand-over report`);
    expect(text).toContain('| hvc-probe |');
    expect(text).toContain('8.4.11');
    // verify reads the DRBD files, shared secret included: it shows it nowhere.
    const secret = (await lab.ssh('hv1', `sed -n 's/^[[:space:]]*shared-secret "\\(.*\\)";$/\\1/p' /etc/drbd.d/global_common.conf`)).stdout.trim();
    expect(secret).toMatch(/^[0-9a-f]{48}$/);
    for (const shown of [JSON.stringify(report), stderr, xml, text]) expect(shown).not.toContain(secret);
  });

  it('a split brain on hvc-probe: an error while StandAlone; resolved (hv2 discards its data): a warning saying when and how, exit 0', { timeout: 10 * MIN }, async () => {
    const startedAt = Date.now();
    try {
      // Both sides write while disconnected, then meet again: two diverged data sets, no automatic recovery.
      for (const n of NODES) expect((await lab.ssh(n, 'drbdadm disconnect hvc-probe')).code).toBe(0);
      for (const [n, seek] of [['hv1', 0], ['hv2', 100]] as const) {
        const w = await lab.ssh(n, `drbdadm primary hvc-probe && dd if=/dev/urandom of=/dev/drbd0 bs=4k count=8 seek=${seek} oflag=direct status=none && drbdadm secondary hvc-probe`);
        expect(w.code, w.stderr).toBe(0);
      }
      for (const n of NODES) expect((await lab.ssh(n, 'drbdadm connect hvc-probe')).code).toBe(0);
      await waitFor('the split brain detected and both ends disconnected', async () => {
        const states = await splitBrainState();
        return states.some((s) => s.detected > 0 && s.cstate === 'StandAlone') && states.every((s) => s.cstate !== 'Connected');
      }, { timeoutMs: 2 * MIN, intervalMs: 1000 });
      const before = await verify();
      expect(before.code).toBe(1);
      const standalone = (await splitBrainState()).filter((s) => s.cstate === 'StandAlone').map((s) => s.node);
      expect(standalone.length).toBeGreaterThan(0);
      for (const node of standalone) {
        const sb = results(before.report, 'DRBD_SPLIT_BRAIN', node)[0]!;
        expect(sb, node).toMatchObject({ status: 'error', subject: 'hvc-probe' });
        expect(sb.found).toMatch(/^hvc-probe: split brain detected at \S+ and not resolved/);
        expect(sb.fix).toContain('drbdadm connect --discard-my-data hvc-probe');
      }

      // The guided recovery: hv1 survives; hv2's data is kept as a snapshot, then discarded and resynced from hv1.
      // Direct reads: DRBD writes below the block device's page cache, which may still hold what was read before.
      const region = (node: string, device: string) => lab.ssh(node, `dd if=${device} bs=4k skip=100 count=8 iflag=direct status=none | md5sum | cut -d' ' -f1`);
      const vg = (await lab.ssh('hv2', "lvs --noheadings -o vg_name -S lv_name=hvc-probe | tr -d ' '")).stdout.trim();
      const hv2Wrote = (await region('hv2', `/dev/${vg}/hvc-probe`)).stdout.trim();
      const hv1Has = (await region('hv1', `/dev/${vg}/hvc-probe`)).stdout.trim();
      expect(hv2Wrote).not.toBe(hv1Has);
      const wrongSurvivor = await hvcluster(NAME, ['drbd', 'resolve', 'hvc-probe', '--survivor', 'hv3', '--yes', '-f', site], { timeoutMs: 3 * MIN });
      expect(wrongSurvivor.code).toBe(1);
      expect(wrongSurvivor.stderr).toContain('--survivor hv3 does not hold hvc-probe');
      const resolved = await hvcluster(NAME, ['drbd', 'resolve', 'hvc-probe', '--survivor', 'hv1', '--yes', '--json', '-f', site], { timeoutMs: 10 * MIN });
      expect(resolved.code, resolved.stderr.slice(-3000)).toBe(0);
      const doc = JSON.parse(resolved.stdout) as { survivor: string; victim: string; snapshot: string; before: { node: string; cstate: string }[]; after: { node: string; cstate: string; dstate: string }[] };
      expect([doc.survivor, doc.victim]).toEqual(['hv1', 'hv2']);
      expect(resolved.stderr).toMatch(/hv2: Secondary, (StandAlone|WFConnection), UpToDate; out of sync as it knows it: [\d.]+ MiB; split brain seen/);
      expect(doc.after.map((a) => `${a.node} ${a.cstate} ${a.dstate}`)).toEqual(['hv1 Connected UpToDate/UpToDate', 'hv2 Connected UpToDate/UpToDate']);
      // The snapshot holds what hv2 wrote during the split; hv2's volume now holds hv1's data.
      expect(doc.snapshot).toMatch(new RegExp(`^${vg}/hvc-probe-splitbrain-\\d{8}T\\d{6}Z$`));
      expect((await region('hv2', `/dev/${doc.snapshot}`)).stdout.trim()).toBe(hv2Wrote);
      expect((await region('hv2', `/dev/${vg}/hvc-probe`)).stdout.trim()).toBe(hv1Has);
      expect((await lab.ssh('hv2', `lvremove -y ${doc.snapshot}`)).code).toBe(0);
      await drbdHealthy();
      const after = await verify();
      expect(errors(after.report)).toEqual([]);
      expect(after.code).toBe(0);
      for (const node of NODES) {
        const sb = results(after.report, 'DRBD_SPLIT_BRAIN', node)[0]!;
        expect(sb, node).toMatchObject({ status: 'warning', subject: 'hvc-probe' });
        expect(sb.found).toMatch(/^hvc-probe: split brain detected at \S+, resolved at \S+: hv2 discarded its data and resynced from hv1 \(manual recovery: connect --discard-my-data\); now Connected\/Established, UpToDate\/UpToDate$/);
        // When: the kernel's timestamp of this test's split brain.
        const detectedAt = Date.parse(String(sb.data!.detectedAt));
        expect(detectedAt).toBeGreaterThan(startedAt - MIN);
        expect(detectedAt).toBeLessThan(Date.now() + MIN);
        expect(sb.fix).not.toContain('--discard-my-data');
      }
    } finally {
      // Whatever happened: no snapshot left, hv2's data gives way, both connect, both UpToDate.
      await lab.ssh('hv2', "for lv in $(lvs --noheadings -o lv_path -S 'lv_name=~^hvc-probe-splitbrain-'); do lvremove -y $lv; done; true");
      await lab.ssh('hv2', 'drbdadm secondary hvc-probe; drbdadm cstate hvc-probe | grep -q -E "Connected|Sync" || { drbdadm disconnect hvc-probe; drbdadm connect --discard-my-data hvc-probe; }; true');
      await lab.ssh('hv1', 'drbdadm secondary hvc-probe; drbdadm cstate hvc-probe | grep -q StandAlone && drbdadm connect hvc-probe; true');
      await drbdHealthy();
    }
  });

  it('a resync in progress: DRBD_RESYNC reports its percent, speed and time to go (text, JSON, report), exit 0', { timeout: 10 * MIN }, async () => {
    try {
      // 8 MiB out of sync on a 16 MiB resource, resynced at 200 KiB/s: about 40 s.
      for (const n of NODES) expect((await lab.ssh(n, 'drbdadm disk-options --c-plan-ahead=0 --resync-rate=200k hvc-probe')).code).toBe(0);
      expect((await lab.ssh('hv2', 'drbdadm disconnect hvc-probe')).code).toBe(0);
      const w = await lab.ssh('hv1', 'drbdadm primary hvc-probe && dd if=/dev/urandom of=/dev/drbd0 bs=1M count=8 oflag=direct status=none && drbdadm secondary hvc-probe');
      expect(w.code, w.stderr).toBe(0);
      expect((await lab.ssh('hv2', 'drbdadm connect hvc-probe')).code).toBe(0);
      await waitFor('the resync running on hv2', async () => (await syncedPercent('hv2')) !== null, { timeoutMs: MIN, intervalMs: 500 });
      const first = (await syncedPercent('hv2'))!;
      const md = join(out, 'report-resync.md');
      const { code, report } = await verify(['--report', md]);
      const last = await syncedPercent('hv2');
      expect(errors(report)).toEqual([]);
      expect(code).toBe(0);
      const target = results(report, 'DRBD_RESYNC', 'hv2')[0]!;
      expect(target).toMatchObject({ status: 'warning', subject: 'hvc-probe' });
      expect(target.found).toMatch(/^hvc-probe: resync from hv1 \d+\.\d% done, [\d,]+ of 8,192 KiB left at [\d,]+ KiB\/s, about \d+:\d\d:\d\d to go$/);
      // The percent verify read lies between the two that /proc/drbd showed before and after it.
      const percent = target.data!.percent as number;
      expect(percent).toBeGreaterThanOrEqual(Math.floor(first * 10) / 10);
      expect(percent).toBeLessThanOrEqual(last ?? 100);
      expect(target.data!.speedKiBps as number).toBeGreaterThan(0);
      expect(results(report, 'DRBD_RESYNC', 'hv1')[0]!.found).toMatch(/^hvc-probe: resync to hv2 \d+\.\d% done/);
      expect(results(report, 'DRBD_DISK', 'hv2')[0]).toMatchObject({ status: 'warning' });
      expect(results(report, 'DRBD_DISK', 'hv2')[0]!.found).toMatch(/resync \d+\.\d% done/);
      expect(readFileSync(md, 'utf8')).toMatch(/hv2: Secondary, disk Inconsistent, \S+:Connected\/SyncTarget, resync \d+\.\d% \([\d,]+ of 8,192 KiB left, [\d,]+ KiB\/s, about \d+:\d\d:\d\d to go\)/);
    } finally {
      // The configured rates back (adjust), the rest of the resync at full speed.
      for (const n of NODES) await lab.ssh(n, 'drbdadm secondary hvc-probe; drbdadm adjust hvc-probe; true');
      await drbdHealthy();
    }
  });

  it('DRBD disconnected on hv1: DRBD_CONNECTED error, exit 1', { timeout: 10 * MIN }, async () => {
    const cut = await lab.ssh('hv1', 'drbdadm disconnect hvc-probe');
    expect(cut.code, cut.stderr).toBe(0);
    try {
      const { code, report } = await verify();
      expect(code).toBe(1);
      const hv1 = results(report, 'DRBD_CONNECTED', 'hv1')[0]!;
      expect(hv1).toMatchObject({ status: 'error', subject: 'hvc-probe' });
      expect(hv1.found).toMatch(/StandAlone/);
      expect(results(report, 'DRBD_CONNECTED', 'hv2')[0]!.status).toBe('error');
      expect(results(report, 'REPL_LINK').every((c) => c.status === 'pass')).toBe(true);
    } finally {
      await lab.ssh('hv1', 'drbdadm connect hvc-probe');
      await drbdHealthy();
    }
  });

  it("a node's clock 5 minutes off: CLOCK_SKEW error, exit 1", { timeout: 10 * MIN }, async () => {
    const shift = await lab.ssh('hv2', 'date -s "+5 min" >/dev/null && date +%s');
    expect(shift.code, shift.stderr).toBe(0);
    try {
      const { code, report } = await verify();
      expect(code).toBe(1);
      const skew = results(report, 'CLOCK_SKEW')[0]!;
      expect(skew).toMatchObject({ status: 'error', servers: ['hv1', 'hv2'] });
      expect(skew.found).toMatch(/^hv1 is (29\d|30\d) s behind hv2/);
    } finally {
      // Back by exactly the shift (setting an absolute time would add the SSH round trip as an error).
      await lab.ssh('hv2', 'date -s "-5 min" >/dev/null');
      await waitFor(
        "hv2's clock back within 5 s of the host's",
        async () => {
          const before = Date.now();
          const r = await lab.ssh('hv2', 'date +%s.%N');
          const after = Date.now();
          // The node's time was read somewhere between before and after.
          return Math.abs(Number(r.stdout.trim()) - (before + after) / 2000) < 5 + (after - before) / 2000;
        },
        { timeoutMs: MIN, intervalMs: 1000 },
      );
    }
  });

  it('the replication MTU lowered on one node: REPL_MTU (and REPL_NIC) error, exit 1', { timeout: 10 * MIN }, async () => {
    const lower = await lab.ssh('hv1', 'ip link set ens4 mtu 1400');
    expect(lower.code, lower.stderr).toBe(0);
    try {
      const { code, report } = await verify();
      expect(code).toBe(1);
      const mtu = results(report, 'REPL_MTU', 'hv1')[0]!;
      expect(mtu).toMatchObject({ status: 'error', subject: 'hv2' });
      expect(mtu.found).toMatch(/1500-byte don't-fragment packet does not reach hv2/);
      expect(results(report, 'REPL_NIC', 'hv1')[0]).toMatchObject({ status: 'error', found: 'ens4 has MTU 1400, the answer file says 1500' });
    } finally {
      await lab.ssh('hv1', 'ip link set ens4 mtu 1500');
      await drbdHealthy();
    }
  });

  it("a node powered off: unreachable, exit 2, the other node's checks still reported", { timeout: 12 * MIN }, async () => {
    // The last test of the file: hv2 stays off. The next file that uses the shared lab restores its
    // just-booted checkpoint, which starts hv2 again (a powered-off node coming back is the failover
    // drill's business: ha.test.ts).
    await poweroffNode(NAME, 'hv2');
    const { code, report, stderr } = await verify();
    expect(code).toBe(2);
    expect(report.exitCode).toBe(2);
    expect(report.summary.unreachable).toEqual(['hv2']);
    expect(results(report, 'SSH_REACHABLE', 'hv2')[0]).toMatchObject({ status: 'error' });
    expect(stderr).toMatch(/hv2/);
    // hv1 was checked all the same.
    expect(results(report, 'SSH_REACHABLE', 'hv1')[0]!.status).toBe('pass');
    expect(results(report, 'DRBD_MODULE', 'hv1')[0]!.status).toBe('pass');
    expect(results(report, 'LVM_VG', 'hv1')[0]!.status).toBe('pass');
    expect(results(report, 'REPL_LINK', 'hv1')[0]).toMatchObject({ status: 'error', subject: 'hv2' });
    expect(results(report, 'DRBD_CONNECTED', 'hv1')[0]!.status).toBe('error');
    expect(results(report, 'DRBD_MODULE', 'hv2')).toEqual([]);
  });
});
