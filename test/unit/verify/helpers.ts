/**
 * Verify fixtures: the whole output of verify's one exec per server (facts + probes), captured on a
 * healthy two-node lab after apply (test/fixtures/verify/healthy-hv{1,2}.out), and its answer file.
 * Faults are made by minimal edits of the captured text; each edit must match (a changed capture
 * cannot turn an edit into a silent no-op).
 */
import { readFileSync } from 'node:fs';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseFactsOutput } from '../../../installer/facts/index.js';
import { parseProbes } from '../../../installer/verify/probes.js';
import type { NodeObservation, VerifyInput } from '../../../installer/verify/types.js';

export const fixture = (name: string) => readFileSync(new URL(`../../fixtures/verify/${name}`, import.meta.url), 'utf8');

export const SITE = fixture('site.yaml');
export const answers = () => parseAnswers(SITE, 'site.yaml').answers!;

export function edit(text: string, edits: [string | RegExp, string][]): string {
  let out = text;
  for (const [from, to] of edits) {
    const before = out;
    out = typeof from === 'string' ? out.replaceAll(from, to) : out.replace(from, to);
    if (out === before) throw new Error(`fixture edit did not match: ${String(from)}`);
  }
  return out;
}

export const NOW_MS = 1_764_064_000_000;

export function observation(name: string, stdout: string, clockOffsetSeconds = 0): NodeObservation {
  const facts = parseFactsOutput(stdout);
  if (!facts.clock.ok) throw new Error('the capture has no clock');
  // The clock section arrived 20 ms after the send; the whole script took 3 s (a skew bar of 20 ms, not 3 s).
  facts.clock = { ok: true, value: { ...facts.clock.value, epochSeconds: NOW_MS / 1000 + 0.01 + clockOffsetSeconds } };
  facts.timing = { startedAtMs: NOW_MS, clockReadByMs: NOW_MS + 20, finishedAtMs: NOW_MS + 3000, durationMs: 3000, estimatedSkewSeconds: null };
  return {
    name,
    reachable: true,
    hostKeyFingerprint: 'SHA256:wl0ClC8NRYgrGxVQFZ4ioBsUTRgatPOUH5BtqIt52/I',
    pinned: true,
    facts,
    probes: parseProbes(stdout),
  };
}

export interface Edits {
  hv1?: [string | RegExp, string][];
  hv2?: [string | RegExp, string][];
  clock?: { hv1?: number; hv2?: number };
  unreachable?: ('hv1' | 'hv2')[];
}

export function input(edits: Edits = {}): VerifyInput {
  const nodes: NodeObservation[] = (['hv1', 'hv2'] as const).map((name) => {
    if (edits.unreachable?.includes(name)) {
      return { name, reachable: false, error: { kind: 'connection', message: `${name}: connect ETIMEDOUT 198.18.2.2:22`, hint: 'check that the server is up' } };
    }
    return observation(name, edit(fixture(`healthy-${name}.out`), edits[name] ?? []), edits.clock?.[name] ?? 0);
  });
  return { answers: answers(), nodes };
}

/**
 * Replaces the stdout of verify's probe LABEL (in the v-drbd section: the facts have their own `events2`)
 * with `stdout`, captured on the lab in another state; or adds the command after `after` when the
 * capture has none (proc-later is read only while a resync runs).
 */
export function withProbe(text: string, label: string, stdout: string, after?: string): string {
  const start = text.indexOf('@@hvc-fact v-drbd@@\n');
  if (start < 0) throw new Error('no v-drbd section in the capture');
  const [head, section] = [text.slice(0, start), text.slice(start)];
  const body = stdout.endsWith('\n') || stdout === '' ? stdout : `${stdout}\n`;
  const block = new RegExp(`^@@hvc-cmd ${label}@@\\n[\\s\\S]*?^@@hvc-rc ${label} \\d+@@$`, 'm');
  const replacement = `@@hvc-cmd ${label}@@\n${body}\n@@hvc-rc ${label} 0@@`;
  if (block.test(section)) return head + section.replace(block, () => replacement);
  if (!after) throw new Error(`no probe ${label} in the capture`);
  const anchor = new RegExp(`^@@hvc-rc ${after} \\d+@@$`, 'm');
  if (!anchor.test(section)) throw new Error(`no probe ${after} in the capture`);
  return head + section.replace(anchor, (m) => `${m}\n${replacement}`);
}

/**
 * Both nodes in a DRBD state captured on the lab: test/fixtures/verify/drbd/STATE/ holds, per node, what
 * verify's probes printed there (events2-hvN.txt, proc-drbd-hvN.txt, splitbrain-hvN.txt and, while a
 * resync ran, proc-later-hvN.txt); each replaces its probe's output in the node's healthy capture.
 */
export function drbdInput(state: string): VerifyInput {
  const file = (name: string) => {
    try {
      return fixture(`drbd/${state}/${name}`);
    } catch {
      return null;
    }
  };
  const nodes = (['hv1', 'hv2'] as const).map((name) => {
    let text = fixture(`healthy-${name}.out`);
    for (const [label, f] of [['events2', 'events2'], ['proc', 'proc-drbd'], ['splitbrain', 'splitbrain']] as const) {
      const captured = file(`${f}-${name}.txt`);
      if (captured === null) throw new Error(`no drbd/${state}/${f}-${name}.txt`);
      text = withProbe(text, label, captured);
    }
    const later = file(`proc-later-${name}.txt`);
    if (later !== null) text = withProbe(text, 'proc-later', later, 'proc');
    return observation(name, text);
  });
  return { answers: answers(), nodes };
}
