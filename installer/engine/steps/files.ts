/** A group of planned files, and the services to reload when one of them changed. */
import type { StepContext } from '../context.js';
import { ensureFiles } from '../files.js';
import type { StepKind } from './step.js';

/** What a changed file asks for, by the `notify` names of the plan. */
const HANDLERS: Record<string, { description: string; command: string }> = {
  // systemd-sysctl (unlike sysctl -p) honours the "-" prefix of keys that may not exist.
  sysctl: { description: 'apply kernel settings', command: '/lib/systemd/systemd-sysctl /etc/sysctl.d/60-hvcluster.conf' },
  chrony: { description: 'restart chrony', command: 'systemctl restart chrony' },
  libvirtd: { description: 'restart libvirtd', command: 'if systemctl is-active -q libvirtd; then systemctl restart libvirtd; fi' },
  drbd: { description: 'apply DRBD configuration to running resources', command: 'if [ -n "$(drbdadm sh-resources 2>/dev/null)" ]; then drbdadm adjust all; fi' },
};

export async function ensureFilesAndNotify(ctx: StepContext, paths: readonly string[]): Promise<void> {
  const files = ctx.node.files.filter((f) => paths.includes(f.path));
  const changed = await ensureFiles(ctx, files);
  const notified = [...new Set(changed.flatMap((f) => f.notify))];
  for (const name of notified) {
    const handler = HANDLERS[name];
    if (handler) await ctx.mutate(handler.description, handler.command);
  }
}

export const filesStep: StepKind = {
  scope: 'node',
  async run(ctx: StepContext, step) {
    await ensureFilesAndNotify(ctx, step.files ?? []);
  },
};
