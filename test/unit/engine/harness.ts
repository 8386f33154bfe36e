/**
 * Step kinds without servers: a StepInput built from the lab plan (test/unit/plan/helpers.ts) and
 * reads given as JSON-friendly values, and a fake session that records what a perform would run.
 * For the pure plan functions and the performs' control flow; the lab tests prove them on servers.
 */
import { Guard } from '../../../installer/engine/guard.js';
import { Host, type HostSession } from '../../../installer/engine/host.js';
import type { PlaybookStep } from '../../../installer/engine/playbook.js';
import type { StateValues } from '../../../installer/engine/reads.js';
import type { StepData } from '../../../installer/engine/step-data.js';
import { STEP_KINDS } from '../../../installer/engine/steps/index.js';
import type { NodeInput, ServerState, StepInput, StepKind, StepPlan } from '../../../installer/engine/steps/step.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseBackupLeftovers, parseBackupState } from '../../../installer/backup/state.js';
import { resourceFile } from '../../../installer/engine/volumes.js';
import { parseClaimOutput } from '../../../installer/engine/steps/storage.js';
import type { Fact } from '../../../installer/facts/types.js';
import { planCluster } from '../../../installer/plan/index.js';
import type { ClusterPlan, NodePlan } from '../../../installer/plan/types.js';
import { readFileSync } from 'node:fs';
import type { ExecOptions, ServerConnection, UploadOptions } from '../../../installer/ssh/types.js';
import { fakeConnection, type FakeAnswer } from '../../helpers/fake-connection.js';
import { labFacts, loadSite } from '../plan/helpers.js';

export const BACKUP_DIR = '/var/backups/hvcluster/R1';

/** The lab's two-node plan (DRBD 8.4), with a fixed DRBD secret. */
export function labPlan(): { answers: ReturnType<typeof loadSite>['answers']; plan: ClusterPlan } {
  const { answers } = loadSite();
  return { answers, plan: planCluster(answers, [labFacts(1), labFacts(2)], { drbdSecret: 'a'.repeat(48) }) };
}

/** A read in a JSON case: its value in JSON form (files: an object path -> content|null; diskClaim, volumes: the script's output), or `{ "unavailable": "why" }`. */
export type JsonRead = unknown;

const FIXTURES = new URL('../../fixtures/engine/', import.meta.url);

/**
 * Turns a case's JSON reads into what the step kind receives. In strings, `@planned:PATH` is the
 * node's planned content of PATH, `@fixture:NAME` the text of test/fixtures/engine/NAME.
 */
export function stateOf(reads: Record<string, JsonRead>, base: ServerState, node: NodePlan): ServerState {
  const state: Record<string, Fact<unknown>> = { ...(base as unknown as Record<string, Fact<unknown>>) };
  for (const [name, value] of Object.entries(reads)) {
    if (value !== null && typeof value === 'object' && 'unavailable' in (value as object)) {
      state[name] = { ok: false, reason: String((value as { unavailable: string }).unavailable) };
      continue;
    }
    state[name] = { ok: true, value: convert(name as keyof StateValues | 'packages' | 'drbd', expand(value, node)) };
  }
  return state as unknown as ServerState;
}

/** The resource file of the lab's probe as apply writes it (minor 0, port 7788), base64 as volume-state.sh prints it. */
export function probeFileBase64(): string {
  const { plan } = labPlan();
  const model = {
    name: 'hvc-probe',
    major: plan.drbdMajor,
    minor: 0,
    port: 7788,
    device: '/dev/drbd0',
    disk: '/dev/hvdata/hvc-probe',
    hosts: plan.nodes.map((n) => ({ name: n.name, nodeId: n.model.node.nodeId, address: n.model.node.replication.address })),
    allowTwoPrimaries: false,
  };
  return Buffer.from(resourceFile(model).content).toString('base64');
}

