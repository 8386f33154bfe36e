/**
 * Snapshots with RAM (`snapshot create --ram`, issue 18): the guest saved with `virsh save` into a
 * file beside its snapshot (RAM_DIR/GUEST/NAME.ram on its node), its disks snapshotted while it is
 * stopped, then restored from the file (`virsh restore`), whatever happened; a rollback resumes it
 * from that file. No libvirt snapshot object. What runs on the node is installer/remote/snapshot.sh;
 * here its arguments (pure) and the two sequences that must end with the guest running or with an
 * error saying where its state is and the command that restores it.
 */
import { RemoteCommandError } from '../errors.js';
import type { Host } from '../engine/host.js';
import { parseCreateOutput, parseRestore, type CreateOutcome } from './outcome.js';
import type { SnapshotCreate } from './plan.js';

/** What the sequences need of a node: its name and one-command changes. */
export type RamHost = Pick<Host, 'server' | 'mutate'>;

/** How long a save or a restore may take: 5 minutes, plus 40 ms per MiB of memory (two passes at 50 MiB/s). */
export const ramTimeoutMs = (memoryMiB: number) => 300_000 + Math.ceil(memoryMiB / 25) * 1000;

/** snapshot.sh's arguments for a create: the RAM file and the room it needs with --ram, the freeze's seconds without (0: none). Pure. */
export function createArgs(vg: string, plan: Pick<SnapshotCreate, 'guest' | 'name' | 'stamp' | 'running' | 'resources' | 'size' | 'ram'>, freezeS: number): string[] {
  const size = plan.size.kind === 'full' ? 'full' : String(plan.size.percent);
  const freeze = plan.running && !plan.ram ? freezeS : 0;
  return ['create', ...(plan.ram ? ['--ram', plan.ram.file, String(plan.ram.needBytes)] : []), vg, plan.guest, plan.name, plan.stamp, String(freeze), size, ...plan.resources];
}

/** snapshot.sh's arguments that restore `guest` from `file` unless it runs. Pure. */
export const restoreArgs = (guest: string, file: string) => ['restore', guest, file];

/** snapshot.sh's arguments that remove a snapshot's LVs, and its RAM file when it has one. Pure. */
export const removeArgs = (vg: string, lvs: readonly string[], ramFile: string | null) => ['remove', ...(ramFile ? ['--ram', ramFile] : []), vg, ...lvs];

/** What a failed command said (its stderr), else the error's message. */
const reasonOf = (error: unknown) => (error instanceof RemoteCommandError ? error.result.stderr.trim() || error.message : error instanceof Error ? error.message : String(error));

/** The guest stays stopped with its state in `file` on `node`: the error says where, and the command that resumes it. Pure. */
export function stoppedWithRam(node: string, guest: string, file: string, reason: string, context: string): RemoteCommandError {
  return new RemoteCommandError(node, `virsh restore ${file}`, { exitCode: 1, stdout: '', stderr: reason }, {
    reason: `failed: guest ${guest} is stopped, its RAM and device state are in ${file} on ${node} (${context})`,
    hint: `resume it from there on ${node}, as root: \`virsh restore ${file}\``,
  });
}

/**
 * `snapshot create --ram` on the guest's node: one snapshot.sh create, which saves the guest, takes
 * the snapshots and restores the guest in its exit trap. When it did not end normally (killed, the
 * connection lost, its timeout), the guest is restored from here (`snapshot.sh restore`: nothing
 * done when it runs; it waits for a create still running there). A restore that fails is an error
 * naming the file and the command to run.
 */
export async function createWithRam(host: RamHost, description: string, vg: string, plan: SnapshotCreate): Promise<CreateOutcome> {
  const ram = plan.ram!;
  const timeoutMs = 2 * ramTimeoutMs(ram.memoryMiB);
  let stdout: string;
  try {
    stdout = (await host.mutate(description, { script: 'snapshot.sh', args: createArgs(vg, plan, 0) }, { timeoutMs }))!.stdout;
  } catch (error) {
    let restored: 'ok' | 'running' | 'none';
    try {
      const r = await host.mutate(`make sure guest ${plan.guest} runs on ${host.server} (restored from ${ram.file} unless it does: snapshot ${plan.name} failed)`, { script: 'snapshot.sh', args: restoreArgs(plan.guest, ram.file) }, { timeoutMs: ramTimeoutMs(ram.memoryMiB) + 900_000 });
      restored = parseRestore(r!.stdout);
    } catch (restoreError) {
      throw stoppedWithRam(host.server, plan.guest, ram.file, reasonOf(restoreError), `snapshot ${plan.name} failed: ${reasonOf(error)}`);
    }
    if (restored === 'none') {
      throw new RemoteCommandError(host.server, `snapshot.sh ${createArgs(vg, plan, 0).join(' ')}`, { exitCode: 1, stdout: '', stderr: reasonOf(error) }, {
        reason: `failed, and guest ${plan.guest} does not run on ${host.server}: no RAM file (${ram.file}) was left to resume it from`,
        hint: `start it: \`hvcluster guest start ${plan.guest}\``,
      });
    }
    throw error;
  }
  const outcome = parseCreateOutput(stdout);
  if (outcome.ram?.restore.result === 'failed') throw stoppedWithRam(host.server, plan.guest, ram.file, outcome.ram.restore.reason, `snapshot ${plan.name} itself was taken`);
  return outcome;
}

/**
 * A rollback's resume: the guest restored from the snapshot's RAM file on the node holding it (its
 * disks Primary there, written back). A failure says why a saved state may not restore any more
 * (the guest's definition changed since) and how to roll back without it.
 */
export async function resumeFromRam(host: RamHost, guest: string, name: string, file: string, memoryMiB: number): Promise<void> {
  const noRam = `roll back its disks only, the guest started cold: \`hvcluster snapshot rollback ${guest} ${name} --yes --no-ram\``;
  let result: 'ok' | 'running' | 'none';
  try {
    const r = await host.mutate(`resume guest ${guest} on ${host.server} from the RAM of snapshot ${name} (virsh restore ${file})`, { script: 'snapshot.sh', args: restoreArgs(guest, file) }, { timeoutMs: ramTimeoutMs(memoryMiB) + 900_000 });
    result = parseRestore(r!.stdout);
  } catch (error) {
    throw new RemoteCommandError(host.server, `virsh restore ${file}`, { exitCode: 1, stdout: '', stderr: reasonOf(error) }, {
      reason: `failed: guest ${guest} is stopped, its disks are back at snapshot ${name} on every replica, but its RAM did not restore (a saved state restores only into the machine it was saved from: the guest's definition, its memory size or devices, may have changed since)`,
      hint: noRam,
    });
  }
  if (result === 'none') {
    throw new RemoteCommandError(host.server, `virsh restore ${file}`, { exitCode: 1, stdout: '', stderr: `${file} does not exist` }, { reason: `failed: guest ${guest} is stopped, its disks are back at snapshot ${name}, but its RAM file is gone`, hint: noRam });
  }
}
