/**
 * The failover drill's hung node (`--failover-test hang`, set by faults.ts): every process but PID 1
 * stopped, so it answers nothing, SSH included, until fencing power-cycles it. Here: the proof that
 * fencing ended the hang (a new boot id once the node is back), what the drill says when the node was
 * never fenced, and how the drill gets a hung node back after a failure: thawed at once if it answers
 * (its freeze not done yet, or it rebooted: nothing left), otherwise by waiting for its thaw timer,
 * the only thing besides a power cycle that reaches a frozen node.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Host } from '../../engine/host.js';
import { firstLine } from '../migration/remote.js';
import type { FailoverReport } from './drill.js';
import { FAULT_RESTORE_S, parseThaw, thawAction } from './faults.js';

/** How long a fenced node may take to answer SSH again (a reboot) before the clean-up gives up on it. */
export const HANG_REBOOT_WAIT_MS = 5 * 60_000;
/** After its thaw timer is due, how long a never-fenced node may take to answer again. */
export const HANG_THAW_GRACE_MS = 3 * 60_000;

/** The node's boot id (/proc/sys/kernel/random/boot_id: a new one after every boot), or null when unreadable. */
export async function nodeBootId(host: Host): Promise<string | null> {
  const r = await host.read({ argv: ['cat', '/proc/sys/kernel/random/boot_id'], timeoutMs: 30_000 }, { allowFailure: true }).catch(() => null);
  return parseBootIdFile(r && r.exitCode === 0 ? r.stdout : '');
}

/** A boot id as the kernel prints it, or null. Pure. */
export function parseBootIdFile(text: string): string | null {
  const id = text.trim();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : null;
}

/** Whether the node came back through a new boot; null when either boot id is unknown. Pure. */
export const rebootedBetween = (before: string | null, after: string | null): boolean | null => (before === null || after === null ? null : before !== after);

/** The error of a hang drill whose node was never fenced (`lost`: its peers saw it go): what failed, why it matters, what to read. Pure. */
export function hangNotFencedText(node: string, survivor: string, waitedMs: number, lost: boolean): string {
  if (!lost) {
    return (
      `${node} was never lost to ${survivor} within ${Math.round(waitedMs / 1000)} s of its freeze: its userspace did not stop (or Corosync went on). ` +
      `Read \`systemctl status hvcluster-drill-freeze.service\` and \`journalctl -u hvcluster-drill-freeze\` on ${node}`
    );
  }
  return (
    `${node} hung (every process but PID 1 stopped) and was not fenced within ${Math.round(waitedMs / 1000)} s: ` +
    `a hung node looks lost to its peers, and only fencing through its BMC ends the hang and lets ${survivor} take its guests over safely. ` +
    `Read \`stonith_admin --history ${node}\` and \`crm_mon -1\` on ${survivor}, and the fencing checks of verify`
  );
}

/** What a hang drill requires of the node once it is back, said when it failed; null otherwise. Pure. */
export function hangProblem(r: Pick<FailoverReport, 'fault' | 'crashed' | 'rebooted'>): string | null {
  if (r.fault !== 'hang' || r.rebooted !== false) return null;
  const node = r.crashed ?? 'the node';
  return `${node} came back without a reboot (the same boot id): its hang was ended by the drill's timer, not by fencing; check that ${node}'s fence device powers ${node} itself (its BMC address) and that the fencing recorded really power-cycled it`;
}

/** Runs drill-fault.sh thaw on a node that answers; says what it found. */
export async function thawNode(host: Host): Promise<string> {
  const r = await host.mutate(`continue every process of ${host.server} and cancel its freeze and thaw timers (after a reboot: nothing left to do)`, thawAction());
  const { timerCancelled } = parseThaw(r?.stdout ?? 'thawed');
  return timerCancelled ? 'its freeze and thaw timers cancelled, every process continued' : 'nothing left frozen, no drill timer left';
}

export interface HangRecovery {
  host: Host;
  /** Fencing of the node was recorded: it reboots (the wait is a boot's), else it waits for its thaw timer. */
  fenced: boolean;
  /** When the node's thaw timer continues it (epoch ms). */
  thawDueAt: number;
  /** Its boot id before the fault (null: unknown): once it answers, a new one says it rebooted. */
  bootBefore: string | null;
  stopRequested: () => boolean;
  say: (text: string) => void;
  /** Each reconnection's limit, and the pause after one that failed sooner (the tests shorten them). */
  attemptMs?: number;
  pauseMs?: number;
  now?: () => number;
}

/** Gets a hung node back after a failed or stopped drill, as far as it can; returns what it did (`NOT done: ...` when it could not). */
export async function recoverHungNode(i: HangRecovery): Promise<string[]> {
  const now = i.now ?? Date.now;
  const node = i.host.server;
  const attemptMs = i.attemptMs ?? 30_000;
  const due = new Date(i.thawDueAt).toISOString().replace(/\.\d+Z$/, 'Z');
  const reachable = () => i.host.reconnect(attemptMs).then(
    () => true,
    () => false,
  );
  const thaw = async (how: string) => {
    try {
      return [`${how}: ${await thawNode(i.host)}`];
    } catch (error) {
      return [`NOT done: continue ${node} (${firstLine(error)}); unless it rebooted, its thaw timer does it at ${due}`];
    }
  };
  // Once it answers: rebooted (fenced, late or not) or continued (its freeze not done yet, or its timer).
  const back = async () => {
    const rebooted = rebootedBetween(i.bootBefore, await nodeBootId(i.host));
    return thaw(rebooted === true ? `${node} back from a reboot` : rebooted === false ? `${node} answers again without a reboot (never fenced)` : `${node} answers again`);
  };
  if (await reachable()) return back();
  const left = `${node} still answers nothing: fencing reboots it, or its thaw timer continues every process at ${due} (${FAULT_RESTORE_S / 60} minutes after the freeze); or power-cycle it through its BMC`;
  if (i.stopRequested()) return [`NOT done: ${left}`];
  const deadline = i.fenced ? now() + HANG_REBOOT_WAIT_MS : i.thawDueAt + HANG_THAW_GRACE_MS;
  i.say(i.fenced ? `${node} was fenced and does not answer yet: waiting for its reboot` : `${node} was never fenced and still hangs: waiting for its thaw timer (due ${due}); Ctrl-C leaves it to the timer`);
  while (now() < deadline && !i.stopRequested()) {
    const tried = now();
    if (await reachable()) return back();
    if (now() - tried < (i.pauseMs ?? 5000)) await sleep(i.pauseMs ?? 5000);
  }
  return [`NOT done: ${left}`];
}
