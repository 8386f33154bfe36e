// Lab checkpoints: QEMU internal snapshots (QMP snapshot-save / snapshot-load, what HMP savevm /
// loadvm do) of every VM of a lab at one instant, so that an e2e file builds a cluster once and runs
// each destructive drill from the same state instead of installing it again.
//
//   save:    QMP `stop` every VM, snapshot-save each (RAM + every disk: the qcow2 system overlay and
//            the qcow2 data disk), `cont` every VM. The BMCs that run are recorded.
//   restore: a VM whose QEMU is gone (crash, BMC power-off) is started again with `-loadvm TAG -S`
//            (paused); a running one gets `stop` + snapshot-load; then `cont` all together. A BMC that
//            ran at save time and is dead now is started again. Then each guest's wall clock (which went
//            back to the save time) is set from the host's over SSH, which also proves SSH answers.
//
// The guests' TCP connections older than the restore are dead (the host side has moved on): the lab's
// SSH helpers open one connection per command, so they need nothing; a client that keeps connections
// (an SSH ControlMaster) must reconnect.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SSH_DEADLINE_MS, labDir, validateName } from './config.js';
import { bmcPid } from './bmc.js';
import { bmcStart, readLab, sshArgv, type LabInfo, type LabSshTarget } from './lab.js';
import { startNtp } from './ntp.js';
import { qmpCommand } from './qmp.js';
import { fmtSecs, log, run, sleep } from './util.js';
import { readVmSpec, startVm, validateTag, vmDisks, vmFiles, vmPid, vmState } from './vm.js';

interface BlockInfo {
  device: string;
  inserted?: { 'node-name': string; image?: { format?: string; snapshots?: Array<{ name: string }> } };
}
interface JobInfo {
  id: string;
  status: string;
  error?: string;
}

/** A VM of the lab as a checkpoint sees it. */
export interface CheckpointVm {
  name: string;
  dir: string;
  state: 'running' | 'paused' | 'stopped';
  /** Snapshot tags present on every disk of the VM. */
  tags: string[];
}

export interface VmTiming {
  vm: string;
  /** load: stop + snapshot-load of a running QEMU; start: a new QEMU with -loadvm (its QEMU was gone). */
  action?: 'load' | 'start';
  ms: number;
  /** The guest clock's offset from the host's after the fix (ms, guest minus host). */
  clockSkewMs?: number;
}

export interface SaveResult {
  tag: string;
  savedAt: string;
  /** Time the VMs were stopped (stop to cont). */
  pausedMs: number;
  totalMs: number;
  vms: VmTiming[];
}

export interface RestoreResult {
  tag: string;
  /** stop/start + load of every VM until `cont`. */
  loadMs: number;
  /** From `cont` until every guest answered SSH with its clock set. */
  sshMs: number;
  totalMs: number;
  vms: VmTiming[];
  bmcsStarted: string[];
}

export interface CheckpointListing {
  tag: string;
  savedAt?: string;
  /** VMs whose every disk has the tag. */
  vms: string[];
  /** VMs of the lab lacking it on some disk: the checkpoint cannot be restored. */
  missing: string[];
}

interface CheckpointMeta {
  tag: string;
  savedAt: string;
  vms: string[];
  bmcs: string[];
}

const metaDir = (lab: string) => join(labDir(lab), 'checkpoints');
const metaPath = (lab: string, tag: string) => join(metaDir(lab), `${tag}.json`);

function readMeta(lab: string, tag: string): CheckpointMeta | undefined {
  try {
    return JSON.parse(readFileSync(metaPath(lab, tag), 'utf8')) as CheckpointMeta;
  } catch {
    return undefined;
  }
}

// ---- pure parts -----------------------------------------------------------------------------------

/** Snapshot tags in `qemu-img info --output=json` of one disk. */
export function snapshotTags(infoJson: string): string[] {
  const info = JSON.parse(infoJson) as { snapshots?: Array<{ name: string }> };
  return (info.snapshots ?? []).map((s) => s.name);
}

