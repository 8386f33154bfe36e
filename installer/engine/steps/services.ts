/** Kernel module and services: loaded and enabled now, and at every boot. */
import { changeOf, readValue, type StepKind } from './step.js';

export const drbdModuleStep: StepKind = {
  scope: 'node',
  reads: ['drbd'],
  plan(input) {
    const version = readValue(input, input.self, 'drbd').loadedVersion;
    if (version !== null) return { changes: [], notes: [{ text: `DRBD ${version} loaded`, level: 'info' }] };
    return { changes: [changeOf(input, input.self, 'load the DRBD kernel module', [{ argv: ['modprobe', 'drbd'] }])] };
  },
};

/**
 * What systemd says of a service: whether it is enabled and active, and for a socket-activated one
 * (libvirtd on Debian 12) the same of its socket.
 */
export interface ServiceState {
  service: string;
  enabled: string;
  active: string;
  /** Only for a service started by its socket. */
  socket?: { enabled: string; active: string };
}

/** Services started on demand by a socket of the same name. */
const SOCKET_ACTIVATED = new Set(['libvirtd']);

export function parseServiceStates(stdout: string): ServiceState[] {
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // systemctl prints nothing for a unit it does not know: keep the columns in place.
      const [service = '', enabled = '', active = '', socketEnabled, socketActive] = line.split(' ');
      return {
        service,
        enabled,
        active,
        ...(SOCKET_ACTIVATED.has(service) ? { socket: { enabled: socketEnabled ?? '', active: socketActive ?? '' } } : {}),
      };
    });
}

/**
 * Whether a service is where the plan wants it: enabled (so it comes back at boot) and running, or,
 * for a socket-activated one, with its socket enabled and listening. Debian's libvirtd exits after
 * 120 s without clients (`--timeout 120`) and its socket starts it again on the next connection:
 * that is the normal state of an idle node, not something to repair.
 */
export function serviceInPlace(state: ServiceState): boolean {
  if (state.enabled !== 'enabled') return false;
  if (state.active === 'active') return true;
  return state.socket !== undefined && state.socket.enabled === 'enabled' && state.socket.active === 'active';
}

/** The package whose installation enables and starts a service (Debian's postinst does). */
const PACKAGE_OF: Record<string, string> = { libvirtd: 'libvirt-daemon-system', chrony: 'chrony' };

/**
 * Services a node runs: libvirtd always, chrony when the answer file names time servers; in an HA
 * cluster Corosync, the quorum device (two nodes) and Pacemaker, in the order they start.
 */
export const servicesStep: StepKind = {
  scope: 'node',
  reads: ['services', 'packages'],
  plan(input) {
    const ha = input.self.node.model.ha;
    const wanted = [
      'libvirtd',
      ...(input.self.node.model.time.servers.length > 0 ? ['chrony'] : []),
      ...(ha ? ['corosync', ...(ha.witness ? ['corosync-qdevice'] : []), 'pacemaker'] : []),
    ];
    const states = readValue(input, input.self, 'services');
    const installed = new Set(readValue(input, input.self, 'packages').filter((p) => p.installed).map((p) => p.name));
    const changes = wanted.flatMap((name) => {
      const state = states.find((s) => s.service === name) ?? { service: name, enabled: '', active: '' };
      if (serviceInPlace(state)) return [];
      // A dry run before its package is installed: Debian's package enables and starts it.
      if (input.stale && PACKAGE_OF[name] !== undefined && !installed.has(PACKAGE_OF[name]) && state.enabled === '') return [];
      // enable --now also enables and starts the units named in Also= (libvirtd's sockets). The
      // quorum device starts once the running Corosync has it in its configuration (a reload reaches
      // cmap a moment later; started before, corosync-qdevice exits at once).
      const ready = name === 'corosync-qdevice' ? [{ script: 'qdevice-config-ready.sh', args: ['60'], timeoutMs: 120_000 }] : [];
      // A watchdog level: sbd is enabled before Corosync first starts, which then starts it (sbd.service
      // is RequiredBy corosync.service and refuses a start of its own). A running Corosync is left to
      // the sbd step, which restarts the stack one node at a time.
      const sbd = name === 'corosync' && ha?.watchdog && state.active !== 'active' && states.find((s) => s.service === 'sbd')?.enabled !== 'enabled';
      const withSbd = sbd ? [{ argv: ['systemctl', 'daemon-reload'] }, { argv: ['systemctl', 'enable', 'sbd'] }] : [];
      return [changeOf(input, input.self, `enable and start ${name}${sbd ? ' (and sbd with it)' : ''}`, [...ready, ...withSbd, { argv: ['systemctl', 'enable', '--now', name] }])];
    });
    return { changes };
  },
};
