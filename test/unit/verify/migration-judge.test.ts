/**
 * The migration test's judgement, over parsed state: a move that lost the DRBD connection, split or
 * changed the current UUID, or left the client without answers for seconds, is a failure; a target
 * short of memory is refused with its figures; a killed run's leftovers are named as such by verify
 * and do not keep the next migration test from removing them.
 */
import { describe, expect, it } from 'vitest';
import {
  isMigrationLeftover,
  labelMigrationLeftovers,
  migrationChecks,
  migrationLeftoverChecks,
  resolveMigrationLeftovers,
} from '../../../installer/verify/checks/migration.js';
import { evaluate } from '../../../installer/verify/evaluate.js';
import {
  CLIENT_GAP_LIMIT_MS,
  MEMORY_MARGIN_MIB,
  drbdSnapshotArgs,
  drbdSnapshotCommand,
  judgeGap,
  judgeMemory,
  judgeWindow,
  memoryRefusal,
  parseCurrentUuid,
  parseDrbdSnapshot,
  parseMemAvailableMiB,
  type DrbdSnapshot,
} from '../../../installer/verify/migration/judge.js';
import type { MigrationReport, MigrationResult } from '../../../installer/verify/migration/index.js';
import { migrationTestBlockers } from '../../../installer/verify/verify-cluster.js';
import { input } from './helpers.js';

// What the snapshot script prints on an 8.4 node (drbd-utils 9.22: get-gi, events2 --now).
const snapshotText = (o: { gi?: string; conn?: string; role?: string; kernel?: string[]; cursor?: string } = {}) =>
  [
    '@@hvc-cursor',
    o.cursor ?? 's=6e1c0d6f4c6e4a0c9d1f;i=5a1;b=3b9f;m=1c9a;t=61f0;x=9e2',
    '@@hvc-gi',
    o.gi ?? 'A1C4E2F0B3D59E47:0000000000000000:5D2E1F7A9C3B8E10:0000000000000004:1:1:1:1:0:0:0:0:0:0',
    '@@hvc-events',
    `exists resource name:hvc-migtest role:${o.role ?? 'Primary'} suspended:no`,
    `exists connection name:hvc-migtest peer-node-id:0 conn-name:peer connection:${o.conn ?? 'Connected'} role:Secondary`,
    'exists device name:hvc-migtest volume:0 minor:1 disk:UpToDate',
    'exists peer-device name:hvc-migtest peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no',
    'exists -',
    '@@hvc-kernel',
    ...(o.kernel ?? []),
    '@@hvc-end',
    '',
  ].join('\n');

const snap = (server: string, o: Parameters<typeof snapshotText>[0] = {}, kernelRead = true): DrbdSnapshot => parseDrbdSnapshot(server, 'hvc-migtest', snapshotText(o), kernelRead);

