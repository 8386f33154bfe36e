/**
 * `hvcluster init`: the interactive wizard on a terminal; `hvcluster init --example`: a fully
 * commented example answer file, to stdout or a new file.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { exampleAnswerFile } from '../answers/example.js';
import { ConfigError, EXIT, UsageError, type ExitCode } from '../errors.js';
import { Reporter, type Streams } from '../output.js';
import { ANSWERS_SCHEMA_FILE } from '../paths.js';
import { parseConnectTimeout } from '../ssh/spec.js';
import { checkOutputFile } from './output-files.js';
import { canAsk } from './terminal.js';

export interface InitOptions {
  example?: boolean;
  output?: string;
  force?: boolean;
  knownHosts?: string[];
  hostKey?: string[];
  sshConfig?: string;
  connectTimeout?: string;
}

/** The wizard needs a person at a terminal: stdin and stdout TTYs, and no CI variable. */
export function canRunWizard(streams: Streams): boolean {
  return canAsk(streams, 'stdout');
}

export function wizardNeedsTerminal(): never {
  throw new UsageError('the wizard needs a terminal (stdin and stdout a TTY, CI not set), and there is none', {
    hint: 'for an unattended install run `hvcluster apply -f site.yaml --yes`; to write an answer file to edit, `hvcluster init --example -o site.yaml`',
  });
}

/**
 * The ui (ink, react), imported only here: the bundle in dist/ puts it in a chunk of its own
 * (bin/build.mjs splits at this import), so the other commands never load ink or react.
 */
async function loadUi(): Promise<typeof import('../ui/run.js')> {
  return import('../ui/run.js');
}

/** Starts the wizard; the ui (ink, react) is loaded only here. */
export async function runWizardCommand(options: InitOptions, streams: Streams): Promise<ExitCode> {
  if (!canRunWizard(streams)) wizardNeedsTerminal();
  const seconds = parseConnectTimeout(options.connectTimeout ?? '30');
  const { runWizard } = await loadUi();
  const code = await runWizard({
    env: streams.env,
    output: options.output,
    force: options.force,
    knownHosts: options.knownHosts ?? [],
    hostKey: options.hostKey ?? [],
    sshConfig: options.sshConfig,
    connectTimeoutSeconds: seconds,
  });
  return code as ExitCode;
}

export async function runInit(options: InitOptions, streams: Streams): Promise<ExitCode> {
  if (!options.example) return runWizardCommand(options, streams);
  const text = exampleAnswerFile(pathToFileURL(ANSWERS_SCHEMA_FILE).href);
  if (options.output === undefined || options.output === '-') {
    streams.stdout.write(text);
    return EXIT.ok;
  }
  if (existsSync(options.output) && !options.force) {
    throw new ConfigError(`${options.output} exists already; not overwriting it`, { hint: 'choose another name, or add --force to replace it' });
  }
  checkOutputFile('-o', options.output);
  writeFileSync(options.output, text, { mode: 0o644 });
  new Reporter(streams).info(`wrote an example answer file to ${options.output}: edit it, then run \`hvcluster plan -f ${options.output}\``);
  return EXIT.ok;
}
