/** The whole verify run as one object: the source of the text, JSON, JUnit and Markdown outputs. */
import type { ServerFacts } from '../facts/types.js';
import { probe } from './checks/common.js';
import { exitCodeFor, summarize, type Summary, type VerifyExit } from './evaluate.js';
import { parseEvents2 } from '../facts/parse/drbd-events2.js';
import { parseProcDrbd } from '../facts/parse/proc-drbd.js';
import { parseResourceConfigs, parseVgs, splitConfigFiles } from './parse.js';
import type { CheckResult, VerifyInput } from './types.js';
import type { MigrationReport } from './migration/index.js';
import type { FailoverReport } from './failover/drill.js';
import type { LinkDrillReport } from './failover/link-drill.js';
import { JSON_SCHEMA_VERSION } from '../json-output.js';

export interface NodeSummary {
  name: string;
  reachable: boolean;
  error?: { kind: string; message: string; hint?: string };
  ssh: { address: string; port: number; user: string };
  hostKey: string | null;
  management: { interface: string; address: string };
  replication: { interface: string; address: string };
  disk: string;
  os: string | null;
  kernel: string | null;
  cpu: string | null;
  memoryBytes: number | null;
  drbdModule: string | null;
  drbdUtils: string | null;
  libvirt: string | null;
  qemu: string | null;
  volumeGroup: { name: string; sizeBytes: number; freeBytes: number } | null;
}

export interface ResourceSummary {
  name: string;
  minor: number | null;
  hosts: { name: string; address: string | null }[];
  /** Role, disk and connection per node that reported it; a running resync's progress (/proc/drbd). */
  state: Record<string, { role: string | null; disk: string | null; connection: string | null; resync: ResyncSummary | null }>;
}

export interface ResyncSummary {
  percent: number;
  leftKiB: number;
  totalKiB: number;
  /** KiB/s, the kernel's ~18 s average. */
  speedKiBps: number | null;
  /** The kernel's estimate of the time to go. */
  etaSeconds: number | null;
}

export interface VerifyReport {
  /** The JSON envelope's version (json-output.ts). */
  schemaVersion: number;
  tool: 'hvcluster verify';
  version: string;
  cluster: string;
  startedAt: string;
  durationMs: number;
  exitCode: VerifyExit;
  summary: Summary;
  settings: { bridge: string; replicationMtu: number; volumeGroup: string; drbdProtocol: string };
  nodes: NodeSummary[];
  resources: ResourceSummary[];
  checks: CheckResult[];
  /** Present when --migration-test ran (or was asked for and skipped: then `skipped` says why). */
  migration?: { skipped?: string; report?: MigrationReport };
  /** Present when --failover-test ran (or was asked for and skipped: then `skipped` says why). */
  failover?: { skipped?: string; report?: FailoverReport };
  /** Present when --link-test ran (or was asked for and skipped). */
  linkDrill?: { skipped?: string; report?: LinkDrillReport };
}

const pkg = (facts: ServerFacts, name: string) => (facts.packages.ok ? (facts.packages.value.find((p) => p.name === name)?.version ?? null) : null);

