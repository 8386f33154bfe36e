/**
 * The planner: answers + facts -> the desired state of every node (files, packages, volume group,
 * DRBD layout). It reads no server; `hvcluster plan` and `apply` feed it fresh facts (and the DRBD
 * secret the nodes hold: the only thing not decided from the answers, see drbd-secret.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnswerFileError, type AnswerIssue } from '../answers/issues.js';
import { ChecksFailedError } from '../errors.js';
import type { Answers } from '../answers/schema.js';
import { factValue, type ServerFacts } from '../facts/types.js';
import { TemplateEnvironment } from '../render/environment.js';
import { checkClusterFacts, checkNodeFacts } from './check-facts.js';
import type { DrbdMajor, RenderModel } from './model.js';
import { newDrbdSecret } from './drbd-secret.js';
import { COROSYNC_CONF, COROSYNC_KEY, haEnabled, haPackages, haPlan, newCorosyncKey, SBD_DEFAULTS } from './ha.js';
import { renderModel } from './render-model.js';
import { BACKUP_SCRIPT, BACKUP_SERVICE_PATH, BACKUP_TIMER_PATH, backupPackages, backupUnitPaths, SNAPSHOT_SCRIPT } from './backup.js';
import { PASSPHRASE_FILE } from '../backup/layout.js';
import { REMOTE_DIR } from '../paths.js';
import type { ClusterPlan, FileOrigin, NodePlan, PlannedFile } from './types.js';

export type { ClusterPlan, NodePlan, PlannedFile } from './types.js';

/** Packages every node needs (Debian names). bridge-utils gives ifupdown its bridge_ports option. */
export const NODE_PACKAGES = [
  'drbd-utils',
  'lvm2',
  'bridge-utils',
  'qemu-system-x86',
  'libvirt-daemon-system',
  'libvirt-clients',
  'chrony',
] as const;

/**
 * A file the planner writes on a node: where (a fixed path, or one the answers name: a mount unit
 * is named after its mount point), from what (a template, or a script of installer/remote/ copied
 * verbatim), with which mode, and what a change of it notifies.
 */
type FileRule = FileOrigin & {
  path: string | ((answers: Answers) => string | undefined);
  mode: number;
  purpose: string;
  notify: string[];
  /** Only the managed block of settings is ours (see managed-block.ts). */
  managedBlock?: boolean;
  /** /etc/network/interfaces: the stanzas of interfaces hvcluster does not manage are kept (see interfaces-file.ts). */
  keepForeignStanzas?: boolean;
  when?: (model: RenderModel, os: string | null) => boolean;
  /** The content is a key (never shown). */
  secret?: boolean;
};

const isDebian = (_: RenderModel, os: string | null) => os === null || os === 'debian';
const isUbuntu = (_: RenderModel, os: string | null) => os === 'ubuntu';

/** DRBD 8.4's fence-peer handler on an HA cluster (templates/drbd-fence-peer.sh.hbs; global_common.conf names it). */
export const FENCE_PEER_HANDLER = '/usr/local/lib/hvcluster/drbd-fence-peer.sh';

