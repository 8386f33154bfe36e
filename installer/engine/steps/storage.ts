/**
 * The volume group on the data disk. The verdict is preflight's (facts/disk-verdict.ts), made again
 * from the disk as installer/remote/disk-claim.sh reads it now; the write is that same script, which
 * reads the disk once more and writes only if it finds exactly the state the verdict was made on
 * (its fingerprint), in one root command. No `pvcreate -y`: vgcreate -qq makes the physical volume and
 * the group in one command and answers no to any prompt, so an interruption leaves no bare physical
 * volume behind, and a signature that appeared in between fails the command instead of being wiped.
 */
import { diskVerdict, claimVerdict, refusalText, type ClaimInput, type ClaimVerdict, type ZeroCheck } from '../../facts/disk-verdict.js';
import type { BlockChild, DiskSignature } from '../../facts/types.js';
import type { ScriptAction } from '../change.js';
import { changeOf, readValue, StepRefusedError, type StepKind, type StepPlan } from './step.js';

/** disk-claim.sh's exit codes (see its header). */
export const CLAIM_EXIT = { ok: 0, usage: 2, notBlockDevice: 3, refused: 4, writeFailed: 5 } as const;

export interface ClaimOutput {
  /** The disk as the script read it, in the verdict's terms. */
  input: ClaimInput;
  fingerprint: string | null;
  /** The state differed from the fingerprint given: nothing was written. */
  changed: boolean;
  /** The script's own last check refused the write (`refused WHY`): nothing was written. */
  refused: string | null;
  claimed: boolean;
}

/** What disk-claim.sh printed. Pure. */
export function parseClaimOutput(stdout: string): ClaimOutput {
  const input: ClaimInput = {
    device: '',
    sizeBytes: 0,
    readOnly: false,
    partitionTable: null,
    fstype: null,
    signatures: [],
    signatureProblem: null,
    mountpoints: [],
    children: [],
    holders: [],
    head: 'unreadable',
    tail: 'unreadable',
    pv: null,
  };
  const out: ClaimOutput = { input, fingerprint: null, changed: false, refused: null, claimed: false };
  const signatures: DiskSignature[] = [];
  const children = new Map<string, BlockChild>();
  const mounts: [string, string][] = [];
  const zero = (v: string | undefined): ZeroCheck => (v === 'zero' || v === 'nonzero' || v === 'skipped' ? v : 'unreadable');
  for (const line of stdout.split('\n')) {
    const [key = '', ...words] = line.trim().split(/\s+/);
    const rest = line.trim().slice(key.length).trim();
    if (key === 'device') input.device = rest;
    else if (key === 'size') input.sizeBytes = Number(rest) || 0;
    else if (key === 'ro') input.readOnly = rest === '1';
    else if (key === 'signature' && words[0]) signatures.push({ type: words[0], offset: words[1] ?? '?', usage: null, uuid: null, label: null });
    else if (key === 'wipefs-error') input.signatureProblem = `wipefs: ${rest}`;
    else if (key === 'part' && words[0]) children.set(words[0], child(words[0], 'part'));
    else if (key === 'holder' && words[0]) {
      children.set(words[0], child(words[0], words[1] ?? 'unknown'));
      input.holders.push(words[0]);
    } else if (key === 'mount' && words[0] && words.length > 1) mounts.push([words[0], words.slice(1).join(' ')]);
    else if (key === 'lvm') input.pv = words[0] === 'orphan' ? { volumeGroup: null } : words[0] === 'vg' && words[1] ? { volumeGroup: words[1] } : null;
    else if (key === 'head') input.head = zero(words[0]);
    else if (key === 'tail') input.tail = zero(words[0]);
    else if (key === 'fingerprint') out.fingerprint = words[0] ?? null;
    else if (key === 'changed') out.changed = true;
    else if (key === 'refused') out.refused = rest;
    else if (key === 'claimed') out.claimed = true;
  }
  input.signatures = input.signatureProblem ? null : signatures;
  const diskName = input.device.split('/').pop();
  for (const [name, point] of mounts) {
    if (name === diskName) input.mountpoints.push(point);
    else children.get(name)?.mountpoints.push(point);
  }
  input.children = [...children.values()];
  return out;
}

