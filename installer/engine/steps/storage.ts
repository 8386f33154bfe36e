/**
 * The volume group on the data disk. DRBD metadata and data go only onto a disk proven blank right
 * now (no signature, no partition, nothing stacked on it), or one the answer file says to wipe.
 */
import { shellQuote } from '../../ssh/quote.js';
import type { StepContext } from '../context.js';
import { StepRefusedError, type StepKind } from './step.js';

export interface DiskState {
  /** The kernel path the stable path points at. */
  device: string;
  signatures: string[];
  children: string[];
  /** The volume group on it, if any. */
  volumeGroup: string | null;
}

export function diskStateScript(disk: string): string {
  const d = shellQuote(disk);
  return [
    `dev=$(readlink -f ${d}) || exit 3`,
    `[ -b "$dev" ] || { echo "not a block device: $dev" >&2; exit 3; }`,
    'echo "device $dev"',
    'wipefs --no-act --noheadings --output TYPE "$dev" 2>/dev/null | sed "s/^/signature /"',
    'lsblk -n -r -o NAME "$dev" | tail -n +2 | sed "s/^/child /"',
    'pvs --noheadings -o vg_name "$dev" 2>/dev/null | sed "s/^ */vg /"',
    'true',
  ].join('; ');
}

export function parseDiskState(stdout: string): DiskState {
  const state: DiskState = { device: '', signatures: [], children: [], volumeGroup: null };
  for (const line of stdout.split('\n')) {
    const [key, ...rest] = line.trim().split(' ');
    const value = rest.join(' ').trim();
    if (key === 'device') state.device = value;
    else if (key === 'signature' && value) state.signatures.push(value);
    else if (key === 'child' && value) state.children.push(value);
    else if (key === 'vg' && value) state.volumeGroup = value;
  }
  return state;
}

/** Set in the run's shared state when this run created a node's volume group on a blank disk. */
export const freshVolumeGroupKey = (server: string) => `fresh-vg:${server}`;

export const storageStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const { name: vg, disk, wipe } = ctx.node.volumeGroup;
    const result = await ctx.read(`sh -c ${shellQuote(diskStateScript(disk))}`, { allowFailure: true });
    if (result.exitCode !== 0) throw new StepRefusedError(ctx.server, ctx.step, `cannot read the data disk ${disk}: ${result.stderr.trim() || `exit ${result.exitCode}`}`);
    const state = parseDiskState(result.stdout);
    if (state.volumeGroup === vg) return; // already ours
    if (state.volumeGroup !== null) {
      throw new StepRefusedError(ctx.server, ctx.step, `${disk} (${state.device}) belongs to another volume group, ${state.volumeGroup}; nothing was changed`, 'choose another disk in the answer file');
    }
    const inUse = [...state.signatures.map((s) => `signature ${s}`), ...state.children.map((c) => `holds ${c}`)];
    const orphanPv = state.children.length === 0 && state.signatures.length === 1 && state.signatures[0] === 'LVM2_member';
    if (orphanPv) {
      // An LVM physical volume in no volume group holds no data: what an apply interrupted between
      // pvcreate and vgcreate leaves behind.
      await ctx.mutate(`create volume group ${vg} on ${disk} (already an unused LVM physical volume)`, `vgcreate -q ${shellQuote(vg)} ${shellQuote(state.device)}`);
      return;
    }
    if (inUse.length > 0) {
      if (wipe !== true) {
        throw new StepRefusedError(
          ctx.server,
          ctx.step,
          `${disk} (${state.device}) is not blank (${inUse.join(', ')}); nothing was written to it`,
          'choose a blank disk, or set storage.wipe: true for this node to have hvcluster erase it',
        );
      }
      if (state.children.length > 0) {
        throw new StepRefusedError(ctx.server, ctx.step, `${disk} (${state.device}) has ${state.children.join(', ')} on it; hvcluster erases signatures, not partitions in use: remove them first`);
      }
      await ctx.mutate(`erase the signatures on ${disk} (${state.signatures.join(', ')}), as wipe: true allows`, `wipefs -a ${shellQuote(state.device)}`);
    } else {
      ctx.run.shared.set(freshVolumeGroupKey(ctx.server), true);
    }
    await ctx.mutate(`create volume group ${vg} on ${disk}`, `pvcreate -q -y ${shellQuote(state.device)} && vgcreate -q ${shellQuote(vg)} ${shellQuote(state.device)}`);
  },
};
