/**
 * The envelope of every JSON document hvcluster prints (`--json`): the same keys on success and
 * failure, so a CI job can read `exitCode` and either the result or `error` without guessing.
 *
 *   { "schemaVersion": 1, "tool": "hvcluster inspect", "version": "0.1.0", "exitCode": 0, ...result }
 *   { "schemaVersion": 1, "tool": "hvcluster plan", "version": "0.1.0", "exitCode": 3, "error": { "kind": "config", "message": ..., "hint": ... } }
 *
 * schemaVersion changes only when a key is removed or changes meaning; new keys may appear.
 */
import { HvError, exitCodeOf } from './errors.js';
import { VERSION } from './paths.js';

export const JSON_SCHEMA_VERSION = 1;

export interface JsonEnvelope {
  schemaVersion: number;
  tool: string;
  version: string;
  exitCode: number;
}

/** A result document. */
export function jsonDocument<T extends object>(tool: string, exitCode: number, body: T): JsonEnvelope & T {
  return { schemaVersion: JSON_SCHEMA_VERSION, tool, version: VERSION, exitCode, ...body };
}

/** The document of a command that could not produce its result. */
export function jsonError(tool: string, error: unknown, exitCode: number = exitCodeOf(error)): JsonEnvelope & { error: Record<string, unknown> } {
  const body = error instanceof HvError ? error.toJSON() : { kind: 'internal', message: error instanceof Error ? error.message : String(error) };
  return jsonDocument(tool, exitCode, { error: body });
}

export function jsonText(document: object): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
