import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../../installer/ssh/types.js';
import { fakeConnection } from '../../helpers/fake-connection.js';
import {
  factsCommand,
  factsScript,
  formatFactsText,
  formatRawSections,
  gatherFacts,
  parseFactsOutput,
  FACT_NAMES,
} from '../../../installer/facts/index.js';
import { splitOutput } from '../../../installer/facts/section.js';

const hostCapture = readFileSync(new URL('../../fixtures/facts/host-debian12.txt', import.meta.url), 'utf8');

describe('the facts script', () => {
  const script = factsScript();

  it('is valid POSIX sh (dash -n)', () => {
    const r = spawnSync('sh', ['-n'], { input: script });
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });

  it('has one section per fact, in order, and a done marker', () => {
    const names = [...script.matchAll(/printf '@@hvc-fact (\w+)@@/g)].map((m) => m[1]);
    expect(names).toEqual(FACT_NAMES);
    expect(script.trimEnd().endsWith('exit 0')).toBe(true);
  });

  it('is read-only: redirects only to /dev/null or file descriptors, never loads modules or writes', () => {
    for (const m of script.matchAll(/(\d?)>(>?)\s*([^\s;)&|]*)/g)) {
      const target = m[3]!;
      expect(target === '/dev/null' || target.startsWith('&') || target === '' || /^&\d/.test(target), `redirect ${m[0]}`).toBe(true);
    }
    // modprobe only as a dry run (-n: prints what it would do) and in the names of its config folders.
    expect(script).toContain('hv_cmd load-dry-run modprobe -n -v drbd\n');
    const unsafe = script.replace(/modprobe -n -v drbd/g, '').replace(/\/modprobe\.d\//g, '/');
    for (const word of ['modprobe', 'insmod', 'rm ', 'mkfs', 'dd ', 'tee ', 'wipefs -a', 'drbdadm up', 'systemctl start', 'losetup']) {
      expect(unsafe, word).not.toContain(word);
    }
    // wipefs only in probe mode; drbdsetup (which would modprobe) only when the module is loaded.
    expect(script).toMatch(/wipefs --no-act --json/);
    expect(script).toMatch(/if \[ -r \/proc\/drbd \]; then hv_cmdt events2/);
  });

  it('is sent as `sh -c` with safe quoting', () => {
    const cmd = factsCommand();
    expect(cmd.startsWith("sh -c '")).toBe(true);
    const r = spawnSync('sh', ['-c', `printf %s ${cmd.slice('sh -c '.length)}`]);
    expect(r.stdout.toString()).toBe(script);
  });
});

describe('splitOutput', () => {
  const out = [
    '@@hvc-fact demo@@',
    '@@hvc-cmd a@@',
    'line without newline at the end',
    '@@hvc-rc a 0@@',
    '@@hvc-cmd b@@',
    'two',
    'lines',
    '',
    '@@hvc-err@@ a warning',
    '@@hvc-rc b 3@@',
    '@@hvc-cmd c@@',
    '',
    '@@hvc-rc c missing frobctl@@',
    '',
    '@@hvc-end demo 0@@',
    '@@hvc-done@@',
  ].join('\n');

  it('gives back each command stdout exactly, stderr apart, exit codes and missing commands', () => {
    const { sections, complete } = splitOutput(out);
    expect(complete).toBe(true);
    const demo = sections.get('demo')!;
    expect(demo.exitCode).toBe(0);
    expect(demo.commands).toEqual([
      { label: 'a', stdout: 'line without newline at the end', stderr: '', exitCode: 0, missing: null },
      { label: 'b', stdout: 'two\nlines\n', stderr: 'a warning', exitCode: 3, missing: null },
      { label: 'c', stdout: '', stderr: '', exitCode: null, missing: 'frobctl' },
    ]);
  });

  it('agrees with what the shell helper really prints', () => {
    const prelude = factsScript().split('\n# ')[0]; // the script up to the first fragment is the prelude
    expect(prelude).toContain('hv_cmd()');
    const sh = `${factsScript().slice(0, factsScript().indexOf("printf '@@hvc-fact"))}
printf '@@hvc-fact t@@\\n'
( f() { printf 'no newline'; echo 'oops' >&2; return 4; }
  hv_cmd one f
  hv_cmd two printf 'a\\nb\\n'
  hv_cmd three no-such-command-here )
printf '\\n@@hvc-end t %s@@\\n' "$?"`;
    const r = spawnSync('sh', ['-c', sh]);
    const t = splitOutput(r.stdout.toString()).sections.get('t')!;
    expect(t.commands).toEqual([
      { label: 'one', stdout: 'no newline', stderr: 'oops', exitCode: 4, missing: null },
      { label: 'two', stdout: 'a\nb\n', stderr: '', exitCode: 0, missing: null },
      { label: 'three', stdout: '', stderr: '', exitCode: null, missing: 'no-such-command-here' },
    ]);
    expect(t.exitCode).toBe(127);
  });
});

describe('parseFactsOutput on damaged output', () => {
  it('turns a missing lsblk into an unavailable disks fact and keeps every other fact', () => {
    // The real capture with the lsblk block replaced by what hv_cmd prints when lsblk is not installed.
    const damaged = hostCapture.replace(/@@hvc-cmd lsblk@@\n[\s\S]*?@@hvc-rc lsblk 0@@/, '@@hvc-cmd lsblk@@\n\n@@hvc-rc lsblk missing lsblk@@');
    expect(damaged).not.toBe(hostCapture);
    const facts = parseFactsOutput(damaged);
    expect(facts.disks).toEqual({ ok: false, reason: 'lsblk: command not found' });
    expect(facts.network.ok).toBe(true);
    expect(facts.drbd.ok).toBe(true);
    expect(facts.os.ok).toBe(true);
  });

  it('turns garbage JSON into an unavailable fact, not an exception', () => {
    const damaged = hostCapture.replace(/(@@hvc-cmd link@@\n)\[/, '$1{{{');
    const facts = parseFactsOutput(damaged);
    expect(facts.network.ok).toBe(false);
    expect(facts.network.ok ? '' : facts.network.reason).toMatch(/^ip link: unreadable JSON/);
    expect(facts.disks.ok).toBe(true);
  });

  it('marks the facts after a cut-off point as cut off', () => {
    const cut = hostCapture.slice(0, hostCapture.indexOf('@@hvc-fact network@@'));
    const facts = parseFactsOutput(cut);
    expect(facts.disks.ok).toBe(true);
    expect(facts.network).toEqual({ ok: false, reason: 'output cut off before this fact' });
    expect(facts.libvirt).toEqual({ ok: false, reason: 'output cut off before this fact' });
  });

  it('returns every fact unavailable for empty output, and still formats', () => {
    const facts = parseFactsOutput('');
    for (const name of FACT_NAMES) expect(facts[name].ok).toBe(false);
    const text = formatFactsText(facts, 'hv9');
    expect(text.split('\n')[0]).toBe('hv9');
    expect(text).toContain('Disks\n  unavailable (output cut off before this fact)');
  });

  it('keeps raw sections printable for --verbose', () => {
    const raw = formatRawSections(parseFactsOutput(hostCapture));
    expect(raw).toContain('== drbd ==\n@@hvc-cmd modinfo@@');
  });
});

/** A ServerConnection that runs commands on this machine: real output, no SSH. */
function localConnection() {
  return fakeConnection({
    name: 'local',
    host: 'localhost',
    hostKeyFingerprint: 'SHA256:local',
    uploads: 'refuse',
    answer: (command) => {
      const started = Date.now();
      return new Promise<ExecResult>((resolve) => {
        execFile('sh', ['-c', command], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
          resolve({ exitCode: error ? Number(error.code ?? 1) : 0, stdout, stderr, durationMs: Date.now() - started });
        });
      });
    },
  });
}

describe('gatherFacts', () => {
  it('inspects with one exec, as root, in well under a second of script time', async () => {
    const conn = localConnection();
    const facts = await gatherFacts(conn);
    expect(conn.execs).toHaveLength(1);
    expect(conn.execs[0]!.options).toMatchObject({ sudo: true, allowFailure: true });
    expect(facts.os.ok).toBe(true);
    expect(facts.disks.ok).toBe(true);
    expect(facts.timing!.durationMs).toBeLessThan(3000);
    expect(Math.abs(facts.timing!.estimatedSkewSeconds!)).toBeLessThan(2);
  });

  it('throws a RemoteCommandError naming the server when the script did not run at all', async () => {
    const conn = localConnection();
    conn.exec = async () => ({ exitCode: 1, stdout: '', stderr: 'sudo: a password is required', durationMs: 5 });
    await expect(gatherFacts(conn)).rejects.toThrow(/local: step "inspect": .*exited with 1\n {4}sudo: a password is required/);
  });
});
