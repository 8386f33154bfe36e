// The VM lab itself: real Debian 12 VMs under QEMU in a private namespace, driven through the lab's
// command line as CI and developers use it. What a lab offers (disks, DRBD, KVM, watchdog, witness,
// NTP, BMCs that fence, checkpoints) is checked on the shared lab of the run (restored from its
// `fresh` checkpoint instead of booting three more VMs); `up` and `down` (killed midway, then fresh,
// without a trace) on a lab of their own.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHARED_LAB, useLab } from '../helpers/lab.js';
import { labDir, netnsName } from '../lab/config.js';
import { readLab, sshExec } from '../lab/lab.js';
import { listLabNetns, netnsLinks } from '../lab/network.js';
import { findLabQemus, vmPid } from '../lab/vm.js';
import { bmcPid, findLabBmcs } from '../lab/bmc.js';
import { findLabNtp } from '../lab/ntp.js';
import { run, sleep, waitFor } from '../lab/util.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['node', '--import', 'tsx', 'test/lab/cli.ts'];
const MIN = 60_000;

/** The lab CLI as one process (node + tsx loader, no wrapper that a SIGKILL would miss). */
function labCli(...args: string[]) {
  return run([...CLI, ...args], { cwd: ROOT, allowFail: true, timeoutMs: 10 * MIN });
}

async function expectGone(name: string): Promise<void> {
  expect(await listLabNetns()).not.toContain(netnsName(name));
  expect(await netnsLinks(netnsName(name))).toEqual([]);
  expect(findLabQemus(labDir(name))).toEqual([]);
  expect(findLabBmcs(labDir(name))).toEqual([]);
  expect(findLabNtp(labDir(name))).toEqual([]);
  expect(existsSync(labDir(name))).toBe(false);
  const ps = await run(['ps', '-eo', 'args'], { allowFail: true });
  expect(ps.stdout.split('\n').filter((l) => (l.includes('qemu-system') || l.includes('ipmi_sim')) && l.includes(`${labDir(name)}/`))).toEqual([]);
  // Taps and bridges only ever exist inside the lab's namespace, never in the host's.
  const hostLinks = await run(['ip', '-o', 'link', 'show'], { allowFail: true });
  expect(hostLinks.stdout).not.toMatch(/\d+: (tap\w[mr]|br-mgmt|br-repl|br-bmc)[:@]/);
}

type Lab = ReturnType<typeof readLab>;

/**
 * fence_ipmilan on a node against another node's BMC, its options on stdin (as Pacemaker passes
 * them), so the password is on no command line. Resolves with the agent's exit code, output and time.
 */
async function fence(name: string, from: string, lab: Lab, target: string, action: 'status' | 'on' | 'off', extra: string[] = []) {
  const bmc = lab.nodes.find((n) => n.name === target)!.bmc;
  const options = [
    `ip=${bmc.address}`, `ipport=${bmc.port}`, `username=${bmc.user}`, `password=${readFileSync(bmc.passwordFile, 'utf8').trim()}`,
    'lanplus=1', `cipher=${bmc.cipher}`, `action=${action}`, ...extra,
  ].join('\n') + '\n';
  const t0 = Date.now();
  const r = await sshExec(name, from, 'fence_ipmilan', { input: options, timeoutMs: 3 * MIN });
  return { ...r, ms: Date.now() - t0 };
}

const shared = useLab(SHARED_LAB);

