/**
 * Playbooks (playbooks/*.yaml): the ordered steps of a job as data an integrator can read.
 * Validated on load against the step kinds the engine implements.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLAYBOOKS_DIR } from '../paths.js';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { EXIT, HvError } from '../errors.js';

export class PlaybookError extends HvError {
  readonly exitCode = EXIT.internal;
  readonly kind = 'playbook';
}

export { PLAYBOOKS_DIR } from '../paths.js';

const StepSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a step name in kebab-case'),
  title: z.string().min(1),
  kind: z.string().min(1),
  /** Files of the plan this step writes (kind files): paths, or patterns whose `*` matches any name (a unit named after a path the answers give). */
  files: z.array(z.string().startsWith('/')).optional(),
  description: z.string().optional(),
  /**
   * Only in some clusters: `ha` = when the answers ask for high availability, `guests` = when they
   * declare guests, `backup` = when they have spec.backup.
   */
  when: z.enum(['ha', 'guests', 'backup']).optional(),
});

const PlaybookSchema = z.strictObject({
  apiVersion: z.literal('hvcluster/v1'),
  kind: z.literal('Playbook'),
  name: z.string(),
  description: z.string(),
  steps: z.array(StepSchema).min(1),
});

export type PlaybookStep = z.output<typeof StepSchema>;
export type Playbook = z.output<typeof PlaybookSchema>;

/** What the loader checks of a step kind: the data it needs from earlier steps and hands to later ones. */
export interface KindContract {
  requires?: readonly string[];
  produces?: readonly string[];
}

export function parsePlaybook(text: string, file: string, kinds: readonly string[] | Readonly<Record<string, KindContract>>): Playbook {
  const knownKinds = Array.isArray(kinds) ? (kinds as readonly string[]) : Object.keys(kinds);
  const contracts: Readonly<Record<string, KindContract>> = Array.isArray(kinds) ? {} : (kinds as Readonly<Record<string, KindContract>>);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) throw new PlaybookError(`${file}: ${doc.errors[0]!.message}`);
  const parsed = PlaybookSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PlaybookError(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const names = new Set<string>();
  for (const [index, step] of parsed.data.steps.entries()) {
    if (!knownKinds.includes(step.kind)) {
      throw new PlaybookError(`${file}: steps[${index}] (${step.name}): unknown step kind ${step.kind}; known: ${knownKinds.join(', ')}`);
    }
    if (names.has(step.name)) throw new PlaybookError(`${file}: steps[${index}]: step name ${step.name} is used twice`);
    names.add(step.name);
    if (step.kind === 'files' && (step.files ?? []).length === 0) throw new PlaybookError(`${file}: steps[${index}] (${step.name}): a files step needs files`);
  }
  // Every step's required data is produced by a step before it.
  const produced = new Map<string, string>();
  for (const [index, step] of parsed.data.steps.entries()) {
    const contract = contracts[step.kind] ?? {};
    for (const key of contract.requires ?? []) {
      if (!produced.has(key)) {
        const by = Object.entries(contracts).filter(([, c]) => c.produces?.includes(key)).map(([k]) => k);
        throw new PlaybookError(`${file}: steps[${index}] (${step.name}) needs ${key}, which no step before it produces (step kind ${by.join(' or ') || 'none'} does): move it after that step`);
      }
    }
    for (const key of contract.produces ?? []) produced.set(key, step.name);
  }
  return parsed.data;
}

export function loadPlaybook(name: string, kinds: readonly string[] | Readonly<Record<string, KindContract>>): Playbook {
  const file = join(PLAYBOOKS_DIR, `${name}.yaml`);
  return parsePlaybook(readFileSync(file, 'utf8'), `playbooks/${name}.yaml`, kinds);
}