describe('the DRBD state of the test resource around a migration', () => {
  it('reads the current UUID (bit 0, the primary flag, cleared), the connections, the cursor and the kernel lines', () => {
    const s = snap('hv2', { gi: 'A1C4E2F0B3D59E47:0:0:0:1:1', kernel: ['2026-12-05T15:01:02+0000 hv2 kernel: drbd hvc-migtest: peer( Secondary -> Primary )'] });
    expect(s).toEqual({
      server: 'hv2',
      currentUuid: 'A1C4E2F0B3D59E46',
      role: 'Primary',
      connections: [{ peer: 'peer', state: 'Connected' }],
      cursor: 's=6e1c0d6f4c6e4a0c9d1f;i=5a1;b=3b9f;m=1c9a;t=61f0;x=9e2',
      kernelLines: ['2026-12-05T15:01:02+0000 hv2 kernel: drbd hvc-migtest: peer( Secondary -> Primary )'],
    });
    expect(parseCurrentUuid('A1C4E2F0B3D59E46:0:0:0')).toBe(parseCurrentUuid('a1c4e2f0b3d59e47:0:0:0'));
    expect(parseCurrentUuid("'hvc-migtest' not defined in your config (for this host).")).toBeNull();
    // Before the window no kernel lines are read (there is no cursor to read them from yet).
    expect(snap('hv1', {}, false).kernelLines).toBeNull();
  });

  it('greps the kernel log by resource name and by its device (8.4 logs a split brain as "block drbdN:")', () => {
    expect(drbdSnapshotArgs('hvc-migtest', 1, 's=abc;i=1')).toEqual(['hvc-migtest', 'drbd hvc-migtest[ /:]|drbd1:', 's=abc;i=1']);
    expect(drbdSnapshotCommand('hvc-migtest', 1, 's=abc;i=1')).toBe("sh -s -- hvc-migtest 'drbd hvc-migtest[ /:]|drbd1:' 's=abc;i=1'");
    // Before the window there is no cursor: no kernel lines are read.
    expect(drbdSnapshotArgs('hvc-migtest', null, null)).toEqual(['hvc-migtest', 'drbd hvc-migtest[ /:]']);
  });

  const holders = ['hv1', 'hv2'];
  const clean = { before: [snap('hv1', {}, false), snap('hv2', { role: 'Secondary' }, false)], after: [snap('hv1', { role: 'Secondary' }), snap('hv2', { kernel: ['kernel: drbd hvc-migtest: peer( Primary -> Secondary )'] })] };

  it('passes a window where both holders stayed connected with the same current UUID', () => {
    expect(judgeWindow('hvc-migtest', holders, clean.before, clean.after)).toEqual({ problems: [], kernelLines: [] });
  });

  it('fails the incident: PingAck lost and an unresolved split brain, although the guest arrived', () => {
    const after = [
      snap('hv1', {
        conn: 'StandAlone',
        gi: 'F00DF00DF00DF00D:A1C4E2F0B3D59E46:0:0:1:1',
        kernel: [
          '2026-12-05T15:01:40+0000 hv1 kernel: drbd hvc-migtest: PingAck did not arrive in time.',
          '2026-12-05T15:01:40+0000 hv1 kernel: drbd hvc-migtest: conn( Connected -> NetworkFailure ) pdsk( UpToDate -> DUnknown )',
          '2026-12-05T15:01:52+0000 hv1 kernel: block drbd1: Split-Brain detected but unresolved, dropping connection!',
        ],
      }),
      snap('hv2', { conn: 'StandAlone' }),
    ];
    const { problems, kernelLines } = judgeWindow('hvc-migtest', holders, clean.before, after);
    expect(problems).toEqual([
      'hv1: hvc-migtest changed its current UUID during the migration (A1C4E2F0B3D59E46 -> F00DF00DF00DF00C): it wrote without its peer',
      'hv1: hvc-migtest is not connected after the migration (StandAlone)',
      'hv1: hvc-migtest split (split brain) during the migration: "2026-12-05T15:01:52+0000 hv1 kernel: block drbd1: Split-Brain detected but unresolved, dropping connection!"',
      'hv2: hvc-migtest is not connected after the migration (StandAlone)',
      'the holders of hvc-migtest disagree on its current UUID after the migration (hv1 F00DF00DF00DF00C, hv2 A1C4E2F0B3D59E46): its data diverged',
    ]);
    expect(kernelLines).toHaveLength(3);
  });

  it('fails a connection lost and re-established within the window (connected again at the end)', () => {
    const after = [snap('hv1'), snap('hv2', { kernel: ['kernel: drbd hvc-migtest: PingAck did not arrive in time.', 'kernel: drbd hvc-migtest: conn( WFReportParams -> Connected )'] })];
    expect(judgeWindow('hvc-migtest', holders, clean.before, after).problems).toEqual(['hv2: hvc-migtest lost its connection during the migration: "kernel: drbd hvc-migtest: PingAck did not arrive in time."']);
  });

  it('fails a current UUID changed on one side only, and a read that is missing', () => {
    const after = [snap('hv1'), snap('hv2', { gi: 'B1C4E2F0B3D59E46:A1C4E2F0B3D59E46:0:0' })];
    expect(judgeWindow('hvc-migtest', holders, clean.before, after).problems[0]).toMatch(/^hv2: hvc-migtest changed its current UUID/);
    expect(judgeWindow('hvc-migtest', holders, clean.before, [snap('hv1')]).problems).toEqual(['hv2: the current UUID of hvc-migtest could not be read after the migration (drbdadm get-gi)', 'hv2: the state of hvc-migtest could not be read after the migration']);
  });
});

