/**
 * The day-after commands of the cluster's guests:
 * - `hvcluster guest list -f site.yaml`: the declared guests as the nodes see them (read-only, one
 *   exec per node: the same reads apply plans on). An unreachable node is reported and its columns
 *   shown as unknown; the others are still listed.
 * - `guest migrate NAME [--to NODE]`: a live migration to another node holding its disks, inside a
 *   dual-primary window closed whatever happens (guests/live-migrate.ts), under the cluster lock.
 * - `guest start NAME [--on NODE]` / `guest stop NAME [--timeout S] [--force]`: its disks promoted
 *   and the domain started (or shut down, then its disks demoted), or Pacemaker asked to (target-role)
 *   for a guest under Pacemaker; a guest stopped this way is marked, and apply does not start it
 *   again until `guest start`.
 * - `node drain NODE` / `node resume NODE`: every guest live-migrated away, then the node marked
 *   standby (apply starts nothing there); the mark taken off.
 */
import { formatIssue } from '../answers/issues.js';
import { EXIT, HvError, UsageError, exitCodeOf, type ExitCode } from '../errors.js';
import { parseReads, readDefinition, readScript } from '../engine/read-batch.js';
import { formatGuestList, guestList, type NodeGuestRead } from '../guests/list.js';
import { jsonDocument, jsonError, jsonText } from '../json-output.js';
import { Reporter, type Streams } from '../output.js';
import { shellQuote } from '../ssh/quote.js';
import { connectEach, serversFromOptions, type ConnectionOptions } from './connect.js';
import type { EngineEvent } from '../engine/events.js';
import { standbyChange } from '../engine/guest-state.js';
import { guestCibIds, type GuestCibIds } from '../engine/ha/guest-cib.js';
import { performMoves, type MoveResult } from '../guests/perform-moves.js';
export type { MoveResult } from '../guests/perform-moves.js';
import { haTiming } from '../plan/ha.js';
import { planDrain, planMove, planStart, planStop, type GuestMove } from '../guests/moves.js';
import { haStopGraceS, startThroughPacemaker, stopThroughPacemaker } from '../engine/ha/guest-pacemaker.js';
import { stoppedByOperator, stoppedChange } from '../engine/guest-state.js';
import { waitFor } from '../engine/steps/step.js';
import { ChecksFailedError } from '../errors.js';
import type { Host } from '../engine/host.js';
import { withGuestSession, type GuestSession, type SessionReads } from '../guests/session.js';

export interface GuestListOptions extends ConnectionOptions {
  json?: boolean;
}

export async function runGuestList(options: GuestListOptions, streams: Streams): Promise<ExitCode> {
  const reporter = new Reporter(streams);
  try {
    if (options.file === undefined) throw new UsageError('guest list needs the answer file of the cluster', { hint: 'hvcluster guest list -f site.yaml' });
    if (options.host.length > 0) throw new UsageError('guest list reads the servers from the answer file: give -f site.yaml, not --host');
    const servers = await serversFromOptions(options, streams.env);
    const answers = servers.answers!.answers;
    for (const warning of servers.answers!.warnings) reporter.warn(formatIssue(warning));
    const results = await connectEach(servers.targets, options, streams, async (connection) => {
      const defs = (['volumes', 'guests'] as const).map((name) => readDefinition(name, { answers, node: connection.target.name }));
      const r = await connection.exec(`sh -c ${shellQuote(readScript(defs))}`, { sudo: true, step: 'guest list', secretOutput: true, timeoutMs: 120_000, logAs: 'sh -c <read: volumes, guests>' });
      return parseReads(r.stdout, defs);
    });
    let worst: ExitCode = EXIT.ok;
    const reads: NodeGuestRead[] = results.map((result) => {
      if (!result.ok) {
        worst = Math.max(worst, exitCodeOf(result.error)) as ExitCode;
        const message = result.error instanceof Error ? result.error.message : String(result.error);
        reporter.error(message, result.error instanceof HvError ? result.error.hint : undefined);
        return { node: result.server, error: message };
      }
      const { guests, volumes } = result.value;
      const error = !guests?.ok ? `guests: ${guests?.reason ?? 'not read'}` : !guests.value.libvirt ? 'libvirtd does not answer' : !volumes?.ok ? `volumes: ${volumes?.reason ?? 'not read'}` : undefined;
      if (error) reporter.warn(`${result.server}: ${error}`);
      return {
        node: result.server,
        ...(error ? { error } : {}),
        ...(guests?.ok && guests.value.libvirt ? { guests: guests.value } : {}),
        ...(volumes?.ok ? { volumes: volumes.value } : {}),
      };
    });
    const list = guestList(answers, reads);
    if (options.json) streams.stdout.write(jsonText(jsonDocument('hvcluster guest list', worst, { cluster: answers.metadata.name, ...list, unread: reads.filter((r) => r.error).map((r) => ({ node: r.node, error: r.error })) })));
    else streams.stdout.write(formatGuestList(list));
    return worst;
  } catch (error) {
    if (!(error instanceof HvError)) throw error;
    reporter.error(error.message, error.hint);
    if (options.json) streams.stdout.write(jsonText(jsonError('hvcluster guest list', error)));
    return exitCodeOf(error);
  }
}

