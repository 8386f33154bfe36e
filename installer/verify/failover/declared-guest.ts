/**
 * The failover drill on a declared guest (`verify --failover-test [FAULT] --guest NAME
 * --yes-i-accept-downtime`, issue 17): instead of its own test guest, the drill fails the node where
 * this guest of spec.guests runs under Pacemaker, and measures the guest's real downtime: from the
 * fault until its guest agent answers again on the survivor. Its data is its own: the drill neither
 * writes nor reads it; its agent answering from a new start on the survivor is the proof it came back.
 * Here: which guests may be used (pure), where it runs and who takes it over (pure, from crm_mon),
 * its agent's answer, and the checks before the fault.
 */
import { instances, runningOn } from '../../engine/ha/pacemaker.js';
import { guestCibIds } from '../../engine/ha/guest-cib.js';
import type { Host } from '../../engine/host.js';
import { drbdState } from '../../engine/volumes.js';
import type { CrmStatus } from '../../facts/parse/crm-mon.js';
import type { Answers } from '../../answers/schema.js';
import { diskResource } from '../../plan/guest-model.js';

/** A guest the drill fails over: its domain, its Pacemaker ids, its DRBD resources. */
export interface DrillSubject {
  name: string;
  vm: string;
  /** Its disks' promotable DRBD resources in Pacemaker (drbd-web-disk0...), and their DRBD resources (web-disk0...). */
  drbd: string[];
  resources: string[];
}

/** Why the command line's --guest cannot be taken as given (before the answer file is read), or null. Pure. */
export function guestDrillUsageError(o: { guest: string | undefined; fault: string | undefined; yes: boolean; acceptDowntime: boolean; failoverNode: string | undefined }): { message: string; hint: string } | null {
  if (o.guest === undefined) {
    return o.acceptDowntime ? { message: '--yes-i-accept-downtime confirms the downtime of the guest --guest names: give --guest NAME too', hint: 'hvcluster verify -f site.yaml --failover-test --guest NAME --yes --yes-i-accept-downtime' } : null;
  }
  if (o.fault === undefined) return { message: `--guest ${o.guest} names the guest the failover drill fails over: give --failover-test [FAULT] too`, hint: `hvcluster verify -f site.yaml --failover-test --guest ${o.guest} --yes --yes-i-accept-downtime` };
  if (o.failoverNode !== undefined) return { message: `--guest ${o.guest} and --failover-node ${o.failoverNode}: the drill fails the node where ${o.guest} runs; give one of them`, hint: `move ${o.guest} first (\`hvcluster guest migrate ${o.guest} --to ${o.failoverNode}\`) to fail ${o.failoverNode}` };
  if (!o.acceptDowntime) {
    return {
      message: `--guest ${o.guest}: the failover drill fails the node where ${o.guest} runs, so ${o.guest} is down until the survivor has fenced that node and restarted it (minutes): confirm with --yes-i-accept-downtime`,
      hint: 'or run the drill without --guest: it uses a test guest of its own and no customer guest stops',
    };
  }
  return null;
}

/** Why the answer file's guest NAME cannot be the drill's, or null (the plan's check repeats it with the placement). Pure. */
export function drillGuestRefusal(answers: Answers, name: string): { message: string; hint: string } | null {
  const guests = answers.spec.guests ?? [];
  const ha = (g: (typeof guests)[number]) => g.state === 'present' && (g.ha ?? answers.spec.ha?.enabled === true);
  const usable = guests.filter(ha).map((g) => g.name);
  const hint = usable.length ? `guests the drill can use: ${usable.join(', ')}` : 'no guest of spec.guests is under Pacemaker: drop --guest (the drill then uses a test guest of its own)';
  const guest = guests.find((g) => g.name === name);
  if (!guest) return { message: `--guest ${name}: not a guest of spec.guests`, hint };
  if (guest.state !== 'present') return { message: `--guest ${name}: the guest is declared absent`, hint };
  if (!ha(guest)) return { message: `--guest ${name}: the guest is not under Pacemaker (ha: false): nothing would restart it on a survivor`, hint };
  return null;
}

