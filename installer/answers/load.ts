/**
 * Loading an answer file: YAML with positions -> schema -> semantic checks, every problem reported at
 * once as `file:line:col path: message`, sorted by position.
 *
 * Stages:
 * 1. YAML syntax (including duplicate keys and tab indentation), one document; errors here stop
 *    everything (the data is not what the user meant). Merge keys (`<<: *common`, YAML 1.1, as
 *    Ansible and docker-compose files use them) are read: the mapping's own keys win over merged
 *    ones, and the first of several merged mappings wins;
 * 2. apiVersion: a file of another version is not checked against this schema;
 * 3. the schema (schema.ts): shapes, types, formats, unknown keys, missing keys;
 * 4. the semantic checks (validate.ts): on the whole answers when the schema passed, otherwise on the
 *    nodes and settings that pass it on their own, so one run reports nearly everything.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, parseAllDocuments, visit, type Document, type Node, type Pair, type YAMLError, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { AnswerFileError, sortIssues, type AnswerIssue, type AnswerPath } from './issues.js';
import { API_VERSION, AnswersSchema, BackupSchema, GUEST_NAME_RE, GuestSchema, HaSchema, HOSTNAME_RE, INLINE_SECRET_KEYS, NetworkSchema, NodeSchema, PackagesSchema, RESERVED_KEYS, type Answers } from './schema.js';
import { nearestKey } from './suggest.js';
import { validateAnswerParts, validateAnswers, type AnswerParts } from './validate.js';

export interface LoadedAnswers {
  /** The validated answers, every default filled in. */
  answers: Answers;
  /** Warnings found (never errors: those throw), sorted by position. */
  warnings: AnswerIssue[];
  /** The file name used in messages. */
  file: string;
  /** The directory of the answer file (relative secret `file:` paths are relative to it); set by loadAnswerFile. */
  baseDir?: string;
  /** Where a key path is in the file, for findings made later (against the servers' facts). */
  locate: (path: AnswerPath) => AnswerIssue['location'];
}

/** Reads and validates an answer file. Throws AnswerFileError (a ConfigError, exit 3) listing every problem. */
export async function loadAnswerFile(path: string): Promise<LoadedAnswers> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(error);
    throw new ConfigError(`cannot read answer file ${path}: ${why}`, {
      hint: 'Give the path of an existing answer file with -f, or run `hvcluster` without -f to create one with the wizard.',
      cause: error,
    });
  }
  return { ...parseAnswers(text, path), baseDir: dirname(resolvePath(path)) };
}

/** Validates answer-file text; `fileName` is used in messages. Throws AnswerFileError listing every problem. */
export function parseAnswers(text: string, fileName = 'site.yaml'): LoadedAnswers {
  const result = checkAnswerText(text, fileName);
  if (!result.answers) {
    throw new AnswerFileError(fileName, result.issues);
  }
  return { answers: result.answers, warnings: result.issues, file: fileName, locate: result.locate ?? (() => undefined) };
}

/**
 * Like parseAnswers, but returns the issues (errors and warnings, sorted by position) instead of
 * throwing; `answers` is set when there is no error.
 */
