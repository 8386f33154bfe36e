/** Parsers of verify's probes, on output captured from the lab (DRBD 8.4.11, drbd-utils 9.22, iputils, libvirt 9). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitBrainHistory } from '../../../installer/verify/checks/drbd.js';
import {
  firstAddress,
  parseDrbdKernelLog,
  parseGuests,
  parsePing,
  parseResourceConfigs,
  parseStack,
  parseVgs,
  splitConfigFiles,
} from '../../../installer/verify/parse.js';
import { parseProbes, probePlan, probeScript } from '../../../installer/verify/probes.js';
import { parseEvents2 } from '../../../installer/facts/parse/drbd-events2.js';
import { parseProcDrbd } from '../../../installer/facts/parse/proc-drbd.js';
import { answers, fixture } from './helpers.js';

describe('ping', () => {
  it('reads a successful don\'t-fragment probe', () => {
    const p = parsePing(fixture('ping-df-ok.stdout'), fixture('ping-df-ok.stderr'));
    expect(p).toMatchObject({ transmitted: 1, received: 1, errors: 0, localError: null });
    expect(p.rttMinMs).toBeGreaterThan(0);
  });

  it('reads a probe above the local MTU: the local error and the MTU the kernel names', () => {
    const p = parsePing(fixture('ping-df-too-big.stdout'), fixture('ping-df-too-big.stderr'));
    expect(p).toMatchObject({ transmitted: 1, received: 0, errors: 1, localError: 'local error: message too long, mtu=1500', reportedMtu: 1500, rttMinMs: null });
  });

  it('reads an address that does not answer', () => {
    expect(parsePing(fixture('ping-unreachable.stdout'), fixture('ping-unreachable.stderr'))).toMatchObject({ transmitted: 3, received: 0, rttAvgMs: null });
  });

  it('reads nothing from nothing', () => {
    expect(parsePing('')).toMatchObject({ transmitted: 0, received: 0 });
  });
});

describe('DRBD 8.4 state', () => {
  it('reads events2 --statistics of a healthy resource', () => {
    const [r, ...rest] = parseEvents2(fixture('events2-statistics-hv1.txt'));
    expect(rest).toEqual([]);
    expect(r).toEqual({
      name: 'hvc-probe',
      role: 'Secondary',
      suspended: 'no',
      writeOrdering: 'flush',
      devices: [{ volume: 0, minor: 0, disk: 'UpToDate', sizeKiB: 16344, blocked: 'no' }],
      // 8.4 names its one connection "peer".
      connections: [{ peer: 'peer', connection: 'Connected', role: 'Secondary', congested: 'no', peerDevices: [{ volume: 0, replication: 'Established', peerDisk: 'UpToDate', resyncSuspended: 'no', outOfSyncKiB: 0 }] }],
    });
  });

  it('reads events2 without --statistics (the facts\' call): the statistics are null, the states the same', () => {
    const withStatistics = fixture('events2-statistics-hv1.txt');
    const without = withStatistics
      .split('\n')
      .map((l) => l.replace(/ (size|read|written|al-writes|bm-writes|upper-pending|lower-pending|al-suspended|blocked|congested|received|sent|out-of-sync|pending|unacked|ap-in-flight|rs-in-flight):\S+/g, ''))
      .join('\n');
    const [r] = parseEvents2(without);
    expect(r).toEqual({
      name: 'hvc-probe',
      role: 'Secondary',
      suspended: 'no',
      writeOrdering: 'flush',
      devices: [{ volume: 0, minor: 0, disk: 'UpToDate', sizeKiB: null, blocked: null }],
      connections: [{ peer: 'peer', connection: 'Connected', role: 'Secondary', congested: null, peerDevices: [{ volume: 0, replication: 'Established', peerDisk: 'UpToDate', resyncSuspended: 'no', outOfSyncKiB: null }] }],
    });
  });

  it('reads change events after the exists lines: an object is updated, not listed twice', () => {
    const text = `exists resource name:r0 role:Secondary suspended:no write-ordering:flush
exists connection name:r0 conn-name:peer connection:Connected role:Secondary
exists device name:r0 volume:0 minor:0 disk:UpToDate
exists peer-device name:r0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate
exists -
change resource name:r0 role:Primary
change connection name:r0 conn-name:peer connection:NetworkFailure
change peer-device name:r0 conn-name:peer volume:0 replication:Off peer-disk:DUnknown
`;
    const [r, ...rest] = parseEvents2(text);
    expect(rest).toEqual([]);
    expect(r).toMatchObject({ role: 'Primary', devices: [{ volume: 0, minor: 0, disk: 'UpToDate' }] });
    expect(r!.connections).toEqual([{ peer: 'peer', connection: 'NetworkFailure', role: 'Secondary', congested: null, peerDevices: [{ volume: 0, replication: 'Off', peerDisk: 'DUnknown', resyncSuspended: null, outOfSyncKiB: null }] }]);
  });

  it('reads /proc/drbd with oos', () => {
    expect(parseProcDrbd(fixture('proc-drbd-hv1.txt'))).toEqual({
      version: '8.4.11',
      minors: [{ minor: 0, cs: 'Connected', ro: 'Secondary/Secondary', ds: 'UpToDate/UpToDate', protocol: 'C', ioFlags: 'r-----', oosKiB: 0, resync: null }],
    });
  });
});

describe('a resync in /proc/drbd (drbd_proc.c drbd_syncer_progress)', () => {
  it('reads percent, left/total, time to go, speed, average and the SyncTarget\'s want', () => {
    const [m] = parseProcDrbd(fixture('drbd/resync-running/proc-drbd-hv2.txt')).minors;
    expect(m).toMatchObject({ cs: 'SyncTarget', ioFlags: 'r-----', oosKiB: 3584 });
    // "sync'ed:100.0% (3584/8192)K": the kernel's percent moves in 4 MiB steps; the share done comes from left/total.
    expect(m!.resync).toEqual({ percent: 56.2, kernelPercent: 100, leftKiB: 3584, totalKiB: 8192, finishSeconds: 14, speedKiBps: 240, averageKiBps: 240, wantKiBps: 200, stalled: false });
  });

  it('reads sizes in M above 4 GiB, thousands separators, proc_details\' "A -- B" and the kernel\'s (stalled)', () => {
    const text = [
      'version: 8.4.11 (api:1/proto:86-101)',
      ' 3: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----',
      '    ns:0 nr:10485760 dw:10485760 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:94371840',
      "\t[=>..................] sync'ed: 10.0% (92160/102400)M",
      '\tfinish: 2:37:17 speed: 10,000 (9,876 -- 11,024) want: 102,400 K/sec (stalled)',
    ].join('\n');
    expect(parseProcDrbd(text).minors[0]!.resync).toEqual({
      percent: 10,
      kernelPercent: 10,
      leftKiB: 92160 * 1024,
      totalKiB: 102400 * 1024,
      finishSeconds: 2 * 3600 + 37 * 60 + 17,
      speedKiBps: 10000,
      averageKiBps: 11024,
      wantKiBps: 102400,
      stalled: true,
    });
  });

  it('reads the paused flags and no progress on a connected resource', () => {
    expect(parseProcDrbd(fixture('drbd/resync-paused/proc-drbd-hv2.txt')).minors[0]).toMatchObject({ cs: 'PausedSyncT', ioFlags: 'r--u--' });
    expect(parseProcDrbd(fixture('proc-drbd-hv1.txt')).minors[0]!.resync).toBeNull();
  });
});

describe('the kernel log\'s DRBD lines', () => {
  it('reads the device prefix of the 8.4 module in kernel 6.1 ("drbd RES/VOL drbdN:"), the older "block drbdN:" and connection lines', () => {
    const log = parseDrbdKernelLog(
      [
        '2026-12-05T15:10:02+0000 hv1 kernel: drbd hvc-probe/0 drbd0: Split-Brain detected but unresolved, dropping connection!',
        'Mar  7 15:38:05 node1 kernel: block drbd3: Split-Brain detected but unresolved, dropping connection!',
        '2026-12-05T15:10:02+0000 hv1 kernel: drbd hvc-probe: conn( WFReportParams -> Disconnecting )',
      ].join('\n'),
    );
    expect(log).toEqual([
      { time: '2026-12-05T15:10:02+0000', resource: 'hvc-probe', minor: 0, message: 'Split-Brain detected but unresolved, dropping connection!' },
      { time: null, resource: null, minor: 3, message: 'Split-Brain detected but unresolved, dropping connection!' },
      { time: '2026-12-05T15:10:02+0000', resource: 'hvc-probe', minor: null, message: 'conn( WFReportParams -> Disconnecting )' },
    ]);
  });

  it('tells a current split brain from one resolved since, by hand or by an after-sb policy', () => {
    const lines = (text: string) => parseDrbdKernelLog(text);
    expect(splitBrainHistory(lines(fixture('drbd/split-brain-standalone/splitbrain-hv1.txt')))).toMatchObject({ detectedAt: '2026-12-05T15:25:01+0000', unresolved: true, resolution: null, connectedAt: null });
    expect(splitBrainHistory(lines(fixture('drbd/split-brain-resolved/splitbrain-hv1.txt')))).toMatchObject({
      detectedAt: '2026-12-05T15:25:01+0000',
      resolution: { at: '2026-12-05T15:25:35+0000', discarded: 'peer', automatic: false },
      connectedAt: '2026-12-05T15:25:35+0000',
    });
    expect(splitBrainHistory(lines('2026-12-05T15:00:00+0000 hv2 kernel: drbd r0/0 drbd1: Split-Brain detected, 1 primaries, automatically solved. Sync from peer node'))).toMatchObject({
      detectedAt: '2026-12-05T15:00:00+0000',
      unresolved: false,
      resolution: { discarded: 'here', automatic: true },
    });
    expect(splitBrainHistory(lines('2026-12-05T15:00:00+0000 hv2 kernel: drbd hvc-probe: conn( WFReportParams -> Connected )'))).toBeNull();
  });
});

describe('the probes of a captured healthy node', () => {
  const probes = parseProbes(fixture('healthy-hv1.out'));
  const out = (label: string) => probes.commands[label]!.stdout;

  it('has every command, each with its exit code', () => {
    expect(Object.keys(probes.commands).sort()).toEqual(
      ['conf', 'df:hv2', 'doms', 'events2', 'getent:hv1', 'getent:hv1-repl', 'getent:hv2', 'getent:hv2-repl', 'helper', 'lat:hv2', 'list', 'lvs', 'proc', 'pvs', 'splitbrain', 'stack', 'vgs', 'virsh:hv2'].sort(),
    );
    expect(Object.values(probes.commands).every((c) => c.exitCode === 0)).toBe(true);
    expect(out('virsh:hv2').trim()).toBe('hv2');
  });

  it('reads the DRBD configuration files: hosts, minor, backing disk', () => {
    const files = splitConfigFiles(out('conf'));
    expect([...files.keys()]).toEqual(['/etc/drbd.conf', '/etc/drbd.d/global_common.conf', '/etc/drbd.d/hvc-probe.res']);
    expect(parseResourceConfigs(files)).toMatchObject([
      { name: 'hvc-probe', minor: 0, disk: '/dev/hvdata/hvc-probe', allowTwoPrimaries: false, hosts: [{ name: 'hv1', address: '198.19.2.1:7788' }, { name: 'hv2', address: '198.19.2.2:7788' }] },
    ]);
  });

  it('gives a file the same text whether it comes last or not, with or without its own final newline', () => {
    // What hv_conf prints on two nodes of a three-node cluster (hvc-probe2 on both, in a different place),
    // each file followed by the newline hv_conf adds, the last also by the command wrapper's own.
    const res = (name: string, end = '\n') => `# hvcluster\nresource ${name} {\n  on hv2 { }\n}${end}`;
    const hv2 = splitConfigFiles(`@@file /etc/drbd.d/hvc-probe1.res\n${res('hvc-probe1')}\n@@file /etc/drbd.d/hvc-probe2.res\n${res('hvc-probe2')}\n\n`);
    const hv3 = splitConfigFiles(`@@file /etc/drbd.d/hvc-probe2.res\n${res('hvc-probe2')}\n@@file /etc/drbd.d/hvc-probe3.res\n${res('hvc-probe3', '')}\n\n`);
    expect(hv2.get('/etc/drbd.d/hvc-probe2.res')).toBe(res('hvc-probe2'));
    expect(hv3.get('/etc/drbd.d/hvc-probe2.res')).toBe(res('hvc-probe2'));
    expect(hv2.get('/etc/drbd.d/hvc-probe1.res')).toBe(res('hvc-probe1'));
    expect(hv3.get('/etc/drbd.d/hvc-probe3.res')).toBe(res('hvc-probe3'));
  });

  it("verify's own hv_conf, run by sh on files with and without a final newline, gives each file's text apart", () => {
    const fn = /^hv_conf\(\) \{.*\}$/m.exec(probeScript(probePlan(answers(), 'hv1')))?.[0];
    expect(fn).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'hvc-drbdd-'));
    writeFileSync(join(dir, 'a.res'), 'resource a {\n}'); // no final newline
    writeFileSync(join(dir, 'b.res'), 'resource b {\n}\n');
    const script = `${fn!.replace('/etc/drbd.conf /etc/drbd.d/*', `${dir}/*`)}\nhv_conf`;
    const files = splitConfigFiles(execFileSync('sh', ['-c', script], { encoding: 'utf8' }));
    expect(files.get(join(dir, 'a.res'))).toBe('resource a {\n}\n');
    expect(files.get(join(dir, 'b.res'))).toBe('resource b {\n}\n');
  });

  it('reads the volume group, the block stacking and name resolution', () => {
    const [vg] = parseVgs(out('vgs'));
    expect(vg).toMatchObject({ name: 'hvdata', attr: expect.stringMatching(/^wz--n/) });
    expect(vg!.freeBytes).toBeLessThan(vg!.sizeBytes);
    const stack = parseStack(out('stack'));
    expect(stack.find((s) => s.device === 'drbd0')).toMatchObject({ holders: [] });
    expect(stack.find((s) => s.dmName === 'hvdata-hvc--probe')).toMatchObject({ holders: ['drbd0'], dmUuid: expect.stringMatching(/^LVM-/) });
    expect(firstAddress(out('getent:hv2-repl'))).toBe('198.19.2.2');
  });
});

describe('guests', () => {
  it('reads dominfo, domblklist and domjobinfo blocks', () => {
    const text = `@@dom web1
Id:             3
Name:           web1
State:          running
Max memory:     2097152 KiB
Used memory:    1048576 KiB
@@blk
 Type   Device   Target   Source
--------------------------------------------
 block  disk     vda      /dev/drbd3
 file   cdrom    sdb      -
@@job
Job type:         None
`;
    expect(parseGuests(text)).toEqual([{ name: 'web1', state: 'running', memoryBytes: 1048576 * 1024, disks: ['/dev/drbd3'], jobType: 'None' }]);
  });
});

describe('the probe script', () => {
  it('probes every peer at the configured MTU and resolves every cluster name', () => {
    const script = probeScript(probePlan(answers(), 'hv1'));
    expect(script).toContain("ping -n -M do -s 1472 -c 1 -W 1 -I 198.19.2.1 198.19.2.2");
    expect(script).toContain("virsh -c 'qemu+ssh://hv2-repl/system?no_tty=1' hostname");
    expect(script).toContain("for n in hv1 hv1-repl hv2 hv2-repl; do");
    // Read-only: nothing that changes a server.
    expect(script).not.toMatch(/drbdadm (up|down|connect|disconnect|primary|secondary|adjust)|modprobe|systemctl (start|stop|restart)|\brm\b|>\s*\/(etc|sys)|>\s*\/dev\/(?!null)/);
  });
});