/** Which file goes where, made from what. Order is the order of application. */
export const FILE_RULES: readonly FileRule[] = [
  { template: 'hosts.hbs', path: '/etc/hosts', mode: 0o644, purpose: 'every node name on both networks', notify: [] },
  { template: 'sysctl.conf.hbs', path: '/etc/sysctl.d/60-hvcluster.conf', mode: 0o644, purpose: 'kernel settings for a KVM host', notify: ['sysctl'] },
  {
    template: 'chrony.conf.hbs',
    path: '/etc/chrony/chrony.conf',
    mode: 0o644,
    purpose: 'time sync from the answer file servers',
    notify: ['chrony'],
    when: (model) => model.time.servers.length > 0,
  },
  { template: 'modules-load.conf.hbs', path: '/etc/modules-load.d/hvcluster.conf', mode: 0o644, purpose: 'DRBD module loaded at boot', notify: [] },
  { template: 'lvmlocal.conf.hbs', path: '/etc/lvm/lvmlocal.conf', mode: 0o644, purpose: 'keep LVM off the DRBD devices', notify: [] },
  { template: 'hvcluster-drbd-boot.service.hbs', path: BOOT_UNIT_PATH, mode: 0o644, purpose: 'the replication probe up at boot (Pacemaker brings up the guests\' DRBD resources)', notify: ['systemd'] },
  { template: 'interfaces.hbs', path: '/etc/network/interfaces', mode: 0o644, purpose: 'bridge on the management NIC, replication NIC', notify: ['network'], keepForeignStanzas: true, when: isDebian },
  { template: 'netplan.yaml.hbs', path: '/etc/netplan/60-hvcluster.yaml', mode: 0o600, purpose: 'bridge on the management NIC, replication NIC', notify: ['network'], when: isUbuntu },
  // Before global_common.conf, which names it as DRBD 8.4's fence-peer handler on an HA cluster.
  {
    template: 'drbd-fence-peer.sh.hbs',
    path: FENCE_PEER_HANDLER,
    mode: 0o755,
    purpose: "DRBD's fence-peer handler: crm-fence-peer.sh, refused without quorum (HA, DRBD 8.4)",
    notify: [],
    when: (model) => model.ha !== undefined && model.drbd.major === '8.4',
  },
  // 0600: it holds the replication's shared secret.
  { template: 'drbd-global-common.conf.hbs', path: '/etc/drbd.d/global_common.conf', mode: 0o600, purpose: 'DRBD settings shared by all resources', notify: ['drbd'] },
  {
    template: 'libvirt-qemu-migration.conf.hbs',
    path: '/etc/libvirt/qemu.conf',
    mode: 0o600,
    purpose: 'live migration over the replication network',
    notify: ['libvirtd'],
    managedBlock: true,
  },
  {
    template: 'ssh-migration.conf.hbs',
    path: '/etc/ssh/ssh_config.d/hvcluster-migrate.conf',
    mode: 0o644,
    purpose: "root's SSH to its peers uses the migration key",
    notify: [],
  },
  { template: 'corosync.conf.hbs', path: COROSYNC_CONF, mode: 0o644, purpose: 'cluster membership and quorum (HA)', notify: ['corosync'], when: (model) => model.ha !== undefined },
  // 0400: the key authenticates and encrypts every Corosync packet.
  { template: 'corosync-authkey.hbs', path: COROSYNC_KEY, mode: 0o400, purpose: "the cluster's Corosync key (HA)", notify: ['corosync'], when: (model) => model.ha !== undefined, secret: true },
  // The watchdog fencing level (spec.ha.watchdog): read by sbd when Corosync starts it (the sbd step restarts the stack node by node).
  { template: 'sbd.hbs', path: SBD_DEFAULTS, mode: 0o644, purpose: "sbd on the node's hardware watchdog (HA's second fencing level)", notify: [], when: (model) => model.ha?.watchdog !== undefined },
  // Backups (spec.backup). 0600: borg reads the passphrase through BORG_PASSCOMMAND as root only.
  {
    template: 'backup-passphrase.hbs',
    path: PASSPHRASE_FILE,
    mode: 0o600,
    purpose: "the backup repository's passphrase (borg reads it as root; a lost passphrase loses every backup)",
    notify: [],
    when: (model) => model.backup?.passphrase !== undefined,
    secret: true,
  },
  // What the timer and `hvcluster backup run` execute: the scripts shellcheck checked, byte for byte.
  { source: 'snapshot.sh', path: SNAPSHOT_SCRIPT, mode: 0o755, purpose: "the guests' LVM snapshots (a backup reads one)", notify: [], when: (model) => model.backup !== undefined },
  { source: 'backup-node.sh', path: BACKUP_SCRIPT, mode: 0o755, purpose: 'backs up the guests this node runs into the repository', notify: [], when: (model) => model.backup !== undefined },
  {
    template: 'backup-repository.mount.hbs',
    path: (answers) => backupUnitPaths(answers)?.mount,
    mode: 0o644,
    purpose: "the backup repository's NFS export",
    // A changed mount (its options) is remounted when mounted: an automount never unmounts by itself.
    notify: ['systemd', 'backup-mount'],
    when: (model) => model.backup?.nfs !== undefined,
  },
  {
    template: 'backup-repository.automount.hbs',
    path: (answers) => backupUnitPaths(answers)?.automount,
    mode: 0o644,
    purpose: 'mounts the backup repository on first use (a dead NAS never holds up a boot)',
    notify: ['systemd'],
    when: (model) => model.backup?.nfs !== undefined,
  },
  { template: 'hvcluster-backup.service.hbs', path: BACKUP_SERVICE_PATH, mode: 0o644, purpose: "the node's scheduled backup run", notify: ['systemd'], when: (model) => model.backup?.schedule !== undefined },
  {
    template: 'hvcluster-backup.timer.hbs',
    path: BACKUP_TIMER_PATH,
    mode: 0o644,
    purpose: 'starts the backup run on the schedule',
    notify: ['systemd', 'backup-timer'],
    when: (model) => model.backup?.schedule !== undefined,
  },
];

