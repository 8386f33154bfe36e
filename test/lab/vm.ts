// One QEMU process per node, started inside the lab's namespace, tracked by its PID file.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  WITNESS_NAME, WITNESS_OCTET, bmcSubnet, dataSerial, hostAddr, macAddr, mgmtAddr, nodeName, replAddr, tapName, witnessAddr,
} from './config.js';
import { pidAlive, pidCmdline, processesIn, readPidFile, run, sleep } from './util.js';

export interface VmSpec {
  lab: string;
  index: number;
  /** The node's number, or the witness (management NIC only, no data disk). */
  node: number | 'witness';
  netns: string;
  dir: string; // the node's directory
  memoryMb: number;
  kernel: string;
  initrd: string;
}

export const vmFiles = (dir: string) => ({
  system: join(dir, 'system.qcow2'),
  /** qcow2 (not raw) so that QEMU internal snapshots (lab checkpoints) cover it with the system disk. */
  data: join(dir, 'data.qcow2'),
  console: join(dir, 'console.log'),
  pidfile: join(dir, 'qemu.pid'),
  qmp: join(dir, 'qmp.sock'),
  /** The VmSpec of the last start: what the BMC's power-on starts again. */
  spec: join(dir, 'vm.json'),
});

export function vmName(node: VmSpec['node']): string {
  return node === 'witness' ? WITNESS_NAME : nodeName(node);
}

export interface StartOptions {
  /**
   * Start from this internal snapshot (QEMU's -loadvm) and stay paused (-S) until a QMP `cont`:
   * how a lab checkpoint brings back a VM whose QEMU is gone, at the same instant as the others.
   */
  loadvm?: string;
}