/** Tags present on every one of a VM's disks (a VM state saved on the system disk alone is not a checkpoint). */
export function commonTags(perDisk: string[][]): string[] {
  if (perDisk.length === 0) return [];
  return perDisk[0]!.filter((t) => perDisk.every((d) => d.includes(t)));
}

/**
 * What a restore does to each VM: a running (or SIGSTOPped) QEMU loads the snapshot in place, a
 * stopped one is started from it. Refuses, naming them, when some VM lacks the tag.
 */
export function restorePlan(vms: CheckpointVm[], tag: string, lab: string): Array<{ vm: CheckpointVm; action: 'load' | 'start' }> {
  if (vms.length === 0) throw new Error(`lab ${lab} has no VMs`);
  const lacking = vms.filter((v) => !v.tags.includes(tag));
  if (lacking.length > 0) {
    const have = [...new Set(vms.flatMap((v) => v.tags))].sort();
    throw new Error(
      `checkpoint ${tag} of lab ${lab} is missing on ${lacking.map((v) => v.name).join(', ')}; ` +
        `checkpoints: ${have.length ? have.join(', ') : 'none'} (npm run lab -- checkpoint list --name ${lab})`,
    );
  }
  return vms.map((vm) => ({ vm, action: vm.state === 'stopped' ? 'start' : 'load' }));
}

/**
 * Run in the guest over SSH: says "ready", reads the host's epoch (sent only then, so the SSH
 * handshake does not count), sets the clock, prints the new time.
 */
export const CLOCK_SCRIPT = 'echo ready; read -r t && date -u -s "@$t" >/dev/null && date +%s.%N';

// ---- QMP --------------------------------------------------------------------------------------------

/** Node names of the VM's disks, the system disk ("sys", where the VM state goes) first. */
async function blockNodes(qmp: string): Promise<{ vmstate: string; devices: string[]; tags: string[]; anyTags: string[] }> {
  const blocks = (await qmpCommand(qmp, 'query-block')) as BlockInfo[];
  const inserted = blocks.filter((b) => b.inserted);
  const sys = inserted.find((b) => b.device === 'sys');
  if (!sys?.inserted) throw new Error(`${qmp}: no drive "sys"`);
  const nonQcow = inserted.filter((b) => b.inserted?.image?.format && b.inserted.image.format !== 'qcow2');
  if (nonQcow.length > 0) {
    throw new Error(`${qmp}: drive(s) ${nonQcow.map((b) => `${b.device} (${b.inserted?.image?.format})`).join(', ')} cannot hold a snapshot: a lab made before data disks were qcow2; recreate it (up --recreate)`);
  }
  const ordered = [sys, ...inserted.filter((b) => b !== sys)];
  const perDisk = ordered.map((b) => (b.inserted?.image?.snapshots ?? []).map((s) => s.name));
  return {
    vmstate: sys.inserted['node-name'],
    devices: ordered.map((b) => b.inserted!['node-name']),
    tags: commonTags(perDisk),
    anyTags: [...new Set(perDisk.flat())],
  };
}

async function runJob(qmp: string, command: string, args: Record<string, unknown>, timeoutMs = 10 * 60_000): Promise<number> {
  const id = `${command}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const t0 = Date.now();
  await qmpCommand(qmp, command, { 'job-id': id, ...args });
  for (;;) {
    const jobs = (await qmpCommand(qmp, 'query-jobs')) as JobInfo[];
    const job = jobs.find((j) => j.id === id);
    if (job && job.status === 'concluded') {
      await qmpCommand(qmp, 'job-dismiss', { id });
      if (job.error) throw new Error(`${command} on ${qmp}: ${job.error}`);
      return Date.now() - t0;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${command} on ${qmp}: not done after ${fmtSecs(timeoutMs)}`);
    await sleep(50);
  }
}

// ---- the lab's VMs ----------------------------------------------------------------------------------