/**
 * The declared guest NAME as the drill uses it, from the answer file (verify's plan places no guests:
 * where its replicas are is read from crm_mon, declaredPlacement); throws why it cannot be used. Pure.
 */
export function declaredSubject(answers: Answers, name: string): DrillSubject {
  const refusal = drillGuestRefusal(answers, name);
  if (refusal) throw new Error(`${refusal.message} (${refusal.hint})`);
  const guest = answers.spec.guests.find((g) => g.name === name)!;
  const resources = guest.disks.map((_, k) => diskResource(name, k));
  const ids = guestCibIds(name, resources);
  return { name, vm: ids.vm, drbd: ids.disks.map((d) => d.drbd), resources };
}

/**
 * Where the guest runs and the other holder of its disks, which must take it over, in Pacemaker's
 * view (its disks' clones run only on the nodes holding them); throws why the drill cannot start. Pure.
 */
export function declaredPlacement(status: CrmStatus, s: DrillSubject): { node: string; peer: string } {
  const on = instances(status, s.vm).filter((i) => i.role === 'Started' && !i.failed).map((i) => i.node);
  if (on.length !== 1) throw new Error(`${s.name} is not Started on one node under Pacemaker (crm_mon: ${on.join(', ') || 'nowhere'}): start it first (\`hvcluster guest start ${s.name}\`)`);
  const node = on[0]!;
  const holders = s.drbd.map((d) => runningOn(status, d));
  const peers = holders.reduce((common, h) => common.filter((n) => h.includes(n)), holders[0] ?? []).filter((n) => n !== node);
  if (!holders.every((h) => h.includes(node)) || peers.length === 0) {
    const seen = [...new Set(holders.flat())].sort();
    throw new Error(`${s.name} runs on ${node}, but no other node runs every one of its disks (${s.drbd.join(', ')}) in Pacemaker (crm_mon: ${seen.join(', ') || 'nowhere'}): nothing could take it over; wait until verify's HA checks pass`);
  }
  return { node, peer: peers[0]! };
}

/** The guest agent's ping (qemu-guest-agent), at most 5 s. Pure. */
export const agentPingArgv = (domain: string): string[] => ['virsh', 'qemu-agent-command', domain, '--timeout', '5', '{"execute":"guest-ping"}'];

/** Whether the guest's agent answers on `host` (where it runs). */
export async function agentAnswers(host: Host, domain: string): Promise<boolean> {
  const r = await host.read({ argv: agentPingArgv(domain), timeoutMs: 20_000 }, { allowFailure: true }).catch(() => null);
  return r?.exitCode === 0;
}

/** Before the fault: where the guest runs, its disks Connected and UpToDate on both holders, its agent answering (else the drill could not tell when it is back). */
export async function checkDeclaredGuest(host: (server: string) => Host, status: CrmStatus, s: DrillSubject): Promise<{ node: string; peer: string }> {
  const placed = declaredPlacement(status, s);
  for (const resource of s.resources) {
    const { cstate, dstate } = await drbdState(host(placed.node), resource);
    if (cstate !== 'Connected' || dstate !== 'UpToDate/UpToDate') {
      throw new Error(`${s.name}'s disk ${resource} is ${cstate ?? 'not configured'} (${dstate ?? 'no disk state'}) on ${placed.node}, not Connected and UpToDate on both nodes: failing ${placed.node} now could lose the guest; wait until verify's DRBD checks pass`);
    }
  }
  if (!(await agentAnswers(host(placed.node), s.name))) {
    throw new Error(`${s.name}'s guest agent does not answer on ${placed.node} (\`${agentPingArgv(s.name).join(' ')}\`): the drill could not tell when the guest answers again; install and start qemu-guest-agent in it, or run the drill without --guest`);
  }
  return placed;
}
