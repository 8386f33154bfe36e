/**
 * What the wizard asks of the engine, and the real implementation over SSH. The screens only see
 * the `WizardBackend` interface (tests give them a fake); this file holds no ink or react.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { LoadedAnswers } from '../answers/load.js';
import type { Answers } from '../answers/schema.js';
import { writeAnswerFile } from '../answers/write.js';
import { newRunId } from '../services/run-id.js';
import { VERSION } from '../paths.js';
import { formatMarkdown } from '../verify/output/markdown.js';
import type { VerifyReport } from '../verify/report.js';
import { verifyCluster } from '../verify/verify-cluster.js';
import { jumpHops, runSecrets, serversFromAnswers, type ConnectionOptions } from '../services/targets.js';
import { parseHostKeyPins } from '../ssh/index.js';
import { HvError } from '../errors.js';
import type { EventSink } from '../engine/events.js';
import { thisHolder, type ClusterLock } from '../engine/cluster-lock.js';
import type { ServerState } from '../engine/steps/step.js';
import { clusterSecrets, planInstall, previewInstall, readCluster, runInstall } from '../services/install.js';
import { RunLog, defaultLogDir } from '../engine/run-log.js';
import { InterruptedError } from '../engine/runner.js';
import { gatherFactsAndRun } from '../facts/index.js';
import type { ServerFacts } from '../facts/types.js';
import { comparePlan, type PlanComparison } from '../plan/diff.js';
import { ruleFilePaths, type ClusterPlan } from '../plan/index.js';
import type { ServerLogin } from '../plan/propose.js';
import type { ClusterSecrets } from '../plan/render-model.js';
import { connect, resolveTarget } from '../ssh/index.js';
import type { HostKeyPolicy, ServerConnection, SshTarget } from '../ssh/types.js';

export interface ApplyFailure {
  server: string;
  step: string;
  message: string;
  hint?: string;
}

export interface PlanResult {
  comparison: PlanComparison;
  /** Every change apply would make, per server in order (the list `apply --dry-run` shows). */
  changes: PlannedChange[];
  warnings: string[];
}

export interface PlannedChange {
  server: string;
  step: string;
  description: string;
}

export interface ApplyResult {
  ok: boolean;
  logFile: string;
  failures: ApplyFailure[];
}

export interface VerifyOutcome {
  /** passed / warnings / errors / skipped check results, and the servers that could not be read. */
  summary: { passed: number; warnings: number; errors: number; skipped: number; unreachable: string[] };
  /** The results that did not pass, one line each. */
  problems: string[];
  /** The Markdown hand-over report. */
  reportFile: string;
  ok: boolean;
  /** When the live-migration test was asked for: its figures, or why it did not run. */
  migration?: MigrationOutcome;
}

export interface MigrationOutcome {
  ok: boolean;
  /** Why the test did not run (the health checks found errors, a server unreachable...). */
  skipped?: string;
  /** The first failure, when it ran and failed. */
  error?: string;
  moves: { from: string; to: string; ok: boolean; qemuDowntimeMs: number | null; clientMaxGapMs: number | null; dataIntact: boolean | null }[];
  /** Whether the test left nothing behind (guest, DRBD resource, volume, dual-primary). */
  cleanedUp: boolean;
}

/** What the wizard asks verify for: the live-migration test or not, and where its phases go. */
export interface VerifyChoice {
  migrationTest?: boolean;
  onPhase?: (text: string) => void;
}

export interface WizardBackend {
  /** Connects to one server and reads its facts; `askHostKey` is called for a key neither pinned nor known. */
  inspect(
    login: ServerLogin,
    hooks: { askHostKey: (keyType: string, fingerprint: string) => Promise<boolean>; onStage: (stage: 'connecting' | 'inspecting') => void },
  ): Promise<{ fingerprint: string; facts: ServerFacts }>;
  /** Fresh facts and files of every node, the plan and its comparison with the servers; throws AnswerFileError when the servers do not fit. */
  plan(answers: Answers): Promise<PlanResult>;
  /** Runs the install with the plan of the last `plan` call; events go to `emit`. */
  apply(answers: Answers, emit: EventSink): Promise<ApplyResult>;
  /** The health checks of `hvcluster verify` (read-only) and the hand-over report; absent: no verify step. */
  verify?(answers: Answers, options?: VerifyChoice): Promise<VerifyOutcome>;
  /** Writes the answer file; returns its absolute path. */
  save(answers: Answers): string;
  /** Ctrl-C during apply: stop after the steps under way. */
  stop?(): void;
  close(): Promise<void>;
}