/** A snapshot tag QEMU and the lab accept: letters, digits, '.', '_', '-' (it lands on command lines and in qemu-img). */
export function validateTag(tag: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(tag)) throw new Error(`checkpoint tag "${tag}" is invalid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return tag;
}

export function qemuArgv(s: VmSpec, opts: StartOptions = {}): string[] {
  const f = vmFiles(s.dir);
  const name = vmName(s.node);
  const common = [
    'console=ttyS0', 'root=/dev/vda', 'rw', 'net.ifnames=1', `hvlab.hostname=${name}`,
  ];
  const watchdog = ['-device', 'i6300esb,addr=8', '-action', 'watchdog=reset'];
  const tail = [
    '-device', 'virtio-rng-pci,addr=7',
    '-serial', `file:${f.console}`, '-monitor', 'none',
    '-qmp', `unix:${f.qmp},server=on,wait=off`,
    '-pidfile', f.pidfile, '-daemonize',
    ...(opts.loadvm !== undefined ? ['-loadvm', validateTag(opts.loadvm), '-S'] : []),
  ];
  // Machine, kernel and system disk: the same for nodes and the witness.
  const head = (append: string) => [
    'qemu-system-x86_64',
    '-name', `hvlab-${s.lab}-${name}`,
    '-machine', 'pc', '-accel', 'tcg', '-m', String(s.memoryMb), '-smp', '1',
    '-nodefaults', '-vga', 'none', '-display', 'none',
    '-kernel', s.kernel, '-initrd', s.initrd, '-append', append,
    '-drive', `file=${f.system},if=none,id=sys,format=qcow2`,
    '-device', 'virtio-blk-pci,drive=sys,addr=5',
  ];
  if (s.node === 'witness') {
    const append = [...common, `hvlab.mgmt=${witnessAddr(s.index)}/24`].join(' ');
    return [
      ...head(append),
      '-netdev', `tap,id=nm,ifname=${tapName('w', 'm')},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=nm,mac=${macAddr(s.index, WITNESS_OCTET, 'm')},addr=3`,
      ...watchdog,
      ...tail,
    ];
  }
  const append = [
    ...common, `hvlab.mgmt=${mgmtAddr(s.index, s.node)}/24`, `hvlab.repl=${replAddr(s.index, s.node)}/24`,
    `hvlab.bmcnet=${bmcSubnet(s.index)}`, `hvlab.bmcvia=${hostAddr(s.index)}`,
  ].join(' ');
  return [
    ...head(append),
    '-drive', `file=${f.data},if=none,id=data,format=qcow2`,
    '-device', `virtio-blk-pci,drive=data,serial=${dataSerial(s.lab, s.node)},addr=6`,
    '-netdev', `tap,id=nm,ifname=${tapName(s.node, 'm')},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=nm,mac=${macAddr(s.index, s.node, 'm')},addr=3`,
    '-netdev', `tap,id=nr,ifname=${tapName(s.node, 'r')},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=nr,mac=${macAddr(s.index, s.node, 'r')},addr=4`,
    ...watchdog,
    ...tail,
  ];
}

/**
 * Creates the node's system overlay and blank data disk (if missing; dataBytes 0: no data disk). The
 * data disk is a fresh qcow2 (reads zeroes like a blank raw file) so that checkpoints can snapshot it.
 */
export async function createDisks(dir: string, baseDisk: string, dataBytes: number): Promise<void> {
  const f = vmFiles(dir);
  if (!existsSync(f.system)) await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', baseDisk, '-F', 'qcow2', f.system]);
  if (dataBytes > 0 && !existsSync(f.data)) await run(['qemu-img', 'create', '-q', '-f', 'qcow2', f.data, String(dataBytes)]);
}

/** The VM's disk files that exist (system, then data): what a checkpoint covers. */
export function vmDisks(dir: string): string[] {
  const f = vmFiles(dir);
  return [f.system, f.data].filter((p) => existsSync(p));
}

/**
 * Starts the VM (qemu daemonizes once the machine is set up) and returns its PID. Records the spec in
 * vm.json (without opts: a later power-on by the BMC boots the disks, it does not load a checkpoint).
 */
export async function startVm(s: VmSpec, opts: StartOptions = {}): Promise<number> {
  const running = vmPid(s.dir);
  if (running) return running;
  writeFileSync(vmFiles(s.dir).spec, JSON.stringify(s, null, 2) + '\n');
  await run(['ip', 'netns', 'exec', s.netns, ...qemuArgv(s, opts)]);
  const pid = vmPid(s.dir);
  if (!pid) throw new Error(`qemu for ${vmName(s.node)} did not leave a live PID in ${vmFiles(s.dir).pidfile}`);
  return pid;
}

/** The spec the VM in this directory was last started with (vm.json). */
export function readVmSpec(dir: string): VmSpec {
  const p = vmFiles(dir).spec;
  if (!existsSync(p)) throw new Error(`${p} is missing: the lab never started a VM in ${dir}`);
  return JSON.parse(readFileSync(p, 'utf8')) as VmSpec;
}

/** True if this PID is the QEMU the lab started for this node directory (cmdline names our pidfile). */
export function isOurQemu(pid: number, dir: string): boolean {
  const argv = pidCmdline(pid);
  const i = argv.indexOf('-pidfile');
  return i >= 0 && argv[i + 1] === vmFiles(dir).pidfile && (argv[0] ?? '').includes('qemu-system');
}

/** The node's running QEMU PID, verified, or undefined. */
export function vmPid(dir: string): number | undefined {
  const pid = readPidFile(vmFiles(dir).pidfile);
  if (pid && pidAlive(pid) && isOurQemu(pid, dir)) return pid;
  return undefined;
}

/** QEMU processes whose -pidfile lies in this lab directory (covers a pidfile lost to a crash). */
export function findLabQemus(labDir: string): number[] {
  return processesIn(labDir, 'qemu-system', '-pidfile');
}

export async function killAndWait(pid: number, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
      if (Date.now() > deadline + 5000) throw new Error(`PID ${pid} does not exit`);
    }
    await sleep(100);
  }
}

/** Stops the node's VM if it runs (verified PID). A paused (SIGSTOPped) VM is continued first. */
export async function stopVm(dir: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = vmPid(dir);
  if (!pid) return false;
  try {
    process.kill(pid, 'SIGCONT');
  } catch {}
  await killAndWait(pid, signal);
  return true;
}

export function signalVm(dir: string, signal: NodeJS.Signals): number {
  const pid = vmPid(dir);
  if (!pid) throw new Error(`no running VM in ${dir}`);
  process.kill(pid, signal);
  return pid;
}

/** Process state letter from /proc (T = stopped by SIGSTOP). */
export function vmState(dir: string): 'running' | 'paused' | 'stopped' {
  const pid = vmPid(dir);
  if (!pid) return 'stopped';
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return st === 'T' || st === 't' ? 'paused' : 'running';
  } catch {
    return 'stopped';
  }
}
