/** The checks on captured lab output: healthy, then one fault at a time, each caught by the right code. */
import { describe, expect, it } from 'vitest';
import { evaluate, exitCodeFor, summarize } from '../../../installer/verify/evaluate.js';
import type { CheckResult, VerifyInput } from '../../../installer/verify/types.js';
import { input } from './helpers.js';
import { failoverTestBlockers, migrationTestBlockers, testsExitCode } from '../../../installer/verify/verify-cluster.js';

const problems = (results: CheckResult[]) => results.filter((r) => r.status === 'error' || r.status === 'warning');
const find = (results: CheckResult[], code: string, server?: string) => results.filter((r) => r.code === code && (server === undefined || r.server === server));
const run = (i: VerifyInput) => {
  const results = evaluate(i);
  return { results, summary: summarize(results, i), exit: exitCodeFor(summarize(results, i)) };
};
// The lab has no NTP server and nested, busy VMs: these two warn there and nowhere else.
const LAB_WARNINGS = new Set(['TIME_SYNC', 'REPL_LATENCY']);

describe('verify on a healthy two-node lab (captured)', () => {
  const { results, exit } = run(input());

  it('passes every check (warnings only for the lab\'s unsynchronized clocks and slow link), exit 0', () => {
    expect(problems(results).filter((r) => !LAB_WARNINGS.has(r.code))).toEqual([]);
    expect(results.filter((r) => r.status === 'error')).toEqual([]);
    expect(exit).toBe(0);
  });

  it('reports one result per check and server, with codes from the catalogue', () => {
    const codes = new Set(results.map((r) => r.code));
    for (const code of ['SSH_REACHABLE', 'SSH_HOST_KEY', 'HOSTNAME', 'HOSTS_RESOLVE', 'HOSTS_CONSISTENT', 'CLOCK_SKEW', 'TIME_SYNC', 'REPL_NIC', 'REPL_LINK', 'REPL_MTU', 'REPL_LATENCY', 'DRBD_MODULE', 'DRBD_VERSION', 'DRBD_UTILS', 'DRBD_CONFIG', 'DRBD_CONNECTED', 'DRBD_ROLES', 'DRBD_DISK', 'DRBD_OUT_OF_SYNC', 'DRBD_SPLIT_BRAIN', 'LVM_VG', 'DRBD_HOLDERS', 'LIBVIRTD', 'KVM_DEVICE', 'CPU_COMPAT', 'MIGRATION_CONNECT', 'MEMORY_HEADROOM']) {
      expect(codes, code).toContain(code);
    }
    expect(find(results, 'REPL_MTU').map((r) => `${r.server}->${r.subject}`)).toEqual(['hv1->hv2', 'hv2->hv1']);
    expect(find(results, 'DRBD_CONNECTED').map((r) => `${r.server}:${r.subject}`)).toEqual(['hv1:hvc-probe', 'hv2:hvc-probe']);
    expect(find(results, 'DRBD_ROLES', 'hv1')[0]!.found).toBe('hvc-probe: Secondary here, hv2 Secondary');
    expect(find(results, 'LVM_VG', 'hv1')[0]!.data).toMatchObject({ sizeBytes: expect.any(Number), freeBytes: expect.any(Number) });
    expect(find(results, 'MIGRATION_CONNECT', 'hv1')[0]!.found).toContain('answers hv2');
  });
});

