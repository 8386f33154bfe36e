import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServiceStates, serviceInPlace } from '../../../installer/engine/steps/services.js';
import { REMOTE_DIR } from '../../../installer/paths.js';

describe('the services step', () => {
  it('reads libvirtd with its socket, chrony alone (service-state.sh against a stand-in systemctl)', () => {
    const bin = mkdtempSync(join(tmpdir(), 'hvc-systemctl-'));
    // Answers `show -p UnitFileState,ActiveState UNIT...` like systemd: one block per unit in the
    // order asked, blank lines between; an unknown unit has an empty UnitFileState and is inactive.
    writeFileSync(
      join(bin, 'systemctl'),
      '#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls"\n[ "$1" = show ] || exit 1\nshift 3\nfirst=1\nfor u; do\n  [ $first = 1 ] || echo\n  first=0\n  case $u in chrony.service) a=active e=enabled ;; libvirtd.service) a=inactive e=enabled ;; libvirtd.socket) a=active e=enabled ;; *) a=inactive e= ;; esac\n  printf "ActiveState=%s\\nUnitFileState=%s\\n" "$a" "$e"\ndone\n',
    );
    chmodSync(join(bin, 'systemctl'), 0o755);
    const r = spawnSync('sh', [join(REMOTE_DIR, 'service-state.sh'), 'libvirtd', 'chrony', 'nosuch'], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.stdout.split('\n')).toEqual(['libvirtd enabled inactive enabled active', 'chrony enabled active', 'nosuch  inactive', '']);
    expect(parseServiceStates(r.stdout).map(serviceInPlace)).toEqual([true, true, false]);
  });

  it('leaves an idle, socket-activated libvirtd alone (Debian stops it after 120 s without clients)', () => {
    // What the services step reads on a Debian 12 node a few minutes after the install.
    const [libvirtd, chrony] = parseServiceStates('libvirtd enabled inactive enabled active\nchrony enabled active\n');
    expect(libvirtd).toEqual({ service: 'libvirtd', enabled: 'enabled', active: 'inactive', socket: { enabled: 'enabled', active: 'active' } });
    expect(serviceInPlace(libvirtd!)).toBe(true);
    expect(serviceInPlace(chrony!)).toBe(true);
  });

  it('starts what is neither running nor listening, and enables what is disabled', () => {
    const states = parseServiceStates(
      [
        'libvirtd enabled inactive enabled inactive', // socket stopped too: nothing would start it
        'libvirtd disabled active disabled active', // running now, gone after a reboot
        'libvirtd enabled inactive disabled active', // the socket would not come back at boot
        'libvirtd  inactive  inactive', // not installed: systemctl prints nothing for is-enabled
        'chrony enabled inactive',
        'chrony disabled active',
      ].join('\n'),
    );
    expect(states.map(serviceInPlace)).toEqual([false, false, false, false, false, false]);
    expect(states[3]).toEqual({ service: 'libvirtd', enabled: '', active: 'inactive', socket: { enabled: '', active: 'inactive' } });
  });

  it('keeps a running, enabled libvirtd whatever its socket does', () => {
    expect(parseServiceStates('libvirtd enabled active enabled active\nlibvirtd enabled active disabled inactive').map(serviceInPlace)).toEqual([true, true]);
  });
});