function migrationOutcome(migration: NonNullable<VerifyReport['migration']>): MigrationOutcome {
  const r = migration.report;
  if (!r) return { ok: false, skipped: migration.skipped ?? 'not run', moves: [], cleanedUp: true };
  return {
    ok: r.ok,
    ...(r.error ? { error: `${r.error.phase}: ${r.error.message}` } : {}),
    moves: r.migrations.map((m) => ({ from: m.from, to: m.to, ok: m.ok, qemuDowntimeMs: m.qemuDowntimeMs, clientMaxGapMs: m.clientMaxGapMs, dataIntact: m.dataIntact })),
    cleanedUp: r.cleanup.ok,
  };
}

export interface BackendOptions {
  env: NodeJS.ProcessEnv;
  /** Where site.yaml goes (default ./site.yaml; an existing file is never replaced without --force). */
  output?: string;
  force?: boolean;
  knownHosts: string[];
  /** `--host-key host=SHA256:...` pins, accepted without a question. */
  hostKey: string[];
  sshConfig?: string;
  connectTimeoutSeconds: number;
  cwd?: string;
}

/** The SSH target of a login, as `targetsFromAnswers` makes it of the node's `ssh:` block. */
export function targetOfLogin(login: ServerLogin, options: BackendOptions): SshTarget {
  const home = options.env.HOME ?? homedir();
  const pins = parseHostKeyPins(options.hostKey);
  return resolveTarget(login.address, {
    configFile: options.sshConfig,
    user: login.user,
    port: login.port,
    identityFiles: login.auth === 'key' && login.identityFile ? [login.identityFile.replace(/^~(?=\/)/, home)] : undefined,
    password: login.auth === 'password' && login.passwordEnv ? options.env[login.passwordEnv] : undefined,
    sudoPassword: login.sudoPasswordEnv ? options.env[login.sudoPasswordEnv] : undefined,
    agent: login.auth === 'agent' ? undefined : '',
    hostKeyFingerprint: login.hostKey ?? pins.get(login.address),
    jump: jumpHops(login.jump),
  });
}

/** site.yaml in the current directory, or the next free name: never an existing file unless forced. */
export function siteFilePath(options: Pick<BackendOptions, 'output' | 'force' | 'cwd'>, cluster: string): string {
  const cwd = options.cwd ?? process.cwd();
  if (options.output !== undefined) return resolve(cwd, options.output);
  const first = join(cwd, 'site.yaml');
  if (options.force || !existsSync(first)) return first;
  for (let n = 1; ; n++) {
    const next = join(cwd, n === 1 ? `site-${cluster}.yaml` : `site-${cluster}-${n}.yaml`);
    if (!existsSync(next)) return next;
  }
}

export class SshBackend implements WizardBackend {
  private readonly inspected: ServerConnection[] = [];
  private connections = new Map<string, ServerConnection>();
  private targets: SshTarget[] = [];
  /** An encrypted spec.backup's passphrase, read from the answers' reference like apply does (the run log redacts it). */
  private backupPassphrase?: string;
  private planned?: { plan: ClusterPlan; facts: ServerState[]; answers: Answers; changes: PlannedChange[]; secrets: ClusterSecrets };
  private log?: RunLog;
  private savedPath?: string;
  private stopRequested = false;

  constructor(private readonly options: BackendOptions) {}

  private policy(ask?: (server: string, fingerprint: string, keyType: string) => Promise<boolean>): HostKeyPolicy {
    const home = this.options.env.HOME ?? '/root';
    const knownHostsFiles = this.options.knownHosts.length > 0 ? this.options.knownHosts : [`${home}/.ssh/known_hosts`, '/etc/ssh/ssh_known_hosts'];
    return { knownHostsFiles, onUnknown: ask ?? 'refuse' };
  }

  async inspect(login: ServerLogin, hooks: Parameters<WizardBackend['inspect']>[1]) {
    hooks.onStage('connecting');
    const connection = await connect(
      targetOfLogin(login, this.options),
      this.policy((_server, fingerprint, keyType) => hooks.askHostKey(keyType, fingerprint)),
      { retry: { deadlineMs: this.options.connectTimeoutSeconds * 1000 } },
    );
    this.inspected.push(connection);
    hooks.onStage('inspecting');
    const { facts } = await gatherFactsAndRun(connection);
    return { fingerprint: connection.hostKeyFingerprint, facts };
  }

