/**
 * installer/remote/drill-fault.sh's hang verbs with stand-ins for systemd-run, systemctl and kill
 * (HVC_KILL) on PATH, each recording its arguments: freeze sets the thaw timer before the freeze,
 * both run kill directly (no shell), the thaw's output to /dev/null; thaw cancels the freeze first,
 * continues every process, cancels the thaw timer and says whether one was pending; bad arguments
 * change nothing. Nothing here signals a real process.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REMOTE_DIR } from '../../../installer/paths.js';
import { parseThaw } from '../../../installer/verify/failover/faults.js';

const STANDINS: Record<string, string> = {
  'systemd-run': 'exit 0',
  // `systemctl show --property=SubState --value UNIT.timer`: the thaw timer's state as the case says.
  systemctl: 'case $1 in show) echo "${SUBSTATE:-}" ;; esac; exit 0',
  kill: 'exit 0',
};

function run(args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-drill-fault-sh-'));
  for (const [name, body] of Object.entries(STANDINS)) {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\necho "${name} $*" >> "${dir}/calls"\n${body}\n`);
    chmodSync(path, 0o755);
  }
  writeFileSync(join(dir, 'calls'), '');
  const r = spawnSync('sh', [join(REMOTE_DIR, 'drill-fault.sh'), ...args], { encoding: 'utf8', env: { PATH: `${dir}:/usr/bin:/bin`, HVC_KILL: join(dir, 'kill'), ...env } });
  const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean).map((c) => c.replaceAll(dir, 'STANDINS'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
}

describe('drill-fault.sh freeze', () => {
  it('sets the thaw timer first, then the freeze 2 s later, each running kill itself; sends no signal now', () => {
    const r = run(['freeze', '1200']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('freeze-in 2 thaw-in 1200\n');
    expect(r.calls.filter((c) => c.startsWith('systemd-run'))).toEqual([
      'systemd-run --quiet --unit hvcluster-drill-thaw --on-active=1200 --timer-property=AccuracySec=1s --property=StandardOutput=null --property=StandardError=null STANDINS/kill -CONT -- -1',
      'systemd-run --quiet --unit hvcluster-drill-freeze --on-active=2 --timer-property=AccuracySec=100ms STANDINS/kill -STOP -- -1',
    ]);
    // Earlier units of the same names are stopped first (a second drill replaces them), and kill is only handed over.
    expect(r.calls.indexOf('systemctl stop hvcluster-drill-freeze.timer hvcluster-drill-freeze.service')).toBeLessThan(r.calls.findIndex((c) => c.startsWith('systemd-run')));
    expect(r.calls.filter((c) => c.startsWith('kill'))).toEqual([]);
  });

  it('refuses a missing, odd or too short delay (the thaw must come after the freeze), and a kill that is not there: exit 2, nothing set', () => {
    for (const [args, message] of [
      [['freeze'], 'usage: freeze SECONDS'],
      [['freeze', '60', 'extra'], 'usage: freeze SECONDS'],
      [['freeze', '1m'], 'not a number of seconds: 1m'],
      [['freeze', '5'], 'freeze 5: the thaw must come well after the freeze (2 s): give at least 10 seconds'],
    ] as [string[], string][]) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`drill-fault.sh: ${message}`);
      expect(r.calls).toEqual([]);
    }
    const noKill = run(['freeze', '60'], { HVC_KILL: '/nonexistent/kill' });
    expect(noKill.code).toBe(2);
    expect(noKill.stderr).toContain('no /nonexistent/kill');
    expect(noKill.calls).toEqual([]);
  });
});

describe('drill-fault.sh thaw', () => {
  it('with the thaw timer pending: cancels the freeze, continues every process, cancels the timer, says so', () => {
    const r = run(['thaw'], { SUBSTATE: 'waiting' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('thawed timer-cancelled\n');
    expect(parseThaw(r.stdout)).toEqual({ timerCancelled: true });
    const order = r.calls.filter((c) => /^systemctl stop|^kill/.test(c));
    expect(order).toEqual(['systemctl stop hvcluster-drill-freeze.timer hvcluster-drill-freeze.service', 'kill -CONT -- -1', 'systemctl stop hvcluster-drill-thaw.timer hvcluster-drill-thaw.service']);
  });

  it('after a reboot (no unit left) or a timer that already fired: continues every process and says nothing was pending', () => {
    for (const substate of ['', 'elapsed']) {
      const r = run(['thaw'], { SUBSTATE: substate });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('thawed\n');
      expect(parseThaw(r.stdout)).toEqual({ timerCancelled: false });
    }
  });

  it('takes no argument; an unknown verb names the verbs', () => {
    const extra = run(['thaw', 'now']);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('usage: thaw');
    expect(extra.calls).toEqual([]);
    const unknown = run(['melt']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown verb: melt (links-down, links-up, block, unblock, freeze, thaw)');
  });
});
