/**
 * The contracts of hvcluster's machine-readable output (`--json`), as zod schemas: the tests hold
 * every real document to them, and `write-output-schemas.ts` publishes them as JSON Schema files in
 * docs/schemas/ for whoever consumes the output (a CI job, monitoring). Objects are open: a later
 * version may add keys without a new schemaVersion; removing or changing one bumps it.
 */
import { z } from 'zod';

const envelope = {
  schemaVersion: z.literal(1).describe('Changes only when a key is removed or changes meaning.'),
  tool: z.string().describe('The command that printed the document, e.g. "hvcluster verify".'),
  version: z.string().describe("hvcluster's version."),
  exitCode: z.number().int().describe('The exit code of the command (see the README).'),
};

const errorObject = z
  .looseObject({
    kind: z.string().describe('usage, config, connection, host-key, auth, remote, checks-failed, interrupted, internal'),
    message: z.string(),
    hint: z.string().optional(),
  })
  .describe('Why the command could not produce its result.');

/** A command that could not run: the envelope and an error. */
export const ErrorDocument = z.looseObject({ ...envelope, error: errorObject }).describe('A command that could not produce its result.');

const checkResult = z.looseObject({
  code: z.string().describe('Stable check code, e.g. DRBD_CONNECTED.'),
  title: z.string(),
  status: z.enum(['pass', 'warning', 'error', 'skipped']),
  server: z.string().describe('The server the result is about, or "cluster".'),
  servers: z.array(z.string()),
  subject: z.string().optional().describe('A peer, a DRBD resource, a volume group.'),
  found: z.string(),
  fix: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

export const VerifyDocument = z
  .looseObject({
    ...envelope,
    tool: z.literal('hvcluster verify'),
    cluster: z.string(),
    startedAt: z.string(),
    durationMs: z.number(),
    summary: z.looseObject({}),
    settings: z.looseObject({}),
    nodes: z.array(z.looseObject({ name: z.string(), reachable: z.boolean() })),
    resources: z.array(z.looseObject({ name: z.string() })),
    checks: z.array(checkResult),
    migration: z.looseObject({ skipped: z.string().optional(), report: z.looseObject({ ok: z.boolean() }).optional() }).optional(),
    failover: z.looseObject({ skipped: z.string().optional(), report: z.looseObject({ ok: z.boolean(), phases: z.record(z.string(), z.number()) }).optional() }).optional(),
    linkDrill: z.looseObject({ skipped: z.string().optional(), report: z.looseObject({ ok: z.boolean(), phases: z.record(z.string(), z.number()), maxPrimaries: z.number() }).optional() }).optional(),
  })
  .describe('hvcluster verify --json: every check with its code, status and finding.');

export const InspectDocument = z
  .looseObject({
    ...envelope,
    tool: z.literal('hvcluster inspect'),
    servers: z.array(
      z.union([
        z.looseObject({ server: z.string(), ok: z.literal(true), hostKeyFingerprint: z.string(), facts: z.record(z.string(), z.unknown()) }),
        z.looseObject({ server: z.string(), ok: z.literal(false), error: errorObject }),
      ]),
    ),
  })
  .describe('hvcluster inspect --json: the facts of each server, or why it could not be read.');

export const PlanDocument = z
  .looseObject({
    ...envelope,
    tool: z.literal('hvcluster plan'),
    cluster: z.string(),
    drbdMajor: z.string(),
    nodes: z.array(
      z.looseObject({
        name: z.string(),
        files: z.array(z.looseObject({ path: z.string(), change: z.string(), purpose: z.string(), diff: z.string().optional() })),
        packagesToInstall: z.array(z.string()),
        changes: z
          .array(z.looseObject({ step: z.string(), description: z.string(), actions: z.array(z.string()).describe('What performs it: a command, a script of installer/remote with its arguments, or an upload (path, mode, owner; never the content).') }))
          .describe('Every change apply would make on this server, in order: the list apply --dry-run shows and apply performs.'),
      }),
    ),
    refusals: z.array(z.looseObject({ server: z.string(), step: z.string(), message: z.string(), hint: z.string().optional() })).describe('Steps that would stop apply (exit 1).'),
  })
  .describe('hvcluster plan --json: per server the files that would change (with diffs), the packages, and every change apply would make.');

const at = { time: z.string().describe('When it happened (ISO 8601).') };
export const ApplyEvent = z
  .discriminatedUnion('type', [
    z.looseObject({ ...at, type: z.literal('run-started'), schemaVersion: z.literal(1), version: z.string(), runId: z.string(), cluster: z.string(), servers: z.array(z.string()), steps: z.array(z.string()), dryRun: z.boolean(), logFile: z.string() }),
    z.looseObject({ ...at, type: z.literal('step-started'), server: z.string(), step: z.string(), title: z.string() }),
    z.looseObject({ ...at, type: z.literal('change'), server: z.string(), step: z.string(), description: z.string(), dryRun: z.boolean() }),
    z.looseObject({ ...at, type: z.literal('progress'), server: z.string(), step: z.string(), percent: z.number(), text: z.string().optional() }),
    z.looseObject({ ...at, type: z.literal('log'), server: z.string().optional(), step: z.string().optional(), level: z.enum(['info', 'warn']), text: z.string() }),
    z.looseObject({ ...at, type: z.literal('step-finished'), server: z.string(), step: z.string(), status: z.enum(['changed', 'unchanged', 'failed', 'skipped']), changes: z.array(z.string()), durationMs: z.number(), error: z.string().optional() }),
    z.looseObject({ ...at, type: z.literal('run-finished'), runId: z.string(), ok: z.boolean(), changed: z.number(), unchanged: z.number(), failed: z.number(), durationMs: z.number(), logFile: z.string(), interruptedBefore: z.string().optional() }),
    z.looseObject({ ...at, ...envelope, type: z.literal('error'), error: errorObject }),
  ])
  .describe('One line of hvcluster apply --json.');

/** The published files: name -> schema. */
export const OUTPUT_SCHEMAS = {
  'verify.schema.json': VerifyDocument,
  'inspect.schema.json': InspectDocument,
  'plan.schema.json': PlanDocument,
  'apply-event.schema.json': ApplyEvent,
  'error.schema.json': ErrorDocument,
} as const;

export function renderOutputSchema(name: keyof typeof OUTPUT_SCHEMAS): string {
  const schema = z.toJSONSchema(OUTPUT_SCHEMAS[name], { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return `${JSON.stringify(schema, null, 2)}\n`;
}
