#!/usr/bin/env node
// `npm test`, after the package check: the type check and the fast tests (unit, integration) run
// while the VM lab's two images are made (on a cold cache: debootstrap, apt and qemu-img, minutes of
// mostly I/O that no test needs before the end-to-end files), then the end-to-end files. Either
// part failing fails the run, after both ended; the image build's output is in a log file, named
// with its tail when it fails. Without root (no lab possible) the images are left to the e2e files,
// which say what they need.
//
//   node bin/test-all.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs a command, its output to this terminal or to a file; resolves with its exit code. */
function run(argv, outFile) {
  return new Promise((resolve) => {
    const fd = outFile ? openSync(outFile, 'w') : undefined;
    const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: fd === undefined ? 'inherit' : ['ignore', fd, fd] });
    child.on('error', (error) => {
      process.stderr.write(`${argv.join(' ')}: ${error.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      if (fd !== undefined) closeSync(fd);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
const canLab = process.platform === 'linux' && typeof process.getuid === 'function' && process.getuid() === 0;

const t0 = Date.now();
const imageLog = join(mkdtempSync(join(tmpdir(), 'hvcluster-test-')), 'lab-images.log');
const images = canLab
  ? (process.stderr.write(`[test] lab images: made in the background (log: ${imageLog})\n`),
    run([process.execPath, '--import', 'tsx', 'test/lab/cli.ts', 'image', '--image', 'all'], imageLog).then((code) => {
      process.stderr.write(`[test] lab images: ${code === 0 ? 'ready' : `FAILED (exit ${code})`} after ${seconds(t0)}\n`);
      if (code !== 0) process.stderr.write(readFileSync(imageLog, 'utf8').split('\n').slice(-40).join('\n') + '\n');
      return code;
    }))
  : Promise.resolve(0);

const fast = (await run([npm, 'run', 'typecheck'])) || (await run([npm, 'run', 'test:fast']));
const built = await images;
if (fast !== 0 || built !== 0) process.exit(fast || built);
process.exit(await run([npm, 'run', 'test:e2e']));
