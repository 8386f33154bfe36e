/**
 * The timer that closes a dual-primary window without the installer: its deadline, and what its
 * script does on a node, run against a fake drbdadm/drbdsetup that behaves like DRBD (refuses to
 * demote an open device, refuses to forbid two primaries while both sides are Primary).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandLine } from '../../../installer/engine/change.js';
import { CLOSE_SCRIPT, MIGRATE_TIMEOUT_MS, armAction, closeUnit, dualPrimaryCloseAfterS } from '../../../installer/engine/dual-primary.js';

describe('the dual-primary deadline', () => {
  it('outlasts the longest migration the test waits for, unless the env shortens it', () => {
    expect(dualPrimaryCloseAfterS({})).toBe(900);
    expect(dualPrimaryCloseAfterS({})).toBeGreaterThan(MIGRATE_TIMEOUT_MS / 1000 + 120);
    expect(dualPrimaryCloseAfterS({ HVCLUSTER_DUAL_PRIMARY_CLOSE_S: '40' })).toBe(40);
    expect(() => dualPrimaryCloseAfterS({ HVCLUSTER_DUAL_PRIMARY_CLOSE_S: '0' })).toThrow(/at least 1/);
    expect(() => dualPrimaryCloseAfterS({ HVCLUSTER_DUAL_PRIMARY_CLOSE_S: '1m' })).toThrow(/whole number/);
  });

  it('runs the server copy of the script with quoted arguments', () => {
    expect(closeUnit('vm-web')).toBe('hvcluster-dual-primary-vm-web');
    expect(commandLine(armAction('vm-web', 900))).toBe('sh /run/hvcluster/dual-primary-close.sh arm vm-web 900');
    expect(commandLine(armAction('a b', 5))).toBe("sh /run/hvcluster/dual-primary-close.sh arm 'a b' 5");
  });
});

/** A node: the resource's role, its peer's role, whether a guest holds the device open, allow-two-primaries. */
interface FakeNode {
  role: 'Primary' | 'Secondary';
  peer: 'Primary' | 'Secondary';
  open: boolean;
  two: boolean;
  up?: boolean;
}

function closeOn(node: FakeNode, retryS = 0): { code: number; out: string; state: string; res: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-dual-'));
  const bin = join(dir, 'bin');
  const etc = join(dir, 'drbd.d');
  mkdirSync(bin);
  mkdirSync(etc);
  const s = join(dir, 'state');
  writeFileSync(join(s), `role=${node.role}\npeer=${node.peer}\nopen=${node.open ? 1 : 0}\ntwo=${node.two ? 'yes' : 'no'}\nup=${node.up === false ? 0 : 1}\n`);
  writeFileSync(join(etc, 'r0.res'), `resource r0 {\n\tnet {\n\t\tallow-two-primaries ${node.two ? 'yes' : 'no'};\n\t}\n}\n`);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n. ${s}\nsave() { printf 'role=%s\\npeer=%s\\nopen=%s\\ntwo=%s\\nup=%s\\n' "$role" "$peer" "$open" "$two" "$up" > ${s}; }\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    'drbdadm',
    `case "$1" in
  role) echo "$role/$peer" ;;
  secondary) [ "$open" = 1 ] && { echo "State change failed: (-12) Device is held open by someone" >&2; exit 11; }; role=Secondary; save ;;
  net-options) [ "$role" = Primary ] && [ "$peer" = Primary ] && { echo "Can not clear allow_two_primaries as long as there a primaries on both sides" >&2; exit 10; }; two=no; save ;;
esac`,
  );
  stub('drbdsetup', `[ "$up" = 1 ] || exit 10\necho "allow-two-primaries $two;"`);
  stub('logger', `shift 2; echo "$*" >> ${join(dir, 'journal')}`);
  stub('sleep', 'exit 0');
  const r = spawnSync('sh', [CLOSE_SCRIPT, 'close', 'r0'], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, HVC_DRBD_DIR: etc, HVC_CLOSE_RETRY_S: String(retryS) } });
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return { code: r.status ?? -1, out: r.stdout + r.stderr, state: read(s), res: read(join(etc, 'r0.res')), log: read(join(dir, 'journal')) };
}

describe('dual-primary-close.sh close', () => {
  it('a run killed before the migration: the idle target is demoted, then two primaries are forbidden, in the file too', () => {
    const r = closeOn({ role: 'Primary', peer: 'Primary', open: false, two: true });
    expect(r.code).toBe(0);
    expect(r.state).toContain('role=Secondary');
    expect(r.state).toContain('two=no');
    expect(r.res).toContain('allow-two-primaries no;');
    expect(r.log).toMatch(/dual-primary window of r0: demoted to Secondary/);
    expect(r.log).toMatch(/closed: allow-two-primaries set to no/);
  });

  it('the node running the guest stays Primary and closes once its peer is Secondary', () => {
    const r = closeOn({ role: 'Primary', peer: 'Secondary', open: true, two: true });
    expect(r.code).toBe(0);
    expect(r.state).toContain('role=Primary');
    expect(r.state).toContain('two=no');
    expect(r.log).toMatch(/stays Primary .*in use/);
  });

  it('both devices open (a migration still in flight): it demotes nothing and gives up only after its retry time, saying why', () => {
    const r = closeOn({ role: 'Primary', peer: 'Primary', open: true, two: true }, 0);
    expect(r.code).toBe(1);
    expect(r.state).toContain('role=Primary');
    expect(r.state).toContain('two=yes');
    expect(r.log).toMatch(/still open after 0 s .*primaries on both sides/);
  });

  it('nothing to close (window already closed, or the resource is down): no change but the file', () => {
    expect(closeOn({ role: 'Secondary', peer: 'Primary', open: false, two: false })).toMatchObject({ code: 0, state: expect.stringContaining('role=Secondary') });
    const down = closeOn({ role: 'Secondary', peer: 'Secondary', open: false, two: true, up: false });
    expect(down.code).toBe(0);
    expect(down.res).toContain('allow-two-primaries no;');
    expect(down.log).toMatch(/not up here/);
  });
});