export interface GuestMigrateOptions extends ConnectionOptions {
  json?: boolean;
  to?: string;
}

/** Performs the moves in order (one guest at a time), each inside its own dual-primary window (through Pacemaker for an HA guest). */
function performSessionMoves(session: GuestSession, moves: GuestMove[], reporter: Reporter): Promise<MoveResult[]> {
  return performMoves(session.answers, (n) => session.hosts.get(n)!, moves, (text) => reporter.info(text));
}

/** Starts a guest that hvcluster manages on `host`: its disks promoted there first (demoted again when it does not start). */
export async function startOn(host: Host, guest: string, resources: readonly string[]): Promise<void> {
  const promoted: string[] = [];
  try {
    for (const resource of resources) {
      await host.mutate(`promote ${resource} on ${host.server} (guest ${guest} starts there)`, { argv: ['drbdadm', 'primary', resource] });
      promoted.push(resource);
    }
    await host.mutate(`start guest ${guest} on ${host.server}`, { argv: ['virsh', 'start', guest] });
  } catch (error) {
    await demoteAll(host, guest, promoted, 'did not start').catch(() => undefined);
    throw error;
  }
}

/** Demotes a stopped guest's disks on `host` (`why`: what happened to the guest, for the change's description). */
export async function demoteAll(host: Host, guest: string, resources: readonly string[], why: string): Promise<void> {
  for (const resource of resources) await host.mutate(`demote ${resource} on ${host.server} (guest ${guest} ${why})`, { argv: ['drbdadm', 'secondary', resource] });
}

/**
 * A guest whose disks a command overwrites through their DRBD devices on `node` (snapshot rollback,
 * backup restore): by hvcluster, or through Pacemaker when it owns the guest (`pacemaker`), which
 * keeps its disks Promoted on `node` (hvcluster never sets the DRBD roles of a disk Pacemaker manages).
 */
export interface OverwrittenGuest {
  guest: string;
  resources: readonly string[];
  /** Where its disks are written. */
  node: string;
  /** Where it runs now (null: stopped). */
  runningOn: string | null;
  /** Its Pacemaker objects, when Pacemaker owns it. */
  pacemaker?: GuestCibIds;
  host: (node: string) => Host;
}

/**
 * Stops the guest without waiting for a shutdown (what it holds is overwritten anyway): under
 * Pacemaker target-role Stopped, the domain destroyed as soon as the stop is under way (set when it
 * runs nowhere too, so that nothing starts it during the write); else destroyed where it runs, its
 * disks demoted there. `command`: what stops it; `why`: why its state may be lost.
 */
