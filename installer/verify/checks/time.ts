/** Clock skew between nodes and time synchronization. */
import { pairs, reachable, result } from './common.js';
import type { CheckResult, ReachableNode, VerifyInput } from '../types.js';

export const SKEW_WARNING_S = 0.5;
export const SKEW_ERROR_S = 5;

/**
 * The node's clock minus the installer's, as an interval: the clock was read between the exec's send
 * and the arrival of the clock's section (the script's first; its whole run when that arrival was not
 * seen), so the offset lies in [clock - arrived, clock - sent].
 */
export function offsetInterval(node: ReachableNode): { lo: number; hi: number } | null {
  const clock = node.facts.clock;
  const timing = node.facts.timing;
  if (!clock.ok || !timing) return null;
  const readBy = timing.clockReadByMs ?? timing.finishedAtMs;
  return { lo: clock.value.epochSeconds - readBy / 1000, hi: clock.value.epochSeconds - timing.startedAtMs / 1000 };
}

const fmt = (s: number) => `${Math.abs(s) >= 10 ? s.toFixed(0) : s.toFixed(2)} s`;

export function clockChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  for (const [a, b] of pairs(reachable(input))) {
    const ia = offsetInterval(a);
    const ib = offsetInterval(b);
    const servers = [a.name, b.name];
    if (!ia || !ib) {
      out.push(result('CLOCK_SKEW', 'skipped', a.name, 'a clock could not be read', { servers, subject: b.name }));
      continue;
    }
    // a's clock minus b's.
    const lo = ia.lo - ib.hi;
    const hi = ia.hi - ib.lo;
    const estimate = (lo + hi) / 2;
    const bar = (hi - lo) / 2;
    const least = lo <= 0 && hi >= 0 ? 0 : Math.min(Math.abs(lo), Math.abs(hi));
    const status = least > SKEW_ERROR_S ? 'error' : least > SKEW_WARNING_S ? 'warning' : 'pass';
    const ahead = estimate >= 0 ? `${a.name} is ${fmt(estimate)} ahead of ${b.name}` : `${a.name} is ${fmt(-estimate)} behind ${b.name}`;
    const vsInstaller = [a, b]
      .map((n) => {
        const o = offsetInterval(n)!;
        return `${n.name} ${fmt((o.lo + o.hi) / 2)}`;
      })
      .join(', ');
    out.push(
      result('CLOCK_SKEW', status, a.name, `${ahead} (±${bar.toFixed(2)} s); against the installer's clock: ${vsInstaller}`, {
        servers,
        subject: b.name,
        fix: 'make both nodes synchronize with the same NTP servers (time.servers in the answer file, `chronyc sources`); the node far from the installer\'s clock is usually the wrong one',
        data: { skewSeconds: Number(estimate.toFixed(3)), errorBarSeconds: Number(bar.toFixed(3)) },
      }),
    );
  }
  return out;
}

export function timeSyncChecks(input: VerifyInput): CheckResult[] {
  return reachable(input).map((node) => {
    const t = node.facts.timeSync;
    if (!t.ok) return result('TIME_SYNC', 'error', node.name, `could not read the time synchronization state: ${t.reason}`, { fix: 'check `timedatectl` and `chronyc tracking` on the node' });
    const v = t.value;
    if (v.activeService === null) {
      return result('TIME_SYNC', 'error', node.name, 'no time synchronization service is active', {
        fix: 'run `hvcluster apply` (it installs and configures chrony) or `systemctl enable --now chrony`',
      });
    }
    if (v.synchronized !== true) {
      const leap = v.chrony?.leapStatus ? ` (chrony: ${v.chrony.leapStatus})` : '';
      return result('TIME_SYNC', 'warning', node.name, `${v.activeService} is active but the clock is not synchronized${leap}`, {
        fix: 'check that the NTP servers are reachable from the node (`chronyc -n sources`); set time.servers in the answer file',
        data: { service: v.activeService, synchronized: v.synchronized },
      });
    }
    return result('TIME_SYNC', 'pass', node.name, `${v.activeService} is active and synchronized`, { data: { service: v.activeService, offsetSeconds: v.chrony?.offsetSeconds ?? null } });
  });
}
