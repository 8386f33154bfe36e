#!/usr/bin/env node
// `npm run test:e2e`: the end-to-end files in two lanes side by side, each lane its files one after the
// other (vitest --no-file-parallelism) on labs of its own. A lab VM is one emulated CPU (TCG: one
// host thread), and most of an e2e file's time is one node working or every node waiting (a timer, a
// token timeout, a fencing retry, a guest booting): one lane leaves one of the two cores idle most of
// the time. Each lane's two-node files share one lab (env HVCLUSTER_SHARED_LAB: `two`, `two-b`), so
// their checkpoints and teardowns never meet. Either lane failing fails the run, after both ended.
// Each line is prefixed with its lane.
//
//   node bin/test-e2e.mjs            both lanes
//   HVCLUSTER_E2E_LANES=1 node ...   every file in one lane (on the lab `two`), one after the other
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const e2e = (name) => `test/e2e/${name}.test.ts`;

/**
 * The lanes, balanced by measured time on the two-core machine (README, "Tests"): the lab `two`
 * builds the site once (checkpoint `built`) for apply-faults, verify, guests and HA; `two-b` serves the
 * lab's own test and the wizard; apply (base image) and cluster3 (three nodes) bring their own labs.
 */
const LANES = [
  { name: 'A', sharedLab: 'two', files: ['apply-faults', 'verify', 'guests', 'ha'] },
  { name: 'B', sharedLab: 'two-b', files: ['lab', 'wizard', 'apply', 'cluster3'] },
];

const lanes = process.env.HVCLUSTER_E2E_LANES === '1' ? [{ name: 'e2e', sharedLab: 'two', files: LANES.flatMap((l) => l.files) }] : LANES;
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** Runs one lane; its output line by line with the lane's prefix; resolves with its exit code. */
function runLane(lane) {
  const t0 = Date.now();
  const argv = [process.execPath, 'node_modules/vitest/vitest.mjs', 'run', ...lane.files.map(e2e), '--no-file-parallelism'];
  const child = spawn(argv[0], argv.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HVCLUSTER_SHARED_LAB: lane.sharedLab } });
  const prefix = lanes.length > 1 ? `[${lane.name}] ` : '';
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      if (lines.length > 0) out.write(lines.map((l) => `${prefix}${l}\n`).join(''));
    });
    stream.on('end', () => rest && out.write(`${prefix}${rest}\n`));
  }
  process.stderr.write(`[test] lane ${lane.name} (lab ${lane.sharedLab}): ${lane.files.join(', ')}\n`);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`${prefix}${argv.join(' ')}: ${error.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      const status = code ?? (signal ? 128 : 1);
      process.stderr.write(`[test] lane ${lane.name}: ${status === 0 ? 'passed' : `FAILED (exit ${status})`} after ${seconds(t0)}\n`);
      resolve(status);
    });
  });
}

const codes = await Promise.all(lanes.map(runLane));
process.exit(codes.find((c) => c !== 0) ?? 0);