describe('faults, each caught by its check', () => {
  it('DRBD disconnected on hv1 (StandAlone) and waiting on hv2 (Connecting): DRBD_CONNECTED on both, exit 1', () => {
    const { results, exit } = run(
      input({
        hv1: [
          ['connection:Connected role:Secondary', 'connection:StandAlone role:Unknown'],
          [/^exists peer-device .*out-of-sync:.*$/m, 'exists peer-device name:hvc-probe peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0'],
        ],
        hv2: [
          ['connection:Connected role:Secondary', 'connection:Connecting role:Unknown'],
          [/^exists peer-device .*out-of-sync:.*$/m, 'exists peer-device name:hvc-probe peer-node-id:0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown resync-suspended:no received:0 sent:0 out-of-sync:0 pending:0 unacked:0'],
        ],
      }),
    );
    expect(exit).toBe(1);
    const connected = find(results, 'DRBD_CONNECTED');
    expect(connected.map((r) => [r.server, r.status])).toEqual([['hv1', 'error'], ['hv2', 'error']]);
    expect(connected[0]!.found).toBe('hvc-probe: StandAlone to hv2');
    expect(connected[0]!.fix).toContain('drbdadm connect hvc-probe');
    expect(find(results, 'DRBD_DISK', 'hv1')[0]!.status).toBe('error');
    expect(find(results, 'DRBD_SPLIT_BRAIN', 'hv1')[0]!.status).toBe('pass');
  });

  it('connection:Connected with replication Off (8.4 WFReportParams) is not healthy', () => {
    const { results } = run(input({ hv1: [['replication:Established', 'replication:Off']] }));
    expect(find(results, 'DRBD_CONNECTED', 'hv1')[0]).toMatchObject({ status: 'error', found: 'hvc-probe: connected to hv2 but replication Off' });
  });

  it('a resync in progress is a warning, not an error', () => {
    const { results, exit } = run(
      input({
        hv1: [
          ['replication:Established peer-disk:UpToDate', 'replication:SyncSource peer-disk:Inconsistent'],
          ['out-of-sync:0', 'out-of-sync:4096'],
        ],
      }),
    );
    expect(find(results, 'DRBD_DISK', 'hv1')[0]).toMatchObject({ status: 'warning' });
    // events2 alone (no progress in /proc/drbd): what is left, without a percent.
    expect(find(results, 'DRBD_RESYNC', 'hv1')[0]).toMatchObject({ status: 'warning', found: 'hvc-probe: resync to hv2 4,096 KiB left' });
    expect(find(results, 'DRBD_OUT_OF_SYNC', 'hv1')[0]).toMatchObject({ status: 'warning', found: 'hvc-probe: 4096 KiB out of sync, being resynced' });
    expect(find(results, 'DRBD_CONNECTED', 'hv1')[0]!.status).toBe('pass');
    expect(exit).toBe(0);
    // The migration test may run meanwhile; the failover drill may not (a node lost mid-resync can
    // leave its peer without an UpToDate disk), and says why.
    const i = input({ hv1: [['replication:Established peer-disk:UpToDate', 'replication:SyncSource peer-disk:Inconsistent'], ['out-of-sync:0', 'out-of-sync:4096']] });
    expect(migrationTestBlockers(results, i)).toBeNull();
    expect(failoverTestBlockers(results, i)).toBe(
      'a DRBD resync is in progress (hv1: hvc-probe: resync to hv2 4,096 KiB left); wait until every disk is UpToDate: a node lost mid-resync can leave its peer without an UpToDate disk',
    );
    expect(failoverTestBlockers(evaluate(input()), input())).toBeNull();
    // A drill refused for it fails verify (exit 1) although every check passes: it proved nothing.
    const summary = { passed: 10, warnings: 1, errors: 0, skipped: 0 } as never;
    expect(testsExitCode({ exitCode: 0, summary, failover: { skipped: 'a DRBD resync is in progress' } })).toBe(1);
    expect(testsExitCode({ exitCode: 0, summary, linkDrill: { skipped: 'a DRBD resync is in progress' } })).toBe(1);
    expect(testsExitCode({ exitCode: 0, summary, failover: { report: { ok: true } as never } })).toBe(0);
    expect(testsExitCode({ exitCode: 0, summary, failover: { report: { ok: false } as never } })).toBe(1);
    expect(testsExitCode({ exitCode: 2, summary, failover: { skipped: 'the health checks found unreachable servers (hv2); fix them first' } })).toBe(2);
    expect(testsExitCode({ exitCode: 0, summary })).toBe(0);
  });

  it('two Primaries outside a migration: DRBD_ROLES error', () => {
    const { results, exit } = run(
      input({
        hv1: [['exists resource name:hvc-probe role:Secondary', 'exists resource name:hvc-probe role:Primary'], ['connection:Connected role:Secondary', 'connection:Connected role:Primary']],
      }),
    );
    expect(find(results, 'DRBD_ROLES', 'hv1')[0]).toMatchObject({ status: 'error', found: 'hvc-probe is Primary on hv1 and on hv2 outside a migration' });
    expect(exit).toBe(1);
  });

  it('a split brain in the kernel log of a resource that is connected and UpToDate now: a warning, not an error', () => {
    const { results, exit } = run(input({ hv2: [['@@hvc-cmd splitbrain@@\n', '@@hvc-cmd splitbrain@@\n2026-11-25T10:00:00+0000 hv2 kernel: drbd hvc-probe: Split-Brain detected but unresolved, dropping connection!\n']] }));
    expect(find(results, 'DRBD_SPLIT_BRAIN', 'hv2')[0]).toMatchObject({
      status: 'warning',
      subject: 'hvc-probe',
      found: 'hvc-probe: split brain detected at 2026-11-25T10:00:00+0000, resolved: reconnected (the log names no discarded side); now Connected/Established, UpToDate/UpToDate',
    });
    expect(exit).toBe(0);
  });

  it('a resource file that differs between the nodes: DRBD_CONFIG error', () => {
    const { results } = run(input({ hv2: [['allow-two-primaries no;', 'allow-two-primaries yes;']] }));
    expect(find(results, 'DRBD_CONFIG', 'hv1')[0]).toMatchObject({ status: 'error', found: "hvc-probe /etc/drbd.d/hvc-probe.res differs from hv2's" });
  });

  it('a clock 5 minutes off: CLOCK_SKEW error; 2 s: warning', () => {
    const five = run(input({ clock: { hv2: 300 } }));
    expect(find(five.results, 'CLOCK_SKEW')[0]).toMatchObject({ status: 'error', server: 'hv1', subject: 'hv2', servers: ['hv1', 'hv2'] });
    expect(find(five.results, 'CLOCK_SKEW')[0]!.found).toMatch(/^hv1 is 300 s behind hv2/);
    expect(five.exit).toBe(1);
    expect(find(run(input({ clock: { hv1: 2 } })).results, 'CLOCK_SKEW')[0]!.status).toBe('warning');
  });

  it('the replication NIC at MTU 1400 with the answer file at 1500: REPL_NIC and REPL_MTU errors', () => {
    const { results, exit } = run(
      input({
        hv1: [
          [/("ifname":"ens4".*?"mtu":)1500/s, '$11400'],
          [/@@hvc-cmd df:hv2@@\n[\s\S]*?@@hvc-rc df:hv2 0@@/, `@@hvc-cmd df:hv2@@\nPING 198.19.2.2 (198.19.2.2) from 198.19.2.1 : 1472(1500) bytes of data.\n\n--- 198.19.2.2 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n\n@@hvc-err@@ ping: local error: message too long, mtu=1400\n@@hvc-rc df:hv2 1@@`],
        ],
      }),
    );
    expect(find(results, 'REPL_NIC', 'hv1')[0]).toMatchObject({ status: 'error', found: 'ens4 has MTU 1400, the answer file says 1500' });
    expect(find(results, 'REPL_MTU', 'hv1')[0]).toMatchObject({ status: 'error' });
    expect(find(results, 'REPL_MTU', 'hv1')[0]!.found).toContain('local error: message too long, mtu=1400');
    expect(find(results, 'REPL_LINK', 'hv1')[0]!.status).toBe('pass');
    expect(exit).toBe(1);
  });

  it('a peer that does not answer on the replication network: REPL_LINK error, REPL_MTU skipped', () => {
    const { results } = run(
      input({
        hv1: [[/@@hvc-cmd lat:hv2@@\n[\s\S]*?@@hvc-rc lat:hv2 0@@/, `@@hvc-cmd lat:hv2@@\nPING 198.19.2.2 (198.19.2.2) from 198.19.2.1 : 56(84) bytes of data.\n\n--- 198.19.2.2 ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 446ms\n\n@@hvc-rc lat:hv2 1@@`]],
      }),
    );
    expect(find(results, 'REPL_LINK', 'hv1')[0]!.status).toBe('error');
    expect(find(results, 'REPL_MTU', 'hv1')[0]!.status).toBe('pass'); // the DF probe itself still answered in this edit
  });

  it('a server that cannot be reached: SSH_REACHABLE error, the other server still checked, exit 2', () => {
    const i = input({ unreachable: ['hv2'] });
    const { results, exit, summary } = run(i);
    expect(exit).toBe(2);
    expect(summary.unreachable).toEqual(['hv2']);
    expect(find(results, 'SSH_REACHABLE', 'hv2')[0]).toMatchObject({ status: 'error' });
    expect(find(results, 'DRBD_MODULE', 'hv1')[0]!.status).toBe('pass');
    expect(find(results, 'LVM_VG', 'hv1')[0]!.status).toBe('pass');
    expect(find(results, 'DRBD_MODULE', 'hv2')).toEqual([]);
  });

  it('a node name that is not uname -n: HOSTNAME error', () => {
    const { results } = run(input({ hv2: [[/^@@hvc-cmd uname@@\nhv2$/m, '@@hvc-cmd uname@@\ndebian']] }));
    expect(find(results, 'HOSTNAME', 'hv2')[0]).toMatchObject({ status: 'error', found: '`uname -n` is debian, the answer file names this node hv2' });
  });

  it('virsh cannot reach the peer: MIGRATION_CONNECT error with virsh\'s message', () => {
    const { results } = run(
      input({
        hv1: [[/@@hvc-cmd virsh:hv2@@\nhv2\n\n\n@@hvc-rc virsh:hv2 0@@/, '@@hvc-cmd virsh:hv2@@\n\n@@hvc-err@@ error: failed to connect to the hypervisor\n@@hvc-err@@ error: Cannot recv data: Host key verification failed.: Connection reset by peer\n@@hvc-rc virsh:hv2 1@@']],
      }),
    );
    expect(find(results, 'MIGRATION_CONNECT', 'hv1')[0]).toMatchObject({ status: 'error' });
    expect(find(results, 'MIGRATION_CONNECT', 'hv1')[0]!.found).toContain('failed to connect to the hypervisor');
  });
});

