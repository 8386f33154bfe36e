/** The plan compared with what is on the servers: per file create / change / unchanged, with a unified diff. */
import { createTwoFilesPatch } from 'diff';
import { scrubDrbdSecrets } from './drbd-secret.js';
import { mergeInterfaces } from './interfaces-file.js';
import { mergeManagedBlock } from './managed-block.js';
import type { ClusterPlan, PlannedFile } from './types.js';

export type FileChange = 'create' | 'change' | 'unchanged';

export interface FileComparison {
  path: string;
  change: FileChange;
  purpose: string;
  /** The whole file as it will be on the server, its secrets shown as `***`. */
  desired: string;
  /** Unified diff from the current file ('' when unchanged), its secrets shown as `***` (a changed secret as -*** +***). */
  diff: string;
}

export interface NodeComparison {
  name: string;
  files: FileComparison[];
  packagesToInstall: string[];
  volumeGroup: ClusterPlan['nodes'][number]['volumeGroup'];
}

export interface PlanComparison {
  cluster: string;
  drbdMajor: ClusterPlan['drbdMajor'];
  nodes: NodeComparison[];
  summary: { create: number; change: number; unchanged: number; packages: number };
}

/** The whole file a planned file makes of the current one. */
export function desiredContent(file: PlannedFile, current: string | null): string {
  if (file.managedBlock) return mergeManagedBlock(current ?? '', file.content);
  if (file.managedInterfaces) return mergeInterfaces(current, file.content, file.managedInterfaces);
  return file.content;
}

export function compareFile(file: PlannedFile, current: string | null, node: string): FileComparison {
  const desired = desiredContent(file, current);
  const change: FileChange = current === null ? 'create' : current === desired ? 'unchanged' : 'change';
  // Compared with the secrets, shown without: what is printed or saved never holds the DRBD secret.
  const diff =
    change === 'unchanged'
      ? ''
      : createTwoFilesPatch(
          current === null ? '/dev/null' : `${file.path} (on ${node})`,
          `${file.path} (planned)`,
          current ?? '',
          desired,
          undefined,
          undefined,
          { context: 3 },
        )
          .split('\n')
          .slice(1) // jsdiff's "====" separator line
          .join('\n');
  if (file.secret) {
    const hidden = `(a key: ${desired.length} bytes, not shown)`;
    return { path: file.path, change, purpose: file.purpose, desired: hidden, diff: change === 'unchanged' ? '' : `--- ${current === null ? '/dev/null' : `${file.path} (on ${node})`}\n+++ ${file.path} (planned)\n${hidden}` };
  }
  return { path: file.path, change, purpose: file.purpose, desired: scrubDrbdSecrets(desired), diff: scrubDrbdSecrets(diff) };
}

/** `current[i]` maps each planned path of `plan.nodes[i]` to its content on the server (null: absent). */
export function comparePlan(plan: ClusterPlan, current: Map<string, string | null>[]): PlanComparison {
  const nodes = plan.nodes.map((node, i) => ({
    name: node.name,
    files: node.files.map((file) => compareFile(file, current[i]!.get(file.path) ?? null, node.name)),
    packagesToInstall: node.packagesToInstall,
    volumeGroup: node.volumeGroup,
  }));
  const all = nodes.flatMap((n) => n.files);
  return {
    cluster: plan.cluster,
    drbdMajor: plan.drbdMajor,
    nodes,
    summary: {
      create: all.filter((f) => f.change === 'create').length,
      change: all.filter((f) => f.change === 'change').length,
      unchanged: all.filter((f) => f.change === 'unchanged').length,
      packages: nodes.reduce((sum, n) => sum + n.packagesToInstall.length, 0),
    },
  };
}