function labVms(lab: LabInfo): Array<{ target: LabSshTarget; dir: string }> {
  return [...lab.nodes, ...(lab.witness ? [lab.witness] : [])].map((t) => ({ target: t, dir: t.dir }));
}

/** Tags on every disk of a VM, read from the files (works whether its QEMU runs or not: -U shares the lock). */
async function diskTags(dir: string): Promise<string[]> {
  const perDisk: string[][] = [];
  for (const disk of vmDisks(dir)) {
    const r = await run(['qemu-img', 'info', '-U', '--output=json', disk]);
    perDisk.push(snapshotTags(r.stdout));
  }
  return commonTags(perDisk);
}

async function describeVms(lab: LabInfo): Promise<Array<CheckpointVm & { target: LabSshTarget }>> {
  const out: Array<CheckpointVm & { target: LabSshTarget }> = [];
  for (const { target, dir } of labVms(lab)) {
    out.push({ name: target.name, dir, state: vmState(dir), tags: await diskTags(dir), target });
  }
  return out;
}

/** Continues every given QEMU (best effort: used on the way out of a failure, too). */
async function contAll(dirs: string[]): Promise<void> {
  await Promise.allSettled(dirs.map((d) => qmpCommand(vmFiles(d).qmp, 'cont')));
}

/**
 * Stops every running VM of the lab where it is (QMP `stop`: no CPU used, RAM kept; not SIGSTOP, so
 * QMP still answers and a restore works from here): a lab kept for later, idle meanwhile.
 */
export async function pauseLab(name: string): Promise<string[]> {
  validateName(name);
  const paused: string[] = [];
  for (const { target, dir } of labVms(readLab(name))) {
    const pid = vmPid(dir);
    if (!pid) continue;
    process.kill(pid, 'SIGCONT');
    await qmpCommand(vmFiles(dir).qmp, 'stop');
    paused.push(target.name);
  }
  return paused;
}

// ---- save / restore / list / delete -----------------------------------------------------------------

/** Saves checkpoint TAG of every VM of the lab at one instant (replaces an older one of that tag). */
export async function saveCheckpoint(name: string, tag: string): Promise<SaveResult> {
  const t0 = Date.now();
  validateName(name);
  validateTag(tag);
  const lab = readLab(name);
  const vms = labVms(lab);
  for (const { target, dir } of vms) {
    const st = vmState(dir);
    if (st === 'stopped') throw new Error(`${target.name} of lab ${name} is not running: a checkpoint holds every VM of the lab (npm run lab -- start ${target.name} --name ${name})`);
    if (st === 'paused') throw new Error(`${target.name} of lab ${name} is paused (SIGSTOP): resume it first (npm run lab -- resume ${target.name} --name ${name})`);
  }
  const nodes = await Promise.all(vms.map(async (v) => ({ ...v, block: await blockNodes(vmFiles(v.dir).qmp) })));
  // snapshot-save refuses an existing tag: drop the old one first (while the VMs run).
  await Promise.all(nodes.filter((v) => v.block.anyTags.includes(tag)).map((v) => runJob(vmFiles(v.dir).qmp, 'snapshot-delete', { tag, devices: v.block.devices })));
  const tStop = Date.now();
  const timings: VmTiming[] = [];
  try {
    await Promise.all(nodes.map((v) => qmpCommand(vmFiles(v.dir).qmp, 'stop')));
    const ms = await Promise.all(nodes.map((v) => runJob(vmFiles(v.dir).qmp, 'snapshot-save', { tag, vmstate: v.block.vmstate, devices: v.block.devices })));
    nodes.forEach((v, k) => timings.push({ vm: v.target.name, ms: ms[k]! }));
  } finally {
    await contAll(nodes.map((v) => v.dir));
  }
  const pausedMs = Date.now() - tStop;
  const savedAt = new Date(tStop).toISOString();
  const meta: CheckpointMeta = {
    tag, savedAt, vms: nodes.map((v) => v.target.name),
    bmcs: lab.nodes.filter((n) => bmcPid(n.dir)).map((n) => n.name),
  };
  mkdirSync(metaDir(name), { recursive: true });
  writeFileSync(metaPath(name, tag), JSON.stringify(meta, null, 2) + '\n');
  const totalMs = Date.now() - t0;
  log(`checkpoint ${tag} of lab ${name} saved: VMs stopped ${fmtSecs(pausedMs)} (${timings.map((t) => `${t.vm} ${fmtSecs(t.ms)}`).join(', ')}), total ${fmtSecs(totalMs)}`);
  return { tag, savedAt, pausedMs, totalMs, vms: timings };
}

