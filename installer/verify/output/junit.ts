/**
 * JUnit XML: one testcase per check and server (and subject: peer, resource). Errors are <failure>,
 * skipped checks <skipped>, warnings pass with a `status=warning` property and the finding in
 * <system-out> (a warning does not fail the run, so it must not fail the CI job either).
 */
import type { CheckResult } from '../types.js';
import type { VerifyReport } from '../report.js';

export function xmlEscape(text: string): string {
  return text
    // XML 1.0 forbids most control characters, even escaped.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function testcaseName(r: CheckResult): string {
  return `${r.code} ${r.server}${r.subject ? ` ${r.subject}` : ''}`;
}

/**
 * A check that could not be made (its server unreachable) is an <error>, as JUnit means it: the test
 * could not run. A check that ran and found a problem is a <failure>.
 */
function couldNotCheck(r: CheckResult): boolean {
  return r.status === 'error' && r.code === 'SSH_REACHABLE';
}

/** Seconds a testcase took, where the result measured it (a migration's totalMs). */
function seconds(r: CheckResult): string {
  const ms = r.data?.totalMs;
  return typeof ms === 'number' && Number.isFinite(ms) ? (ms / 1000).toFixed(3) : '0';
}

function testcase(r: CheckResult): string {
  const attrs = `classname="hvcluster.verify.${xmlEscape(r.code)}" name="${xmlEscape(testcaseName(r))}" time="${seconds(r)}"`;
  const props = `<properties><property name="code" value="${xmlEscape(r.code)}"/><property name="status" value="${r.status}"/><property name="servers" value="${xmlEscape(r.servers.join(','))}"/></properties>`;
  const text = `${r.found}${r.fix ? `\nfix: ${r.fix}` : ''}`;
  switch (r.status) {
    case 'error':
      if (couldNotCheck(r)) return `    <testcase ${attrs}>\n      ${props}\n      <error message="${xmlEscape(r.found)}" type="${xmlEscape(r.code)}">${xmlEscape(text)}</error>\n    </testcase>`;
      return `    <testcase ${attrs}>\n      ${props}\n      <failure message="${xmlEscape(r.found)}" type="${xmlEscape(r.code)}">${xmlEscape(text)}</failure>\n    </testcase>`;
    case 'skipped':
      return `    <testcase ${attrs}>\n      ${props}\n      <skipped message="${xmlEscape(r.found)}"/>\n    </testcase>`;
    case 'warning':
      return `    <testcase ${attrs}>\n      ${props}\n      <system-out>${xmlEscape(`WARNING: ${text}`)}</system-out>\n    </testcase>`;
    default:
      return `    <testcase ${attrs}>\n      ${props}\n      <system-out>${xmlEscape(r.found)}</system-out>\n    </testcase>`;
  }
}

export function formatJunit(report: VerifyReport): string {
  const checks = report.checks;
  const errors = checks.filter(couldNotCheck).length;
  const failures = checks.filter((r) => r.status === 'error').length - errors;
  const skipped = checks.filter((r) => r.status === 'skipped').length;
  const time = (report.durationMs / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hvcluster verify" tests="${checks.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}">`,
    `  <testsuite name="${xmlEscape(`hvcluster verify ${report.cluster}`)}" tests="${checks.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}" timestamp="${report.startedAt.replace(/\.\d+Z$/, '')}">`,
    `    <properties><property name="cluster" value="${xmlEscape(report.cluster)}"/><property name="exitCode" value="${report.exitCode}"/><property name="warnings" value="${report.summary.warnings}"/></properties>`,
    ...checks.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** The JUnit file of a verify that could not run: one failing testcase saying why. */
export function formatJunitCouldNotRun(why: string, durationMs: number): string {
  const time = (durationMs / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hvcluster verify" tests="1" failures="0" errors="1" skipped="0" time="${time}">`,
    `  <testsuite name="hvcluster verify" tests="1" failures="0" errors="1" skipped="0" time="${time}" timestamp="${new Date().toISOString().replace(/\.\d+Z$/, '')}">`,
    `    <testcase classname="hvcluster.verify" name="verify could run" time="${time}">`,
    `      <error message="${xmlEscape(why)}" type="VERIFY_COULD_NOT_RUN">${xmlEscape(why)}</error>`,
    '    </testcase>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