  /** The connections of the answers (host keys pinned now), exactly as `apply -f site.yaml` opens them. */
  private async openForAnswers(answers: Answers): Promise<void> {
    await Promise.all(this.inspected.splice(0).map((c) => c.close().catch(() => undefined)));
    const loaded: LoadedAnswers = { answers, warnings: [], file: 'site.yaml', baseDir: this.options.cwd ?? process.cwd(), locate: () => undefined };
    const options: ConnectionOptions = { host: [], identity: [], knownHosts: this.options.knownHosts, hostKey: [], sshConfig: this.options.sshConfig, connectTimeout: String(this.options.connectTimeoutSeconds) };
    const servers = serversFromAnswers(loaded, options, this.options.env, { backupPassphrase: true });
    this.targets = servers.targets;
    this.backupPassphrase = servers.backupPassphrase;
    if (this.log === undefined) {
      this.log = new RunLog(join(defaultLogDir(this.options.env), `${answers.metadata.name}-${newRunId()}.log`), runSecrets(servers));
      this.log.write('hvcluster', `wizard: ${answers.spec.nodes.map((n) => n.name).join(', ')}`);
    }
    const missing = this.targets.filter((t) => !this.connections.has(t.name));
    const log = this.log;
    const opened = await Promise.all(
      missing.map(async (target) => [target.name, log.wrap(await connect(target, this.policy(), { retry: { deadlineMs: this.options.connectTimeoutSeconds * 1000 } }))] as const),
    );
    for (const [name, connection] of opened) this.connections.set(name, connection);
  }

  /** The secrets the answer file references (not the nodes'): only the backup passphrase, the wizard making no HA cluster. */
  private answerSecrets(): { backupPassphrase?: string } {
    return this.backupPassphrase !== undefined ? { backupPassphrase: this.backupPassphrase } : {};
  }

  async plan(answers: Answers): Promise<PlanResult> {
    await this.openForAnswers(answers);
    // The same read as apply's (the files include DRBD's, with the replication secret: the run log keeps only its size).
    const read = await readCluster(answers, this.connections);
    if (!read.ok) throw read.failures[0]!.error;
    const facts = read.states;
    const paths = ruleFilePaths(answers);
    const files = facts.map((state) => new Map(paths.map((path) => [path, state.files?.ok ? (state.files.value.get(path) ?? null) : null])));
    const secrets = { ...clusterSecrets(facts), ...this.answerSecrets() };
    for (const secret of Object.values(secrets)) this.log!.addSecret(secret);
    const plan = planInstall(answers, facts, { file: 'the layout', secrets });
    const preview = await previewInstall({ answers, plan, states: facts, connections: this.connections, runId: newRunId() });
    const changes = preview.changes.map(({ server, step, description }) => ({ server, step, description }));
    this.planned = { plan, facts, answers, changes, secrets };
    return {
      comparison: comparePlan(plan, files),
      changes,
      warnings: [...plan.warnings.map((w) => w.message), ...preview.refusals.map((r) => `${r.server}: step "${r.step}" would stop apply: ${r.message}`)],
    };
  }

