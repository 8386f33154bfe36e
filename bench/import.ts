/**
 * `npm run bench:import`: how fast apply streams a disk image into a guest's DRBD device, against the
 * floor: `dd` of the same bytes into the same device over the same SSH path.
 *
 * Brings up (or reuses) a two-node lab "benchimp" from the prepared image and applies its site
 * (the cluster built). Makes an image on the installer's machine: IMPORT_MIB (default 512) MiB, the
 * first half random data, the rest zeroes (a typical half-full disk), as raw and as qcow2. Then:
 *   - apply with a guest `imp` (autostart false: never booted) whose disk is the qcow2 image: the
 *     import (local qemu-nbd + the node's qemu-nbd over SSH streamlocal, zero blocks skipped, sha256
 *     read back) times itself in its log line; the whole guests step is timed too;
 *   - the floor: the raw image piped through `ssh NODE dd of=/dev/drbdN bs=4M oflag=direct` (every
 *     byte sent, zeroes included, no read-back), timed, with the device Primary, then demoted;
 *   - the guest declared absent and removed (apply), so that the lab is as before.
 * Writes its section of bench/results-lab.md (between the import markers; BENCH_OUT, `-` to not
 * write). Takes the lab down at the end unless BENCH_KEEP_LAB=1. Root only.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { events, hvcluster } from '../test/helpers/hvcluster.js';
import { down, readLab, sshArgv, sshExec, up } from '../test/lab/lab.js';
import { labSiteYaml } from '../test/lab/site.js';
import { sectionMarkers, writeLabSection } from './lab-section.js';

const NAME = 'benchimp';
const MIB = Number(process.env.IMPORT_MIB ?? 512);
const MIN = 60_000;
const { begin: BEGIN, end: END } = sectionMarkers('import');
const log = (line: string) => process.stderr.write(`${line}\n`);
const mibs = (bytes: number, ms: number) => (bytes / 2 ** 20 / (ms / 1000)).toFixed(1);

function must(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

/** A guest `imp` with the image as its one disk, appended to the lab's site. */
function siteWith(dir: string, image: string, state: 'present' | 'absent'): string {
  const path = join(dir, `site-${state}.yaml`);
  writeFileSync(path, `${labSiteYaml(readLab(NAME)).trimEnd()}\n  guests:\n    - name: imp\n      memory: 64MiB\n      autostart: false\n      state: ${state}\n      disks:\n        - image: ${image}\n`);
  return path;
}

async function apply(site: string): Promise<{ ms: number; evs: ReturnType<typeof events> }> {
  const t0 = Date.now();
  const r = await hvcluster(NAME, ['apply', '-f', site, '--yes', '--json'], { timeoutMs: 40 * MIN });
  if (r.code !== 0) throw new Error(`apply -f ${site}: exit ${r.code}\n${r.stderr.slice(-3000)}`);
  return { ms: Date.now() - t0, evs: events(r.stdout) };
}