export async function stopToOverwrite(g: OverwrittenGuest, command: string, why: string): Promise<void> {
  if (g.pacemaker) await stopThroughPacemaker(g.host(g.node), g.pacemaker, command, { domain: g.guest, afterMs: 0, hostOf: g.host, why });
  else if (g.runningOn) {
    await g.host(g.runningOn).mutate(`destroy guest ${g.guest} on ${g.runningOn} (${why})`, { argv: ['virsh', 'destroy', g.guest] });
    await demoteAll(g.host(g.runningOn), g.guest, g.resources, 'destroyed');
  }
}

/**
 * Runs `write` with the stopped guest's disks Primary on `node`: promoted there first and demoted after,
 * whatever happens; under Pacemaker left Promoted there. `data`: what is written. `keepPrimary`: left
 * Primary on `node` once written (demoted only when the write fails), for the caller to resume the
 * guest there (a snapshot rollback from RAM), which demotes them if it does not.
 */
export async function overwriteDisks<T>(g: OverwrittenGuest, data: string, write: () => Promise<T>, options: { keepPrimary?: boolean } = {}): Promise<T> {
  if (g.pacemaker) return write();
  const at = g.host(g.node);
  let result: T;
  try {
    for (const resource of g.resources) await at.mutate(`promote ${resource} on ${g.node} (${data} is written through it)`, { argv: ['drbdadm', 'primary', resource] });
    result = await write();
  } catch (error) {
    await demoteAll(at, g.guest, g.resources, `did not receive all of ${data}`).catch(() => undefined);
    throw error;
  }
  if (!options.keepPrimary) await demoteAll(at, g.guest, g.resources, `holds ${data}`);
  return result;
}

/** Starts the guest once written: through Pacemaker (target-role Started, where its disks are Promoted), else by hvcluster on `on`; returns where it runs. */
export async function startOverwritten(g: OverwrittenGuest, command: string, on: string): Promise<string> {
  if (g.pacemaker) return startThroughPacemaker(g.host(g.node), g.pacemaker, command);
  await startOn(g.host(on), g.guest, g.resources);
  return on;
}

/**
 * One day-after command that changes servers: the answer file required, its session (the lock, the
 * reads, a run log, each change a line on stderr), `work`'s result as the JSON document, an error
 * with its exit code.
 */
export async function dayAfter(
  command: string,
  subject: string,
  options: ConnectionOptions & { json?: boolean },
  streams: Streams,
  work: (session: GuestSession, reporter: Reporter) => Promise<object>,
  extra: { checkOptions?: () => void } & SessionReads = {},
): Promise<ExitCode> {
  const reporter = new Reporter(streams);
  const tool = `hvcluster ${command}`;
  try {
    if (options.file === undefined) throw new UsageError(`${command} needs the answer file of the cluster`, { hint: `hvcluster ${command} ${subject} -f site.yaml` });
    extra.checkOptions?.();
    let log: GuestSession['log'] | undefined;
    const emit = (event: EngineEvent) => {
      log?.write('event', JSON.stringify(event));
      if (event.type === 'change') reporter.info(`${event.server}: ${event.description}`);
    };
    const result = await withGuestSession(options, streams, reporter, command, emit, (session) => {
      log = session.log;
      return work(session, reporter);
    }, extra);
    if (options.json) streams.stdout.write(jsonText(jsonDocument(tool, EXIT.ok, result)));
    return EXIT.ok;
  } catch (error) {
    return failed(reporter, streams, tool, options.json, error);
  }
}

export function runGuestMigrate(name: string, options: GuestMigrateOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter('guest migrate', name, options, streams, async (session, reporter) => {
    const move = planMove(session.answers, session.reads, name, options.to);
    reporter.info(`guest migrate: ${name} ${move.from} -> ${move.to} (commands in ${session.log.path})`);
    return { migrations: await performSessionMoves(session, [move], reporter) };
  });
}

export interface GuestStartOptions extends ConnectionOptions {
  json?: boolean;
  on?: string;
}