describe('the client gap', () => {
  it('is bounded at 3 s: the incident (38 s, 648 of 754 answered) fails, the lab figures pass', () => {
    expect(CLIENT_GAP_LIMIT_MS).toBe(3000);
    expect(judgeGap(38_012, CLIENT_GAP_LIMIT_MS, { requests: 754, answers: 648, atMs: 14_200 })).toBe(
      'the client went 38.0 s without an answer from the test guest, above the bound of 3.0 s (648 of 754 probes answered; the gap began 14.2 s after the migration started)',
    );
    for (const gap of [442, 672, 936, 1293, 3000]) expect(judgeGap(gap)).toBeNull();
    expect(judgeGap(3001)).not.toBeNull();
    expect(judgeGap(null)).toBeNull();
  });
});

describe('memory before the test', () => {
  it('needs MemAvailable for the guest plus the margin on every target, and names the figures', () => {
    expect(parseMemAvailableMiB('MemTotal:        1485212 kB\nMemAvailable:     204800 kB\n')).toBe(200);
    expect(parseMemAvailableMiB('')).toBeNull();
    const figures = judgeMemory(
      [
        { server: 'hv1', availableMiB: 1020 },
        { server: 'hv2', availableMiB: 352 },
        { server: 'hv3', availableMiB: 200 },
      ],
      96,
    );
    expect(MEMORY_MARGIN_MIB).toBe(256);
    expect(figures.map((f) => [f.server, f.requiredMiB, f.ok])).toEqual([
      ['hv1', 352, true],
      ['hv2', 352, true],
      ['hv3', 352, false],
    ]);
    expect(memoryRefusal(figures, 96)).toBe('not enough memory for the test guest: hv3 has 200 MiB available (MemAvailable); each node the guest runs on needs 352 MiB (guest 96 MiB + margin 256 MiB)');
    expect(memoryRefusal(judgeMemory([{ server: 'hv1', availableMiB: null }], 96), 96)).toMatch(/hv1: MemAvailable could not be read/);
    expect(memoryRefusal(figures.slice(0, 2), 96)).toBeNull();
  });
});

const move = (o: Partial<MigrationResult> = {}): MigrationResult => ({
  from: 'hv1',
  to: 'hv2',
  resource: 'hvc-migtest',
  ok: true,
  qemuDowntimeMs: 300,
  clientMaxGapMs: 600,
  clientMaxGapAtMs: 12_000,
  clientRequests: 700,
  clientAnswers: 690,
  totalMs: 14_000,
  qemuTotalMs: 13_000,
  dataIntact: true,
  clientGapLimitMs: 3000,
  drbd: { before: [], after: [], problems: [], kernelLines: [] },
  ...o,
});
const report = (o: Partial<MigrationReport> = {}): MigrationReport => ({
  ok: true,
  startedAt: '2026-12-05T15:00:00Z',
  durationMs: 60_000,
  guest: { name: 'hvc-migtest', address: '198.18.2.200/24', memoryMiB: 96, kernel: null },
  rounds: [{ resource: 'hvc-migtest', holders: ['hv1', 'hv2'], home: 'hv1' }],
  migrations: [move(), move({ from: 'hv2', to: 'hv1' })],
  dataIntactOnDisk: true,
  memory: [
    { server: 'hv1', availableMiB: 1020, requiredMiB: 352, ok: true },
    { server: 'hv2', availableMiB: 990, requiredMiB: 352, ok: true },
  ],
  cleanup: { ok: true, removedBefore: [], actions: [], leftovers: [] },
  ...o,
});

