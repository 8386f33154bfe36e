/**
 * The JSON Schema of the answer file, generated from the zod schema, for editors (YAML language
 * server: `# yaml-language-server: $schema=site.schema.json`). site.schema.json is written by
 * write-json-schema.ts; a unit test keeps it equal to what this generates.
 */
import { z } from 'zod';
import { AnswersSchema } from './schema.js';

export const JSON_SCHEMA_FILE_NAME = 'site.schema.json';

/** The JSON Schema (draft 2020-12) of what may be written in an answer file (keys with defaults are optional). */
export function answersJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(AnswersSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }) as Record<string, unknown>;
}

/** The text of site.schema.json. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(answersJsonSchema(), null, 2)}\n`;
}