export function checkAnswerText(
  text: string,
  fileName = 'site.yaml',
): { answers?: Answers; issues: AnswerIssue[]; locate?: (path: AnswerPath) => AnswerIssue['location'] } {
  const lineCounter = new LineCounter();
  const at = (offset: number) => ({ file: fileName, ...lineCounter.linePos(offset) });
  const docs = Array.from(parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true }));

  // 1. YAML syntax.
  const issues: AnswerIssue[] = [];
  const errorLines = new Set<number>();
  // An unclosed quote swallows the rest of the file: the parser reports it at the end of the file, and
  // what follows the quote only echoes it. Reported once, where the quote opens.
  const unclosed = docs.some((doc) => doc.errors.some(isUnclosedQuote)) ? unclosedQuote(text) : undefined;
  for (const doc of docs) {
    for (const e of doc.errors) {
      if (unclosed && isUnclosedQuote(e)) {
        const location = at(unclosed.offset);
        if (errorLines.has(location.line)) continue;
        errorLines.add(location.line);
        const message = `the quoted string that starts here is never closed; expected a closing ${unclosed.quote} at the end of the value`;
        issues.push({ severity: 'error', path: [], message, location });
        continue;
      }
      if (unclosed && e.pos[0] >= unclosed.offset) continue;
      const location = at(e.pos[0]);
      if (errorLines.has(location.line)) continue; // one syntax error per line: the rest are its echoes
      errorLines.add(location.line);
      issues.push({ severity: 'error', path: [], message: yamlErrorMessage(e, text), location });
    }
    for (const w of doc.warnings) {
      issues.push({ severity: 'warning', path: [], message: `YAML: ${w.message}`, location: at(w.pos[0]) });
    }
  }
  if (docs.length > 1) {
    issues.push({
      severity: 'error',
      path: [],
      message: `found ${docs.length} YAML documents; expected one (remove the '---' separator and what follows it)`,
      location: at(docs[1]!.range[0]),
    });
  }
  if (issues.some((i) => i.severity === 'error')) return { issues: sortIssues(issues) };

  const doc = docs[0];
  const root = doc?.contents;
  if (!doc || root === null || root === undefined || (isScalar(root) && root.value === null)) {
    issues.push({
      severity: 'error',
      path: [],
      message: `the file is empty; expected an answer file starting with apiVersion: ${API_VERSION}`,
      location: { file: fileName, line: 1, col: 1 },
    });
    return { issues };
  }
  if (!isMap(root)) {
    issues.push({
      severity: 'error',
      path: [],
      message: 'expected a mapping with apiVersion, kind, metadata and spec at the top level',
      location: at(root.range?.[0] ?? 0),
    });
    return { issues };
  }

  const locate = (path: AnswerPath, mode: 'value' | 'key' | 'parent' = 'value') => {
    const found = findTarget(doc, path, mode);
    return { ...at(found.offset), ...(found.merge ? { mergedBy: { ...at(found.merge.offset), source: found.merge.source } } : {}) };
  };

  // A merge key must name mappings: said where, rather than the YAML library's position-less complaint.
  for (const bad of badMergeSources(doc)) {
    issues.push({
      severity: 'error',
      path: [],
      message: `'<<' merges mappings into this one; expected an alias of a mapping, like <<: *common, or a list of them, found ${bad.found}`,
      location: at(bad.offset),
    });
  }
  if (issues.length > 0) return { issues: sortIssues(issues) };

  // 2. apiVersion.
  const apiVersion = root.get('apiVersion');
  if (typeof apiVersion === 'string' && apiVersion !== API_VERSION) {
    const message = /^hvcluster\//.test(apiVersion)
      ? `apiVersion ${apiVersion} is not supported by this hvcluster, which reads ${API_VERSION}; use the hvcluster release that wrote this file, or convert it to ${API_VERSION}`
      : `expected apiVersion: ${API_VERSION}, found ${describeValue(apiVersion)}`;
    issues.push({ severity: 'error', path: ['apiVersion'], message, location: locate(['apiVersion']) });
    return { issues: sortIssues(issues) };
  }

  // 3. Schema.
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    issues.push({ severity: 'error', path: [], message: `cannot read the YAML: ${(error as Error).message}`, location: at(0) });
    return { issues };
  }
  const parsed = AnswersSchema.safeParse(data);
  if (!parsed.success) {
    issues.push(...mapSchemaIssues(parsed.error.issues, data, locate));
    // The relations between the parts that did pass the schema, so that one run reports (nearly) everything.
    for (const issue of validateAnswerParts(validParts(data))) issues.push({ ...issue, location: locate(issue.path) });
    return { issues: sortIssues(issues) };
  }

  // 4. Semantic checks.
  for (const issue of validateAnswers(parsed.data)) issues.push({ ...issue, location: locate(issue.path) });
  const failed = issues.some((i) => i.severity === 'error');
  return { answers: failed ? undefined : parsed.data, issues: sortIssues(issues), locate: (path) => locate(path) };
}

/**
 * Validates answers built in code (the wizard): schema, then semantic checks. Issues carry key paths, no positions.
 * Returns the answers with defaults filled in when there is no error.
 */
