/**
 * The hvcluster command line: argument parsing, mode choice and exit codes.
 * Each command lives in installer/commands/; the interactive UI is imported only when a TTY asks for it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { completionScript, isShell, SHELLS } from './commands/completion.js';
import { EXIT, HvError, UsageError, exitCodeOf } from './errors.js';
import { jsonError, jsonText } from './json-output.js';
import { Reporter, processStreams, type Streams } from './output.js';
import { VERSION } from './paths.js';
import { reportSshStats } from './ssh/stats.js';


function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable option: absent means an empty list (filled in before the action, not shown as a default in --help). */
function repeatable(flags: string, description: string): Option {
  return new Option(flags, description).argParser(collect);
}

const LIST_OPTIONS = ['host', 'identity', 'knownHosts', 'hostKey', 'ignore'];

/**
 * Before every action: absent repeatable options become [], and a command that reads servers from
 * an answer file takes ./site.yaml when neither -f nor --host is given and that file exists.
 */
function fillDefaults(command: Command, streams: Streams): void {
  for (const key of LIST_OPTIONS) {
    if (command.options.some((o) => o.attributeName() === key) && command.getOptionValue(key) === undefined) command.setOptionValue(key, []);
  }
  const takesFile = command.options.some((o) => o.long === '--file');
  if (takesFile && command.getOptionValue('file') === undefined && (command.getOptionValue('host') as string[] | undefined)?.length === 0) {
    const cwd = streams.cwd ?? process.cwd();
    if (existsSync(join(cwd, 'site.yaml'))) command.setOptionValue('file', join(cwd, 'site.yaml'));
  }
}

/** The SSH client options that init (the wizard) shares with the commands that connect. */
const knownHostsOption = () => repeatable('--known-hosts <file>', 'known_hosts file to verify host keys against (repeatable; default ~/.ssh/known_hosts)');
const hostKeyOption = (description: string) => repeatable('--host-key <host=SHA256:...>', description);
const sshConfigOption = () => new Option('--ssh-config <file>', 'OpenSSH client config to read (default ~/.ssh/config)');
const connectTimeoutOption = () => new Option('--connect-timeout <seconds>', 'give up on a server after this long (retries included)').default('30');

/** Options shared by every command that connects to servers. */
function withConnectionOptions(command: Command): Command {
  return command
    .addOption(repeatable('--host <[user@]address[:port]>', 'a server to work on, or a Host alias of ~/.ssh/config (repeatable)'))
    .option('-f, --file <site.yaml>', 'the answer file naming the servers (default: ./site.yaml when it exists and no --host is given)')
    .addOption(repeatable('-i, --identity <file>', 'private key file to authenticate with (repeatable)'))
    .addOption(knownHostsOption())
    .addOption(hostKeyOption('pin a host key fingerprint, as `ssh-keygen -l` prints it (repeatable)'))
    .addOption(sshConfigOption())
    .option('--password-env <VAR>', 'log in with the password in this environment variable')
    .option('--sudo-password-env <VAR>', 'give sudo the password in this environment variable')
    .addOption(connectTimeoutOption());
}

