import { describe, expect, it } from 'vitest';
import { checkAnswerText, exampleAnswerFile, parseAnswers, answersJsonSchema } from '../../../installer/answers/index.js';

/** Every property name in the JSON Schema, with its dotted path. */
function schemaKeys(schema: Record<string, unknown>, path = ''): Array<{ key: string; path: string }> {
  const out: Array<{ key: string; path: string }> = [];
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [key, child] of Object.entries(properties ?? {})) {
    out.push({ key, path: path ? `${path}.${key}` : key });
    out.push(...schemaKeys(child, path ? `${path}.${key}` : key));
  }
  if (schema.items && typeof schema.items === 'object') out.push(...schemaKeys(schema.items as Record<string, unknown>, `${path}[]`));
  return out;
}

describe('exampleAnswerFile', () => {
  it('loads with no error and no warning', () => {
    expect(checkAnswerText(exampleAnswerFile()).issues).toEqual([]);
    const { answers } = parseAnswers(exampleAnswerFile());
    expect(answers.spec.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2']);
    expect(answers.spec.nodes.every((n) => n.storage.wipe === false)).toBe(true);
  });

  it('shows every key of the schema, as a setting or a commented-out one', () => {
    const text = exampleAnswerFile();
    const missing = schemaKeys(answersJsonSchema()).filter(({ key }) => !new RegExp(`^[ #]*(?:- )?${key}:`, 'm').test(text) && !text.includes(`{ ${key}:`));
    expect(missing).toEqual([]);
  });

  it('comments every line that sets something, and warns about wipe', () => {
    const text = exampleAnswerFile();
    expect(text).toMatch(/# DANGER: true lets hvcluster ERASE this disk/);
    expect(text).toMatch(/passwordFrom: \{ env: HVCLUSTER_SSH_PASSWORD \}/);
    expect(text).toContain('A "password:" key is refused.');
  });
});
