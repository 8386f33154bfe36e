import { findCommand, type FactDefinition } from '../fact.js';
import type { LibvirtFacts } from '../types.js';

export const libvirtFact: FactDefinition<LibvirtFacts> = {
  name: 'libvirt',
  // `virsh --version` prints the library version without connecting to anything. libvirtd is
  // socket-activated on Debian 12: the service may be inactive while its socket listens.
  script: `hv_cmd virsh virsh --version
hv_cmd libvirtd systemctl is-active libvirtd.service libvirtd.socket`,
  parse(section) {
    const virsh = findCommand(section, 'virsh');
    const states = findCommand(section, 'libvirtd');
    // is-active exits 3 when a unit is inactive and still prints one state per unit.
    const lines = states && states.missing === null ? states.stdout.split('\n').map((l) => l.trim()) : [];
    return {
      virshVersion: virsh?.exitCode === 0 ? virsh.stdout.trim() || null : null,
      libvirtdState: lines[0] || null,
      libvirtdSocketState: lines[1] || null,
    };
  },
};
