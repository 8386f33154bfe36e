/**
 * HA fixtures: verify's v-ha probes and DRBD's events2 captured on a hand-built 2-node + witness lab
 * (test/fixtures/verify/ha/STATE/, see capture.sh) in a healthy state and in failure states. Each
 * observation is the healthy verify capture (helpers.ts) with the facts' events2 replaced by the
 * state's and the v-ha section added; edits on top must match (see edit()).
 */
import { parseAnswers } from '../../../installer/answers/load.js';
import { CHECKS } from '../../../installer/verify/codes.js';
import { evaluate } from '../../../installer/verify/evaluate.js';
import type { CheckResult, NodeObservation, VerifyInput } from '../../../installer/verify/types.js';
import { edit, fixture, observation } from './helpers.js';

export const HA_STATES = ['healthy', 'qdevice-down', 'link-down', 'stale-fence-constraint', 'failed-action', 'fence-wrong-password', 'stonith-disabled', 'not-installed'] as const;
export type HaState = (typeof HA_STATES)[number];

export const HA_SITE = fixture('ha/site.yaml');
export const HA_CODES = CHECKS.map((c) => c.code).filter((c) => c.startsWith('HA_'));

export function haAnswers(siteEdits: [string | RegExp, string][] = []) {
  const parsed = parseAnswers(edit(HA_SITE, siteEdits), 'site.yaml');
  if (!parsed.answers) throw new Error('the HA fixture site.yaml does not parse');
  return parsed.answers;
}

/** The facts' events2 (the drbd fact) replaced by `events2`. */
function withFactsEvents2(text: string, events2: string): string {
  const block = /^@@hvc-cmd events2@@\n[\s\S]*?^@@hvc-rc events2 \d+@@$/m;
  if (!block.test(text)) throw new Error('no events2 in the capture');
  return text.replace(block, () => `@@hvc-cmd events2@@\n${events2.endsWith('\n') ? events2 : `${events2}\n`}\n@@hvc-rc events2 0@@`);
}

export interface HaEdits {
  /** Edits of the v-ha section of hv1/hv2. */
  hv1?: [string | RegExp, string][];
  hv2?: [string | RegExp, string][];
  /** Edits of the events2 capture of hv1/hv2. */
  events2?: { hv1?: [string | RegExp, string][]; hv2?: [string | RegExp, string][] };
  site?: [string | RegExp, string][];
  unreachable?: ('hv1' | 'hv2')[];
}

export function haObservation(name: 'hv1' | 'hv2', state: HaState, edits: HaEdits = {}): NodeObservation {
  const base = withFactsEvents2(fixture(`healthy-${name}.out`), edit(fixture(`ha/${state}/events2-${name}.txt`), edits.events2?.[name] ?? []));
  const ha = edit(fixture(`ha/${state}/${name}.out`), edits[name] ?? []);
  if (!base.includes('@@hvc-done@@')) throw new Error('the capture has no end marker');
  return observation(name, base.replace('@@hvc-done@@', `${ha.trimEnd()}\n@@hvc-done@@`));
}

export function haInput(state: HaState, edits: HaEdits = {}): VerifyInput {
  return {
    answers: haAnswers(edits.site),
    nodes: (['hv1', 'hv2'] as const).map((name) =>
      edits.unreachable?.includes(name) ? { name, reachable: false as const, error: { kind: 'connection', message: `${name}: connect ETIMEDOUT`, hint: 'check that the server is up' } } : haObservation(name, state, edits),
    ),
  };
}

/** The HA results of a state, in catalogue order. */
export function haResults(state: HaState, edits: HaEdits = {}): CheckResult[] {
  return evaluate(haInput(state, edits)).filter((r) => r.code.startsWith('HA_'));
}

export const byCode = (results: CheckResult[], code: string, server?: string) => results.filter((r) => r.code === code && (server === undefined || r.server === server));
