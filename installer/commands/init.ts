/** `hvcluster init --example`: a fully commented example answer file, to stdout or a new file. */
import { existsSync, writeFileSync } from 'node:fs';
import { exampleAnswerFile } from '../answers/example.js';
import { ConfigError, EXIT, UsageError, type ExitCode } from '../errors.js';
import { Reporter, type Streams } from '../output.js';

export interface InitOptions {
  example?: boolean;
  output?: string;
  force?: boolean;
}

export async function runInit(options: InitOptions, streams: Streams): Promise<ExitCode> {
  if (!options.example) {
    throw new UsageError('the interactive wizard is not part of this version yet', {
      hint: 'write an answer file with `hvcluster init --example -o site.yaml`, edit it, then run `hvcluster plan -f site.yaml`',
    });
  }
  const text = exampleAnswerFile();
  if (options.output === undefined || options.output === '-') {
    streams.stdout.write(text);
    return EXIT.ok;
  }
  if (existsSync(options.output) && !options.force) {
    throw new ConfigError(`${options.output} exists already; not overwriting it`, { hint: 'choose another name, or add --force to replace it' });
  }
  writeFileSync(options.output, text, { mode: 0o644 });
  new Reporter(streams).info(`wrote an example answer file to ${options.output}: edit it, then run \`hvcluster plan -f ${options.output}\``);
  return EXIT.ok;
}