/**
 * Sets a guest's wall clock from the host's over SSH, retrying until the deadline (the guest may still
 * be resuming). Resolves with the guest's offset from the host right after (ms).
 */
export async function syncGuestClock(lab: LabInfo, target: LabSshTarget, deadline: number): Promise<number> {
  let last = '';
  for (;;) {
    const r = await clockOnce(lab, target, Math.max(5_000, Math.min(30_000, deadline - Date.now())));
    if (r.ok) return r.skewMs;
    last = r.error;
    if (Date.now() > deadline) throw new Error(`${target.name}: could not set its clock over SSH after the restore: ${last || 'no answer'}`);
    await sleep(500);
  }
}

function clockOnce(lab: LabInfo, target: LabSshTarget, timeoutMs: number): Promise<{ ok: true; skewMs: number } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = sshArgv(lab, target, [CLOCK_SCRIPT]);
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdin.on('error', () => {});
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes('ready\n')) {
        sent = true;
        child.stdin.end(`${(Date.now() / 1000).toFixed(3)}\n`);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const now = Date.now();
      const m = /ready\n\s*(\d+(?:\.\d+)?)\s*$/.exec(out);
      if (code === 0 && m) resolve({ ok: true, skewMs: Math.round(Number(m[1]) * 1000 - now) });
      else resolve({ ok: false, error: `exit ${code}: ${(err || out).trim().split('\n').slice(-2).join(' ')}` });
    });
  });
}

/**
 * Brings every VM of the lab back to checkpoint TAG at one instant, restarts the BMCs that ran then,
 * sets the guests' clocks and waits until every VM answers SSH (deadline: sshDeadlineMs).
 */
