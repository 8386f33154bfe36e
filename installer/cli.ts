/**
 * The hvcluster command line: argument parsing, mode choice and exit codes.
 * Each command lives in installer/commands/; the interactive UI is imported only when a TTY asks for it.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT, HvError, UsageError, exitCodeOf } from './errors.js';
import { Reporter, processStreams, type Streams } from './output.js';
import { VERSION } from './paths.js';
import { reportSshStats } from './ssh/stats.js';


function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Options shared by every command that connects to servers. */
function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option('--host <[user@]address[:port]>', 'a server to work on, or a Host alias of ~/.ssh/config (repeatable)').argParser(collect).default([]))
    .option('-f, --file <site.yaml>', 'the answer file naming the servers')
    .addOption(new Option('-i, --identity <file>', 'private key file to authenticate with (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--known-hosts <file>', 'known_hosts file to verify host keys against (repeatable; default ~/.ssh/known_hosts)').argParser(collect).default([]))
    .addOption(new Option('--host-key <host=SHA256:...>', 'pin a host key fingerprint, as `ssh-keygen -l` prints it (repeatable)').argParser(collect).default([]))
    .option('--ssh-config <file>', 'OpenSSH client config to read (default ~/.ssh/config)')
    .option('--password-env <VAR>', 'log in with the password in this environment variable')
    .option('--sudo-password-env <VAR>', 'give sudo the password in this environment variable')
    .option('--connect-timeout <seconds>', 'give up on a server after this long (retries included)', '30');
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
    .exitOverride();

  program
    .command('init')
    .description('the interactive wizard (on a terminal): servers, inspection, layout, plan, apply, site.yaml; or --example: a commented example answer file')
    .option('--example', 'write the example answer file')
    .option('-o, --output <file>', 'where to write the answer file (default: stdout with --example, ./site.yaml for the wizard)')
    .option('--force', 'replace an existing file')
    .addOption(new Option('--known-hosts <file>', 'known_hosts file to verify host keys against (repeatable; default ~/.ssh/known_hosts)').argParser(collect).default([]))
    .addOption(new Option('--host-key <host=SHA256:...>', 'pin a host key fingerprint, accepted without a question (repeatable)').argParser(collect).default([]))
    .option('--ssh-config <file>', 'OpenSSH client config to read (default ~/.ssh/config)')
    .option('--connect-timeout <seconds>', 'give up on a server after this long (retries included)', '30')
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
      .addOption(new Option('--ignore <CODE>', "report this check's errors as warnings (repeatable)").argParser(collect).default([]))
      .option('--problems-only', 'list only the checks that did not pass (text output)'),
  ).action(async (options) => {
    process.exitCode = await (await import('./commands/verify.js')).runVerify(options, streams);
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
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof HvError) {
      reporter.error(error.message, error.hint);
    } else {
      reporter.error(`internal error (a bug in hvcluster): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return exitCodeOf(error);
  } finally {
    reportSshStats(streams);
  }
}

/** Thrown by commands for flag combinations commander cannot express. */
export function usage(message: string, hint?: string): never {
  throw new UsageError(message, { hint });
}