export function checkAnswers(value: unknown): { answers?: Answers; issues: AnswerIssue[] } {
  const parsed = AnswersSchema.safeParse(value);
  if (!parsed.success) {
    return { issues: [...mapSchemaIssues(parsed.error.issues, value, () => undefined), ...validateAnswerParts(validParts(value))] };
  }
  const issues = validateAnswers(parsed.data);
  return { answers: issues.some((i) => i.severity === 'error') ? undefined : parsed.data, issues };
}

/** The nodes and settings of a file that failed the schema which pass it on their own. */
function validParts(data: unknown): AnswerParts {
  const spec = (data as { spec?: Record<string, unknown> } | null)?.spec;
  if (spec === null || typeof spec !== 'object') return { nodes: [] };
  const nodes = Array.isArray(spec.nodes)
    ? spec.nodes.flatMap((raw, index) => {
        const parsed = NodeSchema.safeParse(raw);
        return parsed.success ? [{ index, node: parsed.data }] : [];
      })
    : [];
  const network = NetworkSchema.safeParse(spec.network ?? {});
  const packages = PackagesSchema.safeParse(spec.packages ?? {});
  const ha = spec.ha === undefined ? undefined : HaSchema.safeParse(spec.ha);
  const guests = Array.isArray(spec.guests)
    ? spec.guests.flatMap((raw, index) => {
        const parsed = GuestSchema.safeParse(raw);
        return parsed.success ? [{ index, guest: parsed.data }] : [];
      })
    : [];
  // A node that fails the schema for another key is still a node the guests may name.
  const names: unknown[] = Array.isArray(spec.nodes) ? spec.nodes.map((raw) => (raw as { name?: unknown } | null)?.name) : [undefined];
  const nodeNames = names.every((name): name is string => typeof name === 'string' && HOSTNAME_RE.test(name)) ? names : 'invalid';
  const backup = spec.backup === undefined ? undefined : BackupSchema.safeParse(spec.backup);
  return {
    nodes,
    nodeCount: Array.isArray(spec.nodes) ? spec.nodes.length : 0,
    network: network.success ? network.data : undefined,
    packages: packages.success ? packages.data : undefined,
    ha: ha === undefined ? undefined : ha.success ? ha.data : 'invalid',
    guests,
    nodeNames,
    ...(backup ? { backup: backup.success ? backup.data : 'invalid', guestStates: guestStatesOf(spec.guests) } : {}),
  };
}

/** The name and state of every guest written, valid or not for other keys; 'invalid' when one's name or state is not valid. */
function guestStatesOf(raw: unknown): AnswerParts['guestStates'] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return 'invalid';
  const states: Array<{ index: number; name: string; state: 'present' | 'absent' }> = [];
  for (const [index, guest] of raw.entries()) {
    const { name, state = 'present' } = (guest ?? {}) as { name?: unknown; state?: unknown };
    if (typeof name !== 'string' || !GUEST_NAME_RE.test(name) || (state !== 'present' && state !== 'absent')) return 'invalid';
    states.push({ index, name, state });
  }
  return states;
}

// ---------------------------------------------------------------------------------------------
// YAML errors

function isUnclosedQuote(error: YAMLError): boolean {
  return error.code === 'MISSING_CHAR' && /closing ["']quote/.test(error.message);
}

/** Characters the YAML lexer inserts in its token stream that are not in the text. */
const LEXER_CONTROL = new Set(['\u0002', '\u0018', '\u001f', '\ufeff']);

/** The last quoted scalar of `text` that is never closed: where it opens, and its quote character. */
function unclosedQuote(text: string): { offset: number; quote: '"' | "'" } | undefined {
  let offset = 0;
  let found: { offset: number; quote: '"' | "'" } | undefined;
  for (const token of new Lexer().lex(text)) {
    if (token.length === 1 && LEXER_CONTROL.has(token) && text[offset] !== token) continue;
    const quote = token[0];
    if (quote === '"' || quote === "'") {
      const closed = quote === '"' ? /^"(?:[^"\\]|\\[\s\S])*"$/.test(token) : /^'(?:[^']|'')*'$/.test(token);
      if (!closed) found = { offset, quote };
    }
    offset += token.length;
  }
  return found;
}

