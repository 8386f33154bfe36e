/**
 * High availability as the planner sees it: whether the answers ask for it, the cluster stack's
 * packages, the timing profile's values, and the Corosync key (one per cluster, generated once and
 * read back from the nodes like the DRBD secret, so a second apply changes nothing).
 */
import { randomBytes } from 'node:crypto';
import type { Answers } from '../answers/schema.js';

export const COROSYNC_CONF = '/etc/corosync/corosync.conf';
export const COROSYNC_KEY = '/etc/corosync/authkey';
/** sbd's settings (Debian's EnvironmentFile of sbd.service, read by Pacemaker too). */
export const SBD_DEFAULTS = '/etc/default/sbd';

/** Whether the answers install the cluster manager. */
export function haEnabled(answers: Answers): boolean {
  return answers.spec.ha?.enabled === true;
}

/**
 * Packages a node of an HA cluster adds. pacemaker only recommends its command-line tools
 * (cibadmin, crm_mon, stonith_admin...), and fence-agents does not depend on ipmitool, which
 * fence_ipmilan runs: both are named.
 */
export function haPackages(answers: Answers): string[] {
  if (!haEnabled(answers)) return [];
  return [
    'pacemaker',
    'pacemaker-cli-utils',
    'corosync',
    ...(usesQdevice(answers) ? ['corosync-qdevice'] : []),
    'fence-agents',
    'ipmitool',
    'resource-agents',
    ...(watchdogPlan(answers) ? ['sbd'] : []),
  ];
}

/**
 * The second fencing level (spec.ha.watchdog): diskless SBD on each node's hardware watchdog. A node
 * sbd watches resets itself within `timeoutS` once it lost quorum (or sbd stopped); the survivors
 * treat a node as fenced through the watchdog `stonithWatchdogTimeoutS` after they lost it (twice
 * the watchdog's timeout, as pcs and crmsh set it), when its BMC cannot fence it.
 */
export interface WatchdogPlan {
  device: string;
  timeoutS: number;
  stonithWatchdogTimeoutS: number;
}

export function watchdogPlan(answers: Answers): WatchdogPlan | undefined {
  const w = answers.spec.ha?.watchdog;
  if (!haEnabled(answers) || !w) return undefined;
  return { device: w.device, timeoutS: w.timeout, stonithWatchdogTimeoutS: 2 * w.timeout };
}

/**
 * Pacemaker's stonith-timeout: the profile's, plus the watchdog's wait when there is a watchdog
 * level. Pacemaker 2.1.5 does not count the watchdog's wait in a fencing topology's total time
 * (fixed in 2.1.6, ClusterLabs/pacemaker#3026): without the margin a fencing that falls through to
 * the watchdog level would time out before it completes. Pure.
 */
export function stonithTimeoutS(answers: Answers): number {
  return haTiming(answers).stonithTimeoutS + (watchdogPlan(answers)?.stonithWatchdogTimeoutS ?? 0);
}

/** The fencing-topology hvcluster writes with a watchdog level: per node, level 1 its BMC, level 2 the watchdog. Pure. */
export interface FencingLevel {
  id: string;
  target: string;
  index: number;
  devices: string;
}

/** Pacemaker's name for watchdog fencing in a topology level (pacemaker-fenced's implicit device). */
export const WATCHDOG_DEVICE_ID = 'watchdog';

export function fencingLevels(nodes: readonly string[]): FencingLevel[] {
  return nodes.flatMap((node) => [
    { id: `fl-${node}-1`, target: node, index: 1, devices: fenceId(node) },
    { id: `fl-${node}-2`, target: node, index: 2, devices: WATCHDOG_DEVICE_ID },
  ]);
}

/** Two nodes: a third vote from the witness's corosync-qnetd (never `two_node` beside it). */
export function usesQdevice(answers: Answers): boolean {
  return haEnabled(answers) && answers.spec.nodes.length === 2;
}

/**
 * The values of a timing profile. `production` is the cluster stack's defaults; `emulated` raises
 * only how long things may take (detection, fencing), never what the cluster does, for machines as
 * slow as the VM lab's emulated CPUs.
 */
export interface HaTiming {
  profile: 'production' | 'emulated';
  /** totem.token, ms (corosync adds token_coefficient per node above two). */
  tokenMs: number;
  /** Pacemaker's stonith-timeout, s. */
  stonithTimeoutS: number;
  /** Fence device monitor interval, s. */
  fenceMonitorS: number;
  /** How long one monitor (a BMC power status) may take, s: 20 is Pacemaker's default; an emulated node's fence_ipmilan takes longer under load. */
  fenceMonitorTimeoutS: number;
  /** Factor on the guests' resource operation timeouts (start, stop, migrate: engine/ha/guest-cib.ts). */
  resourceTimeoutScale: number;
}