export async function restoreCheckpoint(name: string, tag: string, opts: { sshDeadlineMs?: number } = {}): Promise<RestoreResult> {
  const t0 = Date.now();
  validateName(name);
  validateTag(tag);
  const lab = readLab(name);
  const described = await describeVms(lab);
  const plan = restorePlan(described, tag, name);
  const timings = new Map<string, VmTiming>();
  const dirs = plan.map((p) => p.vm.dir);
  try {
    // Every running QEMU stops first (a SIGSTOPped one is continued so that QMP answers, then stopped).
    await Promise.all(plan.filter((p) => p.action === 'load').map(async ({ vm }) => {
      const pid = vmPid(vm.dir);
      if (pid) process.kill(pid, 'SIGCONT');
      await qmpCommand(vmFiles(vm.dir).qmp, 'stop');
    }));
    // QEMUs that are gone start paused from the snapshot (one after the other: each loads its RAM).
    for (const { vm } of plan.filter((p) => p.action === 'start')) {
      const t = Date.now();
      rmSync(vmFiles(vm.dir).pidfile, { force: true });
      await startVm(readVmSpec(vm.dir), { loadvm: tag });
      timings.set(vm.name, { vm: vm.name, action: 'start', ms: Date.now() - t });
    }
    await Promise.all(plan.filter((p) => p.action === 'load').map(async ({ vm }) => {
      const block = await blockNodes(vmFiles(vm.dir).qmp);
      const ms = await runJob(vmFiles(vm.dir).qmp, 'snapshot-load', { tag, vmstate: block.vmstate, devices: block.devices });
      timings.set(vm.name, { vm: vm.name, action: 'load', ms });
    }));
  } catch (e) {
    await contAll(dirs.filter((d) => vmPid(d)));
    throw e;
  }
  await Promise.all(dirs.map((d) => qmpCommand(vmFiles(d).qmp, 'cont')));
  const tCont = Date.now();
  const loadMs = tCont - t0;
  // The BMCs are host processes, outside the snapshot: one that ran at save time runs again.
  const bmcsStarted: string[] = [];
  for (const node of readMeta(name, tag)?.bmcs ?? lab.nodes.map((n) => n.name)) {
    const n = lab.nodes.find((x) => x.name === node);
    if (n && !bmcPid(n.dir)) {
      await bmcStart(name, n.name);
      bmcsStarted.push(n.name);
    }
  }
  // So does the lab's time source (a lab from before it existed gets one).
  await startNtp(lab.dir, lab.netns, lab.hostAddress);
  const deadline = Date.now() + (opts.sshDeadlineMs ?? SSH_DEADLINE_MS);
  const skews = await Promise.all(described.map((v) => syncGuestClock(lab, v.target, deadline)));
  described.forEach((v, k) => {
    const t = timings.get(v.name);
    if (t) t.clockSkewMs = skews[k];
  });
  const sshMs = Date.now() - tCont;
  const totalMs = Date.now() - t0;
  const vms = described.map((v) => timings.get(v.name)!);
  log(`checkpoint ${tag} of lab ${name} restored: ${vms.map((t) => `${t.vm} ${t.action} ${fmtSecs(t.ms)}`).join(', ')}; ` +
    `VMs stopped ${fmtSecs(loadMs)}, clocks set and SSH after ${fmtSecs(sshMs)}${bmcsStarted.length ? `, BMC(s) restarted: ${bmcsStarted.join(', ')}` : ''}; total ${fmtSecs(totalMs)}`);
  return { tag, loadMs, sshMs, totalMs, vms, bmcsStarted };
}

/** The lab's checkpoints: every tag found on some VM, with the VMs that have it on every disk. */
export async function listCheckpoints(name: string): Promise<CheckpointListing[]> {
  validateName(name);
  const lab = readLab(name);
  const vms = await describeVms(lab);
  const tags = new Set(vms.flatMap((v) => v.tags));
  if (existsSync(metaDir(name))) for (const f of readdirSync(metaDir(name))) if (f.endsWith('.json')) tags.add(f.slice(0, -5));
  return [...tags].sort().map((tag) => ({
    tag,
    savedAt: readMeta(name, tag)?.savedAt,
    vms: vms.filter((v) => v.tags.includes(tag)).map((v) => v.name),
    missing: vms.filter((v) => !v.tags.includes(tag)).map((v) => v.name),
  }));
}

/** Deletes checkpoint TAG from every VM (through QMP where the QEMU runs, qemu-img where it does not). */
export async function deleteCheckpoint(name: string, tag: string): Promise<{ tag: string; vms: string[] }> {
  validateName(name);
  validateTag(tag);
  const lab = readLab(name);
  const done: string[] = [];
  for (const { target, dir } of labVms(lab)) {
    const pid = vmPid(dir);
    if (pid) {
      process.kill(pid, 'SIGCONT');
      const block = await blockNodes(vmFiles(dir).qmp);
      if (!block.anyTags.includes(tag)) continue;
      // QEMU skips the disks that lack the tag.
      await runJob(vmFiles(dir).qmp, 'snapshot-delete', { tag, devices: block.devices });
      done.push(target.name);
    } else {
      let any = false;
      for (const disk of vmDisks(dir)) {
        const info = await run(['qemu-img', 'info', '-U', '--output=json', disk]);
        if (!snapshotTags(info.stdout).includes(tag)) continue;
        await run(['qemu-img', 'snapshot', '-d', tag, disk]);
        any = true;
      }
      if (any) done.push(target.name);
    }
  }
  rmSync(metaPath(name, tag), { force: true });
  return { tag, vms: done };
}