function yamlErrorMessage(error: YAMLError, text: string): string {
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      const key = /^\s*("[^"]*"|'[^']*'|[^:,}\n]*)/.exec(text.slice(error.pos[0]))?.[1]?.trim() ?? '';
      return `duplicate key '${key}': each key may appear only once in a mapping`;
    }
    case 'TAB_AS_INDENT':
      return 'tab character used for indentation; YAML allows only spaces';
    default:
      return `invalid YAML: ${error.message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Schema issues -> answer issues

type Locate = (path: AnswerPath, mode?: 'value' | 'key' | 'parent') => AnswerIssue['location'];

/**
 * Maps zod's issues to answer issues, without echoes: a wrong type hides the other complaints about
 * the same value, and a key reported missing because of a typo ('adress' for 'address') is left to
 * the unknown-key issue that suggests it.
 */
function mapSchemaIssues(zodIssues: readonly z.core.$ZodIssue[], data: unknown, locate: Locate): AnswerIssue[] {
  const pathKey = (issue: z.core.$ZodIssue) => JSON.stringify(issue.path.map(String));
  const wrongType = new Set(zodIssues.filter((i) => i.code === 'invalid_type').map(pathKey));
  const kept = zodIssues.filter((i) => i.code === 'invalid_type' || !wrongType.has(pathKey(i)));
  const mapped = kept.flatMap((issue) => schemaIssues(issue, data, locate));
  const suggested = new Set(
    mapped.flatMap((i) => {
      const match = /did you mean '([^']+)'\?$/.exec(i.message);
      return match ? [JSON.stringify([...i.path.slice(0, -1), match[1]].map(String))] : [];
    }),
  );
  return mapped.filter((i) => !(i.message.startsWith('missing required key') && suggested.has(JSON.stringify(i.path.map(String)))));
}

function schemaIssues(issue: z.core.$ZodIssue, data: unknown, locate: Locate): AnswerIssue[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const own = issue.message.startsWith('expected ') ? issue.message : undefined;

  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(path);
    return issue.keys.map((key) => ({
      severity: 'error' as const,
      path: [...path, key],
      message: unknownKeyMessage(key, known),
      location: locate([...path, key], 'key'),
    }));
  }

  const present = path.length === 0 || hasPath(data, path);
  if (!present) {
    const key = String(path[path.length - 1]);
    const expected = own ?? `expected ${expectedAt(path, issue)}`;
    return [{ severity: 'error', path, message: `missing required key '${key}', ${expected}`, location: locate(path, 'parent') }];
  }

  const value = valueAt(data, path);
  let message = own ?? fallbackMessage(issue, path);
  const scalar = value === null || typeof value !== 'object';
  const mayShow = !(isSecretPath(path) && typeof value === 'string'); // never echo what may be a secret
  if (!message.includes(', found ') && mayShow && (scalar || issue.code === 'invalid_type')) {
    // "2222" or "true" in quotes is a string: say so, or `found "2222"` reads as if 2222 were refused.
    message += quotedByMistake(value, path) ? `, found the string ${describeValue(value)}; write it without quotes` : `, found ${describeValue(value)}`;
  }
  return [{ severity: 'error', path, message, location: locate(path) }];
}

function fallbackMessage(issue: z.core.$ZodIssue, path: AnswerPath): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${expectedAt(path, issue)}`;
    default:
      // Every schema in schema.ts carries its own message; this is a safety net.
      return `expected a valid value (${issue.message})`;
  }
}

function unknownKeyMessage(key: string, known: string[]): string {
  const reference = INLINE_SECRET_KEYS[key];
  if (reference && known.includes(reference)) {
    return `inline secrets are not accepted: remove '${key}' and write ${reference}: { env: VARIABLE_NAME } or ${reference}: { file: PATH } (the secret stays out of the answer file)`;
  }
  const reserved = RESERVED_KEYS[key];
  if (reserved) return reserved;
  const suggestion = nearestKey(key, known);
  if (suggestion) return `unknown key '${key}', did you mean '${suggestion}'?`;
  // Perhaps a key that belongs elsewhere (mtu under replication: the MTU is cluster-wide).
  const elsewhere = allKeyPaths();
  const moved = nearestKey(key, elsewhere.map((p) => p.key));
  const place = elsewhere.find((p) => p.key === moved);
  if (place) return `unknown key '${key}' here; did you mean ${place.path}? Expected here: ${known.join(', ')}`;
  return `unknown key '${key}'; expected one of: ${known.join(', ')}`;
}

