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

/** Services a node runs: libvirtd always, chrony when the answer file names time servers. */
export const servicesStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext) {
    const services = ['libvirtd', ...(ctx.node.model.time.servers.length > 0 ? ['chrony'] : [])];
    const state = await ctx.read(services.map((s) => `echo "${s} $(systemctl is-enabled ${s} 2>/dev/null) $(systemctl is-active ${s} 2>/dev/null)"`).join('; '));
    for (const line of state.stdout.trim().split('\n')) {
      const [service, enabled, active] = line.split(' ');
      if (enabled !== 'enabled' || active !== 'active') {
        await ctx.mutate(`enable and start ${service}`, `systemctl enable --now ${service}`);
      }
    }
  },
};
