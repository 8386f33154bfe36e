/** What the planner produces: the desired state of every node. */
import type { AnswerIssue } from '../answers/issues.js';
import type { DrbdMajor, RenderModel } from './model.js';

/**
 * What a planned file is made from: a template rendered with the node's model (templates/NAME), or
 * a script of installer/remote/ copied byte for byte (the nodes run exactly what shellcheck checked).
 */
export type FileOrigin = { template: string; source?: undefined } | { source: string; template?: undefined };

export type PlannedFile = FileOrigin & {
  /** Absolute path on the server. */
  path: string;
  content: string;
  mode: number;
  owner: string;
  /** What the file is for, in a few words (shown in the plan). */
  purpose: string;
  /** Services to reload or restart when the file changes (the apply engine acts on it). */
  notify: string[];
  /** The whole content is a key: plans and diffs never show it, run logs never record it. */
  secret?: boolean;
  /** Only a marked block of settings in the file is ours; `content` is that block (see managed-block.ts). */
  managedBlock?: boolean;
  /**
   * /etc/network/interfaces: `content` covers these interfaces; the current file's stanzas of any
   * other interface are kept after it (see interfaces-file.ts).
   */
  managedInterfaces?: string[];
};

export interface NodePlan {
  name: string;
  model: RenderModel;
  files: PlannedFile[];
  /** Packages the node needs. */
  packages: string[];
  /** Of those, the ones not installed yet. */
  packagesToInstall: string[];
  volumeGroup: { name: string; disk: string; wipe: boolean };
}

export interface ClusterPlan {
  cluster: string;
  drbdMajor: DrbdMajor;
  /** Usable size of a mirrored volume group: the smallest data disk. */
  usableDiskBytes: number;
  /** With three nodes on DRBD 8.4, each guest disk lives on one of these pairs (spread in turn). */
  drbdPairs: [string, string][];
  nodes: NodePlan[];
  /** The cluster manager of an HA cluster (spec.ha). */
  ha?: import('./ha.js').HaPlan;
  /** The declared guests, placed and sized (preflight: plan/guest-preflight.ts); absent without any. */
  guests?: import('./guest-model.js').GuestModel[];
  /** Findings that do not stop the plan (errors throw). */
  warnings: AnswerIssue[];
}
