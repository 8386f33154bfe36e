/** Text, JUnit, Markdown and exit codes, from the captured healthy lab and a fault. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../installer/cli.js';
import { palette } from '../../../installer/output.js';
import { failoverChecks } from '../../../installer/verify/checks/failover.js';
import { migrationChecks } from '../../../installer/verify/checks/migration.js';
import { memoryChecks } from '../../../installer/verify/checks/hypervisor.js';
import { CHECKS } from '../../../installer/verify/codes.js';
import { evaluate } from '../../../installer/verify/evaluate.js';
import { formatJunit, xmlEscape } from '../../../installer/verify/output/junit.js';
import { formatMarkdown } from '../../../installer/verify/output/markdown.js';
import { formatText } from '../../../installer/verify/output/text.js';
import { buildReport } from '../../../installer/verify/report.js';
import type { MigrationReport } from '../../../installer/verify/migration/index.js';
import type { FailoverReport } from '../../../installer/verify/failover/drill.js';
import { input, type Edits } from './helpers.js';

const meta = { version: '0.1.0', startedAt: new Date('2026-11-25T11:00:00Z'), durationMs: 4321 };
const reportOf = (edits: Edits = {}) => {
  const i = input(edits);
  return buildReport(i, evaluate(i), meta);
};
const disconnected: Edits = { hv1: [['connection:Connected role:Secondary', 'connection:StandAlone role:Unknown']] };

describe('JUnit XML', () => {
  it('has one testcase per check and server; errors are failures, warnings pass with a property', () => {
    const report = reportOf(disconnected);
    const xml = formatJunit(report);
    expect(xml.match(/<testcase /g)!.length).toBe(report.checks.length);
    const failures = report.checks.filter((c) => c.status === 'error').length;
    expect(failures).toBeGreaterThan(0);
    expect(xml.match(/<failure /g)!.length).toBe(failures);
    expect(xml).toContain(`failures="${failures}"`);
    expect(xml).toContain('name="DRBD_CONNECTED hv1 hvc-probe"');
    expect(xml).toMatch(/<property name="status" value="warning"\/><property name="servers" value="hv1"\/><\/properties>\n\s*<system-out>WARNING: /);
    // Balanced and well-formed enough for a CI parser: every opened testcase closes.
    expect(xml.match(/<testcase /g)!.length).toBe(xml.match(/<\/testcase>/g)!.length);
    expect(xml.trim().endsWith('</testsuites>')).toBe(true);
  });

  it('counts a check that could not be made (server unreachable) as an error, not a failure, and fills in measured times', () => {
    const report = reportOf();
    const base = report.checks[0]!;
    report.checks.push(
      { ...base, code: 'SSH_REACHABLE', status: 'error', server: 'hv2', servers: ['hv2'], found: 'hv2 is unreachable' },
      { ...base, code: 'MIGRATION_TEST', status: 'pass', server: 'hv1', servers: ['hv1', 'hv2'], subject: 'hv2', found: 'moved', data: { totalMs: 15250 } },
    );
    const xml = formatJunit(report);
    expect(xml).toMatch(/<testsuites [^>]*failures="0" errors="1"/);
    expect(xml).toMatch(/name="SSH_REACHABLE hv2" time="0">\n.*\n\s*<error message="hv2 is unreachable" type="SSH_REACHABLE">/);
    expect(xml).toContain('name="MIGRATION_TEST hv1 hv2" time="15.250"');
  });

  it('escapes what XML forbids', () => {
    expect(xmlEscape('a<b & "c" \u0001')).toBe('a&lt;b &amp; &quot;c&quot; ');
  });
});

describe('text and Markdown', () => {
  it('prints one line per result, a fix under each failure, and the verdict', () => {
    const text = formatText(reportOf(disconnected), palette(false));
    expect(text).toMatch(/^FAIL {2}hv1 +DRBD_CONNECTED +hvc-probe: StandAlone to hv2$/m);
    expect(text).toMatch(/^ +fix: check the replication link/m);
    expect(text).toMatch(/errors found: exit 1/);
    expect(formatText(reportOf(), palette(false), { onlyProblems: true })).not.toMatch(/^PASS/m);
  });

  it('writes the hand-over report: layout, resources, versions, every check', () => {
    const report = reportOf();
    const md = formatMarkdown(report);
    expect(md).toContain('# Cluster lab-dev: hand-over report');
    expect(md).toMatch(/\| hv1 \| root@198\.18\.2\.1:22 \| 198\.18\.2\.1\/24 on ens3 \| 198\.19\.2\.1\/24 on ens4 \|/);
    expect(md).toMatch(/\| hvc-probe \| 0 \| hv1 198\.19\.2\.1:7788, hv2 198\.19\.2\.2:7788 \| hv1: Secondary, disk UpToDate/);
    expect(md).toMatch(/\| hv1 \| Debian GNU\/Linux 12 \(bookworm\) \| [^|]+ \| 8\.4\.11 \| 9\.22\.0 \|/);
    expect(md.match(/^\| (pass|\*\*warning\*\*|\*\*ERROR\*\*|skipped) \| `/gm)!.length).toBe(report.checks.length);
    expect(md).not.toContain('## Live migration test');
  });

  it('adds the migration figures when the test ran', () => {
    const migration: MigrationReport = {
      ok: true,
      startedAt: '2026-11-25T11:01:00Z',
      durationMs: 61_000,
      guest: { name: 'hvc-migtest', address: '198.18.2.200/24', memoryMiB: 96, kernel: null },
      rounds: [{ resource: 'hvc-migtest', holders: ['hv1', 'hv2'], home: 'hv1' }],
      migrations: [
        { from: 'hv1', to: 'hv2', resource: 'hvc-migtest', ok: true, qemuDowntimeMs: 412, clientMaxGapMs: 530, clientMaxGapAtMs: 900, clientRequests: 500, clientAnswers: 480, totalMs: 3100, qemuTotalMs: 2900, dataIntact: true, clientGapLimitMs: 3000, drbd: null },
        { from: 'hv2', to: 'hv1', resource: 'hvc-migtest', ok: true, qemuDowntimeMs: 1500, clientMaxGapMs: 1700, clientMaxGapAtMs: 800, clientRequests: 500, clientAnswers: 470, totalMs: 3300, qemuTotalMs: 3000, dataIntact: true, clientGapLimitMs: 3000, drbd: null },
      ],
      dataIntactOnDisk: true,
      memory: [],
      cleanup: { ok: true, removedBefore: [], actions: [{ server: 'hv1', description: 'undefine hvc-migtest' }], leftovers: [] },
    };
    const i = input();
    const checks = [...evaluate(i), ...migrationChecks(migration)];
    expect(migrationChecks(migration).map((c) => c.status)).toEqual(['pass', 'warning', 'pass']);
    const md = formatMarkdown(buildReport(i, checks, meta, { report: migration }));
    expect(md).toContain('## Live migration test');
    expect(md).toContain('| hv1 | hv2 | hvc-migtest | ok | 412 ms | 530 ms | 480/500 | 3100 ms | yes |');
    const failed = migrationChecks({ ...migration, ok: false, cleanup: { ok: false, removedBefore: [], actions: [], leftovers: [{ server: 'hv2', what: 'domain hvc-migtest' }] } });
    expect(failed.at(-1)).toMatchObject({ status: 'error', found: 'the clean-up left things behind: hv2: domain hvc-migtest' });
  });

  // The figures of the CI rehearsal's two-node drill (bench/results-lab.md).
  const drill: FailoverReport = {
    ok: true,
    guest: { name: 'hvc-migtest', address: '198.18.1.200/24' },
    crashed: 'hv1',
    survivor: 'hv2',
    phases: { lost: 28_000, fenced: 31_600, promoted: 42_500, started: 77_300, answered: 92_500 },
    rejoinedMs: 93_800,
    resyncedMs: 111_600,
    guestSeenOn: ['hv2'],
    fencing: [{ target: 'hv1', action: 'off', status: 'success', origin: 'hv2', delegate: 'hv2', completed: '2026-12-06 05:10:01Z', exitReason: null }],
    dataIntact: true,
    rebooted: true,
    splitBrain: false,
    timing: { profile: 'emulated', tokenMs: 10_000, stonithTimeoutS: 120, fenceMonitorS: 120, fenceMonitorTimeoutS: 60, resourceTimeoutScale: 2 },
    fault: 'power-off',
    hold: null,
    restored: [],
    cleanup: { ok: true, leftovers: [] },
    durationMs: 260_000,
  };

  it('adds the failover figures when the drill ran: a FAILOVER_TEST result (JUnit time = until the guest answered) and a section of the hand-over report', () => {
    const i = input();
    const checks = [...evaluate(i), ...failoverChecks(drill)];
    expect(failoverChecks(drill).map((c) => [c.status, c.subject])).toEqual([
      ['pass', 'hv1 -> hv2'],
      ['pass', 'clean-up'],
    ]);
    expect(failoverChecks(drill)[0]!.found).toBe(
      'hvc-migtest: power-off: lost 28.0 s, fenced 31.6 s, promoted 42.5 s, started 77.3 s, answering 92.5 s; back 93.8 s, resynced 111.6 s (from the fault); fencing off by hv2; data intact; timing emulated',
    );
    const report = { ...buildReport(i, checks, meta), failover: { report: drill } };
    expect(report.exitCode).toBe(0);
    expect(formatJunit(report)).toContain('<testcase classname="hvcluster.verify.FAILOVER_TEST" name="FAILOVER_TEST cluster hv1 -&gt; hv2" time="92.500">');
    const md = formatMarkdown(report);
    expect(md).toContain('## Failover drill');
    expect(md).toContain("| guest's disk Promoted on the survivor | 42.5 s |");
    expect(md).toContain('| guest answers a client again | 92.5 s |');
    expect(md).toContain("| guest's disk resynced, no split brain | 111.6 s |");
  });

  it('fails the drill when the guest ran on two nodes, its data changed or a phase was never reached, each said', () => {
    const twice = failoverChecks({ ...drill, guestSeenOn: ['hv2', 'hv1'] })[0]!;
    expect(twice).toMatchObject({ status: 'error', servers: ['hv1', 'hv2'] });
    expect(twice.found).toContain('the guest was seen running on hv1 too (two copies)');
    expect(failoverChecks({ ...drill, dataIntact: false })[0]!.found).toContain("the guest's data read back differs");
    const stuck = failoverChecks({ ...drill, ok: false, phases: { lost: 28_000 }, rejoinedMs: null, resyncedMs: null, error: { phase: 'fenced', message: 'hv1 not fenced after 600 s' } });
    expect(stuck[0]!.found).toMatch(/^hvc-migtest: stopped in phase fenced: hv1 not fenced after 600 s \[power-off: lost 28\.0 s \(from the fault\)/);
    // A dead BMC: the guest started before the hold ended is a failure, said as such.
    const early = failoverChecks({ ...drill, fault: 'dead-fence', hold: { failedFencings: 2, runningElsewhere: [], releasedMs: 90_000, releasedBy: 'bmc-answers', confirmCommand: null } });
    expect(early[0]).toMatchObject({ status: 'error' });
    expect(early[0]!.found).toContain('the guest started on the survivor before fencing could complete');
    expect(early[0]!.found).toContain('fencing failed 2 time(s) with the BMC dead; the guest ran nowhere else until its BMC answered again after 90.0 s');
    const confirmed = failoverChecks({ ...drill, fault: 'power-loss', phases: { ...drill.phases, started: 95_000, answered: 110_000 }, hold: { failedFencings: 1, runningElsewhere: [], releasedMs: 90_000, releasedBy: 'confirmed', confirmCommand: 'stonith_admin --confirm hv1' } });
    expect(confirmed[0]).toMatchObject({ status: 'pass' });
    expect(confirmed[0]!.found).toContain('until hv1 was confirmed off (`stonith_admin --confirm hv1`) after 90.0 s');
    // With a watchdog level: released by fencing falling through to it.
    const watchdog = failoverChecks({ ...drill, fault: 'power-loss', phases: { ...drill.phases, started: 95_000, answered: 110_000 }, hold: { failedFencings: 0, runningElsewhere: [], releasedMs: 90_000, releasedBy: 'watchdog', confirmCommand: null } });
    expect(watchdog[0]).toMatchObject({ status: 'pass' });
    expect(watchdog[0]!.found).toContain('its BMC dead, fencing fell through to the watchdog level; the guest ran nowhere else until the watchdog level fenced it (its watchdog must have reset it by then) after 90.0 s');
    const left = failoverChecks({ ...drill, ok: false, cleanup: { ok: false, leftovers: [{ server: 'hv1', what: 'unreachable: not cleaned up' }] } });
    expect(left[1]).toMatchObject({ status: 'error', subject: 'clean-up', found: 'the clean-up left things behind: hv1: unreachable: not cleaned up' });
    const i = input();
    expect(buildReport(i, [...evaluate(i), ...failoverChecks({ ...drill, guestSeenOn: ['hv2', 'hv1'] })], meta).exitCode).toBe(1);
  });
});

describe('N+1 memory', () => {
  it('moves each guest to the other holder of its DRBD resource and compares with MemAvailable', () => {
    const dom = (name: string, kib: number) => `@@dom ${name}\nState:          running\nUsed memory:    ${kib} KiB\n@@blk\n Type   Device   Target   Source\n block  disk     vda      /dev/drbd0\n@@job\nJob type:         None\n`;
    const withGuests = (text: string): Edits['hv1'] => [[/@@hvc-cmd doms@@\n\n@@hvc-rc doms 0@@/, `@@hvc-cmd doms@@\n${text}\n@@hvc-rc doms 0@@`]];
    const small = memoryChecks(input({ hv1: withGuests(dom('web', 64 * 1024)) }));
    expect(small.find((r) => r.server === 'hv1')).toMatchObject({ status: 'pass', servers: ['hv1', 'hv2'] });
    expect(small.find((r) => r.server === 'hv1')!.found).toMatch(/^if hv1 fails: web \(0\.1 GiB\) -> hv2; hv2 needs 0\.1 GiB of/);
    const big = memoryChecks(input({ hv1: withGuests(dom('db', 64 * 1024 * 1024)) }));
    expect(big.find((r) => r.server === 'hv1')).toMatchObject({ status: 'error' });
  });
});

describe('the verify command', () => {
  function capture() {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c) => (out += c));
    stderr.on('data', (c) => (err += c));
    return { streams: { stdout, stderr, env: {} }, out: () => out, err: () => err };
  }

  it('could not run without an answer file, with a bad one, or with an unknown --ignore code: exit 2', async () => {
    const none = capture();
    expect(await main(['verify'], none.streams)).toBe(2);
    expect(none.err()).toContain('verify needs the answer file');
    const missing = capture();
    expect(await main(['verify', '-f', '/nonexistent/site.yaml', '--json'], missing.streams)).toBe(2);
    expect(JSON.parse(missing.out())).toMatchObject({ exitCode: 2, error: { kind: 'config' } });
    const broken = capture();
    expect(await main(['verify', '-f', new URL('../../fixtures/answers/broken/empty.yaml', import.meta.url).pathname], broken.streams)).toBe(2);
    const code = capture();
    expect(await main(['verify', '-f', 'site.yaml', '--ignore', 'NO_SUCH_CODE'], code.streams)).toBe(2);
    expect(code.err()).toContain('--ignore NO_SUCH_CODE: no such check code');
  });

  it('refuses --failover-test on an answer file without HA, and without --yes (it powers a node off): exit 2 before connecting', async () => {
    const fixture = (name: string) => new URL(`../../fixtures/answers/valid/${name}`, import.meta.url).pathname;
    const noHa = capture();
    expect(await main(['verify', '-f', fixture('two-nodes.yaml'), '--failover-test', '--yes'], noHa.streams)).toBe(2);
    expect(noHa.err()).toContain('--failover-test: the answer file does not enable HA (spec.ha.enabled)');
    const unconfirmed = capture();
    expect(await main(['verify', '-f', fixture('two-nodes-ha.yaml'), '--failover-test'], unconfirmed.streams)).toBe(2);
    expect(unconfirmed.err()).toContain('--failover-test power-off fails a node of the cluster: confirm with --yes');
    expect(unconfirmed.err()).toContain('powers the node off through its BMC');
    const partition = capture();
    expect(await main(['verify', '-f', fixture('two-nodes-ha.yaml'), '--failover-test', 'partition'], partition.streams)).toBe(2);
    expect(partition.err()).toContain('--failover-test partition fails a node of the cluster: confirm with --yes');
    expect(partition.err()).toContain('cuts the node off every network');
    const hang = capture();
    expect(await main(['verify', '-f', fixture('two-nodes-ha.yaml'), '--failover-test', 'hang'], hang.streams)).toBe(2);
    expect(hang.err()).toContain('--failover-test hang fails a node of the cluster: confirm with --yes');
    expect(hang.err()).toContain("freezes the node's userspace");
    const unknown = capture();
    expect(await main(['verify', '-f', fixture('two-nodes-ha.yaml'), '--failover-test', 'meteor', '--yes'], unknown.streams)).toBe(2);
    expect(unknown.err()).toContain('--failover-test meteor: no such fault');
    expect(unknown.err()).toMatch(/faults: power-off .*; partition .*; dead-fence .*; power-loss .*; hang \(freezes /);
  });

  it('has unique codes in its catalogue', () => {
    expect(new Set(CHECKS.map((c) => c.code)).size).toBe(CHECKS.length);
  });
});

describe('the README', () => {
  it('documents every check code, its row as the catalogue (codes.ts) has it', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Verify'));
    for (const c of CHECKS) expect(section, c.code).toContain(`| \`${c.code}\` | ${c.title} | ${c.severity} | ${c.scope} | ${c.rule} |`);
  });
});
