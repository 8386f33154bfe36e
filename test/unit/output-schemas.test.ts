/** The published JSON Schemas of --json output are current, and real documents satisfy them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { jsonLinesReporter } from '../../installer/engine/reporters.js';
import { ConfigError } from '../../installer/errors.js';
import { jsonError } from '../../installer/json-output.js';
import { ApplyEvent, ErrorDocument, OUTPUT_SCHEMAS, renderOutputSchema, VerifyDocument } from '../../installer/output-schemas.js';
import { PROJECT_ROOT } from '../../installer/paths.js';
import { evaluate } from '../../installer/verify/evaluate.js';
import { buildReport } from '../../installer/verify/report.js';
import { input } from './verify/helpers.js';

describe('output schemas', () => {
  for (const name of Object.keys(OUTPUT_SCHEMAS) as (keyof typeof OUTPUT_SCHEMAS)[]) {
    it(`docs/schemas/${name} is what output-schemas.ts generates (npx tsx installer/write-output-schemas.ts)`, () => {
      expect(readFileSync(join(PROJECT_ROOT, 'docs', 'schemas', name), 'utf8')).toBe(renderOutputSchema(name));
    });
  }

  it('holds a verify report, healthy and broken', () => {
    for (const edits of [{}, { hv1: [['connection:Connected role:Secondary', 'connection:StandAlone role:Unknown']] as [string, string][] }]) {
      const i = input(edits);
      const report = buildReport(i, evaluate(i), { version: '0.1.0', startedAt: new Date('2026-12-05T15:00:00Z'), durationMs: 1000 });
      expect(VerifyDocument.safeParse(JSON.parse(JSON.stringify(report))).error).toBeUndefined();
    }
  });

  it('holds every apply event line, and an error document', () => {
    let out = '';
    const report = jsonLinesReporter(new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) }));
    report({ type: 'run-started', runId: 'R', cluster: 'c', servers: ['hv1'], steps: ['packages'], dryRun: false, logFile: '/l' });
    report({ type: 'step-started', server: 'hv1', step: 'packages', title: 'Packages' });
    report({ type: 'progress', server: 'hv1', step: 'packages', percent: 50, text: 'Unpacking x' });
    report({ type: 'change', server: 'hv1', step: 'packages', description: 'install x', dryRun: false });
    report({ type: 'log', level: 'info', text: 'x' });
    report({ type: 'step-finished', server: 'hv1', step: 'packages', status: 'changed', changes: ['install x'], durationMs: 5 });
    report({ type: 'run-finished', runId: 'R', ok: true, changed: 1, unchanged: 0, failed: 0, durationMs: 9, logFile: '/l' });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines).toHaveLength(7);
    for (const line of lines) expect(ApplyEvent.safeParse(line).error).toBeUndefined();
    const error = jsonError('hvcluster plan', new ConfigError('site.yaml is not a valid answer file'));
    expect(ErrorDocument.safeParse(error).error).toBeUndefined();
    // And the schemas do reject what breaks the contract.
    expect(ApplyEvent.safeParse({ type: 'progress', server: 'hv1' }).success).toBe(false);
  });
});
