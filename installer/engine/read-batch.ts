/**
 * Reading servers in one exec: the inspection facts and the steps' reads (engine/reads.ts) as one
 * POSIX sh script of `@@hvc-` sections (facts/section.ts), parsed by each read's own parser.
 */
import { FactUnavailable, type FactDefinition } from '../facts/fact.js';
import { FACTS, FACT_NAMES } from '../facts/registry.js';
import { MARK, PRELUDE, splitOutput, wrapFragment } from '../facts/section.js';
import type { Fact, FactName } from '../facts/types.js';
import { STATE_READS, isStateName, type ReadInput, type ReadName } from './reads.js';
import type { ServerState } from './steps/step.js';

/** The definition of a read for one node. */
export function readDefinition(name: ReadName, input: ReadInput): FactDefinition<unknown> {
  return isStateName(name) ? STATE_READS[name](input) : (FACTS[name as FactName] as FactDefinition<unknown>);
}

/** One script of the reads, in their order. Pure. */
export function readScript(defs: readonly FactDefinition<unknown>[]): string {
  return [`# hvcluster: read-only, one section per read\n${PRELUDE}`, ...defs.map((d) => wrapFragment(d.name, d.script)), `printf '${MARK.done}\\n'\nexit 0\n`].join('\n');
}

/** The read script as the run log shows it: `sh -c <read: NAMES>`. Pure. */
export function readLabel(defs: readonly FactDefinition<unknown>[]): string {
  return `sh -c <read: ${defs.map((d) => d.name).join(', ')}>`;
}

/** The reads' values from the script's output; a read that could not be made is `{ ok: false, reason }`. Pure. */
export function parseReads(stdout: string, defs: readonly FactDefinition<unknown>[]): Partial<ServerState> {
  const { sections, complete } = splitOutput(stdout);
  const out: Record<string, Fact<unknown>> = {};
  for (const def of defs) {
    const section = sections.get(def.name);
    if (!section) {
      out[def.name] = { ok: false, reason: complete ? 'no section in the output' : 'output cut off before this read' };
      continue;
    }
    try {
      out[def.name] = { ok: true, value: def.parse(section) };
    } catch (error) {
      out[def.name] = { ok: false, reason: error instanceof FactUnavailable ? error.message : `could not parse: ${(error as Error).message}` };
    }
  }
  return out as Partial<ServerState>;
}

/** Every inspection fact and the given steps' reads: the whole read of a run, in one script. */
export function fullReadDefinitions(stateReads: readonly ReadName[], input: ReadInput): FactDefinition<unknown>[] {
  const extra = [...new Set(stateReads)].filter(isStateName).map((name) => readDefinition(name, input));
  return [...FACT_NAMES.map((name) => FACTS[name] as FactDefinition<unknown>), ...extra];
}
