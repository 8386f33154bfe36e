/**
 * bin/test-prereqs.mjs, run first by `npm test` and by .ci/run: which Debian packages are missing,
 * and what to do about them (nothing, install them as root, or stop with one line and the command).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { advice, APT_COMMAND, dpkgQueryArgs, missingPackages, TEST_PACKAGES } from '../../bin/test-prereqs.mjs';

const SCRIPT = fileURLToPath(new URL('../../bin/test-prereqs.mjs', import.meta.url));

describe('the test prerequisites', () => {
  it('has one list, with the packages the tests and .ci/run rely on', () => {
    expect(Object.keys(TEST_PACKAGES)).toEqual(expect.arrayContaining(['openssh-server', 'sudo', 'drbd-utils', 'shellcheck', 'qemu-system-x86', 'qemu-utils', 'debootstrap', 'tmux']));
    expect(readFileSync(fileURLToPath(new URL('../../.ci/run', import.meta.url)), 'utf8')).toContain('node bin/test-prereqs.mjs');
  });

  it('finds the missing packages in dpkg-query output: unknown to dpkg, or removed with its configuration left', () => {
    // As dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' prints it (unknown packages only on stderr).
    const output = 'openssh-server ii \nsudo rc \ntmux ii \nqemu-utils:amd64 ii \n';
    expect(missingPackages(output, ['openssh-server', 'sudo', 'drbd-utils', 'tmux', 'qemu-utils'])).toEqual(['sudo', 'drbd-utils']);
    expect(missingPackages('', ['sudo'])).toEqual(['sudo']);
    expect(dpkgQueryArgs(['sudo'])).toEqual(['-W', '-f', '${Package} ${db:Status-Abbrev}\\n', 'sudo']);
  });

  it('does nothing when all are there, installs them as root, and otherwise stops with one line and the command', () => {
    expect(advice([], { root: true })).toEqual({ action: 'ok' });
    expect(advice(['sudo', 'drbd-utils'], { root: true })).toEqual({ action: 'install', message: expect.stringContaining('sudo drbd-utils'), packages: ['sudo', 'drbd-utils'] });
    const stop = advice(['sudo', 'drbd-utils'], { root: false });
    expect(stop.action).toBe('stop');
    expect((stop as { message: string }).message).toBe(`npm test needs root and these Debian packages: sudo drbd-utils; as root run: ${APT_COMMAND} sudo drbd-utils`);
    expect((stop as { message: string }).message).not.toContain('\n');
    expect(advice([], { root: false })).toMatchObject({ action: 'stop', message: expect.stringContaining('npm run test:fast') });
  });

  it.runIf(process.getuid?.() === 0)('as root, installs what dpkg-query does not list with apt-get (both faked on PATH)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvprereqs-'));
    try {
      const log = join(dir, 'apt.log');
      // dpkg-query that knows every package but drbd-utils and shellcheck; apt-get that records its arguments.
      writeFileSync(join(dir, 'dpkg-query'), `#!/bin/sh\nshift 3\nfor p; do case $p in drbd-utils|shellcheck) echo "dpkg-query: no packages found matching $p" >&2;; *) echo "$p ii ";; esac; done\nexit 1\n`);
      writeFileSync(join(dir, 'apt-get'), `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${log}\n`);
      chmodSync(join(dir, 'dpkg-query'), 0o755);
      chmodSync(join(dir, 'apt-get'), 0o755);
      const result = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toBe('test-prereqs: installing the Debian packages the tests need: drbd-utils shellcheck\n');
      expect(readFileSync(log, 'utf8')).toBe('noninteractive update -qq\nnoninteractive install -y -qq --no-install-recommends drbd-utils shellcheck\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