function expand(value: JsonRead, node: NodePlan): JsonRead {
  if (typeof value === 'string' && value.includes('@RES@')) return value.replaceAll('@RES@', probeFileBase64());
  if (typeof value === 'string') {
    if (value.startsWith('@planned:')) return node.files.find((f) => f.path === value.slice('@planned:'.length))!.content;
    if (value.startsWith('@fixture:')) return readFileSync(new URL(value.slice('@fixture:'.length), FIXTURES), 'utf8');
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, node));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, node)]));
  return value;
}

function convert(name: string, value: JsonRead): unknown {
  if (name === 'files') return new Map(Object.entries(value as Record<string, string | null>));
  if (name === 'diskClaim') return parseClaimOutput(value as string);
  if (name === 'volumes') return parseVolumeState(value as string);
  if (name === 'guests') return parseGuestState(value as string);
  // backup-state.sh's output; its --left form (no spec.backup) ends with `end`.
  if (name === 'backup') return /^end$/m.test(value as string) ? { declared: false, left: parseBackupLeftovers(value as string) } : { declared: true, state: parseBackupState(value as string) };
  return value;
}

export interface CaseNode {
  name: string;
  reads?: Record<string, JsonRead>;
  data?: Partial<StepData>;
}

/** The input of a step of `kind` for the lab plan, the first node as self. */
export function inputOf(kind: string, nodes: CaseNode[], options: { dryRun?: boolean; stale?: boolean; files?: string[]; edit?: (plan: ClusterPlan) => void } = {}): StepInput {
  const { answers, plan } = labPlan();
  options.edit?.(plan);
  const base = (i: number) => labFacts(i === 0 ? 1 : 2) as ServerState;
  const inputs: NodeInput[] = plan.nodes.map((node, i) => {
    const c = nodes.find((n) => n.name === node.name) ?? { name: node.name };
    return { node, state: stateOf(c.reads ?? {}, base(i), node), data: (c.data ?? {}) as Partial<StepData> };
  });
  const self = inputs.find((n) => n.node.name === nodes[0]!.name)!;
  const step: PlaybookStep = { name: kind, title: kind, kind, ...(options.files ? { files: options.files } : {}) };
  return { step, runId: 'R1', dryRun: options.dryRun ?? false, answers, plan, backupDir: BACKUP_DIR, self, nodes: inputs, stale: options.stale ?? false };
}

export function kindOf(kind: string): StepKind {
  const k = STEP_KINDS[kind];
  if (!k) throw new Error(`no step kind ${kind}`);
  return k;
}

/**
 * Performs a plan on fake servers (test/helpers/fake-connection.ts): `answer` gives each command's
 * result; a non-zero exit throws unless the command allows failure, as over SSH.
 */
export async function performOn(kind: StepKind, plan: StepPlan, input: StepInput, answer: (server: string, command: string) => FakeAnswer = () => '') {
  const guard = new Guard(input.dryRun, () => undefined);
  const fakes = new Map(input.nodes.map((n) => [n.node.name, fakeConnection({ name: n.node.name, answer: (command) => answer(n.node.name, command) })]));
  const connection = (server: string): ServerConnection => {
    const fake = fakes.get(server)!;
    return {
      target: fake.target,
      upload: (path: string, content: string | Buffer, options?: UploadOptions) => fake.upload(path, content, options),
      exec: async (command: string, options: ExecOptions = {}) => {
        const r = await fake.exec(command, options);
        if (r.exitCode !== 0 && !options.allowFailure) throw Object.assign(new Error(`${server}: ${command}: exit ${r.exitCode}`), r);
        return r;
      },
    } as unknown as ServerConnection;
  };
  const session: HostSession = { runId: 'R1', dryRun: input.dryRun, guard, emit: () => undefined, backupRoot: '/var/backups/hvcluster', connection, reconnect: async (server) => connection(server) };
  const hosts = new Map(input.nodes.map((n) => [n.node.name, new Host(session, n.node.name, input.step.name)]));
  const done = kind.perform ? kind.perform(hosts, plan, input) : (async () => {
    for (const change of plan.changes) await hosts.get(change.server)!.perform(change);
  })();
  return { done, guard, fakes };
}
