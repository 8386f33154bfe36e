// Lab checkpoints, a prototype: QEMU internal snapshots (QMP snapshot-save / snapshot-load, what
// HMP savevm / loadvm do) of a running lab's VMs, to measure what restoring a built lab would cost
// instead of building it again. Only the qcow2 system disk (and the VM state, stored in it) is
// included: the raw data disks do not support internal snapshots, so a real checkpoint needs them
// as qcow2 too (or external copies) before the state of DRBD on them can be restored.
//
//   tsx test/lab/checkpoint.ts measure [--name lab]   save, load and delete a snapshot of every VM; prints timings
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NAME, labDir, validateName } from './config.js';
import { qmpCommand } from './qmp.js';
import { fmtSecs, sleep } from './util.js';
import { vmFiles, vmPid } from './vm.js';

interface BlockInfo {
  device: string;
  inserted?: { 'node-name': string; image?: { format?: string } };
}
interface JobInfo {
  id: string;
  status: string;
  error?: string;
}

/** The node name of the VM's system disk (the drive "sys", qcow2): where the VM state goes. */
async function systemNode(qmp: string): Promise<string> {
  const blocks = (await qmpCommand(qmp, 'query-block')) as BlockInfo[];
  const sys = blocks.find((b) => b.device === 'sys');
  if (!sys?.inserted) throw new Error(`${qmp}: no drive "sys"`);
  return sys.inserted['node-name'];
}

async function runJob(qmp: string, command: string, args: Record<string, unknown>, timeoutMs = 10 * 60_000): Promise<number> {
  const id = `${command}-${Date.now()}`;
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
    await sleep(100);
  }
}

export async function saveVm(dir: string, tag: string): Promise<number> {
  const qmp = vmFiles(dir).qmp;
  const node = await systemNode(qmp);
  return runJob(qmp, 'snapshot-save', { tag, vmstate: node, devices: [node] });
}

export async function loadVm(dir: string, tag: string): Promise<number> {
  const qmp = vmFiles(dir).qmp;
  const node = await systemNode(qmp);
  return runJob(qmp, 'snapshot-load', { tag, vmstate: node, devices: [node] });
}

export async function deleteVmSnapshot(dir: string, tag: string): Promise<number> {
  const qmp = vmFiles(dir).qmp;
  const node = await systemNode(qmp);
  return runJob(qmp, 'snapshot-delete', { tag, devices: [node] });
}

/** Saves, loads and deletes one snapshot of each running VM of the lab, one VM after the other. */
export async function measure(name: string): Promise<Array<{ vm: string; saveMs: number; loadMs: number; deleteMs: number }>> {
  const dir = labDir(validateName(name));
  const tag = `measure-${Date.now()}`;
  const out: Array<{ vm: string; saveMs: number; loadMs: number; deleteMs: number }> = [];
  for (const vm of readdirSync(dir).filter((e) => /^(hv\d+|witness)$/.test(e)).sort()) {
    const vd = join(dir, vm);
    if (!vmPid(vd)) continue;
    const saveMs = await saveVm(vd, tag);
    const loadMs = await loadVm(vd, tag);
    const deleteMs = await deleteVmSnapshot(vd, tag);
    out.push({ vm, saveMs, loadMs, deleteMs });
    process.stderr.write(`[lab] ${vm}: snapshot-save ${fmtSecs(saveMs)}, snapshot-load ${fmtSecs(loadMs)}, snapshot-delete ${fmtSecs(deleteMs)}\n`);
  }
  return out;
}

if (process.argv[1] && /checkpoint\.ts$/.test(process.argv[1])) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--name');
  const name = i >= 0 ? (args[i + 1] ?? DEFAULT_NAME) : DEFAULT_NAME;
  if (args[0] !== 'measure') {
    process.stderr.write('usage: tsx test/lab/checkpoint.ts measure [--name lab]\n');
    process.exitCode = 2;
  } else {
    measure(name).then(
      (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
      (e: unknown) => {
        process.stderr.write(`checkpoint: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
