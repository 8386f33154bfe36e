/**
 * The VM lab's BMCs, watchdog and witness, without VMs: the BMC networks never overlap a lab's
 * management or replication subnet, QEMU gets its watchdog and the nodes their BMC route, ipmi_sim's
 * lan.conf refuses what it cannot carry, and the chassis_control program answers ipmi_sim's way.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMU_TEXT, bmcPasswordFile, ensureBmcPassword, lanConfText, powerCommand } from '../lab/bmc.js';
import { MAX_LABS, bmcAddr, bmcHostAddr, bmcSubnet, hostAddr, mgmtAddr, replAddr, witnessAddr } from '../lab/config.js';
import { qemuArgv, type VmSpec } from '../lab/vm.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function ipNum(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
function range(cidr: string): [number, number] {
  const [a, p] = cidr.split('/');
  const size = 2 ** (32 - Number(p));
  const start = ipNum(a!);
  expect(start % size).toBe(0);
  return [start, start + size - 1];
}

describe('lab BMC network', () => {
  it('gives every lab its own /29 inside 198.18.0.0/15, clear of every lab subnet, with the host and three BMCs in it', () => {
    const all: Array<[number, number, string]> = [];
    for (let n = 1; n <= MAX_LABS; n++) {
      all.push([...range(`198.18.${n}.0/24`), `mgmt ${n}`], [...range(`198.19.${n}.0/24`), `repl ${n}`], [...range(bmcSubnet(n)), `bmc ${n}`]);
      const [lo, hi] = range(bmcSubnet(n));
      for (const a of [bmcAddr(n, 1), bmcAddr(n, 2), bmcAddr(n, 3), bmcHostAddr(n)]) {
        expect(ipNum(a)).toBeGreaterThan(lo);
        expect(ipNum(a)).toBeLessThan(hi);
      }
      expect(new Set([bmcAddr(n, 1), bmcAddr(n, 2), bmcAddr(n, 3), bmcHostAddr(n)]).size).toBe(4);
    }
    const [netLo, netHi] = range('198.18.0.0/15');
    all.sort((x, y) => x[0] - y[0]);
    for (let k = 0; k < all.length; k++) {
      expect(all[k]![0]).toBeGreaterThanOrEqual(netLo);
      expect(all[k]![1]).toBeLessThanOrEqual(netHi);
      if (k > 0) expect(all[k]![0], `${all[k - 1]![2]} overlaps ${all[k]![2]}`).toBeGreaterThan(all[k - 1]![1]);
    }
    expect(bmcSubnet(1)).toBe('198.19.251.0/29');
    expect(bmcAddr(1, 2)).toBe('198.19.251.2');
    expect(() => bmcSubnet(MAX_LABS + 1)).toThrow(/no BMC network/);
    expect(witnessAddr(3)).toBe('198.18.3.10');
  });
});

describe('lab QEMU command lines', () => {
  const base: Omit<VmSpec, 'node'> = { lab: 'x', index: 4, netns: 'hvlab-x', dir: '/l/x/hv1', memoryMb: 1536, kernel: '/k', initrd: '/i' };

  it('gives a node an i6300esb watchdog (reset) and the route to its BMC network on the kernel command line', () => {
    const argv = qemuArgv({ ...base, node: 1 });
    expect(argv.join(' ')).toContain('-device i6300esb,addr=8 -action watchdog=reset');
    const append = argv[argv.indexOf('-append') + 1]!;
    expect(append).toContain(`hvlab.mgmt=${mgmtAddr(4, 1)}/24`);
    expect(append).toContain(`hvlab.repl=${replAddr(4, 1)}/24`);
    expect(append).toContain(`hvlab.bmcnet=${bmcSubnet(4)} hvlab.bmcvia=${hostAddr(4)}`);
  });

  it('gives the witness a management NIC, a system disk and a watchdog only', () => {
    const argv = qemuArgv({ ...base, node: 'witness', dir: '/l/x/witness', memoryMb: 512 });
    const text = argv.join(' ');
    expect(argv[argv.indexOf('-append') + 1]).toMatch(/hvlab\.hostname=witness hvlab\.mgmt=198\.18\.4\.10\/24$/);
    expect(text).toContain('ifname=tapwm');
    expect(text).not.toContain('hvlab.repl');
    expect(text).not.toContain('id=data');
    expect(text).not.toContain('bmcnet');
    expect(text).toContain('i6300esb');
    expect(argv[argv.indexOf('-m') + 1]).toBe('512');
  });
});

describe('lab BMC configuration', () => {
  it('writes one admin user, no anonymous one, and power through chassis_control', () => {
    const conf = lanConfText({ name: 'hv1', address: '198.19.251.1', user: 'hvadmin', password: 'Pw12345', chassisControl: '/usr/bin/node /x/bmc-power.ts /l/hv1' });
    expect(conf).toContain('addr 198.19.251.1 623');
    expect(conf).toContain('chassis_control "/usr/bin/node /x/bmc-power.ts /l/hv1"');
    expect(conf).toMatch(/^\s*user 1 false /m);
    expect(conf).toMatch(/^\s*user 2 true "hvadmin" "Pw12345" admin /m);
    expect(EMU_TEXT).toContain('mc_enable 0x20');
    expect(() => lanConfText({ name: 'hv1', address: 'a', user: 'u', password: 'has"quote', chassisControl: 'x' })).toThrow(/password/);
    expect(() => lanConfText({ name: 'hv1', address: 'a', user: 'u', password: 'x'.repeat(17), chassisControl: 'x' })).toThrow(/password/);
    expect(() => powerCommand('/path with space/hv1')).toThrow(/not usable/);
  });

  it('generates the lab password once, in a file only root reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvlab-bmc-'));
    try {
      const file = ensureBmcPassword(dir);
      expect(file).toBe(bmcPasswordFile(dir));
      const pw = readFileSync(file, 'utf8').trim();
      expect(pw).toMatch(/^[A-Za-z0-9]{16}$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      ensureBmcPassword(dir);
      expect(readFileSync(file, 'utf8').trim()).toBe(pw);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers ipmi_sim: power:0 for a node whose VM does not run, and refuses to reset it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvlab-bmc-'));
    try {
      mkdirSync(join(dir, 'bmc'));
      const [node, ...args] = powerCommand(dir).split(' ');
      const get = spawnSync(node!, [...args, 'get', 'power'], { cwd: ROOT, encoding: 'utf8' });
      expect(get.status, get.stderr).toBe(0);
      expect(get.stdout).toBe('power:0\n');
      const reset = spawnSync(node!, [...args, 'set', 'reset', '1'], { cwd: ROOT, encoding: 'utf8' });
      expect(reset.status).toBe(1);
      expect(reset.stderr).toContain('the VM is off');
      expect(readFileSync(join(dir, 'bmc', 'actions.log'), 'utf8')).toMatch(/set reset 1: FAILED the VM is off/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