  async apply(answers: Answers, emit: EventSink): Promise<ApplyResult> {
    if (this.planned?.answers !== answers) await this.plan(answers);
    const confirmed = this.planned!;
    const log = this.log!;
    const runId = newRunId();
    log.write('hvcluster', `wizard apply: run ${runId}`);
    // One run at a time changes a cluster, as with `hvcluster apply`: the lock, and under it the servers
    // read again (one exec each), so the run plans on what they hold now.
    let read: Awaited<ReturnType<typeof readCluster>>;
    try {
      read = await readCluster(answers, this.connections, { holder: thisHolder(runId, 'wizard'), forceHint: '`hvcluster apply -f site.yaml --force-unlock`' });
    } catch (error) {
      if (!(error instanceof HvError)) throw error;
      const server = /^([^:]+): /.exec(error.message)?.[1] ?? '-';
      return { ok: false, logFile: log.path, failures: [{ server, step: 'cluster lock', message: error.message.replace(/^[^:]+: /, ''), hint: error.hint }] };
    }
    if (!read.ok) throw read.failures[0]!.error;
    const lock = read.lock!;
    try {
      // What the user confirmed is what runs: a plan that is no longer the one shown changes nothing.
      // The secret the nodes hold, else the one of the plan shown (the log redacts it already).
      const secrets = { ...clusterSecrets(read.states, confirmed.secrets), ...this.answerSecrets() };
      for (const secret of Object.values(secrets)) log.addSecret(secret);
      const plan = planInstall(answers, read.states, { file: 'the layout', secrets });
      const preview = await previewInstall({ answers, plan, states: read.states, connections: this.connections, runId });
      const now = preview.changes.map((c) => `${c.server} ${c.step}: ${c.description}`);
      const shown = confirmed.changes.map((c) => `${c.server} ${c.step}: ${c.description}`);
      if (now.join('\n') !== shown.join('\n')) {
        const first = now.find((c, i) => c !== shown[i]) ?? shown[now.length] ?? '';
        return {
          ok: false,
          logFile: log.path,
          failures: [{ server: '-', step: 'plan', message: `the servers changed since the plan you confirmed (first difference: ${first}); nothing was changed`, hint: 'go back and review the plan again' }],
        };
      }
      this.planned = { ...confirmed, plan, facts: read.states };
      return await this.applyLocked(answers, emit, runId, lock);
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  private async applyLocked(answers: Answers, emit: EventSink, runId: string, lock: ClusterLock): Promise<ApplyResult> {
    const { plan, facts } = this.planned!;
    const log = this.log!;
    const byName = new Map(this.targets.map((t) => [t.name, t]));
    const result = await runInstall({
      runId,
      answers,
      plan,
      states: facts,
      connections: this.connections,
      reconnect: async (server, deadlineMs) => {
        await this.connections.get(server)?.close().catch(() => undefined);
        const connection = log.wrap(await connect(byName.get(server)!, this.policy(), { retry: { deadlineMs } }));
        this.connections.set(server, connection);
        await lock.relock(connection);
        return connection;
      },
      dryRun: false,
      emit: (event) => {
        log.write('event', JSON.stringify(event));
        emit(event);
      },
      logFile: log.path,
      env: this.options.env,
      stopRequested: () => this.stopRequested,
    });
    return {
      ok: result.ok,
      logFile: log.path,
      failures: result.errors
        .filter(({ error }) => !(error instanceof InterruptedError))
        .map(({ server, step, error }) => {
          const message = error instanceof Error ? error.message : String(error);
          return { server, step, message: message.startsWith(`${server}: `) ? message.slice(server.length + 2) : message, hint: error instanceof HvError ? error.hint : undefined };
        }),
    };
  }

  async verify(answers: Answers, options: VerifyChoice = {}): Promise<VerifyOutcome> {
    const report = await verifyCluster({
      answers,
      file: this.savedPath ?? 'site.yaml',
      targets: this.targets.map((t) => ({ name: t.name, pinned: t.hostKeyFingerprint !== undefined })),
      connections: this.connections,
      migrationTest: options.migrationTest,
      version: VERSION,
      // The wizard's connections write to its run log already: the migration test's commands are in it.
      ...(this.log ? { migrationLog: { log: this.log, connectionsLogged: true } } : {}),
      onMigrationEvent: (event) => {
        if (event.type === 'migration-phase') options.onPhase?.(`${event.server ? `${event.server}: ` : ''}${event.text}`);
      },
    });
    const checks = report.checks;
    const site = this.savedPath ?? siteFilePath(this.options, answers.metadata.name);
    const reportFile = join(dirname(site), `${answers.metadata.name}-report.md`);
    writeFileSync(reportFile, formatMarkdown(report), { mode: 0o644 });
    return {
      summary: report.summary,
      problems: checks
        .filter((c) => c.status === 'error' || c.status === 'warning')
        .map((c) => `${c.status === 'error' ? 'error' : 'warning'} ${c.server} ${c.code}: ${c.found}`),
      reportFile,
      ok: report.exitCode === 0,
      ...(report.migration ? { migration: migrationOutcome(report.migration) } : {}),
    };
  }

  save(answers: Answers): string {
    const path = this.savedPath ?? siteFilePath(this.options, answers.metadata.name);
    writeFileSync(path, writeAnswerFile(answers), { mode: 0o644 });
    this.savedPath = path;
    return path;
  }

  stop(): void {
    this.stopRequested = true;
  }

  async close(): Promise<void> {
    await Promise.all([...this.inspected, ...this.connections.values()].map((c) => c.close().catch(() => undefined)));
    this.inspected.length = 0;
    this.connections.clear();
  }
}
