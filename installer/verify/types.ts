/**
 * What `hvcluster verify` produces: one CheckResult per check and server (or pair of servers),
 * each with a stable code from the catalogue (codes.ts).
 */
import type { Answers } from '../answers/schema.js';
import type { ServerFacts } from '../facts/types.js';
import type { Probes } from './probes.js';

/** pass; error or warning (the finding's severity); skipped when the check does not apply or cannot be evaluated here. */
export type CheckStatus = 'pass' | 'warning' | 'error' | 'skipped';

export interface CheckResult {
  /** Stable code, e.g. DRBD_CONNECTED (see CHECKS in codes.ts). */
  code: string;
  /** The check's title. */
  title: string;
  status: CheckStatus;
  /** The server the result is about (the source of a pairwise probe), or "cluster" for cluster-wide comparisons. */
  server: string;
  /** Every server concerned (both ends of a pair, all nodes holding a resource...). */
  servers: string[];
  /** What the result is about within the server: a peer, a DRBD resource, a volume group. */
  subject?: string;
  /** What was found, one sentence. */
  found: string;
  /** What to do, for every result that is not a pass. */
  fix?: string;
  /** Measured figures (milliseconds, bytes, versions) for machines. */
  data?: Record<string, unknown>;
}

/** What verify learned from one server: its facts and its probes, or why it could not read them. */
export type NodeObservation =
  | {
      name: string;
      reachable: true;
      hostKeyFingerprint: string;
      pinned: boolean;
      facts: ServerFacts;
      probes: Probes;
    }
  | { name: string; reachable: false; error: { kind: string; message: string; hint?: string } };

export interface VerifyInput {
  answers: Answers;
  /** The answer file's path, for commands in fix texts (default site.yaml). */
  file?: string;
  /** One per node of the answer file, in its order. */
  nodes: NodeObservation[];
  /**
   * The verify run's clock, what ages are measured against (BACKUP_AGE): when the run started, the
   * report's startedAt. Default: when the first reachable server's read was sent (its facts' timing).
   */
  now?: Date;
}

export type ReachableNode = Extract<NodeObservation, { reachable: true }>;

export const CLUSTER = 'cluster';
