/**
 * The watchdog level's preflight (spec.ha.watchdog): each node's watchdog device, as sbd-state.sh
 * read it before the first change, must be there for sbd alone, and accept the timeout. A finding
 * is an answer-file issue at spec.ha.watchdog: apply changes nothing anywhere. Pure.
 */
import type { AnswerIssue } from '../answers/issues.js';
import type { Answers } from '../answers/schema.js';
import { systemdHoldsWatchdog, type SbdState } from '../engine/ha/state.js';
import { watchdogPlan } from './ha.js';

/** `reads[i]`: what was read of spec.nodes[i] (undefined when not read: nothing is said of it). */
export function watchdogIssues(answers: Answers, reads: readonly (SbdState | undefined)[]): AnswerIssue[] {
  const w = watchdogPlan(answers);
  if (!w) return [];
  const issues: AnswerIssue[] = [];
  const device = ['spec', 'ha', 'watchdog', 'device'];
  answers.spec.nodes.forEach((node, i) => {
    const s = reads[i];
    if (!s) return;
    const name = node.name;
    if (!s.devicePresent) {
      issues.push({
        severity: 'error',
        path: device,
        message: `no watchdog device ${w.device} on ${name}: load the driver of its hardware watchdog (iTCO_wdt on Intel chipsets, sp5100_tco on AMD, ipmi_watchdog for the BMC's; \`ls /sys/class/watchdog\` lists what is there), enable the watchdog in the firmware, or remove spec.ha.watchdog`,
      });
      return;
    }
    if (s.holders.length > 0) {
      issues.push({
        severity: 'error',
        path: device,
        message: `${w.device} on ${name} is held open by ${s.holders.join(', ')}: a watchdog has one user, and sbd must be it; stop and disable that service (the watchdog package's daemon: \`systemctl disable --now watchdog\`)`,
      });
    } else if (systemdHoldsWatchdog(s.systemdRuntime)) {
      issues.push({
        severity: 'error',
        path: device,
        message: `systemd feeds the hardware watchdog on ${name} (RuntimeWatchdogSec, shown as ${s.systemdRuntime}): sbd cannot open it; set RuntimeWatchdogSec=off in /etc/systemd/system.conf and run \`systemctl daemon-reexec\``,
      });
    }
    if (s.maxTimeoutS !== null && s.maxTimeoutS < w.timeoutS) {
      issues.push({
        severity: 'error',
        path: ['spec', 'ha', 'watchdog', 'timeout'],
        message: `the watchdog of ${name} (${s.identity ?? w.device}) accepts at most ${s.maxTimeoutS} s, less than timeout ${w.timeoutS}; expected a timeout of at most ${s.maxTimeoutS}`,
      });
    }
    if (s.identity !== null && /software watchdog/i.test(s.identity)) {
      issues.push({
        severity: 'warning',
        path: device,
        message: `${w.device} on ${name} is softdog, the kernel's software watchdog: a hung kernel stops it too, so the node may never reset while the others count on it; load the hardware watchdog's driver instead`,
      });
    }
  });
  return issues;
}
