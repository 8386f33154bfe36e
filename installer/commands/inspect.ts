/**
 * `hvcluster inspect`: the facts of each server, read in one round trip per server, servers in parallel.
 * Read-only. An unreachable server is reported on its own and does not hide the others' results.
 */
import { EXIT, HvError, exitCodeOf, type ExitCode } from '../errors.js';
import { Reporter, type Streams } from '../output.js';
import { gatherFacts } from '../facts/index.js';
import { formatFactsText } from '../facts/format.js';
import type { ServerFacts } from '../facts/types.js';
import { jsonDocument, jsonText } from '../json-output.js';
import { withConnections, type ConnectionOptions } from './connect.js';

export interface InspectOptions extends ConnectionOptions {
  json?: boolean;
}

export type InspectResult =
  | { server: string; ok: true; hostKeyFingerprint: string; facts: ServerFacts }
  | { server: string; ok: false; error: Record<string, unknown> };

export async function runInspect(options: InspectOptions, streams: Streams): Promise<ExitCode> {
  const reporter = new Reporter(streams);
  let worst: ExitCode = EXIT.ok;
  const results = await withConnections(options, streams, async (connection) => gatherFacts(connection), {
    onConnected: (server) => reporter.info(`${server}: connected, reading facts`),
  });

  const output: InspectResult[] = results.map((result) => {
    if (result.ok) {
      return { server: result.server, ok: true, hostKeyFingerprint: result.hostKeyFingerprint, facts: result.value };
    }
    const code = exitCodeOf(result.error);
    if (worst === EXIT.ok || code > worst) worst = code;
    const error = result.error;
    reporter.error(error instanceof Error ? error.message : String(error), error instanceof HvError ? error.hint : undefined);
    return {
      server: result.server,
      ok: false,
      error: error instanceof HvError ? error.toJSON() : { kind: 'internal', message: String(error) },
    };
  });

  if (options.json) {
    streams.stdout.write(jsonText(jsonDocument('hvcluster inspect', worst, { servers: output })));
  } else {
    const blocks = output.map((result) =>
      result.ok ? formatFactsText(result.facts) : `${result.server}\n  unreachable: ${String(result.error.message)}\n`,
    );
    streams.stdout.write(blocks.join('\n'));
  }
  return worst;
}
