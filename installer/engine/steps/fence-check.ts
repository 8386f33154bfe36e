/**
 * HA is never installed without fencing that works: from every node, each other node's BMC must
 * answer fence_ipmilan's power status, with the answer file's address, user, password and cipher,
 * and say the server is on (it answers over SSH, so a BMC that says "off" belongs to another
 * machine). Runs right after the packages step, before anything HA is written: a refusal leaves no
 * half-built cluster. The check needs the BMC password on stdin, so it is made here, not in the
 * run's read (whose script travels as a command line); it changes nothing, and `plan` runs it too.
 */
import { scriptText, type ArgvAction } from '../change.js';
import type { Host } from '../host.js';
import type { FencePlan } from '../../plan/ha.js';
import { StepRefusedError, type StepInput, type StepKind, type StepPlan } from './step.js';

interface FenceCheckPlan extends StepPlan {
  /** Each node's checks of the others' BMCs. */
  checks: { from: string; target: FencePlan }[];
}

export type FenceAnswer = { peer: string; result: 'on' | 'off' | 'no-agent' | 'failed'; exit: number; output: string };

/** fence-status.sh's output. Pure. */
export function parseFenceStatus(stdout: string): FenceAnswer {
  const [first = '', ...rest] = stdout.trim().split('\n');
  const m = /^fence (\S+) (on|off|no-agent|failed) (\d+)$/.exec(first);
  if (!m) return { peer: '', result: 'failed', exit: -1, output: stdout.trim().slice(0, 300) };
  return { peer: m[1]!, result: m[2] as FenceAnswer['result'], exit: Number(m[3]), output: rest.join('\n').trim() };
}

/** The read of one BMC from one node, or (`off`) a power-off through it; the password goes on stdin. Pure. */
export function fenceStatusAction(target: FencePlan, action: 'status' | 'off' | 'on' = 'status'): ArgvAction {
  const b = target.bmc;
  return { argv: ['sh', '-c', scriptText('fence-status.sh'), 'fence-status.sh', target.node, b.address, String(b.port), b.user, String(b.cipher), b.lanplus ? '1' : '0', ...(action === 'status' ? [] : [action])] };
}

/** What a failed check says, with what to do. Pure. */
export function fenceRefusal(from: string, target: FencePlan, answer: FenceAnswer, nodeIndex: number): { message: string; hint: string } {
  const where = `${target.node}'s BMC ${target.bmc.address}:${target.bmc.port}`;
  const key = `spec.nodes[${nodeIndex}].bmc`;
  if (answer.result === 'off') {
    return {
      message: `${where} says the server is powered off, yet ${target.node} answers over SSH: this BMC belongs to another machine`,
      hint: `Correct ${key}.address in the answer file: fencing through it would power off the wrong server.`,
    };
  }
  if (answer.result === 'no-agent') {
    return { message: `fence_ipmilan or ipmitool is not installed on ${from}`, hint: 'The packages step installs fence-agents and ipmitool: run apply again; if it persists, install them by hand.' };
  }
  // The agent's own error lines (Python's warnings about itself are not the reason).
  const lines = answer.output.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /ERROR|error:/.test(l)).map((l) => l.replace(/^\S+ \S+ ERROR: /, ''));
  const detail = (errors.length > 0 ? errors : lines.slice(-1)).slice(-2).join('; ');
  return {
    message: `${from} cannot query ${where} with fence_ipmilan (exit ${answer.exit}${detail ? `: ${detail}` : ''})`,
    hint: `Check ${key} (address, port, user, passwordFrom, cipher, lanplus) in the answer file, that IPMI over LAN is enabled on the BMC for that user (operator privilege), and that ${from} reaches it (UDP ${target.bmc.port}). HA is never installed without a fence device that answers from every other node.`,
  };
}

