/** guest-state.sh's output as the guests step and `guest list` read it. */
import { describe, expect, it } from 'vitest';
import { domainOf, importStatus, parseGuestState } from '../../../installer/engine/guest-state.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const SHA = 'a'.repeat(64);

describe('parseGuestState', () => {
  it('reads the domains, the CPU models and the files of the declared guests', () => {
    const out = [
      'file web.xml',
      b64('<domain/>\n'),
      'end',
      'file web-disk0.import',
      b64(`done ${SHA}\n`),
      'end',
      'file db-disk0.import',
      b64('pending\n'),
      'end',
      'virsh yes',
      'libvirt yes',
      'domains legacy web',
      'domain web running yes',
      'domain db absent -',
      'domain old shut-off no',
      'cpu host-model EPYC-Rome',
      'cpu usable qemu64 EPYC EPYC-Rome',
    ].join('\n');
    const state = parseGuestState(out);
    expect(state.virsh).toBe(true);
    expect(state.libvirt).toBe(true);
    expect(state.domains).toEqual(['legacy', 'web']);
    expect(domainOf(state, 'web')).toEqual({ state: 'running', autostart: true });
    expect(domainOf(state, 'db')).toEqual({ state: 'absent', autostart: null });
    expect(domainOf(state, 'old')).toEqual({ state: 'shut-off', autostart: false });
    expect(domainOf(state, 'never-read')).toEqual({ state: 'absent', autostart: null });
    expect(state.cpu).toEqual({ hostModel: 'EPYC-Rome', usable: ['qemu64', 'EPYC', 'EPYC-Rome'] });
    expect(state.files.get('web.xml')).toBe('<domain/>\n');
    expect(importStatus(state, 'web-disk0')).toEqual({ status: 'done', sha256: SHA });
    expect(importStatus(state, 'db-disk0')).toEqual({ status: 'pending' });
    expect(importStatus(state, 'db-disk1')).toEqual({ status: 'none' });
  });

  it('a node without libvirt: its files still, no domains, no CPU models', () => {
    const state = parseGuestState(['file web.xml', b64('x'), 'end', 'virsh no'].join('\n'));
    expect(state).toMatchObject({ virsh: false, libvirt: false, domains: [], cpu: { hostModel: null, usable: [] } });
    expect(state.files.get('web.xml')).toBe('x');
  });

  it('libvirtd not answering, and a domain list that is empty', () => {
    const state = parseGuestState(['virsh yes', 'libvirt no', 'domains', 'cpu host-model -', 'cpu usable'].join('\n'));
    expect(state).toMatchObject({ virsh: true, libvirt: false, domains: [], cpu: { hostModel: null, usable: [] } });
  });
});
