/**
 * Writes installer/answers/site.schema.json from the zod schema.
 *   npx tsx installer/answers/write-json-schema.ts           (re)writes the file
 *   npx tsx installer/answers/write-json-schema.ts --check   exits 1 if the file is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_FILE_NAME, renderJsonSchema } from './json-schema.js';

const target = fileURLToPath(new URL(JSON_SCHEMA_FILE_NAME, import.meta.url));
const wanted = renderJsonSchema();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== wanted) {
    process.stderr.write(`${target} is out of date; run: npx tsx installer/answers/write-json-schema.ts\n`);
    process.exit(1);
  }
  process.stdout.write(`${target} is up to date\n`);
} else {
  writeFileSync(target, wanted);
  process.stdout.write(`wrote ${target}\n`);
}
