/**
 * The migration test's contract: what `runMigrationTest` takes and what it reports. See index.ts for
 * how verify uses it.
 */
import type { Answers } from '../../answers/schema.js';
import type { EngineEvent } from '../../engine/events.js';
import type { ServerFacts } from '../../facts/types.js';
import type { ClusterPlan } from '../../plan/types.js';
import type { ServerConnection } from '../../ssh/types.js';
import type { DrbdSnapshot, MemoryFigure } from './judge.js';

/** The named points of the test, in order; `failAt` makes the test throw right after one of them. */
export const MIGRATION_PHASES = [
  'cleanup-before',
  'memory-checked',
  'guest-files',
  'volume-created',
  'guest-started',
  'data-written',
  'dual-primary-open',
  'target-promoted',
  'migrated',
  'cleanup-after',
] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/** What the test tells whoever displays it: the engine's own events (every mutation is a `change`), plus its own. */
export type MigrationEvent =
  | EngineEvent
  | { type: 'migration-phase'; phase: MigrationPhase; server?: string; text: string }
  | { type: 'migration-result'; result: MigrationResult };

export interface MigrationTestOptions {
  answers: Answers;
  plan: ClusterPlan;
  /** One open connection per node, by node name (the caller opens and closes them). */
  connections: Map<string, ServerConnection>;
  /** Facts per node in answer-file order, when the caller has them (only used for messages). */
  facts?: ServerFacts[];
  /** Receives every event; optional. */
  emit?: (event: MigrationEvent) => void;
  /**
   * The test guest's address with prefix, in the management subnet (the guest sits on the bridge),
   * e.g. `198.18.1.200/24`. Default: host number 200 of the first node's management subnet.
   * The test refuses to start if something already answers on it.
   */
  guestAddress?: string;
  /** Client probe interval (default 20 ms). */
  probeIntervalMs?: number;
  /** How long the client keeps probing after each migration finished, to catch late gaps (ARP); default 10 s. */
  settleMs?: number;
  /** Guest memory, MiB (default 96). */
  guestMemoryMiB?: number;
  /** MemAvailable every node needs beyond the guest's memory before the test starts, MiB (default MEMORY_MARGIN_MIB, 256). */
  memoryMarginMiB?: number;
  /** The longest client gap a migration may show, ms (default CLIENT_GAP_LIMIT_MS, 3000). */
  clientGapLimitMs?: number;
  /** Size of the replicated test volume, MiB (default 32). */
  volumeSizeMiB?: number;
  /** Fault injection for the clean-up test: throw right after this phase (also env HVCLUSTER_MIGRATION_FAIL_AT). */
  failAt?: MigrationPhase;
  /** Run ID used in backup paths and descriptions (default: a timestamp). */
  runId?: string;
  /** Asked at every phase: true (Ctrl-C, SIGTERM) stops the test there; its clean-up still runs. */
  stopRequested?: () => boolean;
  /** The run log the caller records the test's commands in (the connections write to it), for the report. */
  logFile?: string;
}

/** One live migration of the test guest. */
export interface MigrationResult {
  /** Node the guest left. */
  from: string;
  /** Node the guest arrived on. */
  to: string;
  /** The DRBD resource of the guest's disk during this migration. */
  resource: string;
  ok: boolean;
  /** QEMU's reported downtime (`virsh domjobinfo --completed`, "Total downtime"), ms; null if not reported. */
  qemuDowntimeMs: number | null;
  /** Longest time the installer-side HTTP client went without an answer from the guest, from the start of the migration until settleMs after its end; null if the probe never ran. */
  clientMaxGapMs: number | null;
  /** When, after the start of the migration, that longest gap began (ms); null with clientMaxGapMs. */
  clientMaxGapAtMs: number | null;
  /** Client requests sent / answered by the guest during that window. */
  clientRequests: number;
  clientAnswers: number;
  /** Wall-clock duration of `virsh migrate`, ms. */
  totalMs: number;
  /** QEMU's "Time elapsed" for the job, ms; null if not reported. */
  qemuTotalMs: number | null;
  /** The data the guest wrote before the first migration reads back identical inside the guest after this one. */
  dataIntact: boolean | null;
  /** The bound clientMaxGapMs was held to, ms. */
  clientGapLimitMs: number;
  /**
   * The test resource on every holder, read before dual-primary opened and after the client settled:
   * current UUID, role, connections, and the kernel lines of a lost connection or split brain in between.
   * null when the window was not reached or not closed.
   */
  drbd: { before: DrbdSnapshot[]; after: DrbdSnapshot[]; problems: string[]; kernelLines: string[] } | null;
  error?: string;
}

export interface MigrationReport {
  ok: boolean;
  /** ISO timestamps and total duration. */
  startedAt: string;
  durationMs: number;
  /** The run log: every command the test sent to the servers and every event, secrets redacted (when the caller kept one). */
  logFile?: string;
  guest: { name: string; address: string; memoryMiB: number; kernel: string | null };
  /** One entry per replicated test volume (one round each: 8.4 with three nodes tests every pair). */
  rounds: { resource: string; holders: string[]; home: string }[];
  migrations: MigrationResult[];
  /** The test data read back on the final primary's DRBD device, after the guest was stopped, matches what the guest wrote. null when not reached. */
  dataIntactOnDisk: boolean | null;
  /** MemAvailable of every node the guest runs on or moves to, read before anything was created. */
  memory: MemoryFigure[];
  /** The first failure, if any: the phase and what went wrong; `code` MIGRATION_MEMORY when the test refused for lack of memory. */
  error?: { phase: string; message: string; code?: 'MIGRATION_MEMORY' };
  cleanup: {
    ok: boolean;
    /** What the clean-up before the test removed: the leftovers of an earlier, killed run. */
    removedBefore: { server: string; description: string }[];
    /** What the clean-up found and removed, per node. */
    actions: { server: string; description: string }[];
    /** Anything that is still there after the clean-up: test domain, DRBD resource, LV, files, a Primary role. Empty when ok. */
    leftovers: { server: string; what: string }[];
  };
}
