/**
 * Problems found in an answer file, and the error that carries them.
 *
 * One issue prints as `site.yaml:13:16 spec.nodes[1].replication.address: expected ...`:
 * file, line and column (1-based) of the offending node, the key path, what is wrong and what is expected.
 */
import { ConfigError } from '../errors.js';

export type Severity = 'error' | 'warning';
export type AnswerPath = ReadonlyArray<string | number>;

export interface AnswerIssue {
  severity: Severity;
  /** Key path into the answer file, e.g. ['spec', 'nodes', 1, 'replication', 'address']; [] for the whole file. */
  path: AnswerPath;
  /** What is wrong and what is expected. Never contains a secret. */
  message: string;
  /** Where in which file, when the answers came from a file. */
  location?: IssueLocation;
}

export interface IssueLocation {
  file: string;
  line: number;
  col: number;
  /**
   * For a value a merge key brought in (`<<: *common`): the position above is where the value is
   * written (in the anchored mapping), this one where it was merged into the mapping that `path` names.
   */
  mergedBy?: { file: string; line: number; col: number; source: string };
}

/** `spec.nodes[1].replication.address` */
export function formatPath(path: AnswerPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** `site.yaml:13:16 spec.nodes[1].replication.address: expected ...` (warnings say `warning:` before the message). */
export function formatIssue(issue: AnswerIssue): string {
  const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.col} ` : '';
  const path = issue.path.length > 0 ? `${formatPath(issue.path)}: ` : '';
  const severity = issue.severity === 'warning' ? 'warning: ' : '';
  const merged = issue.location?.mergedBy;
  const via = merged ? ` (merged in by <<: ${merged.source} at ${merged.file}:${merged.line}:${merged.col})` : '';
  return `${where}${path}${severity}${issue.message}${via}`;
}

/** Orders issues by position in the file (issues without a position last, in their original order). */
export function sortIssues(issues: readonly AnswerIssue[]): AnswerIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => {
      const la = a.issue.location;
      const lb = b.issue.location;
      if (la && lb) return la.line - lb.line || la.col - lb.col || a.index - b.index;
      if (la) return -1;
      if (lb) return 1;
      return a.index - b.index;
    })
    .map(({ issue }) => issue);
}

/** An invalid answer file (exit code 3). `issues` holds every problem found, errors and warnings, sorted by position. */
export class AnswerFileError extends ConfigError {
  constructor(
    readonly file: string,
    readonly issues: AnswerIssue[],
    /** For findings against the servers: the first line before the issues, and the hint. */
    options: { headline?: (counts: string) => string; hint?: string } = {},
  ) {
    const errors = issues.filter((i) => i.severity === 'error').length;
    const warnings = issues.length - errors;
    const counts = `${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`;
    const first = options.headline ? options.headline(counts) : `${file} is not a valid answer file (${counts})`;
    super(`${first}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, {
      hint: options.hint ?? `Correct ${file} at the positions listed, then run again.`,
    });
  }

  get errors(): AnswerIssue[] {
    return this.issues.filter((i) => i.severity === 'error');
  }

  override toJSON() {
    return {
      ...super.toJSON(),
      file: this.file,
      issues: this.issues.map((i) => ({ ...i, path: formatPath(i.path), text: formatIssue(i) })),
    };
  }
}
