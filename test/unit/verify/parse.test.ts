/** Parsers of verify's probes, on output captured from the lab (DRBD 8.4.11, drbd-utils 9.22, iputils, libvirt 9). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  firstAddress,
  parseEvents2Statistics,
  parseGuests,
  parsePing,
  parseProcDrbdFull,
  parseResourceConfigs,
  parseStack,
  parseVgs,
  splitConfigFiles,
} from '../../../installer/verify/parse.js';
import { parseProbes, probePlan, probeScript } from '../../../installer/verify/probes.js';
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
    const [r, ...rest] = parseEvents2Statistics(fixture('events2-statistics-hv1.txt'));
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

  it('reads /proc/drbd with oos', () => {
    expect(parseProcDrbdFull(fixture('proc-drbd-hv1.txt'))).toEqual({
      version: '8.4.11',
      minors: [{ minor: 0, cs: 'Connected', ro: 'Secondary/Secondary', ds: 'UpToDate/UpToDate', protocol: 'C', oosKiB: 0 }],
    });
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
