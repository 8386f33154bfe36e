/**
 * The release as a user gets it: `npm pack` (which builds the bundle through `prepare`), the tarball
 * installed with `npm install -g --prefix EMPTY_DIR`, and the installed `hvcluster` run from an
 * unrelated working directory: `--version`, `init --example`, `inspect` against a real sshd, and the
 * wizard's first screen on a terminal.
 *
 * No TypeScript at run time: neither tsx nor esbuild is in the installed tree at all; every module
 * the process loads (recorded by a module `load` hook put in through NODE_OPTIONS) is plain
 * JavaScript, hvcluster's own from the installed dist/; and the process's temporary directory
 * (where tsx keeps its compile cache) stays empty. The templates and playbooks the installed bundle
 * reads are the installed package's.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, startSshd, tempDir, type ClientKey, type SshdServer } from '../../helpers/sshd.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

/** Every file and folder name under dir (node_modules included), as paths relative to it. */
function walk(dir: string, prefix = ''): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    names.push(rel);
    if (entry.isDirectory()) names.push(...walk(join(dir, entry.name), rel));
  }
  return names;
}

describe('the npm package, installed from its tarball', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sshd: SshdServer;
  let key: ClientKey;
  let prefix: string;
  let installed: string;
  let bin: string;
  let work: string;
  let processTmp: string;
  let trapLog: string;
  let nodeOptions: string;

  beforeAll(async () => {
    tmp = tempDir('hvpkg-');
    sshd = await startSshd();
    key = await generateKey(tmp.path, 'id_ed25519');
    sshd.authorize('root', key.publicKey);

    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp.path], { cwd: REPO, maxBuffer: 16 << 20 });
    const tarball = join(tmp.path, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    prefix = join(tmp.path, 'prefix');
    // Dependencies come from the npm cache when it has them (--prefer-offline), else from the registry.
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: tmp.path,
      maxBuffer: 16 << 20,
    });
    installed = join(prefix, 'lib', 'node_modules', 'hvcluster');
    bin = join(prefix, 'bin', 'hvcluster');

    work = join(tmp.path, 'work');
    processTmp = join(tmp.path, 'process-tmp');
    mkdirSync(work);
    mkdirSync(processTmp);
    trapLog = join(tmp.path, 'loaded.txt');
    const hooks = join(tmp.path, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function load(url, context, next) { appendFileSync(${JSON.stringify(trapLog)}, url + '\\n'); return next(url, context); }\n`,
    );
    const trap = join(tmp.path, 'trap.mjs');
    writeFileSync(trap, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    nodeOptions = `--import=${pathToFileURL(trap).href}`;
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    tmp?.remove();
  });

  /** The installed bin, from an unrelated directory, with the module trap and an empty TMPDIR. */
  function hvcluster(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
    return new Promise((resolve) => {
      const started = Date.now();
      const child = spawn(bin, args, {
        cwd: work,
        env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: tmp.path, TMPDIR: processTmp, NO_COLOR: '1', CI: 'true', NODE_OPTIONS: nodeOptions },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
    });
  }

  it('ships the bundle, templates, playbooks and schema, and no sources, tests or TypeScript tooling', () => {
    const files = walk(installed);
    expect(files).toContain(join('dist', 'hvcluster.mjs'));
    expect(files).toContain(join('installer', 'answers', 'site.schema.json'));
    for (const name of readdirSync(join(REPO, 'templates'))) expect(files).toContain(join('templates', name));
    for (const name of readdirSync(join(REPO, 'playbooks'))) expect(files).toContain(join('playbooks', name));
    expect(files.filter((f) => !f.startsWith('node_modules') && /\.tsx?$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^(test|bench)(\/|$)/.test(f))).toEqual([]);
    // Not in the tree at all, so nothing can compile TypeScript at run time.
    expect(files.filter((f) => /(^|\/)(tsx|esbuild|@esbuild|typescript)$/.test(f))).toEqual([]);
  });

  it('runs --version and init --example from the bundle, plain JavaScript only, ', async () => {
    const version = await hvcluster(['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version);

    const example = await hvcluster(['init', '--example', '-o', 'site.yaml']);
    expect(example.code, example.stderr).toBe(0);
    const text = readFileSync(join(work, 'site.yaml'), 'utf8');
    expect(text).toContain('apiVersion: hvcluster/v1');
    // The editor's modeline points at the schema installed with this hvcluster.
    const schema = /^# yaml-language-server: \$schema=(file:\S+)\n/.exec(text)?.[1];
    expect(schema).toBe(pathToFileURL(join(installed, 'installer', 'answers', 'site.schema.json')).href);
    expect(existsSync(fileURLToPath(schema!))).toBe(true);
  });

  it('runs inspect against a real sshd', { timeout: 60_000 }, async () => {
    const knownHosts = join(tmp.path, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const result = await hvcluster(['inspect', '--json', '--host', `root@${sshd.host}:${sshd.port}`, '-i', key.path, '--known-hosts', knownHosts]);
    expect(result.code, result.stderr).toBe(0);
    const { servers } = JSON.parse(result.stdout) as { servers: { ok: boolean; hostKeyFingerprint: string; facts: any }[] };
    expect(servers).toHaveLength(1);
    expect(servers[0]!.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(servers[0]!.facts.hostname.value.nodeName).toBe(hostname());
  });

  it('starts the wizard on a terminal (its ink chunk from the installed dist/), which Ctrl-C leaves', { timeout: 30_000 }, async () => {
    // A terminal from util-linux's script(1); the wizard needs stdin and stdout TTYs and no CI.
    const child = spawn('script', ['-qec', `stty cols 100 rows 30; exec ${bin}`, '/dev/null'], {
      cwd: work,
      env: { PATH: process.env.PATH, HOME: tmp.path, TMPDIR: processTmp, TERM: 'xterm', NODE_OPTIONS: nodeOptions },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let interrupted = false;
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk) => {
      screen += chunk;
      if (!interrupted && screen.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').includes('How many servers make the cluster?')) {
        interrupted = true;
        child.stdin.write('\x03');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect(interrupted, screen).toBe(true);
    expect(code).toBe(130);
  });

  it('loaded nothing but JavaScript, its own from the installed dist/, and left no compile cache', () => {
    // Runs after the commands above (vitest runs a file's tests in order).
    const urls = [...new Set(readFileSync(trapLog, 'utf8').split('\n').filter(Boolean))];
    const files = urls.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => !/\.(m?js|cjs|json)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /[/\\](tsx|esbuild)[/\\]/.test(f))).toEqual([]);
    const own = files.filter((f) => f.startsWith(installed) && !f.includes(`${installed}/node_modules/`));
    expect(own).toContain(join(installed, 'bin', 'hvcluster.js'));
    expect(own).toContain(join(installed, 'dist', 'hvcluster.mjs'));
    // The wizard's ink came from the installed package too.
    expect(files.some((f) => f.startsWith(join(installed, 'node_modules', 'ink') + '/'))).toBe(true);
    expect(own.filter((f) => !f.startsWith(join(installed, 'dist')) && !f.startsWith(join(installed, 'bin')))).toEqual([]);
    // Nothing of the checkout: every module is the installed package's, or Node's, or the trap's.
    expect(files.filter((f) => f.startsWith(REPO))).toEqual([]);
    expect(readdirSync(processTmp)).toEqual([]);
  });

  it('finds its templates and playbooks next to the installed bundle', async () => {
    // The bundle's module that resolves the package's folders (installer/paths.ts), imported from
    // the installed dist/ by a node started in an unrelated directory.
    const chunks = join(installed, 'dist', 'chunks');
    const paths = readdirSync(chunks).find((name) => name.endsWith('.mjs') && /export \{[^}]*TEMPLATES_DIR[^}]*PLAYBOOKS_DIR/.test(readFileSync(join(chunks, name), 'utf8')));
    expect(paths).toBeDefined();
    const probe = `const m = await import(${JSON.stringify(pathToFileURL(join(chunks, paths!)).href)}); console.log(JSON.stringify({ templates: m.TEMPLATES_DIR, playbooks: m.PLAYBOOKS_DIR, remote: m.REMOTE_DIR }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: work });
    const dirs = JSON.parse(stdout) as { templates: string; playbooks: string; remote: string };
    expect(dirs).toEqual({ templates: join(installed, 'templates'), playbooks: join(installed, 'playbooks'), remote: join(installed, 'installer', 'remote') });
    // The scripts that run on the servers ship with it, every one of them.
    expect(readdirSync(dirs.remote).sort()).toEqual(readdirSync(join(REPO, 'installer', 'remote')).filter((f) => f.endsWith('.sh')).sort());
    expect(existsSync(join(dirs.playbooks, 'install.yaml'))).toBe(true);
    expect(readdirSync(dirs.templates).sort()).toEqual(readdirSync(join(REPO, 'templates')).sort());
  });
});