/** `guest start NAME`: on its preferred node (or --on), its disks promoted first; under Pacemaker, target-role Started. Its stopped mark is taken off. */
export function runGuestStart(name: string, options: GuestStartOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter('guest start', name, options, streams, async (session, reporter) => {
    const plan = planStart(session.answers, session.reads, name, options.on);
    const host = (n: string) => session.hosts.get(n)!;
    for (const holder of plan.holders) if (stoppedByOperator(session.reads.get(holder)!.guests, name)) await host(holder).perform(stoppedChange(holder, 'guest start', name, false, new Date().toISOString()));
    if (plan.runningOn) {
      reporter.info(`guest start: ${name} already runs on ${plan.runningOn}`);
      return { guest: name, node: plan.runningOn, alreadyRunning: true };
    }
    let node: string;
    if (plan.ha) {
      node = await startThroughPacemaker(host(plan.holders[0]!), guestCibIds(name, plan.resources, session.answers.spec.nodes.map((n) => n.name), plan.holders), 'guest start');
    } else {
      node = plan.node!;
      await startOn(host(node), name, plan.resources);
    }
    reporter.info(`guest start: ${name} runs on ${node}${plan.ha ? ' (started by Pacemaker)' : ''}`);
    return { guest: name, node, alreadyRunning: false };
  });
}

export interface GuestStopOptions extends ConnectionOptions {
  json?: boolean;
  /** Seconds the guest has to shut down (ACPI power button) before it counts as not stopping; default 120. */
  timeout?: string;
  /** Then destroy it (like pulling the plug) instead of failing. */
  force?: boolean;
}

/**
 * `guest stop NAME`: asked to shut down (ACPI), waited for, destroyed only with --force when it does
 * not; then its disks demoted, and the guest marked stopped so that apply leaves it stopped. Under
 * Pacemaker: target-role Stopped (VirtualDomain shuts it down); a stop Pacemaker has begun cannot be
 * called off, and VirtualDomain would destroy the guest in the last 5 s of its stop timeout (a node
 * too busy for that is fenced), so hvcluster destroys it itself after --timeout, at most
 * HA_STOP_MARGIN_S before that timeout, --force or not.
 */