/** Where a rule's file goes for these answers; undefined for a rule whose file these answers do not have. Pure. */
export function rulePath(rule: FileRule, answers: Answers): string | undefined {
  return typeof rule.path === 'string' ? rule.path : rule.path(answers);
}

/** Every path the rules may write for these answers (whichever nodes they apply to): what a read of a node compares with the plan. Pure. */
export function ruleFilePaths(answers: Answers): string[] {
  return [...new Set(FILE_RULES.flatMap((rule) => rulePath(rule, answers) ?? []))];
}

/** A rule's content for a node: its template rendered, or its installer/remote/ script as it is. */
function ruleContent(rule: FileRule, templates: TemplateEnvironment, model: RenderModel): string {
  if (rule.source !== undefined) return readFileSync(join(REMOTE_DIR, rule.source), 'utf8');
  return templates.render(rule.template, model);
}

/** The interfaces the network files configure: the others' stanzas in /etc/network/interfaces are not ours. */
export function managedInterfaces(model: RenderModel): string[] {
  const n = model.network;
  return [...new Set(['lo', n.managementInterface, ...(n.bond ? [n.bond.name, ...n.bond.slaves] : []), n.bridge, n.replicationInterface])];
}

function drbdMajorOf(facts: ServerFacts[]): DrbdMajor {
  const majors = facts.map((f) => factValue(f.drbd)?.major ?? null);
  return majors.every((m) => m === 9) ? '9' : '8.4';
}

export { BOOT_UNIT, BOOT_UNIT_PATH, drbdPairs, probeResources } from './drbd-layout.js';
import { BOOT_UNIT_PATH, drbdPairs } from './drbd-layout.js';

/**
 * Runs a planning function and turns its findings against the servers (the answer file was valid,
 * the servers do not fit it) into "the command ran and found problems" (exit 1), as plan and apply
 * both report them; an invalid answer file stays a configuration error (exit 3).
 */
export function withPreflightFindings<T>(plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (error instanceof AnswerFileError) throw new ChecksFailedError(error.message, { hint: error.hint, cause: error });
    throw error;
  }
}

/**
 * Plans the cluster. `facts[i]` are the facts of `answers.spec.nodes[i]`. Throws AnswerFileError
 * with every finding when the answers do not fit the servers. `drbdSecret`: the replication secret
 * the nodes already hold (existingDrbdSecret); without one a new secret is generated. The BMC
 * passwords and the backup passphrase come from the answer file's references (services/targets.ts).
 */
