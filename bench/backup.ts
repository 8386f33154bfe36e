/**
 * `npm run bench:backup`: how fast `hvcluster backup run` reads a guest's disk into the repository,
 * against the floor (reading the same kind of snapshot to /dev/null on the same node), what a first
 * and a second (unchanged) run store, and how fast `backup restore` writes a set back.
 *
 * Brings up (or reuses) a two-node lab "benchbk" with its witness, from the prepared image; the
 * witness serves the repository over NFS (test/helpers/backup-lab.ts), the lab's site is applied
 * with spec.backup and two guests that never boot (autostart false): `bk`, whose disk is an image of
 * BACKUP_MIB (default 128) MiB, the first half random data, the rest zeroes (a typical half-full
 * disk), and `bkr` of the same size, the restore's target. Then:
 *   - the floor: an LVM snapshot of bk's volume on the node whose copy the backup reads, `dd` of its
 *     DRBD data size to /dev/null with O_DIRECT, 4 MiB blocks, timed there, the snapshot removed;
 *   - `backup run bk` twice: each set's read bytes, stored bytes and borg's time for the disk;
 *   - `backup restore bk --as bkr`: the set written into bkr's DRBD device (sha256 checked), timed.
 * Writes its section of bench/results-lab.md (between the backup markers; BENCH_OUT, `-` to not
 * write). Takes the lab down at the end unless BENCH_KEEP_LAB=1. Root only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hvcluster } from '../test/helpers/hvcluster.js';
import { BACKUP_EXPORT, BACKUP_PASSPHRASE_ENV, backupYaml } from '../test/helpers/backup-lab.js';
import { down, readLab, sshExec, up } from '../test/lab/lab.js';
import { labSiteYaml } from '../test/lab/site.js';
import { sectionMarkers, writeLabSection } from './lab-section.js';

const NAME = 'benchbk';
const MIB = Number(process.env.BACKUP_MIB ?? 128);
const MIN = 60_000;
const { begin: BEGIN, end: END } = sectionMarkers('backup');
const log = (line: string) => process.stderr.write(`${line}\n`);
const rate = (bytes: number, s: number) => (s > 0 ? (bytes / 2 ** 20 / s).toFixed(1) : '-');

function must(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

async function on(node: string, command: string, timeoutMs = 10 * MIN): Promise<string> {
  const r = await sshExec(NAME, node, command, { timeoutMs });
  if (r.code !== 0) throw new Error(`${node}: ${command}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function cli(args: string[]): Promise<{ ms: number; doc: Record<string, unknown> }> {
  const t0 = Date.now();
  const r = await hvcluster(NAME, [...args, '--json'], { timeoutMs: 60 * MIN });
  if (r.code !== 0) throw new Error(`hvcluster ${args.join(' ')}: exit ${r.code}\n${r.stderr.slice(-3000)}`);
  // A day-after command prints one JSON document (indented); apply prints its events, a JSON object a line.
  const text = r.stdout.trim();
  const doc = text.startsWith('{\n') ? text : (text.split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
  return { ms: Date.now() - t0, doc: JSON.parse(doc) as Record<string, unknown> };
}

interface SetFigures {
  node: string;
  set: string;
  readBytes: number;
  storedBytes: number;
  seconds: number;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  process.env[BACKUP_PASSPHRASE_ENV] ??= 'bench passphrase, lab only';
  log(`bench:backup: lab ${NAME} (prepared image, witness)`);
  await up({ name: NAME, nodes: 2, image: 'prepared', witness: true, reuse: true });
  try {
    const lab = readLab(NAME);
    const witness = lab.witness!;
    const subnet = `${witness.management.address.replace(/\.\d+$/, '.0')}/24`;
    await on('witness', `set -e; mkdir -p ${BACKUP_EXPORT} /etc/exports.d; echo '${BACKUP_EXPORT} ${subnet}(rw,sync,no_root_squash,no_subtree_check)' > /etc/exports.d/hvbackup.exports; systemctl start nfs-server; exportfs -ra`);

    const dir = mkdtempSync(join(tmpdir(), 'hvcluster-bench-backup-'));
    const raw = join(dir, 'bk.raw');
    must(['dd', 'if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${MIB / 2}`, 'status=none']);
    must(['truncate', '-s', `${MIB}M`, raw]);
    const site = join(dir, 'site.yaml');
    writeFileSync(
      site,
      `${labSiteYaml(lab).trimEnd()}
  guests:
    - name: bk
      memory: 64MiB
      autostart: false
      disks:
        - image: ${raw}
    - name: bkr
      memory: 64MiB
      autostart: false
      preferredNode: hv2
      disks:
        - size: ${MIB}MiB
${backupYaml(witness.management.address, ['bk'])}`,
    );
    log(`bench:backup: apply (the cluster, the repository on the witness's export, guests bk with a ${MIB} MiB image of ${MIB / 2} MiB random data, and bkr)`);
    await cli(['apply', '-f', site, '--yes']);

    log('bench:backup: backup run bk, twice (the second with nothing changed)');
    const runs: SetFigures[] = [];
    for (let i = 0; i < 2; i++) {
      const { doc } = await cli(['backup', 'run', 'bk', '-f', site]);
      const set = (doc.sets as SetFigures[] | undefined)?.[0];
      if (!set) throw new Error(`backup run ${i + 1} stored no set: ${JSON.stringify(doc)}`);
      runs.push(set);
      log(`  run ${i + 1}: ${set.set} from ${set.node}: read ${set.readBytes} bytes in ${set.seconds.toFixed(1)} s (${rate(set.readBytes, set.seconds)} MiB/s), stored ${set.storedBytes}`);
    }
    const node = runs[0]!.node;

    log(`bench:backup: the floor: a snapshot of bk's volume on ${node} read to /dev/null`);
    const bytes = runs[0]!.readBytes;
    const floorS = Number(
      (
        await on(
          node,
          `set -e; lvcreate -qy -s -l 100%ORIGIN -n bk-disk0.benchfloor hvdata/bk-disk0 >/dev/null
s=$(date +%s.%N); dd if=/dev/hvdata/bk-disk0.benchfloor of=/dev/null bs=4M iflag=direct,count_bytes count=${bytes} status=none; e=$(date +%s.%N)
lvremove -qy hvdata/bk-disk0.benchfloor >/dev/null; awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'`,
        )
      ).trim(),
    );
    log(`  ${floorS.toFixed(1)} s (${rate(bytes, floorS)} MiB/s)`);

    log('bench:backup: backup restore bk --as bkr');
    const restored = await cli(['backup', 'restore', 'bk', '--as', 'bkr', '-f', site]);
    const restoreS = restored.ms / 1000;
    log(`  ${restoreS.toFixed(1)} s for the command (${rate(bytes, restoreS)} MiB/s), on ${String(restored.doc.node ?? '?')}`);

    const [r1, r2] = runs as [SetFigures, SetFigures];
    const pct = (n: number, of: number) => ((100 * n) / of).toFixed(3);
    const section = `${BEGIN}
## Backups (\`npm run bench:backup\`)

Run on ${new Date().toISOString()} (took ${((Date.now() - t0) / 1000).toFixed(0)} s), ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}; lab ${NAME}
(two TCG VMs and the witness, prepared image; the repository: borg 1.2, repokey-blake2, on the witness's NFS export).
The guest bk (never booted) has one disk imported from a ${MIB} MiB image, the first half random data, the rest zeroes.

| what | bytes read | time | throughput | stored in the repository |
|---|---|---|---|---|
| the floor: \`dd\` of an LVM snapshot of the disk to /dev/null on ${node} (O_DIRECT, 4 MiB) | ${bytes} | ${floorS.toFixed(1)} s | ${rate(bytes, floorS)} MiB/s | - |
| \`backup run bk\`, first run (borg's time for the disk) | ${r1.readBytes} | ${r1.seconds.toFixed(1)} s | ${rate(r1.readBytes, r1.seconds)} MiB/s | ${r1.storedBytes} (${pct(r1.storedBytes, r1.readBytes)} %) |
| \`backup run bk\`, second run, nothing changed | ${r2.readBytes} | ${r2.seconds.toFixed(1)} s | ${rate(r2.readBytes, r2.seconds)} MiB/s | ${r2.storedBytes} (${pct(r2.storedBytes, r2.readBytes)} %) |
| \`backup restore bk --as bkr\` (the whole command: reads, extract into bkr's DRBD device, zeroes past the data, sha256 of stream and device) | ${bytes} | ${restoreS.toFixed(1)} s | ${rate(bytes, restoreS)} MiB/s | - |

Every run reads the whole disk (no incremental chain to break); the second stores only what borg
cannot deduplicate (the set's metadata). The random half does not compress, the zero half costs
nothing to store. On the lab every figure is bound by the emulated CPU (borg's chunking, hashing,
compression and encryption run inside TCG); on real servers the disks and the NFS link set the pace.
${END}`;
    log(section);
    const written = writeLabSection('backup', section);
    if (written) log(`bench:backup: written to ${written}`);
  } finally {
    if (process.env.BENCH_KEEP_LAB !== '1') await down(NAME).catch((e: Error) => log(`could not take ${NAME} down: ${e.message}`));
  }
}

main().catch((error: unknown) => {
  log(`bench:backup failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