export function buildProgram(streams: Streams): Command {
  const program = new Command('hvcluster')
    .description('Turns two or three bare Debian servers into a DRBD-replicated KVM/libvirt cluster over SSH.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run `hvcluster --help` for usage)')
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .exitOverride()
    .hook('preAction', (_program, action) => fillDefaults(action, streams))
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  hvcluster                                   the wizard (on a terminal)',
        '  hvcluster init --example -o site.yaml       a commented answer file to edit',
        '  hvcluster inspect --host root@198.18.1.11   the facts of one server',
        '  hvcluster plan -f site.yaml                 what apply would change, per server',
        '  hvcluster apply -f site.yaml --yes          the unattended install',
        '  hvcluster verify -f site.yaml --junit v.xml health checks for CI',
        '',
        'Exit codes: 0 ok, 1 problems found, 2 usage, 3 configuration, 4 connection, 5 remote command, 70 bug, 130 interrupted.',
      ].join('\n'),
    );

  program
    .command('init')
    .description('the interactive wizard (on a terminal): servers, inspection, layout, plan, apply, site.yaml; or --example: a commented example answer file')
    .option('--example', 'write the example answer file')
    .option('-o, --output <file>', 'where to write the answer file (default: stdout with --example, ./site.yaml for the wizard)')
    .option('--force', 'replace an existing file')
    .addOption(knownHostsOption())
    .addOption(hostKeyOption('pin a host key fingerprint, accepted without a question (repeatable)'))
    .addOption(sshConfigOption())
    .addOption(connectTimeoutOption())
    .action(async (options) => {
      process.exitCode = await (await import('./commands/init.js')).runInit(options, streams);
    });

  withConnectionOptions(
    program
      .command('inspect')
      .description('read the facts of each server (read-only): OS, CPU and virtualization, memory, disks, NICs, DRBD')
      .option('--json', 'print the facts as JSON on stdout'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/inspect.js')).runInspect(options, streams);
  });

  withConnectionOptions(
    program
      .command('plan')
      .description('validate the answer file against the servers, render every file, and show per server what apply would change (read-only)')
      .option('--json', 'print the plan as JSON on stdout'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/plan.js')).runPlan(options, streams);
  });

  withConnectionOptions(
    program
      .command('apply')
      .description('make the servers match the plan: preflight on every node, then packages, network, storage, DRBD, libvirt, node trust')
      .option('-y, --yes', 'do not ask for confirmation (unattended installs)')
      .option('--dry-run', 'list every change per server and make none')
      .option('--force-unlock', "break the cluster lock of a run that is gone (refused while that run's process lives on this machine)")
      .option('--json', 'print the engine events as JSON lines on stdout'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/apply.js')).runApply(options, streams);
  });

  withConnectionOptions(
    program
      .command('verify')
      .description('health checks of the cluster (read-only): SSH, names, clocks, replication link and MTU, DRBD, LVM, libvirt, CPUs, migration paths, N+1 memory; exit 0 healthy, 1 errors, 2 could not run')
      .option('--json', 'print the results as JSON on stdout')
      .option('--junit <file>', 'write the results as JUnit XML (one testcase per check and server)')
      .option('--report <file.md>', 'write a Markdown hand-over report: layout, versions, every check, migration figures')
      .option('--migration-test', 'also live-migrate a test guest between every pair of nodes (creates and removes its own guest and volume)')
      .option('--failover-test [fault]', "HA clusters: also the failover drill: a test guest under Pacemaker, its node failed, the survivor's takeover timed per phase (needs --yes). FAULT: power-off (default: through its BMC), partition (cut off every network), dead-fence (its BMC dead too, until fencing has failed), power-loss (node and BMC off: the drill confirms the node off as an operator would), hang (every process but PID 1 frozen, the kernel and DRBD running on: fencing must power-cycle it)")
      .option('--link-test', "HA clusters: also the replication-link drill: a test guest under Pacemaker, its node's replication NIC down for about a minute; DRBD's fencing, the guest and the resync checked (needs --yes)")
      .option('--failover-node <node>', 'the node a drill fails (default: wherever Pacemaker starts its test guest)')
      .option('--guest <name>', "--failover-test on a declared HA guest instead of the test guest: its node is failed, its real downtime measured until its guest agent answers on the survivor (its data is not touched; needs --yes-i-accept-downtime)")
      .option('--yes', 'confirm --failover-test or --link-test (they fail a node or a link)')
      .option('--yes-i-accept-downtime', "confirm --guest: that guest is down until the survivor has restarted it")
      .addOption(repeatable('--ignore <CODE>', "report this check's errors as warnings (repeatable)"))
      .option('--problems-only', 'list only the checks that did not pass (text output)'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/verify.js')).runVerify(options, streams);
  });

  const guest = program.command('guest').description("the cluster's guests (spec.guests): where they run, their disks' replication");
  withConnectionOptions(
    guest
      .command('list')
      .description('each declared guest: where it runs, its DRBD disks on each replica, who manages it; and undeclared domains (read-only)')
      .option('--json', 'print the list as JSON on stdout'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/guest.js')).runGuestList(options, streams);
  });

  withConnectionOptions(
    guest
      .command('migrate')
      .description('live-migrate a running guest to another node holding its disks (a dual-primary window closed whatever happens); prints the downtime')
      .argument('<name>', 'the guest (spec.guests[].name)')
      .option('--to <node>', 'the target node (default: the other node holding its disks)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, options) => {
    process.exitCode = await (await import('./commands/guest.js')).runGuestMigrate(name, options, streams);
  });

  withConnectionOptions(
    guest
      .command('start')
      .description("start a stopped guest: on its preferred node (or --on), its disks promoted there first; a guest under Pacemaker is started by Pacemaker")
      .argument('<name>', 'the guest (spec.guests[].name)')
      .option('--on <node>', 'the node to start it on (one holding its disks; not for a guest under Pacemaker)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, options) => {
    process.exitCode = await (await import('./commands/guest.js')).runGuestStart(name, options, streams);
  });

  withConnectionOptions(
    guest
      .command('stop')
      .description('shut a guest down (ACPI), then demote its disks; apply leaves it stopped until `guest start`')
      .argument('<name>', 'the guest (spec.guests[].name)')
      .option('--timeout <seconds>', 'how long it has to shut down', '120')
      .option('--force', 'destroy it (like pulling the plug) when it has not shut down by then')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, options) => {
    process.exitCode = await (await import('./commands/guest.js')).runGuestStop(name, options, streams);
  });

  const node = program.command('node').description('maintenance of one node without downtime: drain it, then resume it');
  withConnectionOptions(
    node
      .command('drain')
      .description('live-migrate every guest running on NODE to its other holder, then mark NODE standby (apply starts no guest there)')
      .argument('<node>', 'the node to empty')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, options) => {
    process.exitCode = await (await import('./commands/guest.js')).runNodeDrain(name, options, streams);
  });
  withConnectionOptions(
    node
      .command('resume')
      .description("take NODE's standby mark off: it takes guests again (the guests moved away stay where they run)")
      .argument('<node>', 'the node')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, options) => {
    process.exitCode = await (await import('./commands/guest.js')).runNodeResume(name, options, streams);
  });

  const snapshot = program.command('snapshot').description("the guests' snapshots: LVM snapshots of the volumes under their DRBD disks, on the node where the guest runs (with its RAM: --ram)");
  withConnectionOptions(
    snapshot
      .command('create')
      .description("snapshot every disk of a guest where it is Primary: its filesystems frozen through its guest agent when it answers (crash-consistent without one; the result says which)")
      .argument('<guest>', 'the guest (spec.guests[].name)')
      .argument('[name]', 'the snapshot name (default: the UTC time, 20261208t101500z)')
      .option('--size <size>', "full (the origin's size: it can never overflow) or N% of each disk (it becomes invalid if the guest rewrites more)", 'full')
      .option('--freeze-timeout <seconds>', 'how long each guest-agent call (freeze, thaw) may take', '10')
      .option('--no-freeze', 'do not ask the guest agent to freeze its filesystems (crash-consistent)')
      .option('--ram', "with the guest's RAM: a running guest not under Pacemaker saved into a file beside the snapshot (virsh save; it stops meanwhile, no freeze needed), then restored from it")
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, snap: string | undefined, options) => {
    process.exitCode = await (await import('./commands/snapshot.js')).runSnapshotCreate(name, snap, options, streams);
  });
  withConnectionOptions(
    snapshot
      .command('list')
      .description("every node's snapshots (of one guest): when, how consistent, how full, valid or not, with RAM or not, where the guest runs now; RAM files no snapshot claims (read-only; exit 1 when one is invalid)")
      .argument('[guest]', 'only this guest')
      .option('--json', 'print the list as JSON on stdout'),
  ).action(async (name: string | undefined, options) => {
    process.exitCode = await (await import('./commands/snapshot.js')).runSnapshotList(name, options, streams);
  });
  withConnectionOptions(
    snapshot
      .command('rollback')
      .description('set a guest back to a snapshot: the guest stopped, each snapshot written back through its DRBD device (every replica receives it), the guest started again where it ran (a snapshot with RAM: resumed from it on its node)')
      .argument('<guest>', 'the guest (spec.guests[].name)')
      .argument('<name>', 'the snapshot')
      .option('--yes', 'confirm: what the guest wrote since the snapshot is discarded')
      .option('--no-start', 'leave the guest stopped afterwards')
      .option('--no-ram', 'a snapshot with RAM: its disks only, the guest started cold where it ran')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, snap: string, options) => {
    process.exitCode = await (await import('./commands/snapshot.js')).runSnapshotRollback(name, snap, options, streams);
  });
  withConnectionOptions(
    snapshot
      .command('remove')
      .description("remove a guest's snapshot (every write to its disks stops being copied into it) and its RAM file; or a RAM file no snapshot claims")
      .argument('<guest>', 'the guest (spec.guests[].name)')
      .argument('<name>', 'the snapshot')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (name: string, snap: string, options) => {
    process.exitCode = await (await import('./commands/snapshot.js')).runSnapshotRemove(name, snap, options, streams);
  });

  const backup = program.command('backup').description("the guests' backups (spec.backup): BorgBackup into one deduplicated repository per cluster");
  withConnectionOptions(
    backup
      .command('run')
      .description('back up guests now (default: every guest spec.backup covers), each from the node where it runs: a snapshot of its disks, streamed into the repository; prints what each set read and stored')
      .argument('[guest...]', 'only these guests')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (guests: string[], options) => {
    process.exitCode = await (await import('./commands/backup.js')).runBackupRun(guests, options, streams);
  });
  withConnectionOptions(
    backup
      .command('restore')
      .description("write a guest's backup set into a declared guest's disks (itself, or --as another: declare it, apply, then restore), through DRBD on one of its nodes, every disk's sha256 checked; left stopped unless --start (under Pacemaker: stopped and started through it, written where its disks are Promoted)")
      .argument('<guest>', 'the guest the backup is of')
      .option('--set <set>', 'the set (GUEST.STAMP, `backup list`); default its latest complete one')
      .option('--as <guest>', 'restore into this declared guest instead (a copy beside the original)')
      .option('--to <node>', "the node that writes it (one holding the target's disks; default its preferred node; under Pacemaker only where its disks are Promoted)")
      .option('--force', 'the target runs: destroy it and write over its disks (under Pacemaker: stopped through it, then started again)')
      .option('--start', 'start the target afterwards (default: stopped, and marked so that apply leaves it stopped; under Pacemaker target-role Stopped)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (guest: string, options) => {
    process.exitCode = await (await import('./commands/backup.js')).runBackupRestore(guest, options, streams);
  });
  withConnectionOptions(
    backup
      .command('verify')
      .description("proof that the backups restore and boot: each guest's latest set restored into scratch volumes (checksums compared), booted without a network until its guest agent answers, removed; then borg's check of the repository (exit 1 on any failure)")
      .argument('[guest...]', 'only these guests')
      .option('--on <node>', 'the node that holds the scratch volumes (default: the one with the most free space)')
      .option('--no-boot', 'restore and compare only')
      .option('--verify-data', "borg's check reads and decrypts every chunk too (slow)")
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (guests: string[], options) => {
    process.exitCode = await (await import('./commands/backup.js')).runBackupVerify(guests, options, streams);
  });
  withConnectionOptions(
    backup
      .command('list')
      .description("the repository's complete backup sets per guest, and what failed runs left (read-only)")
      .option('--json', 'print the list as JSON on stdout'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/backup.js')).runBackupList(options, streams);
  });

  withConnectionOptions(
    backup
      .command('key-export')
      .description("the backup repository's key (kept inside the repository, protected by the passphrase), to store apart from it: with the key and the passphrase, a repository whose own copy of the key is damaged stays readable")
      .option('--paper', 'the form to print on paper and type back (borg key import --paper)')
      .option('--output <file>', 'write it into this new file (mode 600) instead of stdout'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/backup.js')).runBackupKeyExport(options, streams);
  });

  const drbd = program.command('drbd').description("the cluster's DRBD resources: guided recovery");
  withConnectionOptions(
    drbd
      .command('resolve')
      .description("recover RES from a split brain: both sides shown, the victim's data kept as an LVM snapshot, then discarded and resynced from the survivor (its name typed, or --yes)")
      .argument('<resource>', 'the DRBD resource (e.g. web-disk0, hvc-probe)')
      .requiredOption('--survivor <node>', 'the node whose data is kept (the other node discards its changes since the split)')
      .option('--yes', 'do not ask for the survivor\'s name to be typed')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (resource: string, options) => {
    process.exitCode = await (await import('./commands/drbd.js')).runDrbdResolve(resource, options, streams);
  });

  program
    .command('completion')
    .description(`print a shell completion script (${SHELLS.join(', ')}): e.g. \`hvcluster completion bash > /etc/bash_completion.d/hvcluster\``)
    .argument('<shell>', SHELLS.join(' or '))
    .action((shell: string) => {
      if (!isShell(shell)) throw new UsageError(`completion ${shell}: no such shell`, { hint: `one of: ${SHELLS.join(', ')}` });
      streams.stdout.write(completionScript(shell, program));
    });

  return program;
}