export const fenceCheckStep: StepKind<FenceCheckPlan> = {
  scope: 'cluster',
  reads: ['packages'],
  plan(input) {
    const fence = input.plan.ha?.fence ?? [];
    return { changes: [], checks: input.nodes.flatMap((n) => fence.filter((f) => f.node !== n.node.name).map((target) => ({ from: n.node.name, target }))) };
  },
  async perform(hosts, plan, input) {
    const answers = await Promise.all(
      [...new Set(plan.checks.map((c) => c.from))].map(async (from) => {
        const host = hosts.get(from)!;
        const results: { from: string; target: FencePlan; answer: FenceAnswer }[] = [];
        for (const check of plan.checks.filter((c) => c.from === from)) results.push({ ...check, answer: await bmcPowerStatus(host, check.target) });
        return results;
      }),
    );
    const results = answers.flat();
    for (const r of results.filter((r) => r.answer.result === 'on')) hosts.get(r.from)!.log(`${r.target.node}'s BMC ${r.target.bmc.address} answers: power on`);
    const failed = results.filter((r) => r.answer.result !== 'on' && !(r.answer.result === 'no-agent' && input.stale));
    if (results.some((r) => r.answer.result === 'no-agent') && input.stale) hosts.get(plan.checks[0]!.from)!.log('fence_ipmilan is not installed yet: apply checks every BMC after the packages step', 'warn');
    if (failed.length === 0) return;
    const first = failed[0]!;
    const texts = failed.map((f) => fenceRefusal(f.from, f.target, f.answer, nodeIndex(input, f.target.node)));
    throw new StepRefusedError(first.from, input.step.name, texts.map((t) => t.message).join('; '), [...new Set(texts.map((t) => t.hint))].join(' '));
  },
};

const nodeIndex = (input: StepInput, node: string) => input.answers.spec.nodes.findIndex((n) => n.name === node);

const bmcOptions = (target: FencePlan, action: 'status' | 'off' | 'on') => {
  const b = target.bmc;
  return {
    stdin: `${target.password}\n`,
    allowFailure: true,
    timeoutMs: 120_000,
    logAs: `fence-status.sh ${target.node} ${b.address} ${b.port} ${b.user} ${b.cipher} ${b.lanplus ? 1 : 0}${action === 'status' ? '' : ` ${action}`} (BMC password on stdin)`,
  };
};

/** The node's power as its BMC answers fence_ipmilan's status from `host` (read-only). */
export async function bmcPowerStatus(host: Host, target: FencePlan): Promise<FenceAnswer> {
  return parseFenceStatus((await host.read(fenceStatusAction(target), bmcOptions(target, 'status'))).stdout);
}

/** Powers a node on through its BMC from another node (a drill gives back the node it left off); throws with the agent's words when it did not. */
export async function powerOnThroughBmc(host: Host, target: FencePlan): Promise<void> {
  const result = await host.mutate(`power ${target.node} on through its BMC ${target.bmc.address}:${target.bmc.port} (fence_ipmilan -o on)`, fenceStatusAction(target, 'on'), bmcOptions(target, 'on'));
  const answer = parseFenceStatus(result?.stdout ?? '');
  if (answer.result !== 'on') throw new Error(`${host.server} could not power ${target.node} on through its BMC ${target.bmc.address}:${target.bmc.port} (${answer.result} ${answer.exit}${answer.output ? `: ${answer.output.split('\n').pop()}` : ''})`);
}

/** Powers a node off through its BMC from another node (the failover drill's crash); throws with the agent's words when it did not. */
export async function powerOffThroughBmc(host: Host, target: FencePlan): Promise<void> {
  const result = await host.mutate(`power ${target.node} off through its BMC ${target.bmc.address}:${target.bmc.port} (fence_ipmilan -o off, as a dead server looks to its peers)`, fenceStatusAction(target, 'off'), bmcOptions(target, 'off'));
  const answer = parseFenceStatus(result?.stdout ?? '');
  if (answer.result !== 'off') throw new Error(`${host.server} could not power ${target.node} off through its BMC ${target.bmc.address}:${target.bmc.port} (${answer.result} ${answer.exit}${answer.output ? `: ${answer.output.split('\n').pop()}` : ''})`);
}