describe('MIGRATION_TEST and MIGRATION_MEMORY results', () => {
  it('state the bound with the figures, and the memory per node', () => {
    const checks = migrationChecks(report());
    expect(checks.map((c) => `${c.code} ${c.server} ${c.status}`)).toEqual(['MIGRATION_MEMORY hv1 pass', 'MIGRATION_MEMORY hv2 pass', 'MIGRATION_TEST hv1 pass', 'MIGRATION_TEST hv2 pass', 'MIGRATION_TEST cluster pass']);
    expect(checks[2]!.found).toBe('hvc-migtest: hv1 -> hv2: QEMU downtime 300 ms, longest client gap 600 ms (bound 3000 ms; 690/700 answered), migration 14000 ms, data intact');
    expect(checks[0]!.found).toBe('1020 MiB available (MemAvailable); the test guest needs 352 MiB (its 96 MiB + 256 MiB margin)');
  });

  it('a move that lost the connection is an error with the kernel log to read, never a pass', () => {
    const failed = move({ ok: false, error: 'the migration hv1 -> hv2 moved the guest but failed: hv1: hvc-migtest lost its connection during the migration: "PingAck did not arrive in time."', drbd: { before: [], after: [], problems: ['hv1: hvc-migtest lost its connection'], kernelLines: [] } });
    const checks = migrationChecks(report({ ok: false, migrations: [failed], error: { phase: 'migrated', message: failed.error! } }));
    const bad = checks.find((c) => c.code === 'MIGRATION_TEST' && c.server === 'hv1')!;
    expect(bad.status).toBe('error');
    expect(bad.found).toContain('lost its connection');
    expect(bad.found).toContain('longest client gap 600 ms (bound 3000 ms');
    expect(bad.fix).toContain('journalctl -k | grep drbd');
  });

  it('a refusal for memory: MIGRATION_MEMORY errors with the figures, no generic failure line', () => {
    const refused = report({
      ok: false,
      migrations: [],
      memory: [
        { server: 'hv1', availableMiB: 1020, requiredMiB: 352, ok: true },
        { server: 'hv2', availableMiB: 200, requiredMiB: 352, ok: false },
      ],
      error: { phase: 'memory-checked', code: 'MIGRATION_MEMORY', message: 'not enough memory for the test guest: hv2 has 200 MiB available (MemAvailable); ...' },
    });
    const checks = migrationChecks(refused);
    expect(checks.map((c) => `${c.code} ${c.server} ${c.status}`)).toEqual(['MIGRATION_MEMORY hv1 pass', 'MIGRATION_MEMORY hv2 error', 'MIGRATION_TEST cluster pass']);
    expect(checks[1]!.found).toBe('200 MiB available (MemAvailable); the test guest needs 352 MiB (its 96 MiB + 256 MiB margin): the migration test refused to start');
  });
});

// A killed run's state on the captured two-node lab: the test resource Primary on both nodes with two
// primaries allowed, its .res file, its volume and the guest's files; the guest finished on hv2.
const TEST_RES = `@@file /etc/drbd.d/hvc-migtest.res
resource hvc-migtest {
	net {
		allow-two-primaries yes;
	}
	device /dev/drbd1 minor 1;
	disk /dev/hvdata/hvc-migtest;
	meta-disk internal;
	on hv1 {
		address 198.19.2.1:7789;
	}
	on hv2 {
		address 198.19.2.2:7789;
	}
}

@@hvc-rc conf 0@@`;
const EVENTS = `exists resource name:hvc-migtest role:Primary suspended:no write-ordering:flush
exists connection name:hvc-migtest peer-node-id:0 conn-name:peer connection:Connected role:Primary congested:no
exists device name:hvc-migtest volume:0 minor:1 disk:UpToDate size:32768 read:0 written:0 al-writes:8 bm-writes:0 upper-pending:0 lower-pending:0 al-suspended:no blocked:no
exists peer-device name:hvc-migtest peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0
exists -`;
const migtest = (domain: string) =>
  `@@hvc-fact v-migtest@@\n@@hvc-cmd migtest@@\ndomain=${domain}\nup=yes\nrole=Primary/Primary\ntwoprimaries=yes\nresfile=yes\nlv=yes\nfile=/var/lib/libvirt/boot/hvc-migtest.vmlinuz\nfile=/var/lib/libvirt/boot/hvc-migtest.initrd.img\n\n@@hvc-rc migtest 0@@\n@@hvc-end v-migtest 0@@\n@@hvc-done@@`;
const killed = (node: 'hv1' | 'hv2'): [string | RegExp, string][] => [
  [/\nexists -\n\n@@hvc-rc events2 0@@\n@@hvc-cmd proc@@/, `\n${EVENTS}\n\n@@hvc-rc events2 0@@\n@@hvc-cmd proc@@`],
  [/\n\n@@hvc-rc conf 0@@/, `\n\n${TEST_RES}`],
  ['@@hvc-done@@', migtest(node === 'hv2' ? 'running' : '')],
];
const killedInput = () => ({ ...input({ hv1: killed('hv1'), hv2: killed('hv2') }), file: '/srv/site.yaml' });