/** The raw image through `ssh NODE dd` into the device: wall time of the copy. */
async function ddFloor(raw: string, node: string, device: string): Promise<number> {
  const lab = readLab(NAME);
  const target = lab.nodes.find((n) => n.name === node)!;
  const argv = sshArgv(lab, target, [`dd of=${device} bs=4M iflag=fullblock oflag=direct status=none`]);
  const t0 = Date.now();
  await new Promise<void>((done, fail) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`dd into ${device} on ${node}: exit ${code}: ${stderr}`))));
    createReadStream(raw).pipe(child.stdin);
  });
  return Date.now() - t0;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  log(`bench:import: lab ${NAME} (prepared image), its site applied`);
  const labUp = await up({ name: NAME, nodes: 2, image: 'prepared', reuse: true });
  try {
    await apply(`${labUp.lab.dir}/site.yaml`);
    const dir = mkdtempSync(join(tmpdir(), 'hvcluster-bench-import-'));
    const raw = join(dir, 'imp.raw');
    const qcow2 = join(dir, 'imp.qcow2');
    must(['dd', 'if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${MIB / 2}`, 'status=none']);
    must(['truncate', '-s', `${MIB}M`, raw]);
    must(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    log(`bench:import: image ${MIB} MiB (${MIB / 2} MiB of data, the rest zeroes), qcow2 ${(Number(spawnSync('stat', ['-c', '%s', qcow2], { encoding: 'utf8' }).stdout) / 2 ** 20).toFixed(0)} MiB`);

    log('bench:import: apply with guest imp (its disk imported from the qcow2 image)');
    const made = await apply(siteWith(dir, qcow2, 'present'));
    const imported = made.evs.map((e) => (e.type === 'log' ? String(e.text) : '')).find((t) => t.startsWith('imported '));
    if (!imported) throw new Error('apply logged no import');
    const m = /in ([\d.]+) s \(([\d.]+) MiB\/s; ([^)]*)\), sha256 (\w+) read back from (\S+)/.exec(imported);
    if (!m) throw new Error(`unexpected import line: ${imported}`);
    const [, importS, importRate, split, , device] = m as unknown as [string, string, string, string, string, string];
    const step = made.evs.filter((e) => e.type === 'step-finished' && e.step === 'guests').map((e) => Number(e.durationMs));
    const node = String(made.evs.find((e) => e.type === 'change' && String(e.description).startsWith('import '))?.server ?? 'hv1');
    log(`  ${imported}`);

    log(`bench:import: the floor: dd of the raw image into ${device} on ${node}`);
    const promote = await sshExec(NAME, node, 'drbdadm primary imp-disk0');
    if (promote.code !== 0) throw new Error(`drbdadm primary imp-disk0 on ${node}: ${promote.stderr}`);
    let floorMs: number;
    try {
      floorMs = await ddFloor(raw, node, device);
    } finally {
      await sshExec(NAME, node, 'drbdadm secondary imp-disk0');
    }
    log(`  ${(floorMs / 1000).toFixed(1)} s (${mibs(MIB * 2 ** 20, floorMs)} MiB/s)`);

    log('bench:import: the guest removed (state: absent)');
    await apply(siteWith(dir, qcow2, 'absent'));

    const section = `${BEGIN}
## Import of a disk image (\`npm run bench:import\`)

Run on ${new Date().toISOString()} (took ${((Date.now() - t0) / 1000).toFixed(0)} s), ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}; lab ${NAME}
(two TCG VMs, prepared image, DRBD 8.4 Connected over the lab's replication bridge). The image: ${MIB} MiB, the first half random
data, the rest zeroes, as qcow2 on the installer's machine. Both copies go into the same DRBD device on ${node} (Primary, replicated
to its peer as it is written) over SSH from the lab host's namespace.

| how | time | throughput (image size / time) | what it does |
|---|---|---|---|
| apply's import | ${importS} s (guests step ${step.length ? `${(Math.max(...step) / 1000).toFixed(1)} s` : '-'}) | ${importRate} MiB/s | qcow2 read as raw by a local qemu-nbd, blocks to the node's qemu-nbd over the SSH connection, zero blocks skipped (${split}), then the whole device read back with O_DIRECT for its sha256 |
| the floor: \`dd\` | ${(floorMs / 1000).toFixed(1)} s | ${mibs(MIB * 2 ** 20, floorMs)} MiB/s | the raw image piped through \`ssh ${node} dd of=${device} bs=4M oflag=direct\`: every byte sent, no check |

On the lab both are bound by the emulated CPUs (SSH's cipher and DRBD's replication inside TCG); on real
servers the network and the disks set the pace. The import pays for its read-back (the sha256 of the
whole device) and gains on the zero half it does not send.
${END}`;
    log(section);
    const written = writeLabSection('import', section);
    if (written) log(`bench:import: written to ${written}`);
  } finally {
    if (process.env.BENCH_KEEP_LAB !== '1') await down(NAME).catch((e: Error) => log(`could not take ${NAME} down: ${e.message}`));
  }
}

main().catch((error: unknown) => {
  log(`bench:import failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
