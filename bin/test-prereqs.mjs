#!/usr/bin/env node
// The Debian packages the tests need, and a check run first by `npm test` and by .ci/run: the one
// list of them. Missing packages are installed with apt-get when running as root (as `npm run demo`
// does for the lab's); otherwise it stops at once with one line naming them and the command that
// installs them. `npm test` also needs root (the VM lab, test users, sudo), which it checks too.
//
//   node bin/test-prereqs.mjs            check; install what is missing when root
//   node bin/test-prereqs.mjs --list     print the packages, one a line
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian package -> what the tests use it for. */
export const TEST_PACKAGES = {
  'openssh-server': 'integration tests start their own sshd',
  'openssh-client': 'ssh, ssh-keygen, ssh-keyscan (tests and the lab)',
  sudo: 'non-root users reach root through sudo',
  'drbd-utils': 'rendered DRBD files are checked by drbdadm',
  shellcheck: 'the remote scripts are checked by shellcheck',
  'qemu-system-x86': 'the VM lab (end-to-end tests)',
  'qemu-utils': 'qemu-img, the lab images',
  debootstrap: 'building the lab image',
  iproute2: "ip, the lab's network namespace",
  openipmi: "ipmi_sim, the lab's simulated BMCs",
  'e2fsprogs': 'mkfs.ext4, the lab image',
  'util-linux': 'mount, losetup (the lab image)',
  bsdutils: "script(1), the terminal of the package test's wizard",
  tmux: "the terminal of the wizard's end-to-end test",
  syslinux: "a bootable disk image for the guests' end-to-end test (syslinux on a FAT image)",
  'syslinux-common': 'its boot files',
  mtools: 'files copied into that FAT image without mounting it',
  dosfstools: 'mkfs.vfat, that FAT image',
};

export const APT_COMMAND = 'apt-get update && apt-get install -y --no-install-recommends';

/** dpkg-query's command line that `missingPackages` reads the output of. */
export function dpkgQueryArgs(packages) {
  return ['-W', '-f', '${Package} ${db:Status-Abbrev}\\n', ...packages];
}

/**
 * The packages of `needed` that are not installed, given the output of
 * `dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' PACKAGES...` (a package dpkg does not know
 * is absent from it; one removed but with its configuration left shows `rc`, not `ii`).
 */
export function missingPackages(dpkgOutput, needed) {
  const installed = new Set();
  for (const line of dpkgOutput.split('\n')) {
    const [name, status] = line.trim().split(/\s+/);
    if (name && status && status.startsWith('ii')) installed.add(name.replace(/:[a-z0-9]+$/, ''));
  }
  return needed.filter((name) => !installed.has(name));
}

/**
 * What to do about the missing packages: nothing, install them (root), or stop with one line that
 * names them and the command to install them.
 */
export function advice(missing, { root }) {
  const install = `${APT_COMMAND} ${missing.join(' ')}`;
  if (!root) {
    return missing.length === 0
      ? { action: 'stop', message: 'npm test needs root (the VM lab, test users and sudo); run it as root, or `npm run test:fast` for the unit and integration tests' }
      : { action: 'stop', message: `npm test needs root and these Debian packages: ${missing.join(' ')}; as root run: ${install}` };
  }
  if (missing.length === 0) return { action: 'ok' };
  return { action: 'install', message: `installing the Debian packages the tests need: ${missing.join(' ')}`, packages: missing };
}

function main(argv) {
  const packages = Object.keys(TEST_PACKAGES);
  if (argv.includes('--list')) {
    process.stdout.write(`${packages.join('\n')}\n`);
    return 0;
  }
  const query = spawnSync('dpkg-query', dpkgQueryArgs(packages), { encoding: 'utf8' });
  if (query.error) {
    process.stderr.write(`test-prereqs: dpkg-query not found: the tests are made for Debian 12 and need: ${packages.join(' ')}\n`);
    return 1;
  }
  const todo = advice(missingPackages(query.stdout, packages), { root: process.getuid?.() === 0 });
  if (todo.action === 'ok') return 0;
  process.stderr.write(`test-prereqs: ${todo.message}\n`);
  if (todo.action === 'stop') return 1;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...todo.packages]]) {
    const step = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (step.status !== 0) {
      process.stderr.write(`test-prereqs: apt-get ${args[0]} failed (exit ${step.status ?? step.signal}); install them by hand: ${APT_COMMAND} ${todo.packages.join(' ')}\n`);
      return 1;
    }
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