export function runGuestStop(name: string, options: GuestStopOptions, streams: Streams): Promise<ExitCode> {
  const timeoutS = options.timeout === undefined ? 120 : Number(options.timeout);
  const checkTimeout = () => {
    if (!Number.isInteger(timeoutS) || timeoutS < 0) throw new UsageError(`--timeout ${options.timeout}: give whole seconds (0 or more)`);
  };
  return dayAfter('guest stop', name, options, streams, async (session, reporter) => {
    const plan = planStop(session.answers, session.reads, name);
    const host = (n: string) => session.hosts.get(n)!;
    let forced = false;
    const graceS = plan.ha ? haStopGraceS(timeoutS, haTiming(session.answers).resourceTimeoutScale) : timeoutS;
    if (plan.ha) {
      if (plan.runningOn) {
        // Pacemaker's stop cannot be called off once asked: a guest still running near its stop timeout is destroyed by hvcluster, not left to VirtualDomain's last 5 s.
        const ids = guestCibIds(name, plan.resources, session.answers.spec.nodes.map((n) => n.name), plan.holders);
        forced = (await stopThroughPacemaker(host(plan.holders[0]!), ids, 'guest stop', { domain: name, afterMs: graceS * 1000, hostOf: host, why: `it did not shut down in ${graceS} s` })) !== null;
      }
    } else if (plan.runningOn) {
      const on = host(plan.runningOn);
      const state = async () => (await on.read({ argv: ['virsh', 'domstate', name] }, { allowFailure: true })).stdout.trim();
      await on.mutate(`shut guest ${name} down on ${plan.runningOn} (ACPI power button; up to ${timeoutS} s)`, { argv: ['virsh', 'shutdown', name] });
      const down = await waitFor(`guest ${name} to shut down`, async () => ((await state()) === 'running' ? undefined : true), { timeoutMs: timeoutS * 1000, intervalMs: 1000 }).catch(() => false);
      if (!down) {
        if (!options.force) {
          throw new ChecksFailedError(`guest ${name} still runs on ${plan.runningOn} ${timeoutS} s after it was asked to shut down (its system may not act on the ACPI power button)`, {
            hint: `give it longer (--timeout), shut it down from inside, or --force to destroy it (like pulling the plug)`,
          });
        }
        await on.mutate(`destroy guest ${name} on ${plan.runningOn} (--force: it did not shut down in ${timeoutS} s)`, { argv: ['virsh', 'destroy', name] });
        forced = true;
      }
      await demoteAll(on, name, plan.resources, 'stopped');
    }
    // Apply leaves it stopped (hvcluster starts a guest that runs nowhere, unless it was stopped this way).
    const at = new Date().toISOString();
    if (!plan.ha) for (const holder of plan.holders) if (!stoppedByOperator(session.reads.get(holder)!.guests, name)) await host(holder).perform(stoppedChange(holder, 'guest stop', name, true, at));
    reporter.info(plan.runningOn ? `guest stop: ${name} stopped on ${plan.runningOn}${forced ? (plan.ha ? ` (destroyed: it did not shut down in ${graceS} s, and Pacemaker's stop cannot wait longer)` : ' (destroyed: --force)') : ''}` : `guest stop: ${name} runs nowhere already`);
    return { guest: name, stoppedOn: plan.runningOn, forced };
  }, { checkOptions: checkTimeout });
}

export interface NodeDrainOptions extends ConnectionOptions {
  json?: boolean;
}

/** `node drain NODE`: every guest running on it live-migrated away, then the node marked standby (apply starts nothing there). */
export function runNodeDrain(node: string, options: NodeDrainOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter('node drain', node, options, streams, async (session, reporter) => {
    const moves = planDrain(session.answers, session.reads, node);
    reporter.info(`node drain: ${moves.length === 0 ? `no guest runs on ${node}` : `${moves.map((m) => `${m.guest} -> ${m.to}`).join(', ')}`} (commands in ${session.log.path})`);
    const migrations = await performSessionMoves(session, moves, reporter);
    await session.hosts.get(node)!.perform(standbyChange(node, 'node drain', true));
    reporter.info(`node drain: ${node} is empty and in standby: apply starts no guest there until \`hvcluster node resume ${node}\``);
    return { node, standby: true, migrations };
  });
}

/** `node resume NODE`: its standby mark removed (its guests stay where they run: no failback). */
export function runNodeResume(node: string, options: NodeDrainOptions, streams: Streams): Promise<ExitCode> {
  return dayAfter('node resume', node, options, streams, async (session, reporter) => {
    if (!session.hosts.has(node)) throw new UsageError(`${node} is not a node of the cluster (${[...session.hosts.keys()].join(', ')})`);
    if (session.reads.get(node)!.guests.standby) await session.hosts.get(node)!.perform(standbyChange(node, 'node resume', false));
    reporter.info(`node resume: ${node} takes guests again (the guests moved away stay where they run)`);
    return { node, standby: false };
  });
}

/** A day-after command's failure: its message and hint on stderr, the error document with --json, its exit code (a bug: EXIT.remote). */
export function failed(reporter: Reporter, streams: Streams, tool: string, json: boolean | undefined, error: unknown): ExitCode {
  if (!(error instanceof HvError)) {
    const message = error instanceof Error ? error.message : String(error);
    reporter.error(message);
    if (json) streams.stdout.write(jsonText(jsonError(tool, error, EXIT.remote)));
    return EXIT.remote;
  }
  reporter.error(error.message, error.hint);
  if (json) streams.stdout.write(jsonText(jsonError(tool, error)));
  return exitCodeOf(error);
}