export function planCluster(
  answers: Answers,
  facts: ServerFacts[],
  options: {
    file?: string;
    templates?: TemplateEnvironment;
    locate?: (issue: AnswerIssue) => AnswerIssue;
    drbdSecret?: string | null;
    corosyncKey?: string | null;
    bmcPasswords?: Readonly<Record<string, string>>;
    /** An encrypted spec.backup: the repository's passphrase (read from passphraseFrom), written to each node's passphrase file. */
    backupPassphrase?: string;
  } = {},
): ClusterPlan {
  const nodes = answers.spec.nodes;
  const locate = options.locate ?? ((issue: AnswerIssue) => issue);
  const cluster = checkClusterFacts(answers, facts);
  const issues = [...nodes.flatMap((node, i) => checkNodeFacts(node, i, facts[i]!, answers.spec.storage.volumeGroup)), ...cluster.issues].map(locate);
  if (issues.some((issue) => issue.severity === 'error')) {
    const file = options.file ?? 'site.yaml';
    throw new AnswerFileError(file, issues, {
      headline: (counts) => `the servers do not fit ${file} (${counts}); nothing was changed on any server`,
      hint: `Correct ${file} at the positions listed, or the servers as the messages say, then run again.`,
    });
  }

  const templates = options.templates ?? new TemplateEnvironment();
  const major = drbdMajorOf(facts);
  // The secret the nodes already share (read by the caller), else a new one for the first apply.
  const drbdSecret = options.drbdSecret ?? newDrbdSecret();
  const corosyncKey = options.corosyncKey ?? newCorosyncKey();
  const packages = [...NODE_PACKAGES, ...haPackages(answers), ...backupPackages(answers)];
  const nodePlans: NodePlan[] = nodes.map((node, i) => {
    const nicName = node.management.bond ? node.management.bond.interfaces[0]! : node.management.interface!;
    const mac = factValue(facts[i]!.network)?.nics.find((nic) => nic.name === nicName)?.mac;
    if (!mac) throw new AnswerFileError(options.file ?? 'site.yaml', [locate({ severity: 'error', path: ['spec', 'nodes', i, 'management'], message: `the MAC address of ${nicName} on ${node.name} could not be read` })]);
    const model = renderModel(answers, i, major, mac, {
      drbd: drbdSecret,
      ...(haEnabled(answers) ? { corosyncKey } : {}),
      ...(options.backupPassphrase !== undefined ? { backupPassphrase: options.backupPassphrase } : {}),
    });
    const os = factValue(facts[i]!.os)?.id ?? null;
    const files: PlannedFile[] = FILE_RULES.filter((rule) => rule.when?.(model, os) ?? true).map((rule) => ({
      path: rulePath(rule, answers)!,
      ...(rule.source !== undefined ? { source: rule.source } : { template: rule.template }),
      content: ruleContent(rule, templates, model),
      mode: rule.mode,
      owner: 'root:root',
      purpose: rule.purpose,
      notify: rule.notify,
      ...(rule.managedBlock ? { managedBlock: true } : {}),
      ...(rule.secret ? { secret: true } : {}),
      ...(rule.keepForeignStanzas ? { managedInterfaces: managedInterfaces(model) } : {}),
    }));
    const installed = new Set((factValue(facts[i]!.packages) ?? []).filter((p) => p.installed).map((p) => p.name));
    return {
      name: node.name,
      model,
      files,
      packages,
      packagesToInstall: packages.filter((p) => !installed.has(p)),
      volumeGroup: { name: answers.spec.storage.volumeGroup, disk: node.storage.disk, wipe: node.storage.wipe },
    };
  });

  return {
    cluster: answers.metadata.name,
    drbdMajor: major,
    usableDiskBytes: cluster.usableDiskBytes,
    drbdPairs: drbdPairs(
      nodes.map((n) => n.name),
      major,
    ),
    nodes: nodePlans,
    ...(haEnabled(answers) ? { ha: haPlan(answers, options.bmcPasswords ?? {})! } : {}),
    warnings: issues,
  };
}
