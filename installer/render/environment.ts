/**
 * The Handlebars environment over templates/: config files, so no HTML escaping, and strict, so a
 * value the plan did not provide is an error naming the template and line, never an empty string.
 *
 * Handlebars' strict mode covers `{{a.b}}` but not block arguments (`{{#each x}}` with x undefined
 * silently renders nothing): the block helpers are wrapped here to refuse undefined arguments too.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TEMPLATES_DIR } from '../paths.js';
import Handlebars from 'handlebars';
import { HvError, EXIT } from '../errors.js';

/** A template could not be compiled or rendered: a bug in a template or in the plan. */
export class TemplateError extends HvError {
  readonly exitCode = EXIT.internal;
  readonly kind = 'template';
}

export { TEMPLATES_DIR } from '../paths.js';

type HelperOptions = Handlebars.HelperOptions & { loc?: { start: { line: number; column: number } }; name?: string };

const STRICT_BLOCKS = ['each', 'if', 'unless', 'with'] as const;

function contextLines(source: string, line: number): string {
  const lines = source.split('\n');
  const from = Math.max(0, line - 3);
  const to = Math.min(lines.length, line + 2);
  return lines
    .slice(from, to)
    .map((text, index) => `${from + index + 1 === line ? '>' : ' '} ${String(from + index + 1).padStart(4)} | ${text}`)
    .join('\n');
}

export class TemplateEnvironment {
  private readonly handlebars = Handlebars.create();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();
  private readonly sources = new Map<string, string>();

  constructor(private readonly dir: string = TEMPLATES_DIR) {
    for (const name of STRICT_BLOCKS) {
      const original = this.handlebars.helpers[name] as Handlebars.HelperDelegate;
      this.handlebars.registerHelper(name, function (this: unknown, ...args: unknown[]) {
        const options = args[args.length - 1] as HelperOptions;
        if (args.length < 2 || args[0] === undefined) {
          const at = options.loc ? `${options.loc.start.line}:${options.loc.start.column}` : '?';
          throw new Handlebars.Exception(`{{#${name}}} at ${at} was given an undefined value`);
        }
        return (original as (...helperArgs: unknown[]) => unknown).apply(this, args);
      });
    }
    this.registerHelpers();
    this.registerPartials();
  }

  /** Small, pure helpers the templates share. */
  private registerHelpers(): void {
    this.handlebars.registerHelper('join', (items: unknown, separator: unknown) => {
      if (!Array.isArray(items)) throw new Handlebars.Exception('{{join}} needs a list');
      return items.join(typeof separator === 'string' ? separator : ' ');
    });
    this.handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
    // For the model's optional fields (`network.bond?`, `network.gateway?`): `{{#if x}}` refuses an
    // undefined x by design, so an optional value is tested with `{{#if (present x)}}`.
    this.handlebars.registerHelper('present', (value: unknown) => value !== undefined && value !== null);
    // `hv1.example.com` -> `hv1` (a name without a dot is returned unchanged): /etc/hosts lists both.
    this.handlebars.registerHelper('shortName', (name: unknown) => {
      if (typeof name !== 'string') throw new Handlebars.Exception('{{shortName}} needs a host name');
      return name.split('.')[0];
    });
  }

  /** Files named `_NAME.hbs` are partials, usable as `{{> NAME}}`. */
  private registerPartials(): void {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('_') && entry.endsWith('.hbs')) {
        this.handlebars.registerPartial(basename(entry, '.hbs').slice(1), readFileSync(join(this.dir, entry), 'utf8'));
      }
    }
  }

  private template(name: string): Handlebars.TemplateDelegate {
    const cached = this.compiled.get(name);
    if (cached) return cached;
    const path = join(this.dir, name);
    let source: string;
    try {
      source = readFileSync(path, 'utf8');
    } catch (error) {
      throw new TemplateError(`template ${name} cannot be read from ${this.dir}`, { cause: error });
    }
    const compiled = this.handlebars.compile(source, { strict: true, noEscape: true });
    this.sources.set(name, source);
    this.compiled.set(name, compiled);
    return compiled;
  }

  /** Renders templates/NAME with the given values; any error names the template, line and context. */
  render(name: string, values: object): string {
    const template = this.template(name);
    try {
      return template(values);
    } catch (error) {
      throw this.explain(name, error);
    }
  }

  private explain(name: string, error: unknown): TemplateError {
    const source = this.sources.get(name) ?? '';
    const message = error instanceof Error ? error.message : String(error);
    const detail = error as { lineNumber?: number };
    const fromMessage = /(?:- |at )(\d+):(\d+)/.exec(message) ?? /on line (\d+)/.exec(message);
    const line = detail.lineNumber ?? (fromMessage ? Number(fromMessage[1]) : undefined);
    const where = line ? `${name}:${line}` : name;
    const context = line ? `\n${contextLines(source, line)}` : '';
    return new TemplateError(`template ${where}: ${message.split('\n')[0]}${context}`, {
      cause: error,
      hint: 'a template asked for a value the plan does not provide: fix the template or the plan',
    });
  }
}
