/**
 * The lab benchmarks' sections of bench/results-lab.md: each bench owns the text between its
 * `<!-- bench:NAME begin -->` and `<!-- bench:NAME end -->` markers and replaces only that (appended
 * the first time). BENCH_OUT names another file, `-` none.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const LAB_RESULTS = process.env.BENCH_OUT ?? join(ROOT, 'bench', 'results-lab.md');

/** The markers of bench NAME's section. */
export function sectionMarkers(name: string): { begin: string; end: string } {
  return { begin: `<!-- bench:${name} begin -->`, end: `<!-- bench:${name} end -->` };
}

/** Writes `section` (which starts and ends with NAME's markers) into the results file; returns where, or null for BENCH_OUT=-. */
export function writeLabSection(name: string, section: string): string | null {
  if (LAB_RESULTS === '-') return null;
  const { begin, end } = sectionMarkers(name);
  const text = existsSync(LAB_RESULTS) ? readFileSync(LAB_RESULTS, 'utf8') : '';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  writeFileSync(LAB_RESULTS, i >= 0 && j > i ? `${text.slice(0, i)}${section}${text.slice(j + end.length)}` : `${text.trimEnd()}\n\n${section}\n`);
  return LAB_RESULTS;
}
