/** The hand-over report (--report FILE.md): cluster layout, versions, every check, the migration and failover figures. */
import { clockDuration, humanBytes } from '../../facts/format.js';
import type { ResyncSummary, VerifyReport } from '../report.js';
import { failoverTimeline, fencingText, holdText, type FailoverReport } from '../failover/drill.js';
import { FAILOVER_FAULT_TEXT } from '../failover/faults.js';
import { linkProblems, linkTimeline, type LinkDrillReport } from '../failover/link-drill.js';

const cell = (text: string | number | null | undefined) => String(text ?? '-').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: (string | number | null | undefined)[]) => `| ${cells.map(cell).join(' | ')} |`;
/** resync 25.0% (12,612 of 16,344 KiB left, 200 KiB/s, about 0:01:03 to go) */
function resyncText(r: ResyncSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [`${n(r.leftKiB)} of ${n(r.totalKiB)} KiB left`];
  if (r.speedKiBps !== null) parts.push(`${n(r.speedKiBps)} KiB/s`);
  if (r.etaSeconds !== null) parts.push(`about ${clockDuration(r.etaSeconds)} to go`);
  return `resync ${r.percent.toFixed(1)}% (${parts.join(', ')})`;
}
const ICON: Record<string, string> = { pass: 'pass', warning: '**warning**', error: '**ERROR**', skipped: 'skipped' };

