/**
 * How the failover drill fails the test guest's node, and how it undoes that: each fault is done the
 * way it happens to real servers, over SSH and the BMC only (no lab hooks), and each undoes itself
 * by a timer on the node if the installer never undoes it (killed, or cut off from the node).
 */
import type { ScriptAction } from '../../engine/change.js';
import type { Host } from '../../engine/host.js';
import { powerOffThroughBmc } from '../../engine/steps/fence-check.js';
import type { FencePlan } from '../../plan/ha.js';

export const FAILOVER_FAULTS = ['power-off', 'partition', 'dead-fence', 'power-loss', 'hang'] as const;
export type FailoverFault = (typeof FAILOVER_FAULTS)[number];

/** What each fault does, as the drill announces it. */
export const FAILOVER_FAULT_TEXT: Record<FailoverFault, string> = {
  'power-off': 'powers the node off through its BMC (a dead server, as its peers see it); fencing reboots it',
  partition: 'cuts the node off every network (its management and replication links down): the other side keeps quorum (on two nodes by the witness\'s vote) and fences it before it starts the guest',
  'dead-fence':
    'powers the node off through its BMC, then makes that BMC unreachable from the other nodes: the guest must stay down while fencing fails; then the BMC answers again and fencing completes (with a watchdog level, spec.ha.watchdog: fencing falls through to it instead, after stonith-watchdog-timeout)',
  'power-loss':
    'powers the node off with its BMC (unreachable from the other nodes): fencing cannot succeed through the BMC and the guest must stay down; with a watchdog level (spec.ha.watchdog) fencing falls through to it and the survivor takes the guest over after stonith-watchdog-timeout, without one the drill confirms the node off as an operator would (`stonith_admin --confirm NODE`); then it powers the node on again',
  hang: 'freezes the node\'s userspace (every process but PID 1 stopped: Corosync silent, its guests frozen, sshd too) while its kernel and DRBD run on (still connected, still Primary), as a hung server looks to its peers; fencing must power-cycle it through its BMC (otherwise only the drill\'s timer ends the hang, after 20 minutes)',
};

/** Faults that keep the guest down until someone or something settles the node's fate. */
export const HELD_FAULTS: readonly FailoverFault[] = ['dead-fence', 'power-loss'];

/** A fault undoes itself after this long if the drill never undoes it. */
export const FAULT_RESTORE_S = 20 * 60;

/** A hung node's freeze starts this long after the command that sets it returns (drill-fault.sh). */
export const FREEZE_DELAY_S = 2;

/** Freezes every process of a node but PID 1 in FREEZE_DELAY_S, continued by a timer after `restoreS`. Pure. */
export const freezeAction = (restoreS: number): ScriptAction => ({ script: 'drill-fault.sh', args: ['freeze', String(restoreS)], timeoutMs: 60_000 });

/** Continues every process of a node and cancels its freeze and thaw timers (nothing to do after a reboot). Pure. */
export const thawAction = (): ScriptAction => ({ script: 'drill-fault.sh', args: ['thaw'], timeoutMs: 60_000 });

/** drill-fault.sh thaw's answer: whether the thaw timer was still pending (the node was never rebooted). Pure. */
export function parseThaw(stdout: string): { timerCancelled: boolean } {
  const line = stdout.trim().split('\n').pop() ?? '';
  if (!line.startsWith('thawed')) throw new Error(`drill-fault.sh thaw answered ${JSON.stringify(line)}, not \`thawed\``);
  return { timerCancelled: line.includes('timer-cancelled') };
}

/** The command an operator types once sure the node is off (Pacemaker then treats it as fenced). Pure. */
export const confirmCommand = (node: string): string => `stonith_admin --confirm ${node}`;

export interface FaultTarget {
  /** The node failed, and its fence device (BMC). */
  node: string;
  fence: FencePlan;
  /** Its links a partition cuts: management (the bridge's uplink: NIC or bond) and replication. */
  links: string[];
}

/** Fails the node; `others` are the cluster's other nodes (the BMC is made unreachable from each). After a hang the node answers nothing, SSH included, until it is fenced. */
export async function injectFault(fault: FailoverFault, target: FaultTarget, host: (server: string) => Host, survivor: string, others: string[]): Promise<void> {
  if (fault === 'hang') {
    await host(target.node).mutate(
      `hang ${target.node}: every process but PID 1 stopped in ${FREEZE_DELAY_S} s (kill -STOP -- -1; the kernel and DRBD run on), continued by a timer after ${FAULT_RESTORE_S} s if fencing does not reboot it first`,
      freezeAction(FAULT_RESTORE_S),
    );
    return;
  }
  if (fault === 'partition') {
    await host(target.node).mutate(`cut ${target.node} off every network: ${target.links.join(' and ')} down in 2 s, up again by a timer after ${FAULT_RESTORE_S} s if nothing else does it`, {
      script: 'drill-fault.sh',
      args: ['links-down', String(FAULT_RESTORE_S), ...target.links],
    });
    return;
  }
  await powerOffThroughBmc(host(survivor), target.fence);
  if (HELD_FAULTS.includes(fault)) await Promise.all(others.map((o) => blockBmc(host(o), target)));
}

/** Makes the node's BMC unreachable from `on` (a blackhole route), removed by a timer after FAULT_RESTORE_S. */
export async function blockBmc(on: Host, target: FaultTarget): Promise<void> {
  await on.mutate(`make ${target.node}'s BMC ${target.fence.bmc.address} unreachable from ${on.server} (a dead BMC), for at most ${FAULT_RESTORE_S} s`, {
    script: 'drill-fault.sh',
    args: ['block', target.fence.bmc.address, String(FAULT_RESTORE_S)],
  });
}

export async function unblockBmc(on: Host, target: FaultTarget): Promise<void> {
  await on.mutate(`make ${target.node}'s BMC ${target.fence.bmc.address} reachable from ${on.server} again`, { script: 'drill-fault.sh', args: ['unblock', target.fence.bmc.address] });
}

/** Settles a node fencing cannot reach, as the operator would once sure it is off. */
export async function confirmFenced(survivor: Host, node: string): Promise<void> {
  await survivor.mutate(`confirm ${node} is off (it was powered off by this drill): \`${confirmCommand(node)}\``, { argv: ['stonith_admin', '--confirm', node], timeoutMs: 120_000 });
}

