/**
 * Moves guests by live migration, one at a time, each inside its own dual-primary window (through
 * Pacemaker for a guest it owns): what `guest migrate` and `node drain` do, and what apply's sbd step
 * does before it restarts a node's cluster stack (a guest would otherwise be stopped and started
 * again elsewhere: its disk allows one Primary, so Pacemaker cannot live-migrate it by itself).
 */
import type { Answers } from '../answers/schema.js';
import { ConnectionError } from '../errors.js';
import type { FactDefinition } from '../facts/fact.js';
import { dualPrimaryCloseAfterS } from '../engine/dual-primary.js';
import { guestCibIds, type GuestCibIds } from '../engine/ha/guest-cib.js';
import type { Host } from '../engine/host.js';
import { parseReads, readDefinition, readLabel, readScript } from '../engine/read-batch.js';
import { haEnabled } from '../plan/ha.js';
import { liveMigrate } from './live-migrate.js';
import type { GuestMove, NodeRead } from './moves.js';

/** What a move printed and reported (`--json`: `migrations[]`): where, and its figures. */
export interface MoveResult {
  guest: string;
  from: string;
  to: string;
  /** When the live migration started and ended (epoch ms). */
  startedAt: number;
  finishedAt: number;
  totalMs: number;
  downtimeMs: number | null;
}

/** The guest's Pacemaker objects when Pacemaker owns it (declared ha, on an HA cluster). Pure. */
export function pacemakerIds(answers: Answers, move: GuestMove): GuestCibIds | undefined {
  const declared = answers.spec.guests.find((g) => g.name === move.guest);
  const ha = haEnabled(answers) && (declared?.ha ?? true);
  return ha ? guestCibIds(move.guest, move.resources.map((r) => r.name), answers.spec.nodes.map((n) => n.name), move.holders) : undefined;
}

/** Performs the moves in order (one guest at a time); `say` hears each phase and each result. */
export async function performMoves(answers: Answers, host: (node: string) => Host, moves: readonly GuestMove[], say: (text: string) => void): Promise<MoveResult[]> {
  const closeAfterS = dualPrimaryCloseAfterS();
  const results: MoveResult[] = [];
  for (const move of moves) {
    const pacemaker = pacemakerIds(answers, move);
    const figures = await liveMigrate({
      window: { guest: move.guest, resources: move.resources, holders: move.holders.map(host) },
      source: host(move.from),
      target: host(move.to),
      peer: move.peer,
      closeAfterS,
      onPhase: (text) => say(`${move.guest}: ${text}`),
      ...(pacemaker ? { pacemaker } : {}),
    });
    const result = { guest: move.guest, from: move.from, to: move.to, startedAt: figures.startedAt, finishedAt: figures.finishedAt, totalMs: figures.totalMs, downtimeMs: figures.downtimeMs ?? null };
    say(`${move.guest}: moved ${move.from} -> ${move.to} in ${(figures.totalMs / 1000).toFixed(1)} s (QEMU downtime ${figures.downtimeMs ?? '?'} ms)`);
    results.push(result);
  }
  return results;
}

/** The reads a guest command decides on, for one node: its volumes and guests (and its snapshots when asked). */
export function guestReadDefinitions(answers: Answers, node: string, snapshots = false): FactDefinition<unknown>[] {
  return (['volumes', 'guests', ...(snapshots ? (['snapshots'] as const) : [])] as const).map((what) => readDefinition(what, { answers, node }));
}

/** One node's guest read from the output of their script; throws ConnectionError saying what could not be read (libvirtd not answering among it). */
export function nodeReadOf(node: string, stdout: string, defs: readonly FactDefinition<unknown>[], snapshots = false): NodeRead {
  const parsed = parseReads(stdout, defs);
  if (!parsed.guests?.ok || !parsed.volumes?.ok) throw new ConnectionError(node, `could not read its guests and volumes: ${!parsed.guests?.ok ? parsed.guests?.reason : ''} ${!parsed.volumes?.ok ? parsed.volumes?.reason : ''}`.trim());
  if (!parsed.guests.value.libvirt) throw new ConnectionError(node, 'libvirtd does not answer', { hint: `check \`systemctl status libvirtd\` on ${node}` });
  if (snapshots && !parsed.snapshots?.ok) throw new ConnectionError(node, `could not read its snapshots: ${parsed.snapshots?.reason ?? 'not read'}`);
  return { guests: parsed.guests.value, volumes: parsed.volumes.value, ...(parsed.snapshots?.ok ? { snapshots: parsed.snapshots.value } : {}) };
}

/** The guests and volumes of every node, read now (the moves are planned from them). */
export async function readGuestsAndVolumes(answers: Answers, host: (node: string) => Host): Promise<Map<string, NodeRead>> {
  const reads = new Map<string, NodeRead>();
  await Promise.all(
    answers.spec.nodes.map(async ({ name }) => {
      const defs = guestReadDefinitions(answers, name);
      // The volumes read holds the DRBD resource files (their shared secret): kept out of the log.
      const out = await host(name).read({ argv: ['sh', '-c', readScript(defs)] }, { secretOutput: true, logAs: readLabel(defs) });
      reads.set(name, nodeReadOf(name, out.stdout, defs));
    }),
  );
  return reads;
}
