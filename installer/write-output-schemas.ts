/**
 * Writes docs/schemas/*.schema.json, the JSON Schemas of hvcluster's --json output, from
 * output-schemas.ts. A unit test keeps the files equal to what this generates.
 *   npx tsx installer/write-output-schemas.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUTPUT_SCHEMAS, renderOutputSchema } from './output-schemas.js';
import { PROJECT_ROOT } from './paths.js';

const dir = join(PROJECT_ROOT, 'docs', 'schemas');
mkdirSync(dir, { recursive: true });
for (const name of Object.keys(OUTPUT_SCHEMAS) as (keyof typeof OUTPUT_SCHEMAS)[]) {
  writeFileSync(join(dir, name), renderOutputSchema(name));
  process.stdout.write(`wrote ${join(dir, name)}\n`);
}