describe('dual-primary left open', () => {
  it('a resource file with allow-two-primaries yes on both nodes: DRBD_CONFIG error', () => {
    const yes: [string, string][] = [['allow-two-primaries no;', 'allow-two-primaries yes;']];
    const results = evaluate(input({ hv1: yes, hv2: yes }));
    expect(results.filter((r) => r.code === 'DRBD_CONFIG' && r.subject === 'hvc-probe').map((r) => [r.server, r.status, r.found])).toEqual([
      ['hv1', 'error', 'hvc-probe allows two primaries outside a migration (allow-two-primaries yes)'],
      ['hv2', 'error', 'hvc-probe allows two primaries outside a migration (allow-two-primaries yes)'],
    ]);
  });
});

describe('DRBD_HOLDERS and an LVM snapshot of a backing volume', () => {
  // What the lab's hv2 showed after `drbd resolve` kept its data of hvc-probe as a snapshot.
  const withSnapshot: [string, string][] = [
    [
      'dm-0\thvdata-hvc--probe\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14Nf8GxUyWOjwPFx4PnQy12h89PEzlRPOafm\tvdb \tdrbd0 \n',
      [
        'dm-0\thvdata-hvc--probe\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14Nf8GxUyWOjwPFx4PnQy12h89PEzlRPOafm\tdm-1 \tdrbd0 ',
        'dm-1\thvdata-hvc--probe-real\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14Nf8GxUyWOjwPFx4PnQy12h89PEzlRPOafm-real\tvdb \tdm-0 dm-3 ',
        'dm-2\thvdata-hvc--probe--splitbrain--20261207T032014Z-cow\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14NfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-cow\tvdb \tdm-3 ',
        'dm-3\thvdata-hvc--probe--splitbrain--20261207T032014Z\tLVM-U21kq6ca9IwS0kYC9cmL3G8iYtLO14NfAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\tdm-1 dm-2 \t',
        '',
      ].join('\n'),
    ],
  ];

  it('warns naming the snapshot (not a foreign holder), and still errors on a foreign one', () => {
    const { results } = run(input({ hv2: withSnapshot }));
    const holders = results.find((r) => r.code === 'DRBD_HOLDERS' && r.server === 'hv2')!;
    expect(holders).toMatchObject({ status: 'warning', found: 'no foreign holder; LVM snapshot(s) of backing volumes: hvdata-hvc--probe--splitbrain--20261207T032014Z' });
    expect(holders.fix).toContain('lvremove hvdata/NAME');
    const foreign = run(input({ hv2: [[withSnapshot[0]![0], withSnapshot[0]![0].replace('\tdrbd0 \n', '\tdrbd0 md0 \n')]] })).results.find((r) => r.code === 'DRBD_HOLDERS' && r.server === 'hv2')!;
    expect(foreign).toMatchObject({ status: 'error', found: 'hvdata-hvc--probe (dm-0) is held by md0' });
  });
});