export function buildReport(
  input: VerifyInput,
  checks: CheckResult[],
  meta: { version: string; startedAt: Date; durationMs: number },
  migration?: VerifyReport['migration'],
): VerifyReport {
  const spec = input.answers.spec;
  const summary = summarize(checks, input);
  let exitCode = exitCodeFor(summary);
  if (exitCode === 0 && migration?.report && !migration.report.ok) exitCode = 1;
  const nodes: NodeSummary[] = input.nodes.map((node) => {
    const a = spec.nodes.find((n) => n.name === node.name)!;
    const base = {
      name: node.name,
      reachable: node.reachable,
      ssh: { address: a.ssh.address, port: a.ssh.port, user: a.ssh.user },
      management: { interface: a.management.interface ?? a.management.bond?.name ?? '?', address: a.management.address },
      replication: { interface: a.replication.interface, address: a.replication.address },
      disk: a.storage.disk,
    };
    if (!node.reachable) {
      return { ...base, error: node.error, hostKey: null, os: null, kernel: null, cpu: null, memoryBytes: null, drbdModule: null, drbdUtils: null, libvirt: null, qemu: null, volumeGroup: null };
    }
    const f = node.facts;
    let vg: NodeSummary['volumeGroup'] = null;
    try {
      const v = parseVgs(probe(node, 'vgs')?.stdout ?? '{}').find((x) => x.name === spec.storage.volumeGroup);
      if (v) vg = { name: v.name, sizeBytes: v.sizeBytes, freeBytes: v.freeBytes };
    } catch {
      vg = null;
    }
    return {
      ...base,
      hostKey: node.hostKeyFingerprint,
      os: f.os.ok ? (f.os.value.prettyName ?? `${f.os.value.id} ${f.os.value.versionId ?? ''}`.trim()) : null,
      kernel: f.kernel.ok ? f.kernel.value.release : null,
      cpu: f.cpu.ok ? `${f.cpu.value.model ?? f.cpu.value.vendor ?? '?'} (${f.cpu.value.threads} threads)` : null,
      memoryBytes: f.memory.ok ? f.memory.value.totalBytes : null,
      drbdModule: f.drbd.ok ? f.drbd.value.loadedVersion : null,
      drbdUtils: f.drbd.ok ? f.drbd.value.utilsVersion : null,
      libvirt: f.libvirt.ok ? f.libvirt.value.virshVersion : null,
      qemu: pkg(f, 'qemu-system-x86'),
      volumeGroup: vg,
    };
  });

  const resources = new Map<string, ResourceSummary>();
  for (const node of input.nodes) {
    if (!node.reachable) continue;
    for (const cfg of parseResourceConfigs(splitConfigFiles(probe(node, 'conf')?.stdout ?? ''))) {
      if (!resources.has(cfg.name)) resources.set(cfg.name, { name: cfg.name, minor: cfg.minor, hosts: cfg.hosts, state: {} });
    }
    const events = probe(node, 'events2');
    const proc = probe(node, 'proc');
    const progress = new Map(
      (proc?.exitCode === 0 ? parseProcDrbd(proc.stdout).minors : []).flatMap((m) =>
        m.resync ? [[m.minor, { percent: m.resync.percent, leftKiB: m.resync.leftKiB, totalKiB: m.resync.totalKiB, speedKiBps: m.resync.speedKiBps, etaSeconds: m.resync.finishSeconds }] as const] : [],
      ),
    );
    for (const r of events?.exitCode === 0 ? parseEvents2(events.stdout) : []) {
      const entry = resources.get(r.name) ?? { name: r.name, minor: r.devices[0]?.minor ?? null, hosts: [], state: {} };
      entry.state[node.name] = {
        role: r.role,
        disk: r.devices.map((d) => d.disk).join(',') || null,
        connection: r.connections.map((c) => `${c.peer}:${c.connection}/${c.peerDevices.map((p) => p.replication).join(',')}`).join(' ') || null,
        resync: r.devices.map((d) => (d.minor === null ? undefined : progress.get(d.minor))).find((x) => x !== undefined) ?? null,
      };
      resources.set(r.name, entry);
    }
  }

  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    tool: 'hvcluster verify',
    version: meta.version,
    cluster: input.answers.metadata.name,
    startedAt: meta.startedAt.toISOString(),
    durationMs: meta.durationMs,
    exitCode,
    summary,
    settings: { bridge: spec.network.bridge, replicationMtu: spec.network.replicationMtu, volumeGroup: spec.storage.volumeGroup, drbdProtocol: spec.drbd.protocol },
    nodes,
    resources: [...resources.values()].sort((a, b) => a.name.localeCompare(b.name)),
    checks,
    ...(migration ? { migration } : {}),
  };
}
