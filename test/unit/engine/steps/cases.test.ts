/**
 * Every step kind's plan as data, pyinfra-style: test/fixtures/engine/steps/KIND.json holds cases of
 * (what the servers hold, what earlier steps produced) -> the changes the step plans, its notes, or
 * its refusal. The plan is pure: these cases are the whole of a step's decisions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { changeSummary } from '../../../../installer/engine/change.js';
import { StepRefusedError } from '../../../../installer/engine/steps/step.js';
import { inputOf, kindOf, type CaseNode } from '../harness.js';

interface Case {
  name: string;
  nodes: CaseNode[];
  stale?: boolean;
  dryRun?: boolean;
  files?: string[];
  expect: {
    changes?: { server: string; description: string; actions: string[] }[];
    notes?: string[];
    refused?: string;
    hint?: string;
  };
}

const dir = new URL('../../../fixtures/engine/steps/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('step plans', () => {
  it('cover every step kind of the install playbook', () => {
    const kinds = files.map((f) => f.replace(/\.json$/, ''));
    expect(kinds.sort()).toEqual(['drbd-module', 'files', 'network', 'node-keys', 'node-trust', 'packages', 'replication-path', 'replication-probe', 'services', 'volume-group']);
  });
  for (const file of files) {
    const kind = file.replace(/\.json$/, '');
    const { cases } = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { cases: Case[] };
    describe(kind, () => {
      for (const c of cases) {
        it(c.name, () => {
          const input = inputOf(kind, c.nodes, { ...(c.stale ? { stale: true } : {}), ...(c.dryRun ? { dryRun: true } : {}), ...(c.files ? { files: c.files } : {}) });
          const plan = () => kindOf(kind).plan(input);
          if (c.expect.refused !== undefined) {
            expect(plan).toThrow(StepRefusedError);
            try {
              plan();
            } catch (error) {
              expect((error as Error).message).toContain(c.expect.refused);
              if (c.expect.hint !== undefined) expect((error as StepRefusedError).hint).toContain(c.expect.hint);
            }
            return;
          }
          const planned = plan();
          expect(planned.changes.map(changeSummary)).toEqual((c.expect.changes ?? []).map((ch) => ({ ...ch, step: kind })));
          if (c.expect.notes) expect((planned.notes ?? []).map((n) => `${n.level}: ${n.text}`)).toEqual(c.expect.notes);
        });
      }
    });
  }
});
