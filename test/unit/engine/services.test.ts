import { describe, expect, it } from 'vitest';
import { parseServiceStates, serviceInPlace, serviceStateCommand } from '../../../installer/engine/steps/services.js';

describe('the services step', () => {
  it('reads libvirtd with its socket, chrony alone', () => {
    const command = serviceStateCommand(['libvirtd', 'chrony']);
    expect(command).toContain('systemctl is-enabled libvirtd.socket');
    expect(command).toContain('systemctl is-active libvirtd.service');
    expect(command).not.toContain('chrony.socket');
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
