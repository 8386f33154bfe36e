/** Text, JUnit, Markdown and exit codes, from the captured healthy lab and a fault. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../installer/cli.js';
import { palette } from '../../../installer/output.js';
import { migrationChecks } from '../../../installer/verify/checks/migration.js';
import { memoryChecks } from '../../../installer/verify/checks/hypervisor.js';
import { CHECKS } from '../../../installer/verify/codes.js';
import { evaluate } from '../../../installer/verify/evaluate.js';
import { formatJunit, xmlEscape } from '../../../installer/verify/output/junit.js';
import { formatMarkdown } from '../../../installer/verify/output/markdown.js';
import { formatText } from '../../../installer/verify/output/text.js';
import { buildReport } from '../../../installer/verify/report.js';
import type { MigrationReport } from '../../../installer/verify/migration/index.js';
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
    expect(unconfirmed.err()).toContain('--failover-test powers a node off through its BMC: confirm with --yes');
  });

  it('has unique codes in its catalogue', () => {
    expect(new Set(CHECKS.map((c) => c.code)).size).toBe(CHECKS.length);
  });
});

describe('the README', () => {
  it('documents every check code', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Verify'));
    for (const c of CHECKS) expect(section, c.code).toContain(`| \`${c.code}\` |`);
  });
});
