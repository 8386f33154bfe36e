/** A group of planned files, and the services to reload when one of them changed. */
import type { Action, Change } from '../change.js';
import { fileWrite } from '../ensure-file.js';
import { BACKUP_TIMER } from '../../plan/backup.js';
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
  // A timer running on its old schedule takes the new one when restarted (try-restart: only one that runs).
  'backup-timer': { description: 'restart hvcluster-backup.timer on its new schedule', action: { argv: ['systemctl', 'try-restart', BACKUP_TIMER] } },
};

/** Handlers whose action depends on the cluster (its name). */
const CLUSTER_HANDLERS: Record<string, (input: StepInput) => { description: string; action: Action } | undefined> = {
  // A running member reloads; Debian's default one-node Corosync (started by the package) restarts.
  corosync: (input) => ({ description: 'reload Corosync (restart it when it runs a configuration not of this cluster)', action: { script: 'corosync-reload.sh', args: [input.answers.metadata.name] } }),
  // The automount never unmounts by itself (no idle timeout): new mount options take effect only
  // when the mount is made again. try-restart: an export not mounted yet is left to the automount;
  // one in use (a backup running) fails this change, and apply says so.
  'backup-mount': (input) => {
    const nfs = input.self.node.model.backup?.nfs;
    return nfs ? { description: `remount the backup repository's storage with its new options (${nfs.mount}, when mounted)`, action: { argv: ['systemctl', 'try-restart', nfs.mount] } } : undefined;
  },
};

/**
 * Whether a path of a files step (playbook) names a planned file: the path itself, or a pattern
 * whose `*` stands for any characters but '/' (`/etc/systemd/system/*.mount`: a mount unit is named
 * after its mount point, which the answers give). Only planned files are matched. Pure.
 */
export function stepFileMatches(pattern: string, path: string): boolean {
  if (!pattern.includes('*')) return pattern === path;
  const re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(path);
}

/** The planned files among `paths` that differ, then one change per service they notify. Pure. */
export function filesPlan(input: StepInput, paths: readonly string[]): Change[] {
  const current = readValue(input, input.self, 'files');
  const files = input.self.node.files.filter((f) => paths.some((p) => stepFileMatches(p, f.path)));
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
