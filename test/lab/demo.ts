// `npm run demo`: the main job on the built-in default. Brings up (or reuses) a 2-node lab named
// "demo" (real Debian 12 VMs), then runs hvcluster against it from inside the lab's network
// namespace, as an integrator would against a customer's servers: inspect, plan, apply, plan again
// (no change), verify (with a hand-over report).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { up } from './lab.js';
import { fmtSecs } from './util.js';

const NAME = process.env.HVCLUSTER_DEMO_LAB ?? 'demo';
const HVCLUSTER = fileURLToPath(new URL('../../bin/hvcluster.js', import.meta.url));

const r = await up({ name: NAME, nodes: 2, image: 'base' });
const lab = r.lab;
const site = `${lab.dir}/site.yaml`;
process.stdout.write(
  `lab ${lab.name} ${r.reused ? 'reused' : `up in ${fmtSecs(r.timings.totalMs)}`}: ${lab.dir}\n` +
    lab.nodes.map((n) => `  ${n.name}  ${n.management.address}  ${n.dataDisk}  ${n.hostKeyFingerprint}\n`).join('') +
    `answer file: ${site}\n`,
);

function hvcluster(...args: string[]): number {
  const argv = ['ip', 'netns', 'exec', lab.netns, process.execPath, HVCLUSTER, ...args];
  process.stdout.write(`\n$ hvcluster ${args.join(' ')}\n`);
  const started = Date.now();
  const res = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  const code = res.status ?? 1;
  process.stdout.write(`(exit ${code}, ${fmtSecs(Date.now() - started)})\n`);
  return code;
}

const steps: string[][] = [
  ['inspect', '-f', site],
  ['plan', '-f', site],
  ['apply', '-f', site, '--yes'],
  ['plan', '-f', site],
  ['verify', '-f', site, '--report', `${lab.dir}/handover.md`],
];
let code = 0;
for (const step of steps) {
  code = hvcluster(...step);
  if (code !== 0) break;
}
process.stdout.write(
  `\nThe lab keeps running: ${lab.dir} (nodes.json, site.yaml, known_hosts, console logs)\n` +
    `  a shell on a node:  npm run lab -- ssh hv1 --name ${NAME}\n` +
    `  run hvcluster:      npm run lab -- exec --name ${NAME} -- node bin/hvcluster.js verify -f ${site} --migration-test\n` +
    `  take it down:       npm run lab -- down --name ${NAME}\n`,
);
process.exitCode = code;