let keyPathsCache: Array<{ key: string; path: string }> | undefined;
/** Every key of the schema with its path, like { key: 'replicationMtu', path: 'spec.network.replicationMtu' }. */
function allKeyPaths(): Array<{ key: string; path: string }> {
  if (keyPathsCache) return keyPathsCache;
  const found: Array<{ key: string; path: string }> = [];
  const walk = (schema: SchemaInternals, path: string) => {
    const def = schema._zod.def;
    if (def.type === 'object' && def.shape) {
      for (const [key, child] of Object.entries(def.shape)) {
        const childPath = path ? `${path}.${key}` : key;
        found.push({ key, path: childPath });
        walk(unwrap(child), childPath);
      }
    } else if (def.type === 'array' && def.element) {
      walk(unwrap(def.element), `${path}[]`);
    }
  };
  walk(unwrap(AnswersSchema), '');
  keyPathsCache = found;
  return found;
}

/** A string that the schema at `path` would accept as the number or boolean it spells (a quoted 2222 or true). */
function quotedByMistake(value: unknown, path: AnswerPath): boolean {
  if (typeof value !== 'string') return false;
  const unquoted = /^-?\d+(?:\.\d+)?$/.test(value) ? Number(value) : value === 'true' ? true : value === 'false' ? false : undefined;
  if (unquoted === undefined) return false;
  const schema = schemaAt(path) as unknown as z.ZodType | undefined;
  return schema?.safeParse(unquoted).success ?? false;
}

const SECRET_RE = /password|passphrase|secret/i;
function isSecretPath(path: AnswerPath): boolean {
  return path.some((segment) => typeof segment === 'string' && SECRET_RE.test(segment));
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

function hasPath(data: unknown, path: AnswerPath): boolean {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return false;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return false;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current !== undefined;
}

function valueAt(data: unknown, path: AnswerPath): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Walking the zod schema (for the keys valid at a path, and what a missing value should be)

interface SchemaInternals {
  _zod: { def: { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown>; element?: unknown; options?: unknown[] } };
}

function unwrap(schema: unknown): SchemaInternals {
  let current = schema as SchemaInternals;
  for (;;) {
    const def = current._zod.def;
    if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type) && def.innerType) {
      current = def.innerType as SchemaInternals;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in as SchemaInternals;
    } else return current;
  }
}

function schemaAt(path: AnswerPath): SchemaInternals | undefined {
  let current: SchemaInternals | undefined = unwrap(AnswersSchema);
  for (const segment of path) {
    if (!current) return undefined;
    const def: SchemaInternals['_zod']['def'] = current._zod.def;
    if (def.type === 'object' && typeof segment === 'string' && def.shape && segment in def.shape) {
      current = unwrap(def.shape[segment]);
    } else if (def.type === 'array' && typeof segment === 'number' && def.element) {
      current = unwrap(def.element);
    } else return undefined;
  }
  return current;
}

function keysAt(path: AnswerPath): string[] {
  const schema = schemaAt(path);
  return schema?._zod.def.type === 'object' && schema._zod.def.shape ? Object.keys(schema._zod.def.shape) : [];
}

