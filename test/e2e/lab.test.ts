// The VM lab itself: real Debian 12 VMs under QEMU in a private namespace, brought up and torn down
// through the lab's command line, as CI and developers use it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labDir, netnsName } from '../lab/config.js';
import { readLab, sshExec } from '../lab/lab.js';
import { listLabNetns, netnsLinks } from '../lab/network.js';
import { findLabQemus, vmPid } from '../lab/vm.js';
import { run, sleep } from '../lab/util.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['node', '--import', 'tsx', 'test/lab/cli.ts'];
const MIN = 60_000;

/** The lab CLI as one process (node + tsx loader, no wrapper that a SIGKILL would miss). */
function lab(...args: string[]) {
  return run([...CLI, ...args], { cwd: ROOT, allowFail: true, timeoutMs: 10 * MIN });
}

async function expectGone(name: string): Promise<void> {
  expect(await listLabNetns()).not.toContain(netnsName(name));
  expect(await netnsLinks(netnsName(name))).toEqual([]);
  expect(findLabQemus(labDir(name))).toEqual([]);
  expect(existsSync(labDir(name))).toBe(false);
  const ps = await run(['ps', '-eo', 'args'], { allowFail: true });
  expect(ps.stdout.split('\n').filter((l) => l.includes('qemu-system') && l.includes(`${labDir(name)}/`))).toEqual([]);
  // Taps and bridges only ever exist inside the lab's namespace, never in the host's.
  const hostLinks = await run(['ip', '-o', 'link', 'show'], { allowFail: true });
  expect(hostLinks.stdout).not.toMatch(/\d+: (tap\d[mr]|br-mgmt|br-repl)[:@]/);
}

describe('VM lab', () => {
  it('brings up two real Debian nodes and takes them down without a trace', { timeout: 12 * MIN }, async () => {
    const name = 'e2e-lab';
    await lab('down', '--name', name);
    const upRes = await lab('up', '--nodes', '2', '--name', name, '--json', '--recreate');
    expect(upRes.code, upRes.stderr).toBe(0);
    const info = JSON.parse(upRes.stdout) as ReturnType<typeof readLab> & { reused: boolean };
    expect(info.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2']);
    expect(readLab(name).nodes[1]?.management.address).toBe(info.nodes[1]?.management.address);

    // `lab ssh 1 -- uname -n` prints hv1; exit codes pass through.
    const uname = await lab('ssh', '1', '--name', name, '--', 'uname', '-n');
    expect(uname.code, uname.stderr).toBe(0);
    expect(uname.stdout.trim()).toBe('hv1');
    expect((await lab('ssh', 'hv2', '--name', name, '--', 'exit 7')).code).toBe(7);
    const ex = await lab('exec', '--name', name, '--', 'ip', '-o', 'addr', 'show', 'br-mgmt');
    expect(ex.stdout).toContain(`${info.hostAddress}/24`);

    for (const n of info.nodes) {
      expect(n.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      const fp = await sshExec(name, n.name, 'ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_ed25519_key.pub');
      expect(fp.stdout).toContain(n.hostKeyFingerprint);

      const r = await sshExec(name, n.name, [
        'set -e',
        `test -b ${n.dataDisk} && echo DISK-OK`,
        'modprobe drbd && cat /proc/drbd',
        'grep -q svm /proc/cpuinfo && modprobe kvm_amd || modprobe kvm_intel',
        'test -c /dev/kvm && echo KVM-OK',
        `echo CARRIER $(cat /sys/class/net/${n.management.nic}/carrier) $(cat /sys/class/net/${n.replication.nic}/carrier)`,
        `ip -o -4 addr show ${n.replication.nic}`,
        'hostname',
      ].join('\n'));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('DISK-OK');
      expect(r.stdout).toMatch(/^version: 8\.4\.\d+/m);
      expect(r.stdout).toContain('KVM-OK');
      expect(r.stdout).toContain('CARRIER 1 1');
      expect(r.stdout).toContain(`${n.replication.address}/24`);
      expect(r.stdout).toMatch(new RegExp(`^${n.name}$`, 'm'));
    }
    // Replication network: hv1 reaches hv2 over ens4.
    const ping = await sshExec(name, 1, `ping -c 2 -W 3 -I ens4 ${info.nodes[1]?.replication.address}`);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    // Offline package cache for the installer.
    const apt = await sshExec(name, 1, 'apt-get install --no-download -s -y drbd-utils qemu-system-x86 libvirt-daemon-system chrony | tail -1');
    expect(apt.code, apt.stderr).toBe(0);

    const downRes = await lab('down', '--name', name);
    expect(downRes.code, downRes.stderr).toBe(0);
    await expectGone(name);
    // down is idempotent
    expect((await lab('down', '--name', name)).code).toBe(0);
  });

  it('survives three up/down cycles in a row', { timeout: 10 * MIN }, async () => {
    const name = 'e2e-cycle';
    await lab('down', '--name', name);
    for (let k = 1; k <= 3; k++) {
      const u = await lab('up', '--nodes', '1', '--name', name, '--recreate');
      expect(u.code, `cycle ${k}: ${u.stderr}`).toBe(0);
      const r = await sshExec(name, 1, 'uname -n');
      expect(r.stdout.trim()).toBe('hv1');
      const d = await lab('down', '--name', name);
      expect(d.code, d.stderr).toBe(0);
      await expectGone(name);
    }
  });

  it('cleans up after an `up` killed while the VMs boot, then comes up fresh', { timeout: 10 * MIN }, async () => {
    const name = 'e2e-kill';
    await lab('down', '--name', name);
    const child = spawn(CLI[0]!, [...CLI.slice(1), 'up', '--nodes', '2', '--name', name], { cwd: ROOT, stdio: 'ignore' });
    // Wait until both VMs run (the up process is then polling SSH), then kill it hard.
    const deadline = Date.now() + 5 * MIN;
    while (!(vmPid(`${labDir(name)}/hv1`) && vmPid(`${labDir(name)}/hv2`))) {
      if (Date.now() > deadline) throw new Error('VMs never started');
      await sleep(200);
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // Exactly the two VMs' QEMUs outlive the killed `up`. A QEMU started with -daemonize writes its
    // pidfile from the child while the parent is still exiting, so wait for the parents to be gone.
    const vms = [vmPid(`${labDir(name)}/hv1`), vmPid(`${labDir(name)}/hv2`)].sort((a, b) => (a ?? 0) - (b ?? 0));
    const settled = Date.now() + 30_000;
    while (findLabQemus(labDir(name)).length > 2 && Date.now() < settled) await sleep(200);
    expect(findLabQemus(labDir(name)).sort((a, b) => a - b)).toEqual(vms);
    expect(await listLabNetns()).toContain(netnsName(name));

    const d = await lab('down', '--name', name);
    expect(d.code, d.stderr).toBe(0);
    await expectGone(name);

    const u = await lab('up', '--nodes', '2', '--name', name);
    expect(u.code, u.stderr).toBe(0);
    expect((await sshExec(name, 'hv2', 'uname -n')).stdout.trim()).toBe('hv2');
    expect((await lab('down', '--name', name)).code).toBe(0);
    await expectGone(name);
  });
});
