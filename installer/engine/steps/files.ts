/** A group of planned files, and the services to reload when one of them changed. */
import type { Action, Change } from '../change.js';
import { fileWrite } from '../ensure-file.js';
import { changeOf, readValue, type StepInput, type StepKind } from './step.js';

/** What a changed file asks for, by the `notify` names of the plan. */
export const HANDLERS: Record<string, { description: string; action: Action }> = {
  // systemd-sysctl (unlike sysctl -p) honours the "-" prefix of keys that may not exist.
  sysctl: { description: 'apply kernel settings', action: { argv: ['/lib/systemd/systemd-sysctl', '/etc/sysctl.d/60-hvcluster.conf'] } },
  chrony: { description: 'restart chrony', action: { argv: ['systemctl', 'restart', 'chrony'] } },
  // try-restart: only when it runs (an idle, socket-activated libvirtd picks the file up when started).
  libvirtd: { description: 'restart libvirtd', action: { argv: ['systemctl', 'try-restart', 'libvirtd.service'] } },
  drbd: { description: 'apply DRBD configuration to running resources', action: { script: 'drbd-adjust-all.sh', args: [] } },
  systemd: { description: 'reload systemd units (systemctl daemon-reload)', action: { argv: ['systemctl', 'daemon-reload'] } },
};

/** Handlers whose action depends on the cluster (its name). */
const CLUSTER_HANDLERS: Record<string, (input: StepInput) => { description: string; action: Action }> = {
  // A running member reloads; Debian's default one-node Corosync (started by the package) restarts.
  corosync: (input) => ({ description: 'reload Corosync (restart it when it runs a configuration not of this cluster)', action: { script: 'corosync-reload.sh', args: [input.answers.metadata.name] } }),
};

/** The planned files among `paths` that differ, then one change per service they notify. Pure. */
export function filesPlan(input: StepInput, paths: readonly string[]): Change[] {
  const current = readValue(input, input.self, 'files');
  const files = input.self.node.files.filter((f) => paths.includes(f.path));
  const writes = files.flatMap((file) => {
    const change = fileWrite(input.self.node.name, input.step.name, file, current.get(file.path) ?? null, input.backupDir);
    return change ? [{ file, change }] : [];
  });
  const notified = [...new Set(writes.flatMap((w) => w.file.notify))];
  const handlers = notified.flatMap((name) => {
    const handler = HANDLERS[name] ?? CLUSTER_HANDLERS[name]?.(input);
    return handler ? [changeOf(input, input.self, handler.description, [handler.action])] : [];
  });
  return [...writes.map((w) => w.change), ...handlers];
}

export const filesStep: StepKind = {
  scope: 'node',
  reads: ['files'],
  plan: (input) => ({ changes: filesPlan(input, input.step.files ?? []) }),
};