function expectedAt(path: AnswerPath, issue: z.core.$ZodIssue): string {
  const schema = schemaAt(path);
  const type = schema?._zod.def.type ?? (issue.code === 'invalid_type' ? issue.expected : undefined);
  switch (type) {
    case 'object':
      return `a mapping with keys ${keysAt(path).join(', ')}`;
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return `a value of type ${type ?? 'unknown'}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Positions: key path -> offset in the text

interface Target {
  offset: number;
  /** Set when the value came from a merge key: the merged source (`*common`) where it is merged in. */
  merge?: { offset: number; source: string };
}

/**
 * Where what `path` names is written: its value ('value'), its key ('key'), or, for a key that is
 * missing, the mapping that should hold it ('parent'). Falls back to the deepest node that exists.
 *
 * A value that a merge key (`<<: *common`) brings in is pointed at where it is written, in the
 * anchored mapping (the place to correct it), and `merge` says where it was merged in: the path
 * names the node that received it, the position the line to edit.
 */
function findTarget(doc: Document, path: AnswerPath, mode: 'value' | 'key' | 'parent'): Target {
  const steps = mode === 'parent' ? path.slice(0, -1) : path;
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let alias: Node | undefined; // the first alias on the way: the value at `path` is written there
  let merge: Node | undefined; // the first merge source on the way
  // At most one of alias and merge is set: the first on the way decides where the value is shown.
  const done = (at: unknown): Target => ({ offset: offsetOf(at), ...(merge ? { merge: { offset: offsetOf(merge), source: sourceText(merge) } } : {}) });
  for (const segment of steps) {
    if (isAlias(node) && !alias && !merge) alias = node;
    const current = resolve(doc, node);
    let next: unknown;
    keyNode = undefined;
    if (isMap(current)) {
      const found = findPair(doc, current, String(segment), new Set());
      if (!found) return done(alias ?? current);
      if (found.via && !merge && !alias) merge = found.via;
      keyNode = found.pair.key as Node;
      next = found.pair.value;
    } else if (isSeq(current) && typeof segment === 'number' && current.items[segment] !== undefined) {
      next = current.items[segment];
    } else {
      return done(alias ?? current);
    }
    if (next === null || next === undefined || (isScalar(next) && next.value === null && emptyRange(next))) {
      return done(alias ?? keyNode ?? current);
    }
    node = next;
  }
  if (alias) return done(alias);
  if (mode === 'key' && keyNode) return done(keyNode);
  // A block mapping starts on the line after its key, at its first key: a problem with the mapping as
  // a whole (interface and bond both given, a mapping where a list belongs) is pointed at its own key.
  if (mode === 'value' && keyNode && isMap(node) && !node.flow) return done(keyNode);
  return done(node);
}

function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  return key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<');
}

/**
 * The pair that gives `map` its key `name`: its own, or else the one of the first merged mapping
 * that has it (as YAML merges them). `via` is the merge source of `map` it came through.
 */
function findPair(doc: Document, map: YAMLMap, name: string, seen: Set<unknown>): { pair: Pair; via?: Node } | undefined {
  const own = map.items.find((p) => !isMergeKey(p.key) && String(isScalar(p.key) ? p.key.value : p.key) === name);
  if (own) return { pair: own };
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const target = resolve(doc, source);
      if (!isMap(target) || seen.has(target)) continue;
      seen.add(target);
      const found = findPair(doc, target, name, seen);
      if (found) return { pair: found.pair, via: source as Node };
    }
  }
  return undefined;
}

/** `*common` for an alias, else what the merged mapping is. */
function sourceText(node: Node): string {
  return isAlias(node) ? `*${node.source}` : 'an inline mapping';
}

/** Merge keys whose value is not a mapping (through an alias) nor a list of them. */
function badMergeSources(doc: Document): { offset: number; found: string }[] {
  const bad: { offset: number; found: string }[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (!isPair(pair) || !isMergeKey(pair.key)) return;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const target = resolve(doc, source);
        if (isMap(target)) continue;
        const what = isAlias(source) && target === undefined ? `*${source.source}, which no anchor defines` : isAlias(source) ? `*${source.source}, which is not a mapping` : describeNode(target);
        bad.push({ offset: offsetOf(source ?? pair.key), found: what });
      }
    },
  });
  return bad;
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'an empty value';
}

function resolve(doc: Document, node: unknown): unknown {
  let current = node;
  for (let i = 0; i < 100 && isAlias(current); i++) current = current.resolve(doc);
  return current;
}

function emptyRange(node: Node): boolean {
  return !node.range || node.range[0] === node.range[1];
}

function offsetOf(node: unknown): number {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : 0;
}