describe('VM lab', () => {
  it('offers two real Debian nodes with BMCs that fence, watchdogs, a witness, NTP and checkpoints', { timeout: 16 * MIN }, async () => {
    const name = SHARED_LAB.name;
    const info = shared.info;
    // `lab ssh 1 -- uname -n` prints hv1; exit codes pass through.
    const uname = await labCli('ssh', '1', '--name', name, '--', 'uname', '-n');
    expect(uname.code, uname.stderr).toBe(0);
    expect(uname.stdout.trim()).toBe('hv1');
    expect((await labCli('ssh', 'hv2', '--name', name, '--', 'exit 7')).code).toBe(7);
    const ex = await labCli('exec', '--name', name, '--', 'ip', '-o', 'addr', 'show', 'br-mgmt');
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
        // the i6300esb watchdog, as sbd would use it
        'test -c /dev/watchdog && echo WATCHDOG $(cat /sys/class/watchdog/watchdog0/identity)',
        // the witness's corosync-qnetd answers on the management network
        `timeout 10 bash -c 'exec 3<>/dev/tcp/${info.witness!.qnetd.address}/${info.witness!.qnetd.port}' && echo QNETD-OK`,
      ].join('\n'));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('DISK-OK');
      expect(r.stdout).toMatch(/^version: 8\.4\.\d+/m);
      expect(r.stdout).toContain('KVM-OK');
      expect(r.stdout).toContain('CARRIER 1 1');
      expect(r.stdout).toContain(`${n.replication.address}/24`);
      expect(r.stdout).toMatch(new RegExp(`^${n.name}$`, 'm'));
      expect(r.stdout).toMatch(/^WATCHDOG i6300ESB timer$/m);
      expect(r.stdout).toContain('QNETD-OK');
    }
    expect((await sshExec(name, 'witness', 'systemctl is-active corosync-qnetd')).stdout.trim()).toBe('active');
    // The lab's time source: chrony on a node, in query mode (the clock untouched), takes the host's
    // NTP server as a source and measures the node's offset from it.
    const ntp = await sshExec(name, 'hv1', `chronyd -Q "server ${info.hostAddress} iburst maxsamples 4" 2>&1`, { timeoutMs: 2 * MIN });
    expect(ntp.stdout, ntp.stderr).toMatch(/System clock wrong by -?\d+\.\d+ seconds \(ignored\)/);
    // The prepared image has the HA stack installed, not configured: its services neither enabled nor running.
    const ha = await sshExec(name, 'hv1', "dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' pacemaker corosync corosync-qdevice resource-agents crmsh; " +
      'systemctl is-enabled corosync pacemaker corosync-qdevice; systemctl is-active corosync pacemaker corosync-qdevice; true');
    for (const p of ['pacemaker', 'corosync', 'corosync-qdevice', 'resource-agents', 'crmsh']) expect(ha.stdout).toMatch(new RegExp(`^${p} ii\\s*$`, 'm'));
    expect(ha.stdout.match(/^disabled$/gm)?.length, ha.stdout).toBe(3);
    expect(ha.stdout.match(/^inactive$/gm)?.length, ha.stdout).toBe(3);

    // Fencing as Pacemaker will do it: from hv1, fence_ipmilan against hv2's BMC.
    const hv2Dir = `${labDir(name)}/hv2`;
    const status1 = await fence(name, 'hv1', info, 'hv2', 'status');
    expect(status1.code, status1.stdout + status1.stderr).toBe(0);
    expect(status1.stdout).toContain('Status: ON');
    const crash = await labCli('crash', 'hv2', '--name', name);
    expect(crash.code, crash.stderr).toBe(0);
    expect(vmPid(hv2Dir)).toBeUndefined();
    const status2 = await fence(name, 'hv1', info, 'hv2', 'status');
    expect(status2.stdout, status2.stderr).toContain('Status: OFF');
    const on = await fence(name, 'hv1', info, 'hv2', 'on');
    expect(on.code, on.stdout + on.stderr).toBe(0);
    expect(vmPid(hv2Dir)).toBeDefined();
    const tBoot = Date.now();
    await waitFor('hv2 back on SSH after fence_ipmilan -o on', async () => (await sshExec(name, 'hv2', 'uname -n', { timeoutMs: 30_000 })).stdout.trim() === 'hv2', { timeoutMs: 5 * MIN, intervalMs: 2000 });
    const bootMs = Date.now() - tBoot;
    // A dead BMC: the VM runs on, fencing it fails; bmc-start brings the BMC back.
    const hv2Bmc = bmcPid(hv2Dir);
    expect((await labCli('bmc-kill', 'hv2', '--name', name)).code).toBe(0);
    expect(bmcPid(hv2Dir)).toBeUndefined();
    expect(vmPid(hv2Dir)).toBeDefined();
    // (short timeouts: the defaults give up on a dead BMC after ~21 s, these after ~6 s)
    const dead = await fence(name, 'hv1', info, 'hv2', 'status', ['login_timeout=2', 'power_timeout=5']);
    expect(dead.code).not.toBe(0);
    expect(dead.stdout).not.toContain('Status: ON');
    expect((await labCli('bmc-start', 'hv2', '--name', name)).code).toBe(0);
    expect(bmcPid(hv2Dir)).not.toBe(hv2Bmc);
    const status3 = await fence(name, 'hv1', info, 'hv2', 'status');
    expect(status3.stdout, status3.stderr).toContain('Status: ON');
    console.log(`[lab] fence_ipmilan from hv1 against hv2's BMC: status ${status1.ms} ms, status after crash ${status2.ms} ms, on ${on.ms} ms (then SSH after ${(bootMs / 1000).toFixed(1)} s), status with the BMC dead ${dead.ms} ms`);

    // A checkpoint of the whole lab: a marker written on hv1 (root and data disk) and a crash of hv2
    // after it are undone by the restore; hv2 comes back from the checkpoint, its BMC reports it on, and
    // every guest's clock is the host's again (not the save time).
    const hv1 = info.nodes[0]!;
    const tCheckpoint = Date.now();
    const tSave = Date.now();
    const save = await labCli('checkpoint', 'save', 'e2e', '--name', name);
    expect(save.code, save.stderr).toBe(0);
    const saveMs = Date.now() - tSave;
    const listed = await labCli('checkpoint', 'list', '--name', name, '--json');
    // (The shared lab also holds the run's own checkpoints, `fresh` at least.)
    const e2e = (text: string) => (JSON.parse(text) as Array<{ tag: string }>).filter((c) => c.tag === 'e2e');
    expect(e2e(listed.stdout)).toMatchObject([{ tag: 'e2e', vms: ['hv1', 'hv2', 'witness'], missing: [] }]);
    const mark = await sshExec(name, 'hv1', `echo after-save > /root/ckpt-marker && printf HVCKPT | dd of=${hv1.dataDisk} conv=fsync status=none && sync && head -c 6 ${hv1.dataDisk}`);
    expect(mark.stdout, mark.stderr).toBe('HVCKPT');
    expect((await labCli('crash', 'hv2', '--name', name)).code).toBe(0);
    expect(vmPid(hv2Dir)).toBeUndefined();
    const tRestore = Date.now();
    const restore = await labCli('checkpoint', 'load', 'e2e', '--name', name, '--json');
    expect(restore.code, restore.stderr).toBe(0);
    const restoreMs = Date.now() - tRestore;
    const restored = JSON.parse(restore.stdout) as { vms: Array<{ vm: string; action: string; ms: number }> };
    expect(restored.vms.map((v) => `${v.vm} ${v.action}`)).toEqual(['hv1 load', 'hv2 start', 'witness load']);
    expect(vmPid(hv2Dir)).toBeDefined();
    const gone = await sshExec(name, 'hv1', `test -e /root/ckpt-marker && echo MARKER; dd if=${hv1.dataDisk} bs=4096 count=1 iflag=direct status=none | head -c 6 | od -An -tx1`);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).not.toContain('MARKER');
    // the data disk (DRBD's, later) is back to what it was: blank
    expect(gone.stdout.trim()).toBe('00 00 00 00 00 00');
    expect((await sshExec(name, 'hv2', 'uname -n')).stdout.trim()).toBe('hv2');
    for (const vm of ['hv1', 'hv2', 'witness']) {
      const before = Date.now();
      const clock = await sshExec(name, vm, 'date +%s.%N');
      const after = Date.now();
      const guestMs = Number(clock.stdout.trim()) * 1000;
      expect(guestMs, `${vm}'s clock`).toBeGreaterThan(before - 2000);
      expect(guestMs, `${vm}'s clock`).toBeLessThan(after + 2000);
    }
    const status4 = await fence(name, 'hv1', info, 'hv2', 'status');
    expect(status4.stdout, status4.stderr).toContain('Status: ON');
    expect((await labCli('checkpoint', 'delete', 'e2e', '--name', name)).code).toBe(0);
    expect(e2e((await labCli('checkpoint', 'list', '--name', name, '--json')).stdout)).toEqual([]);
    console.log(`[lab] checkpoint of 2 nodes + witness: save ${(saveMs / 1000).toFixed(1)} s, restore after a crash of hv2 ${(restoreMs / 1000).toFixed(1)} s (CLI wall time); the checkpoint checks took ${((Date.now() - tCheckpoint) / 1000).toFixed(1)} s in all`);
    // Replication network: hv1 reaches hv2 over ens4.
    const ping = await sshExec(name, 1, `ping -c 2 -W 3 -I ens4 ${info.nodes[1]?.replication.address}`);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    // Offline package cache for the installer.
    const apt = await sshExec(name, 1, 'apt-get install --no-download -s -y drbd-utils qemu-system-x86 libvirt-daemon-system chrony | tail -1');
    expect(apt.code, apt.stderr).toBe(0);
  });

  // (Also the lab's up/down cycle under one name: this lab is down, up, down, up and down again.)
  it('cleans up after an `up` killed while the VMs boot, then comes up fresh', { timeout: 10 * MIN }, async () => {
    const name = 'e2e-kill';
    await labCli('down', '--name', name);
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
    // The BMCs (started before the VMs) outlive it too, each its node's, and nothing else.
    const bmcs = [bmcPid(`${labDir(name)}/hv1`), bmcPid(`${labDir(name)}/hv2`)].sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(bmcs.every((p) => p !== undefined)).toBe(true);
    expect(findLabBmcs(labDir(name)).sort((a, b) => a - b)).toEqual(bmcs);
    expect(await listLabNetns()).toContain(netnsName(name));

    const d = await labCli('down', '--name', name);
    expect(d.code, d.stderr).toBe(0);
    await expectGone(name);

    const u = await labCli('up', '--nodes', '2', '--name', name, '--json');
    expect(u.code, u.stderr).toBe(0);
    const info = JSON.parse(u.stdout) as ReturnType<typeof readLab> & { reused: boolean };
    expect(info.reused).toBe(false);
    expect(info.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2']);
    expect(readLab(name).nodes[1]?.management.address).toBe(info.nodes[1]?.management.address);
    // The BMC password is given by file, never printed.
    const password = readFileSync(info.nodes[0]!.bmc.passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(8);
    expect(u.stdout + u.stderr).not.toContain(password);
    expect((await sshExec(name, 'hv2', 'uname -n')).stdout.trim()).toBe('hv2');
    expect((await labCli('down', '--name', name)).code).toBe(0);
    await expectGone(name);
    // down is idempotent
    expect((await labCli('down', '--name', name)).code).toBe(0);
  });
});