describe("a killed run's leftovers in verify", () => {
  it('MIGRATION_LEFTOVERS names them on each node with the one command that removes them', () => {
    const checks = migrationLeftoverChecks(killedInput());
    expect(checks.map((c) => `${c.server} ${c.status}`)).toEqual(['hv1 error', 'hv2 error']);
    expect(checks[1]!.found).toBe(
      'leftovers of a migration test that did not finish (killed or interrupted): test domain hvc-migtest (running), DRBD resource hvc-migtest up (Primary/Primary), hvc-migtest is Primary, hvc-migtest allows two primaries, /etc/drbd.d/hvc-migtest.res, logical volume hvc-migtest, /var/lib/libvirt/boot/hvc-migtest.vmlinuz, /var/lib/libvirt/boot/hvc-migtest.initrd.img',
    );
    expect(checks[1]!.fix).toBe('run `hvcluster verify -f /srv/site.yaml --migration-test`: it removes the test\'s leftovers on every node before it tests again (nothing else on the cluster uses hvc-migtest)');
    expect(migrationLeftoverChecks(input())).toEqual([]); // a capture without the read (older verify): nothing claimed
  });

  it("the DRBD checks' findings about the test resource say they are the test's leftovers; only they, and they do not block the test", () => {
    const i = killedInput();
    const checks = evaluate(i);
    const errors = checks.filter((c) => c.status === 'error');
    expect(errors.map((c) => `${c.code} ${c.server}`)).toEqual(expect.arrayContaining(['DRBD_CONFIG hv1', 'DRBD_ROLES hv1', 'DRBD_ROLES hv2', 'MIGRATION_LEFTOVERS hv1', 'MIGRATION_LEFTOVERS hv2']));
    for (const c of errors.filter((e) => e.code.startsWith('DRBD_'))) {
      expect(c.subject).toBe('hvc-migtest');
      expect(c.found).toContain("(hvc-migtest is the migration test's resource, left by a run that did not finish)");
      expect(c.fix).toBe("these are the migration test's leftovers: `hvcluster verify -f /srv/site.yaml --migration-test` removes them before it tests again");
    }
    expect(errors.every(isMigrationLeftover)).toBe(true);
    expect(migrationTestBlockers(checks, i)).toBeNull();
    // Another error still blocks it.
    const broken = { ...input({ hv1: [...killed('hv1'), [/allow-two-primaries no;/, 'allow-two-primaries yes;']], hv2: killed('hv2') }), file: '/srv/site.yaml' };
    expect(migrationTestBlockers(evaluate(broken), broken)).toBe('the health checks found 2 error(s); fix them first') // DRBD_CONFIG of hvc-probe on hv1 and hv2;
    // Labelling leaves the probe resource's own findings alone.
    expect(labelMigrationLeftovers(evaluate(broken), 'x.yaml').find((c) => c.subject === 'hvc-probe' && c.status === 'error')?.fix).not.toContain('leftovers');
  });

  it('after the test removed them: MIGRATION_LEFTOVERS says what it removed, the stale DRBD findings go', () => {
    const checks = evaluate(killedInput());
    const removedBefore = [
      { server: 'hv1', description: 'demote hvc-migtest to Secondary' },
      { server: 'hv2', description: 'stop the test guest hvc-migtest' },
    ];
    const resolved = resolveMigrationLeftovers(checks, report({ cleanup: { ok: true, removedBefore, actions: removedBefore, leftovers: [] } }));
    expect(resolved.filter((c) => c.status === 'error')).toEqual([]);
    expect(resolved.filter((c) => c.subject === 'hvc-migtest' && c.code.startsWith('DRBD_'))).toEqual([]);
    expect(resolved.find((c) => c.code === 'MIGRATION_LEFTOVERS' && c.server === 'hv1')).toMatchObject({ status: 'pass', found: expect.stringMatching(/^removed by the migration test before it ran: .*hvc-migtest is Primary.* \(demote hvc-migtest to Secondary\)$/) });
    // A test that could not remove them changes nothing.
    expect(resolveMigrationLeftovers(checks, report({ ok: false, error: { phase: 'cleanup-before', message: 'x' } }))).toEqual(checks);
  });
});
