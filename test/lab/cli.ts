// `npm run lab -- VERB ...`: the VM lab's command line.
import { spawn } from 'node:child_process';
import { Command, Option } from 'commander';
import { DEFAULT_NAME, type ImageKind } from './config.js';
import { ensureImage, pruneImages } from './image.js';
import {
  bmcKill, bmcStart, crashNode, dirtyDisk, down, findHost, labExec, pauseNode, poweroffNode, readLab, resumeNode, setNicLink, sshArgv, startNode, status, up,
} from './lab.js';
import { ensureHostTools } from './host.js';
import { deleteCheckpoint, listCheckpoints, restoreCheckpoint, saveCheckpoint } from './checkpoint.js';
import { fmtSecs } from './util.js';

function print(json: boolean, data: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : text());
}

/** Runs argv with inherited stdio and resolves with its exit code. */
function passthrough(argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`${e.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

const nameOpt = () => new Option('--name <name>', 'lab name').default(DEFAULT_NAME);

const program = new Command('lab')
  .description('hvcluster VM lab: Debian 12 VMs under QEMU in a private network namespace')
  .showHelpAfterError()
  .enablePositionalOptions();

program
  .command('image')
  .description('build (or confirm cached) the guest image(s)')
  .addOption(new Option('--image <kind>', 'which layer').choices(['base', 'prepared', 'all']).default('base'))
  .option('--prune', 'remove cached images of older recipes')
  .option('--json', 'JSON output')
  .action(async (o: { image: string; prune?: boolean; json?: boolean }) => {
    const kinds: ImageKind[] = o.image === 'all' ? ['base', 'prepared'] : [o.image as ImageKind];
    const res: Awaited<ReturnType<typeof ensureImage>>[] = [];
    for (const k of kinds) res.push(await ensureImage(k));
    const pruned = o.prune ? await pruneImages() : [];
    print(!!o.json, { images: res, pruned }, () =>
      res.map((r) => `${r.kind}: ${r.disk} (${r.built ? 'built' : 'cached'} in ${fmtSecs(r.ms)}; build timings ${Object.entries(r.timings).map(([k, v]) => `${k} ${fmtSecs(v)}`).join(', ')})\n`).join('') +
      pruned.map((p) => `pruned ${p}\n`).join(''));
  });

program
  .command('up')
  .description('bring up a lab (reuses it if it already runs with the same shape)')
  .addOption(nameOpt())
  .addOption(new Option('--nodes <n>', 'number of nodes').choices(['1', '2', '3']).default('2'))
  .addOption(new Option('--image <kind>', 'guest image').choices(['base', 'prepared']).default('base'))
  .option('--memory <mb>', 'memory per VM in MB', '1536')
  .option('--witness', 'add a witness VM running corosync-qnetd (for two-node HA)')
  .option('--recreate', 'take an existing lab of that name down first')
  .option('--json', 'print nodes.json content on stdout')
  .action(async (o: { name: string; nodes: string; image: ImageKind; memory: string; witness?: boolean; recreate?: boolean; json?: boolean }) => {
    const r = await up({ name: o.name, nodes: Number(o.nodes), image: o.image, memoryMb: Number(o.memory), reuse: !o.recreate, witness: !!o.witness });
    const l = r.lab;
    print(!!o.json, { ...l, reused: r.reused, timings: r.timings }, () =>
      `lab ${l.name} ${r.reused ? 'already up' : 'up'}: ${l.dir}\n` +
      `  namespace ${l.netns}, host address ${l.hostAddress}/${l.hostPrefix}, image ${l.image}\n` +
      l.nodes.map((n) => `  ${n.name}  ${n.management.address} (${n.management.nic})  ${n.replication.address} (${n.replication.nic})  ${n.dataDisk}  ${n.hostKeyFingerprint}\n` +
        `       BMC ${n.bmc.address}:${n.bmc.port} ipmi lanplus cipher ${n.bmc.cipher}, user ${n.bmc.user}, password in ${n.bmc.passwordFile}\n`).join('') +
      (l.witness ? `  ${l.witness.name}  ${l.witness.management.address} (${l.witness.management.nic})  corosync-qnetd on TCP ${l.witness.qnetd.port}  ${l.witness.hostKeyFingerprint}\n` : '') +
      `  BMC network ${l.bmcNetwork.subnet} on ${l.bmcNetwork.bridge}, routed by the nodes through ${l.bmcNetwork.via}\n` +
      (r.reused ? '' : `  wall time: image ${r.timings.imageBuilt ? 'built' : 'cached'} ${fmtSecs(r.timings.imageMs)}, boot to SSH ${fmtSecs(r.timings.bootMs)}, total ${fmtSecs(r.timings.totalMs)}\n`) +
      `  nodes.json: ${l.dir}/nodes.json\n  answer file: ${l.dir}/site.yaml (host keys pinned)\n` +
      `  try: npm run lab -- ssh 1 --name ${l.name} -- uname -a\n` +
      `       npm run lab -- exec --name ${l.name} -- node bin/hvcluster.js plan -f ${l.dir}/site.yaml\n`);
  });

program
  .command('down')
  .description('stop the lab VMs and remove its namespace and files (idempotent)')
  .addOption(nameOpt())
  .option('--json', 'JSON output')
  .action(async (o: { name: string; json?: boolean }) => {
    const r = await down(o.name);
    print(!!o.json, r, () => `lab ${r.name}: ${r.removedDir || r.removedNetns ? `down (stopped ${r.killed.length} VM(s))` : 'was not up'}\n`);
  });

program
  .command('status')
  .description('list labs and their VMs')
  .option('--json', 'JSON output')
  .action(async (o: { json?: boolean }) => {
    await ensureHostTools();
    const s = await status();
    print(!!o.json, s, () =>
      s.length === 0
        ? 'no labs\n'
        : s.map((l) =>
            `${l.name}  ${l.phase}  ${l.dir}  netns ${l.netns}${l.netnsExists ? '' : ' (missing)'}${l.hostAddress ? `  host ${l.hostAddress}` : ''}  image ${l.image ?? '?'}\n` +
            l.nodes.map((n) => `  ${n.name}  ${n.address}  ${n.state}${n.pid ? ` pid ${n.pid}` : ''}${n.bmc ? `  BMC ${n.bmc.address} ${n.bmc.state}${n.bmc.pid ? ` pid ${n.bmc.pid}` : ''}` : ''}\n`).join('')).join(''));
  });

program
  .command('ssh')
  .description('a shell on NODE (name, number or "witness"), or run one command there: ssh NODE -- CMD ARGS...')
  .argument('<node>')
  .argument('[command...]')
  .addOption(nameOpt())
  .action(async (node: string, command: string[], o: { name: string }) => {
    const lab = readLab(o.name);
    const n = findHost(lab, node);
    const tty = command.length === 0 && process.stdin.isTTY;
    process.exitCode = await passthrough(sshArgv(lab, n, command, { tty }));
  });

program
  .command('exec')
  .description('run a host command inside the lab namespace: exec -- CMD ARGS...')
  .argument('<command...>')
  .addOption(nameOpt())
  .action(async (command: string[], o: { name: string }) => {
    await ensureHostTools();
    const r = await labExec(o.name, command, { inherit: true });
    process.exitCode = r.code;
  });

for (const [verb, desc, fn] of [
  ['pause', 'freeze a node (SIGSTOP)', (n: string, node: string) => pauseNode(n, node)],
  ['resume', 'continue a paused node (SIGCONT)', (n: string, node: string) => resumeNode(n, node)],
  ['poweroff', 'kill a node\'s VM (pulled plug)', (n: string, node: string) => poweroffNode(n, node)],
  ['crash', 'crash a node hard: kill -9 of its QEMU by pidfile (its BMC can power it on)', (n: string, node: string) => crashNode(n, node)],
  ['bmc-kill', 'stop a node\'s BMC (its ipmi_sim); the VM keeps running', (n: string, node: string) => bmcKill(n, node)],
  ['bmc-start', 'start a node\'s BMC again', (n: string, node: string) => bmcStart(n, node)],
  ['start', 'boot a powered-off node again and wait for SSH', (n: string, node: string) => startNode(n, node)],
  ['dirty-disk', 'put an ext4 filesystem on a node\'s data disk', (n: string, node: string) => dirtyDisk(n, node)],
] as const) {
  program
    .command(verb)
    .description(desc)
    .argument('<node>')
    .addOption(nameOpt())
    .action(async (node: string, o: { name: string }) => {
      await ensureHostTools();
      await fn(o.name, node);
      process.stdout.write(`${verb} ${node}: done\n`);
    });
}

program
  .command('link')
  .description("pull or plug back the cable of a node's NIC (QMP set_link): the node sees its carrier go, as on a real server")
  .argument('<node>')
  .argument('<nic>', 'management or replication')
  .argument('<state>', 'down or up')
  .addOption(nameOpt())
  .action(async (node: string, nic: string, state: string, o: { name: string }) => {
    if (nic !== 'management' && nic !== 'replication') throw new Error(`link: NIC must be management or replication, not ${nic}`);
    if (state !== 'down' && state !== 'up') throw new Error(`link: state must be down or up, not ${state}`);
    await setNicLink(o.name, node, nic, state === 'up');
    process.stdout.write(`link ${node} ${nic} ${state}: done\n`);
  });

const checkpoint = program
  .command('checkpoint')
  .description('save, load (restore), list or delete a checkpoint of every VM of a lab (QEMU internal snapshots: RAM and disks at one instant)');

checkpoint
  .command('save')
  .description('stop every VM, snapshot each (RAM, system and data disks), continue them (replaces an older checkpoint TAG)')
  .argument('<tag>')
  .addOption(nameOpt())
  .option('--json', 'JSON output')
  .action(async (tag: string, o: { name: string; json?: boolean }) => {
    await ensureHostTools();
    const r = await saveCheckpoint(o.name, tag);
    print(!!o.json, r, () => `checkpoint ${r.tag} of lab ${o.name} saved at ${r.savedAt}: VMs stopped ${fmtSecs(r.pausedMs)} (${r.vms.map((v) => `${v.vm} ${fmtSecs(v.ms)}`).join(', ')}), total ${fmtSecs(r.totalMs)}\n`);
  });

checkpoint
  .command('load')
  .description('bring every VM back to checkpoint TAG (a crashed or powered-off VM is started from it), restart the BMCs that ran then, set the guests\' clocks, wait for SSH')
  .argument('<tag>')
  .addOption(nameOpt())
  .option('--json', 'JSON output')
  .action(async (tag: string, o: { name: string; json?: boolean }) => {
    await ensureHostTools();
    const r = await restoreCheckpoint(o.name, tag);
    print(!!o.json, r, () =>
      `checkpoint ${r.tag} of lab ${o.name} restored in ${fmtSecs(r.totalMs)}: VMs back after ${fmtSecs(r.loadMs)}, clocks set and SSH after ${fmtSecs(r.sshMs)} more\n` +
      r.vms.map((v) => `  ${v.vm}  ${v.action === 'start' ? 'started from the checkpoint' : 'loaded'} in ${fmtSecs(v.ms)}, clock ${v.clockSkewMs ?? '?'} ms from the host's\n`).join('') +
      (r.bmcsStarted.length ? `  BMC(s) started again: ${r.bmcsStarted.join(', ')}\n` : ''));
  });

checkpoint
  .command('list')
  .description('the lab\'s checkpoints and which VMs have each')
  .addOption(nameOpt())
  .option('--json', 'JSON output')
  .action(async (o: { name: string; json?: boolean }) => {
    await ensureHostTools();
    const r = await listCheckpoints(o.name);
    print(!!o.json, r, () =>
      r.length === 0 ? `lab ${o.name}: no checkpoints\n` :
        r.map((c) => `${c.tag}  ${c.savedAt ?? '(saved at: unknown)'}  ${c.vms.join(', ')}${c.missing.length ? `  MISSING on ${c.missing.join(', ')}` : ''}\n`).join(''));
  });

checkpoint
  .command('delete')
  .description('delete checkpoint TAG from every VM of the lab')
  .argument('<tag>')
  .addOption(nameOpt())
  .option('--json', 'JSON output')
  .action(async (tag: string, o: { name: string; json?: boolean }) => {
    await ensureHostTools();
    const r = await deleteCheckpoint(o.name, tag);
    print(!!o.json, r, () => `checkpoint ${r.tag} of lab ${o.name}: deleted from ${r.vms.length ? r.vms.join(', ') : 'no VM (there was none)'}\n`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`lab: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
