import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkAnswerText } from '../../../installer/answers/load.js';
import { formatIssue } from '../../../installer/answers/issues.js';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/answers/${name}`, import.meta.url));
}

export function fixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/** Every issue of `text`, formatted as the user sees it, the file named site.yaml. */
export function issuesOf(text: string): string[] {
  return checkAnswerText(text, 'site.yaml').issues.map(formatIssue);
}