function child(name: string, type: string): BlockChild {
  return { name, path: `/dev/${name}`, type, sizeBytes: 0, fstype: null, mountpoints: [], children: [] };
}

/** The disk-claim.sh run of an action. Pure. */
export function claimAction(disk: string, vg: string, action: 'probe' | 'create' | 'wipe', fingerprint?: string): ScriptAction {
  return { script: 'disk-claim.sh', args: [disk, vg, action, ...(fingerprint ? [fingerprint] : [])], timeoutMs: 120_000 };
}

interface StoragePlan extends StepPlan {
  /** What the verdict was made on (to say what changed when the write refuses). */
  seen?: ClaimOutput;
  create: boolean;
}

export const storageStep: StepKind<StoragePlan> = {
  scope: 'node',
  reads: ['diskClaim'],
  produces: ['fresh-volume-group'],
  plan(input) {
    const { name: vg, disk, wipe } = input.self.node.volumeGroup;
    const seen = readValue(input, input.self, 'diskClaim');
    const verdict = claimVerdict(seen.input, { volumeGroup: vg, wipe: wipe === true });
    const device = seen.input.device;
    if (verdict.kind === 'ours') return { changes: [], create: false };
    if (verdict.kind === 'refused') {
      throw new StepRefusedError(input.self.node.name, input.step.name, `${refusalText(`${disk} (${device})`, input.self.node.name, verdict)}; nothing was written to it`);
    }
    const description =
      verdict.kind === 'create'
        ? `create volume group ${vg} on ${disk} (blank: no signature, partition or holder, first and last MiB zero)`
        : `erase ${disk} (${verdict.erase.join('; ')}), as wipe: true allows, and create volume group ${vg} on it`;
    return { changes: [changeOf(input, input.self, description, [claimAction(disk, vg, verdict.kind, seen.fingerprint!)])], seen, create: verdict.kind === 'create' };
  },
  async perform(hosts, plan, input) {
    const [change] = plan.changes;
    if (!change) return;
    const host = hosts.get(change.server)!;
    const { name: vg, disk, wipe } = input.self.node.volumeGroup;
    const seen = plan.seen!;
    const device = seen.input.device;
    const done = await host.procedure(change, (io) => io.run(change.actions[0] as ScriptAction, { allowFailure: true }));
    if (!done) return; // dry run
    const after = parseClaimOutput(done.stdout);
    if (done.exitCode === CLAIM_EXIT.refused) {
      throw new StepRefusedError(host.server, host.step, `${disk} (${device}) changed between the check and the write; nothing was written to it: ${describeChange(seen, after, { volumeGroup: vg, wipe: wipe === true })}`, 'find out what else is using the disk, then run apply again');
    }
    if (done.exitCode !== CLAIM_EXIT.ok || !after.claimed) {
      throw new StepRefusedError(
        host.server,
        host.step,
        `creating volume group ${vg} on ${disk} (${device}) failed (exit ${done.exitCode}): ${done.stderr.trim() || 'no message'}`,
        'the disk is left as the failed command left it: check it with wipefs -n, pvs and vgs before running apply again',
      );
    }
  },
  // Fresh: created in this run on a disk found blank (never after a wipe: its old data is still there).
  outputs: (_input, plan) => ({ 'fresh-volume-group': plan.create }),
};

/** Why a claim was refused, in the verdict's words: what it sees now. Pure. */
export function describeChange(before: ClaimOutput, after: ClaimOutput, options: { volumeGroup: string; wipe: boolean }): string {
  if (after.refused) return after.refused;
  const now: ClaimVerdict = claimVerdict(after.input, options);
  const reasons = now.kind === 'refused' ? now.reasons : diskVerdict(after.input).reasons;
  const was = diskVerdict(before.input).reasons;
  const fresh = reasons.filter((r) => !was.includes(r));
  return fresh.length > 0 ? `it now has ${fresh.join('; ')}` : `its state differs from the one checked (${reasons.join('; ') || 'blank'})`;
}
