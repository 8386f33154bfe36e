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
    // Answers like systemd: enabled/disabled for is-enabled, active/inactive for is-active; nothing for an unknown unit.
    writeFileSync(
      join(bin, 'systemctl'),
      '#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls"\ncase "$2" in chrony.service) [ "$1" = is-enabled ] && echo enabled || echo active ;; libvirtd.service) [ "$1" = is-enabled ] && echo enabled || echo inactive ;; libvirtd.socket) [ "$1" = is-enabled ] && echo enabled || echo active ;; esac\n',
    );
    chmodSync(join(bin, 'systemctl'), 0o755);
    const r = spawnSync('sh', [join(REMOTE_DIR, 'service-state.sh'), 'libvirtd', 'chrony', 'nosuch'], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.stdout.split('\n')).toEqual(['libvirtd enabled inactive enabled active', 'chrony enabled active', 'nosuch  ', '']);
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
