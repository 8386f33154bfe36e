/** Kernel module and services: loaded and enabled now, and at every boot. */
import type { StepContext } from '../context.js';
import { StepRefusedError, type StepKind } from './step.js';

export const drbdModuleStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const loaded = () => ctx.read('head -n 1 /proc/drbd 2>/dev/null; true');
    let status = await loaded();
    if (status.stdout.trim() === '') {
      await ctx.mutate('load the DRBD kernel module', 'modprobe drbd');
      if (ctx.dryRun) return;
      status = await loaded();
    }
    const version = /version: (\S+)/.exec(status.stdout)?.[1];
    if (!version) throw new StepRefusedError(ctx.server, ctx.step, 'the DRBD module did not load: /proc/drbd is missing after modprobe drbd');
    ctx.log(`DRBD ${version} loaded`);
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

/** One read-only command printing `NAME ENABLED ACTIVE [SOCKET-ENABLED SOCKET-ACTIVE]` per service. */
export function serviceStateCommand(services: readonly string[]): string {
  const state = (unit: string) => `$(systemctl is-enabled ${unit} 2>/dev/null) $(systemctl is-active ${unit} 2>/dev/null)`;
  return services
    .map((s) => `echo "${s} ${state(`${s}.service`)}${SOCKET_ACTIVATED.has(s) ? ` ${state(`${s}.socket`)}` : ''}"`)
    .join('; ');
}

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

/** Services a node runs: libvirtd always, chrony when the answer file names time servers. */
export const servicesStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const services = ['libvirtd', ...(ctx.node.model.time.servers.length > 0 ? ['chrony'] : [])];
    const state = await ctx.read(serviceStateCommand(services));
    for (const service of parseServiceStates(state.stdout)) {
      // enable --now also enables and starts the units named in Also= (libvirtd's sockets).
      if (!serviceInPlace(service)) await ctx.mutate(`enable and start ${service.service}`, `systemctl enable --now ${service.service}`);
    }
  },
};
