import { FactUnavailable, findCommand, type FactDefinition } from '../fact.js';
import type { PackageFacts } from '../types.js';

/** The Debian packages hvcluster installs, checks or must know about. */
export const PACKAGES_OF_INTEREST = [
  'drbd-utils',
  'drbd-dkms',
  'qemu-system-x86',
  'qemu-utils',
  'libvirt-daemon-system',
  'libvirt-clients',
  'bridge-utils',
  'ifupdown',
  'netplan.io',
  'chrony',
  'systemd-timesyncd',
  'ntp',
  'lvm2',
  'multipath-tools',
  'pacemaker',
  'pacemaker-cli-utils',
  'corosync-qdevice',
  'corosync-qnetd',
  'fence-agents',
  'ipmitool',
  'corosync',
  'resource-agents',
  'crmsh',
  'pcs',
  'sbd',
  'borgbackup',
  'nfs-common',
] as const;

export const packagesFact: FactDefinition<PackageFacts[]> = {
  name: 'packages',
  // dpkg-query exits 1 when some names are unknown; the known ones are still printed.
  script: `hv_cmd dpkg dpkg-query -W -f '\${Package}\\t\${Version}\\t\${db:Status-Abbrev}\\n' ${PACKAGES_OF_INTEREST.join(' ')}`,
  parse(section) {
    const cmd = findCommand(section, 'dpkg');
    if (!cmd) throw new FactUnavailable('dpkg-query: not run');
    if (cmd.missing) throw new FactUnavailable(`${cmd.missing}: command not found (not a Debian-based system?)`);
    if (cmd.exitCode !== 0 && cmd.exitCode !== 1) throw new FactUnavailable(`dpkg-query: exit ${cmd.exitCode}: ${cmd.stderr.split('\n')[0] ?? ''}`);
    const seen = new Map<string, PackageFacts>();
    for (const line of cmd.stdout.split('\n')) {
      const [name, version, status] = line.split('\t');
      if (!name) continue;
      const abbrev = (status ?? '').trim();
      // Status-Abbrev: desired, status, error flag. "ii" installed, "hi" held and installed, "rc" removed with config.
      const installed = abbrev[1] === 'i';
      seen.set(name.replace(/:.*$/, ''), {
        name: name.replace(/:.*$/, ''),
        installed,
        version: installed && version ? version : null,
        status: abbrev || null,
      });
    }
    return PACKAGES_OF_INTEREST.map((name) => seen.get(name) ?? { name, installed: false, version: null, status: null });
  },
};
