/** Helpers shared by the check functions. */
import type { ProbeCommand } from '../probes.js';
import { checkDefinition, type CheckCode } from '../codes.js';
import type { CheckResult, CheckStatus, NodeObservation, ReachableNode, VerifyInput } from '../types.js';

export interface ResultOptions {
  servers?: string[];
  subject?: string;
  fix?: string;
  data?: Record<string, unknown>;
}

export function result(code: CheckCode, status: CheckStatus, server: string, found: string, options: ResultOptions = {}): CheckResult {
  const def = checkDefinition(code);
  return {
    code,
    title: def.title,
    status,
    server,
    servers: options.servers ?? [server],
    ...(options.subject !== undefined ? { subject: options.subject } : {}),
    found,
    ...(status !== 'pass' && options.fix ? { fix: options.fix } : {}),
    ...(options.data ? { data: options.data } : {}),
  };
}

export const reachable = (input: VerifyInput): ReachableNode[] => input.nodes.filter((n): n is ReachableNode => n.reachable);

/** Every unordered pair, in order: [n1, n2], [n1, n3], [n2, n3]. */
export function pairs<T>(items: readonly T[]): [T, T][] {
  return items.flatMap((a, i) => items.slice(i + 1).map((b): [T, T] => [a, b]));
}

export function probe(node: ReachableNode, label: string): ProbeCommand | undefined {
  return node.probes.commands[label];
}

/** The first meaningful line of a failed command, for messages. */
export function why(cmd: ProbeCommand | undefined, what: string): string {
  if (!cmd) return `${what}: not run`;
  const line = [...cmd.stderr.split('\n'), ...cmd.stdout.split('\n')].map((l) => l.trim()).find((l) => l !== '');
  return cmd.problem ?? (line ? `${what}: ${line}` : `${what}: exit ${cmd.exitCode}`);
}

/** The verify run's clock in epoch milliseconds (VerifyInput.now, else the first read's start); null when nothing was read. */
export function verifyNowMs(input: VerifyInput): number | null {
  if (input.now) return input.now.getTime();
  const timing = reachable(input).find((n) => n.facts.timing)?.facts.timing;
  return timing ? timing.startedAtMs : null;
}

export function nodeAnswers(input: VerifyInput, name: string) {
  return input.answers.spec.nodes.find((n) => n.name === name)!;
}

export function isReachable(node: NodeObservation): node is ReachableNode {
  return node.reachable;
}


export function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes >= 10 * 1024 ** 3 ? 0 : 1)} GiB`;
}