export function haTiming(answers: Answers): HaTiming {
  const profile = answers.spec.ha?.timing ?? 'production';
  return profile === 'emulated'
    ? { profile, tokenMs: 10_000, stonithTimeoutS: 180, fenceMonitorS: 120, fenceMonitorTimeoutS: 60, resourceTimeoutScale: 2 }
    : { profile, tokenMs: 3_000, stonithTimeoutS: 60, fenceMonitorS: 60, fenceMonitorTimeoutS: 20, resourceTimeoutScale: 1 };
}

/** Corosync's key: 256 characters of [A-Za-z0-9] (about 1500 bits), the same length pcs generates. */
const KEY_RE = /^[A-Za-z0-9]{256}$/;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newCorosyncKey(): string {
  // 62 letters: bytes >= 248 are dropped so every character is equally likely.
  let key = '';
  while (key.length < 256) for (const b of randomBytes(300)) if (b < 248 && key.length < 256) key += KEY_ALPHABET[b % 62];
  return key;
}

/** The key the cluster already has: the first node's (in answer-file order) that holds one of ours. Pure. */
export function existingCorosyncKey(keyFiles: readonly (string | null | undefined)[]): string | null {
  return keyFiles.find((text): text is string => typeof text === 'string' && KEY_RE.test(text)) ?? null;
}

/** A node's fence device as the cluster will run it. */
export interface FencePlan {
  /** The node it powers off. */
  node: string;
  /** The CIB id: `fence-NODE`. */
  id: string;
  bmc: { address: string; port: number; user: string; cipher: number; lanplus: boolean };
  /** The BMC password (resolved from passwordFrom; never logged or shown). */
  password: string;
}

/** What the cluster manager of an HA cluster is made of, beside its files. */
export interface HaPlan {
  timing: HaTiming;
  /** Pacemaker cluster properties hvcluster sets. */
  properties: Record<string, string>;
  fence: FencePlan[];
  /** Two nodes: the witness's qnetd. */
  witness?: { address: string; port: number; tls: 'on' | 'off' };
  /** The watchdog fencing level (spec.ha.watchdog), and the topology that puts it after the BMCs. */
  watchdog?: WatchdogPlan & { levels: FencingLevel[] };
}

export const fenceId = (node: string) => `fence-${node}`;

/** Pacemaker's load-threshold on emulated nodes (cluster property; its default, 80%, is kept in production). */
export const EMULATED_LOAD_THRESHOLD = '1000%';

/**
 * The HA part of the plan. `passwords`: each node's BMC password by node name. Pure.
 * no-quorum-policy stop: a partition without quorum stops its guests (the other side, quorate,
 * fences it and restarts them); stonith-enabled always: HA never runs without fencing.
 */
export function haPlan(answers: Answers, passwords: Readonly<Record<string, string>>): HaPlan | undefined {
  if (!haEnabled(answers)) return undefined;
  const timing = haTiming(answers);
  const witness = answers.spec.ha?.witness;
  const watchdog = watchdogPlan(answers);
  return {
    timing,
    properties: {
      'stonith-enabled': 'true',
      'no-quorum-policy': 'stop',
      'stonith-timeout': `${stonithTimeoutS(answers)}s`,
      // Written once sbd runs on every node (the sbd step comes first): Pacemaker stops a node whose sbd does not run beside it.
      ...(watchdog ? { 'stonith-watchdog-timeout': `${watchdog.stonithWatchdogTimeoutS}s` } : {}),
      'cluster-name': answers.metadata.name,
      // An emulated CPU's load average is no measure of what it can do: throttled at Pacemaker's
      // default (80%), its controller ran one action at a time, and a takeover of two guests was
      // still promoting the second when the fenced node came back (seen on the lab).
      ...(timing.profile === 'emulated' ? { 'load-threshold': EMULATED_LOAD_THRESHOLD } : {}),
    },
    fence: answers.spec.nodes.map((node) => {
      const bmc = node.bmc;
      if (!bmc) throw new Error(`node ${node.name} has no bmc (the answer file's checks refuse this)`);
      const password = passwords[node.name];
      if (password === undefined) throw new Error(`no BMC password was read for ${node.name}`);
      return { node: node.name, id: fenceId(node.name), bmc: { address: bmc.address, port: bmc.port, user: bmc.user, cipher: bmc.cipher, lanplus: bmc.lanplus }, password };
    }),
    ...(usesQdevice(answers) && witness ? { witness: { address: witness.address, port: witness.qnetdPort, tls: answers.spec.ha!.tls } } : {}),
    ...(watchdog ? { watchdog: { ...watchdog, levels: fencingLevels(answers.spec.nodes.map((n) => n.name)) } } : {}),
  };
}