export async function main(argv: string[], streams: Streams = processStreams()): Promise<number> {
  const reporter = new Reporter(streams);
  const program = buildProgram(streams);
  try {
    if (argv.length === 0) {
      // No arguments: the wizard, when a person is at a terminal.
      const init = await import('./commands/init.js');
      if (!init.canRunWizard(streams)) init.wizardNeedsTerminal();
      return await init.runWizardCommand({ knownHosts: [], hostKey: [] }, streams);
    }
    process.exitCode = 0;
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      if (error.exitCode !== 0) writeJsonError(argv, streams, new UsageError(error.message.replace(/^error: /, '')), EXIT.usage);
      if (error.code === 'commander.excessArguments') {
        const file = argv.find((a, i) => /\.ya?ml$/.test(a) && argv[i - 1] !== '-f' && argv[i - 1] !== '--file');
        if (file) reporter.hint(`give the answer file with -f: hvcluster ${argv[0]} -f ${file}`);
      }
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof HvError) {
      reporter.error(error.message, error.hint);
    } else {
      reporter.error(`internal error (a bug in hvcluster): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    writeJsonError(argv, streams, error, exitCodeOf(error));
    return exitCodeOf(error);
  } finally {
    reportSshStats(streams);
  }
}

/**
 * With --json, a command that ends in an error still prints a JSON document on stdout, the same
 * envelope as its result (json-output.ts); apply prints JSON lines, so its error is one line.
 */
function writeJsonError(argv: string[], streams: Streams, error: unknown, exitCode: number): void {
  if (!argv.includes('--json')) return;
  const command = argv.find((a) => !a.startsWith('-')) ?? '';
  const document = jsonError(`hvcluster ${command}`.trim(), error, exitCode);
  streams.stdout.write(command === 'apply' ? `${JSON.stringify({ type: 'error', time: new Date().toISOString(), ...document })}\n` : jsonText(document));
}

/** Thrown by commands for flag combinations commander cannot express. */
export function usage(message: string, hint?: string): never {
  throw new UsageError(message, { hint });
}