export function formatMarkdown(report: VerifyReport): string {
  const s = report.summary;
  const out: string[] = [];
  out.push(`# Cluster ${report.cluster}: hand-over report`, '');
  out.push(`Verified by ${report.tool} ${report.version} on ${report.startedAt} (${(report.durationMs / 1000).toFixed(1)} s).`, '');
  const verdict =
    s.unreachable.length > 0
      ? `**Could not run on ${s.unreachable.join(', ')}** (unreachable): exit code 2.`
      : report.exitCode === 1
        ? `**Errors found**: exit code 1.`
        : s.warnings > 0
          ? 'Healthy, with warnings: exit code 0.'
          : 'All checks passed: exit code 0.';
  out.push(`Result: ${s.passed} passed, ${s.warnings} warnings, ${s.errors} errors, ${s.skipped} skipped. ${verdict}`, '');

  out.push('## Layout', '');
  out.push(`Bridge \`${report.settings.bridge}\` for guests on the management network; replication MTU ${report.settings.replicationMtu}; volume group \`${report.settings.volumeGroup}\`; DRBD protocol ${report.settings.drbdProtocol}.`, '');
  out.push(row(['node', 'SSH', 'management', 'replication', 'data disk', 'volume group (free / size)']), row(['---', '---', '---', '---', '---', '---']));
  for (const n of report.nodes) {
    out.push(
      row([
        n.reachable ? n.name : `${n.name} (unreachable)`,
        `${n.ssh.user}@${n.ssh.address}:${n.ssh.port}`,
        `${n.management.address} on ${n.management.interface}`,
        `${n.replication.address} on ${n.replication.interface}`,
        `\`${n.disk}\``,
        n.volumeGroup ? `${humanBytes(n.volumeGroup.freeBytes)} / ${humanBytes(n.volumeGroup.sizeBytes)}` : null,
      ]),
    );
  }
  out.push('');
  if (report.resources.length > 0) {
    out.push('### DRBD resources', '');
    out.push(row(['resource', 'minor', 'nodes', 'state per node']), row(['---', '---', '---', '---']));
    for (const r of report.resources) {
      const state = Object.entries(r.state)
        .map(([node, st]) => `${node}: ${st.role ?? '?'}, disk ${st.disk ?? '?'}, ${st.connection ?? 'no connection'}${st.resync ? `, ${resyncText(st.resync)}` : ''}`)
        .join('; ');
      out.push(row([r.name, r.minor, r.hosts.map((h) => `${h.name} ${h.address ?? ''}`.trim()).join(', '), state]));
    }
    out.push('');
  }

  out.push('## Versions', '');
  out.push(row(['node', 'OS', 'kernel', 'DRBD module', 'drbd-utils', 'libvirt', 'QEMU', 'CPU', 'memory', 'SSH host key']), row(Array(10).fill('---')));
  for (const n of report.nodes) {
    out.push(row([n.name, n.os, n.kernel, n.drbdModule, n.drbdUtils, n.libvirt, n.qemu, n.cpu, n.memoryBytes === null ? null : humanBytes(n.memoryBytes), n.hostKey ? `\`${n.hostKey}\`` : null]));
  }
  out.push('');

  out.push('## Checks', '');
  out.push(row(['result', 'code', 'server', 'about', 'found', 'what to do']), row(['---', '---', '---', '---', '---', '---']));
  for (const c of report.checks) out.push(row([ICON[c.status], `\`${c.code}\``, c.server, c.subject, c.found, c.fix]));
  out.push('');

  const m = report.migration;
  if (m) {
    out.push('## Live migration test', '');
    if (m.skipped) out.push(`Not run: ${m.skipped}`, '');
    if (m.report) {
      const r = m.report;
      out.push(`${r.ok ? 'Passed' : '**Failed**'}: test guest ${r.guest.name} (${r.guest.memoryMiB} MiB, ${r.guest.address}), started ${r.startedAt}, ${(r.durationMs / 1000).toFixed(1)} s in all.`, '');
      out.push(row(['from', 'to', 'resource', 'result', 'QEMU downtime', 'longest client gap', 'answered', 'migration time', 'data intact']), row(Array(9).fill('---')));
      for (const x of r.migrations) {
        out.push(
          row([
            x.from,
            x.to,
            x.resource,
            x.ok ? 'ok' : `**failed**${x.error ? `: ${x.error}` : ''}`,
            x.qemuDowntimeMs === null ? null : `${x.qemuDowntimeMs} ms`,
            x.clientMaxGapMs === null ? null : `${x.clientMaxGapMs} ms`,
            `${x.clientAnswers}/${x.clientRequests}`,
            `${x.totalMs} ms`,
            x.dataIntact === null ? null : x.dataIntact ? 'yes' : '**no**',
          ]),
        );
      }
      out.push('');
      if (r.error) out.push(`Stopped at ${r.error.phase}: ${r.error.message}`, '');
      out.push(`Data read back on the DRBD device after the test: ${r.dataIntactOnDisk === null ? 'not reached' : r.dataIntactOnDisk ? 'intact' : '**changed**'}.`);
      out.push(`Clean-up: ${r.cleanup.ok && r.cleanup.leftovers.length === 0 ? 'nothing left behind' : `**left behind**: ${r.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`}.`, '');
    }
  }
  const l = report.linkDrill;
  if (l) {
    out.push('## Replication-link drill', '');
    if (l.skipped) out.push(`Not run: ${l.skipped}`, '');
    if (l.report) out.push(...linkSection(l.report));
  }
  const f = report.failover;
  if (f) {
    out.push('## Failover drill', '');
    if (f.skipped) out.push(`Not run: ${f.skipped}`, '');
    if (f.report) out.push(...failoverSection(f.report));
  }
  return `${out.join('\n')}\n`;
}

/** The link drill's figures: each phase from the cut, the guest, the outcome. */
function linkSection(r: LinkDrillReport): string[] {
  const problems = linkProblems(r);
  return [
    `${r.ok ? 'Passed' : `**Failed**: ${problems.join('; ') || 'see the clean-up'}`}: test guest ${r.guest.name} (${r.guest.address}); ${r.node ?? '?'} lost its replication link ${r.link ?? '?'}; ${(r.durationMs / 1000).toFixed(1)} s in all.`,
    '',
    row(['from the cut', 'time']),
    row(['---', '---']),
    ...linkTimeline(r).map(([label, time]) => row([label, time])),
    '',
    `The guest kept running on ${r.node ?? '?'} (longest silence ${r.guestMaxGapMs ?? '?'} ms${r.guestRebooted ? ', it **rebooted**' : ''}). Primaries at once: at most ${r.maxPrimaries}. Both nodes members throughout: ${r.membersKept === null ? 'not seen' : r.membersKept ? 'yes' : '**no**'}. Fencing: ${r.fencing.length ? r.fencing.map((e) => `${e.target} ${e.action} ${e.status}`).join(', ') : 'none'}. Its data: ${r.dataIntact === null ? 'not checked' : r.dataIntact ? 'intact' : '**changed**'}.`,
    `Clean-up: ${r.cleanup.ok ? 'nothing left behind' : `**left behind**: ${r.cleanup.leftovers.map((x) => `${x.server}: ${x.what}`).join('; ')}`}.`,
    '',
  ];
}

/** The drill's figures: each phase from the power-off (the production estimate is in the README), the fencing, the data. */
function failoverSection(r: FailoverReport): string[] {
  return [
    `${r.ok ? 'Passed' : `**Failed**${r.error ? ` in phase ${r.error.phase}: ${r.error.message}` : ''}`}: ${r.guest.declared ? `declared guest ${r.guest.name} (its real downtime measured, its data not touched)` : `test guest ${r.guest.name} (${r.guest.address})`}; ${r.crashed ?? '?'} failed by the drill (${r.fault}: ${FAILOVER_FAULT_TEXT[r.fault]}), ${r.survivor ?? '?'} took over; ${(r.durationMs / 1000).toFixed(1)} s in all.`,
    ...(holdText(r) ? ['', `${holdText(r)}.`] : []),
    ...(r.restored.length ? ['', `Undone after the failure: ${r.restored.join('; ')}.`] : []),
    '',
    row(['from the fault', 'time']),
    row(['---', '---']),
    ...failoverTimeline(r).map(([label, time]) => row([label, time])),
    '',
    `Timing profile ${r.timing.profile} (Corosync token ${r.timing.tokenMs} ms, stonith-timeout ${r.timing.stonithTimeoutS} s). Fencing of ${r.crashed ?? '?'}: ${fencingText(r)}${r.rebooted === null ? '' : r.rebooted ? ' (it came back with a new boot)' : ' (it came back **without a reboot**)'}. The guest ran on: ${r.guestSeenOn.join(', ') || 'no node'}. Its data: ${r.guest.declared ? 'not touched (a declared guest: its agent answering again is the check)' : r.dataIntact === null ? 'not checked' : r.dataIntact ? 'intact' : '**changed**'}.`,
    `Clean-up: ${r.cleanup.ok && r.cleanup.leftovers.length === 0 ? 'nothing left behind' : `**left behind**: ${r.cleanup.leftovers.map((l) => `${l.server}: ${l.what}`).join('; ')}`}.`,
    '',
  ];
}
