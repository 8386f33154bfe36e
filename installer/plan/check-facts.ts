/**
 * The answer file checked against the servers' facts: what only the servers can tell.
 * Every finding points at the answer-file key it is about, says what was found, and what to do.
 */
import type { AnswerIssue, AnswerPath } from '../answers/issues.js';
import type { Answers, NodeAnswers } from '../answers/schema.js';
import { findDisk } from '../facts/query.js';
import { claimInputFromFacts, claimVerdict, refusalText } from '../facts/disk-verdict.js';
import { factValue, type Disk, type LvmFacts, type ServerFacts } from '../facts/types.js';

/** Data disks whose sizes differ by more than this share are flagged: the smaller one limits every mirror. */
export const DISK_SIZE_TOLERANCE = 0.1;

export const SUPPORTED_OS = [{ id: 'debian', versionId: '12' }] as const;

/**
 * The disk already is a physical volume of this cluster's volume group (a previous apply), with
 * nothing else on it: the verdict `ours` (facts/disk-verdict.ts).
 */
export function holdsVolumeGroup(disk: Disk, volumeGroup: string, lvm: LvmFacts | null): boolean {
  return claimVerdict(claimInputFromFacts(disk, lvm), { volumeGroup, wipe: false }).kind === 'ours';
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function managementInterfaces(node: NodeAnswers): string[] {
  const management = node.management;
  return management.bond ? management.bond.interfaces : management.interface ? [management.interface] : [];
}

/**
 * The DRBD module must load when the drbd-module step runs `modprobe drbd`, after the network,
 * volume group and DRBD configuration have changed: a module missing for the running kernel, or
 * disabled in modprobe.d (`install drbd /bin/false`), is refused here instead. A loaded one is fine.
 */
export function checkDrbdModule(node: NodeAnswers, index: number, facts: ServerFacts): AnswerIssue[] {
  const path: AnswerPath = ['spec', 'nodes', index, 'name'];
  const drbd = factValue(facts.drbd);
  const load = drbd?.moduleLoad ?? null;
  const kernel = factValue(facts.kernel)?.release ?? null;
  const running = kernel ? `the running kernel ${kernel}` : 'the running kernel';
  if (drbd?.loadedVersion) return [];
  if (!drbd || drbd.major === null || load?.state === 'missing') {
    const found = load?.state === 'missing' ? `modprobe -n -v drbd: ${load.detail}` : `modinfo drbd found none${drbd?.moduleError ? `: ${drbd.moduleError}` : ''}`;
    const others = (drbd?.kernelsWithModule ?? []).filter((k) => k !== kernel);
    return [
      {
        severity: 'error',
        path,
        message:
          `no DRBD kernel module for ${running} on ${node.name} (${found}); ` +
          (others.length > 0 ? `kernel ${others.join(', ')} has one under /lib/modules: boot into it, or ` : '') +
          "install a kernel that ships it (Debian's linux-image-amd64 does) or the DRBD 9 module for this kernel",
      },
    ];
  }
  if (load?.state === 'disabled') {
    const rules = load.rules.filter((r) => /^install\s/.test(r.text));
    const where = rules.map((r) => `${r.file}:${r.line}: ${r.text}`).join('; ');
    return [
      {
        severity: 'error',
        path,
        message:
          `the DRBD module cannot load on ${node.name}: modprobe drbd runs "${load.detail?.replace(/^install\s+/, '')}" instead of loading it (${where || `modprobe -n -v drbd: ${load.detail}`}); ` +
          `apply would stop at its drbd-module step after changing the network, volume group and DRBD configuration: ` +
          (rules.length > 0 ? `remove that line from ${[...new Set(rules.map((r) => r.file))].join(', ')}` : 'remove the install rule for drbd from /etc/modprobe.d') +
          ', then run again',
      },
    ];
  }
  if (load?.state === 'error') {
    return [{ severity: 'error', path, message: `the DRBD module cannot load on ${node.name}: modprobe -n -v drbd fails (${load.detail}); fix what it says, then run again` }];
  }
  return [];
}

/** Checks one node's answers against its facts. `index` is the node's position in spec.nodes.
 */
export function checkNodeFacts(node: NodeAnswers, index: number, facts: ServerFacts, volumeGroup = 'hvdata'): AnswerIssue[] {
  const issues: AnswerIssue[] = [];
  const at = (...path: (string | number)[]): AnswerPath => ['spec', 'nodes', index, ...path];
  const error = (path: AnswerPath, message: string) => issues.push({ severity: 'error', path, message });
  const warning = (path: AnswerPath, message: string) => issues.push({ severity: 'warning', path, message });

  const hostname = factValue(facts.hostname);
  if (hostname && hostname.nodeName !== node.name) {
    error(
      at('name'),
      `the server at ${node.ssh.address} calls itself ${hostname.nodeName} (uname -n), not ${node.name}; DRBD identifies nodes by that name: set name: ${hostname.nodeName}, or rename the server (hostnamectl set-hostname ${node.name})`,
    );
  }

  const os = factValue(facts.os);
  if (os && !SUPPORTED_OS.some((s) => s.id === os.id && s.versionId === os.versionId)) {
    warning(at('name'), `${node.name} runs ${os.prettyName ?? `${os.id} ${os.versionId ?? ''}`}; hvcluster is tested on Debian 12`);
  }

  const network = factValue(facts.network);
  if (!network) {
    error(at('management'), `the network interfaces of ${node.name} could not be read: ${facts.network.ok ? '' : facts.network.reason}`);
  } else {
    const names = network.nics.map((nic) => nic.name);
    const known = `${node.name} has: ${names.filter((n) => n !== 'lo').join(', ')}`;
    const managementNics = managementInterfaces(node);
    managementNics.forEach((name, i) => {
      if (!names.includes(name)) {
        error(node.management.bond ? at('management', 'bond', 'interfaces', i) : at('management', 'interface'), `no network interface ${name} on ${node.name}; ${known}`);
      }
    });
    const replication = network.nics.find((nic) => nic.name === node.replication.interface);
    if (!replication) {
      error(at('replication', 'interface'), `no network interface ${node.replication.interface} on ${node.name}; ${known}`);
    } else {
      if (managementNics.includes(replication.name)) {
        error(at('replication', 'interface'), `${replication.name} is also the management interface; replication needs a NIC of its own`);
      }
      if (replication.adminUp && replication.carrier === false) {
        error(
          at('replication', 'interface'),
          `${replication.name} on ${node.name} has no link (no carrier: cable unplugged, or the peer's port is down); replication cannot run over it: connect it, or name the NIC that is cabled`,
        );
      } else if (!replication.adminUp) {
        warning(at('replication', 'interface'), `${replication.name} on ${node.name} is down, so its link cannot be checked yet; apply brings it up`);
      }
      if (replication.master && replication.masterKind === 'bridge') {
        error(at('replication', 'interface'), `${replication.name} on ${node.name} is enslaved to bridge ${replication.master}; give replication a NIC that nothing else uses`);
      }
    }
  }

  const disks = factValue(facts.disks);
  if (!disks) {
    error(at('storage', 'disk'), `the disks of ${node.name} could not be read: ${facts.disks.ok ? '' : facts.disks.reason}`);
  } else {
    const disk = findDisk(facts, node.storage.disk);
    if (!disk) {
      const candidates = disks.filter((d) => d.type === 'disk').map((d) => d.byIdPaths[0] ?? d.path);
      error(at('storage', 'disk'), `no disk ${node.storage.disk} on ${node.name}; it has: ${candidates.join(', ') || 'no disks'}`);
    } else {
      // The storage step decides again with the same verdict from the disk read at the moment of the write.
      const verdict = claimVerdict(claimInputFromFacts(disk, facts.lvm ? factValue(facts.lvm) : null), { volumeGroup, wipe: node.storage.wipe === true });
      if (verdict.kind === 'wipe') {
        warning(at('storage', 'wipe'), `${node.storage.disk} on ${node.name} is not blank (${verdict.erase.join('; ')}) and WILL BE ERASED because wipe: true`);
      } else if (verdict.kind === 'refused') {
        error(at('storage', 'disk'), refusalText(node.storage.disk, node.name, verdict));
      }
    }
  }

  issues.push(...checkDrbdModule(node, index, facts));

  const virtualization = factValue(facts.virtualization);
  if (virtualization && !virtualization.kvmDevice) {
    warning(
      at('name'),
      `${node.name} has no /dev/kvm${virtualization.cpuFlag ? '' : ' and its CPU shows no vmx/svm flag'}; guests would run emulated and very slowly: enable virtualization in the firmware`,
    );
  }
  return issues;
}

/** Checks between nodes: DRBD versions, disk sizes. Returns the usable mirrored size as well. */
export function checkClusterFacts(answers: Answers, facts: ServerFacts[]): { issues: AnswerIssue[]; usableDiskBytes: number } {
  const issues: AnswerIssue[] = [];
  const nodes = answers.spec.nodes;

  const majors = facts.map((f) => factValue(f.drbd)?.major ?? null);
  const known = majors.filter((m): m is 8 | 9 => m !== null);
  if (new Set(known).size > 1) {
    const list = nodes.map((n, i) => `${n.name}: ${factValue(facts[i]!.drbd)?.loadedVersion ?? factValue(facts[i]!.drbd)?.moduleVersion ?? 'none'}`).join(', ');
    issues.push({
      severity: 'error',
      path: ['spec', 'nodes'],
      message: `the nodes have different DRBD major versions (${list}); all nodes must run the same DRBD major version`,
    });
  }

  // Each replication NIC must accept the MTU asked (ip -d link: maxmtu); the path between them is probed after the network step.
  const mtu = answers.spec.network.replicationMtu;
  nodes.forEach((node, i) => {
    const nic = factValue(facts[i]!.network)?.nics.find((n) => n.name === node.replication.interface);
    if (nic?.maxMtu != null && mtu > nic.maxMtu) {
      issues.push({
        severity: 'error',
        path: ['spec', 'network', 'replicationMtu'],
        message: `${node.name}'s replication NIC ${nic.name}${nic.driver ? ` (${nic.driver})` : ''} accepts an MTU of at most ${nic.maxMtu} (ip -d link: maxmtu ${nic.maxMtu}), not ${mtu}: set replicationMtu: ${nic.maxMtu} or less, or use a NIC that carries jumbo frames`,
      });
    }
  });

  const sizes = nodes.map((node, i) => {
    return findDisk(facts[i]!, node.storage.disk)?.sizeBytes;
  });
  const present = sizes.filter((s): s is number => s !== undefined);
  const usableDiskBytes = present.length > 0 ? Math.min(...present) : 0;
  if (present.length === nodes.length && present.length > 0) {
    const largest = Math.max(...present);
    if (largest - usableDiskBytes > largest * DISK_SIZE_TOLERANCE) {
      issues.push({
        severity: 'warning',
        path: ['spec', 'nodes'],
        message: `the data disks differ in size (${nodes.map((n, i) => `${n.name} ${gib(sizes[i]!)}`).join(', ')}); mirrors are limited to the smallest, ${gib(usableDiskBytes)}`,
      });
    }
  }
  return { issues, usableDiskBytes };
}
