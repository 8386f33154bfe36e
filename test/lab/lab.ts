// Lab lifecycle: up, down, status, ssh/exec, and the fault knobs. Exported for tests and the CLI.
import { appendFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { qmpCommand } from './qmp.js';
import { writeLabSite } from './site.js';
import { tmpdir } from 'node:os';
import {
  BMC_BRIDGE, BMC_PREFIX, DATA_DISK_BYTES, DEFAULT_MEMORY_MB, DEFAULT_NAME, LAB_ROOT, MAX_LABS, MGMT_NIC, QNETD_PORT, REPL_NIC,
  SSH_DEADLINE_MS, WITNESS_MEMORY_MB, WITNESS_NAME, WITNESS_OCTET, bmcAddr, bmcHostAddr, bmcSubnet, dataSerial, hostAddr, labDir,
  macAddr, mgmtAddr, netnsName, nodeName, replAddr, validateName, witnessAddr,
  type ImageKind,
} from './config.js';
import { startNtp, stopNtp } from './ntp.js';
import { bmcInfo, bmcPasswordFile, bmcPid, ensureBmcPassword, findLabBmcs, startBmc, stopBmc, type LabBmc } from './bmc.js';
import { ensureHostTools } from './host.js';
import { ensureImage, ensureLabKey } from './image.js';
import { createNetwork, deleteNetwork, listLabNetns, netnsExists } from './network.js';
import { createDisks, findLabQemus, killAndWait, signalVm, startVm, stopVm, vmFiles, vmPid, vmState } from './vm.js';
import { fmtSecs, log, pidAlive, readPidFile, run, sleep, type RunResult } from './util.js';

export interface LabNic {
  nic: string;
  address: string;
  prefix: number;
  mac: string;
}

/** A VM of the lab reachable over SSH: a node or the witness. */
export interface LabSshTarget {
  name: string;
  management: LabNic;
  sshPort: number;
  user: string;
  key: string;
  /** SHA256 fingerprint of the VM's ED25519 host key, as `ssh-keygen -l` prints it ("SHA256:..."). */
  hostKeyFingerprint: string;
  /** Every host key type with its fingerprint. */
  hostKeys: Array<{ type: string; fingerprint: string; bits: number }>;
  dir: string;
  pidFile: string;
  console: string;
}

export interface LabNode extends LabSshTarget {
  /** 1-based node number */
  index: number;
  replication: LabNic;
  /** The node's simulated BMC (ipmi_sim on the lab host, on the BMC network). */
  bmc: LabBmc;
  dataDisk: string;
  dataDiskSerial: string;
  dataDiskBytes: number;
}

/** The witness VM (`up --witness`): corosync-qnetd listening on the management network. */
export interface LabWitness extends LabSshTarget {
  qnetd: { address: string; port: number };
}

export interface LabInfo {
  name: string;
  dir: string;
  netns: string;
  /** The host's address inside the namespace, on the management bridge (what the nodes see as the installer). */
  hostAddress: string;
  hostPrefix: number;
  /** The host's address on the replication bridge. */
  hostReplicationAddress: string;
  image: ImageKind;
  imageHash: string;
  memoryMb: number;
  user: string;
  key: string;
  knownHosts: string;
  createdAt: string;
  nodes: LabNode[];
  /** The BMC network on the lab host's side; the nodes route to it through hostAddress. */
  bmcNetwork: { bridge: string; subnet: string; hostAddress: string; prefix: number; via: string };
  /** Present with `up --witness`. */
  witness?: LabWitness;
}

/** lab.json: written before anything is created, so `down` can clean up after a killed `up`. */
interface LabState {
  name: string;
  index: number;
  nodes: number;
  image: ImageKind;
  imageHash: string;
  memoryMb: number;
  netns: string;
  createdAt: string;
  phase: 'creating' | 'booting' | 'ready';
  witness?: boolean;
}

export interface UpOptions {
  name?: string;
  nodes?: number;
  image?: ImageKind;
  memoryMb?: number;
  /** Reuse a healthy running lab of that name and shape instead of recreating it (default true). */
  reuse?: boolean;
  /** Add the witness VM (prepared image, corosync-qnetd running) for two-node HA. */
  witness?: boolean;
}

export interface UpResult {
  lab: LabInfo;
  reused: boolean;
  timings: { imageMs: number; imageBuilt: boolean; bootMs: number; totalMs: number };
}

const statePath = (dir: string) => join(dir, 'lab.json');
const nodesPath = (dir: string) => join(dir, 'nodes.json');

function readState(name: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(labDir(name)), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

function writeState(st: LabState): void {
  writeFileSync(statePath(labDir(st.name)), JSON.stringify(st, null, 2) + '\n');
}

/** Typed view of a lab's nodes.json; throws if the lab is not up. */
export function readLab(name: string = DEFAULT_NAME): LabInfo {
  const p = nodesPath(labDir(validateName(name)));
  if (!existsSync(p)) throw new Error(`lab "${name}" is not up (no ${p}); run: npm run lab -- up --name ${name}`);
  return JSON.parse(readFileSync(p, 'utf8')) as LabInfo;
}

/**
 * Runs WORK holding the host-wide lock LOCK (a file under LAB_ROOT holding the owner's PID; a dead
 * owner's lock is taken over). Labs may run side by side (a developer's, a test run's); some things
 * they do one at a time: picking a subnet index, and booting (six emulated VMs booting at once on two
 * cores took 2.5 times as long as two labs one after the other, and brushed the SSH deadline).
 */
export async function withHostLock<T>(lock: string, waiting: string | null, work: () => Promise<T>): Promise<T> {
  const release = await acquireHostLock(lock, waiting);
  try {
    return await work();
  } finally {
    release();
  }
}

let lockSeq = 0;

/** Takes the host-wide lock LOCK (see withHostLock), saying once what it waits for; returns its release. */
async function acquireHostLock(lock: string, waiting: string | null): Promise<() => void> {
  mkdirSync(LAB_ROOT, { recursive: true });
  const file = join(LAB_ROOT, lock);
  const t0 = Date.now();
  let said = false;
  // The lock appears with its owner's PID already in it (a hard link of a written file), so a
  // waiter never reads an empty lock and takes it for a dead owner's.
  const mine = `${file}.${process.pid}.${++lockSeq}`;
  writeFileSync(mine, String(process.pid));
  for (;;) {
    try {
      linkSync(mine, file);
      rmSync(mine, { force: true });
      break;
    } catch {
      const owner = readPidFile(file);
      if (owner === undefined || !pidAlive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (waiting !== null && !said) {
        log(`${waiting} (PID ${owner} holds ${file})`);
        said = true;
      }
      await sleep(waiting === null ? 100 : 1000);
    }
  }
  if (said) log(`${waiting}: waited ${fmtSecs(Date.now() - t0)}`);
  return () => rmSync(file, { force: true });
}

/** Picks the lowest free subnet index (198.18.N.0/24) under a lock and reserves it with lab.json. */
async function allocate(name: string, st: Omit<LabState, 'index'>): Promise<LabState> {
  return withHostLock('.alloc.lock', null, async () => {
    const used = new Set<number>();
    for (const other of readdirSync(LAB_ROOT)) {
      if (other === name) continue;
      const o = readState(other);
      if (o) used.add(o.index);
    }
    let index = 1;
    while (used.has(index)) index++;
    if (index > MAX_LABS) throw new Error(`too many labs (${MAX_LABS}); take some down: npm run lab -- status`);
    const full: LabState = { ...st, index };
    mkdirSync(labDir(name), { recursive: true });
    writeState(full);
    return full;
  });
}

function nodeDir(name: string, i: number): string {
  return join(labDir(name), nodeName(i));
}

function witnessDir(name: string): string {
  return join(labDir(name), WITNESS_NAME);
}

/** Directories of a lab that hold a VM. */
const VM_DIR_RE = new RegExp(`^(hv\\d+|${WITNESS_NAME})$`);

function consoleTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no console log)';
  }
}

/** ssh argv (system client inside the lab's namespace, lab key, lab known_hosts, strict checking). */
export function sshArgv(lab: LabInfo, node: LabSshTarget, command: string[] = [], opts: { tty?: boolean } = {}): string[] {
  return [
    'ip', 'netns', 'exec', lab.netns,
    'ssh', '-F', '/dev/null', '-i', node.key, '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
    '-o', 'ServerAliveInterval=15',
    ...(opts.tty ? ['-t'] : []),
    '-p', String(node.sshPort), `${node.user}@${node.management.address}`,
    ...command,
  ];
}

/** Resolves "hv2", "2" or 2 to a node of the lab. */
export function findNode(lab: LabInfo, node: string | number): LabNode {
  const n = lab.nodes.find((x) => x.name === String(node) || String(x.index) === String(node));
  if (!n) throw new Error(`no node "${node}" in lab ${lab.name} (nodes: ${lab.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

/** A node ("hv2", "2") or the witness ("witness"). */
export function findHost(lab: LabInfo, host: string | number): LabSshTarget {
  if (String(host) === WITNESS_NAME) {
    if (!lab.witness) throw new Error(`lab ${lab.name} has no witness (up --witness)`);
    return lab.witness;
  }
  return findNode(lab, host);
}

/** Runs a shell command line on a node (or the witness) over SSH; resolves with its exit code and output (never throws on exit code). */
export async function sshExec(name: string, node: string | number, command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const lab = readLab(name);
  return run(sshArgv(lab, findHost(lab, node), [command]), { allowFail: true, timeoutMs: opts.timeoutMs ?? 10 * 60_000, input: opts.input });
}

/** Runs a host command inside the lab's namespace (stdio inherited when inherit). */
export async function labExec(name: string, argv: string[], opts: { inherit?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
  const st = readState(validateName(name));
  if (!st) throw new Error(`lab "${name}" does not exist`);
  return run(['ip', 'netns', 'exec', st.netns, ...argv], { allowFail: true, inherit: opts.inherit, timeoutMs: opts.timeoutMs });
}

interface ScannedKey {
  type: string;
  line: string; // "addr type base64"
}

async function keyscan(ns: string, addr: string): Promise<ScannedKey[]> {
  const r = await run(['ip', 'netns', 'exec', ns, 'ssh-keyscan', '-T', '3', '-t', 'ed25519,ecdsa,rsa', addr], { allowFail: true, timeoutMs: 20_000 });
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ type: l.split(' ')[1] ?? '', line: l.trim() }))
    .filter((k) => k.type);
}

async function fingerprints(lines: string[]): Promise<Array<{ type: string; fingerprint: string; bits: number }>> {
  const tmp = join(tmpdir(), `hvlab-keys-${process.pid}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(tmp, lines.join('\n') + '\n');
  let r: RunResult;
  try {
    r = await run(['ssh-keygen', '-l', '-E', 'sha256', '-f', tmp]);
  } finally {
    rmSync(tmp, { force: true });
  }
  // "256 SHA256:abc... 198.18.1.1 (ED25519)"
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^(\d+)\s+(SHA256:\S+)\s+.*\((\w+)\)\s*$/.exec(l.trim());
      return m ? { bits: Number(m[1]), fingerprint: m[2] ?? '', type: (m[3] ?? '').toLowerCase() } : undefined;
    })
    .filter((x): x is { type: string; fingerprint: string; bits: number } => !!x);
}

/** Waits until the node's sshd answers, records its host keys, and checks a strict login works. */
async function waitForNode(st: LabState, i: number | 'witness', deadline: number): Promise<{ keys: ScannedKey[]; fps: Array<{ type: string; fingerprint: string; bits: number }> }> {
  const dir = i === 'witness' ? witnessDir(st.name) : nodeDir(st.name, i);
  const addr = i === 'witness' ? witnessAddr(st.index) : mgmtAddr(st.index, i);
  const label = i === 'witness' ? WITNESS_NAME : nodeName(i);
  let keys: ScannedKey[] = [];
  for (;;) {
    if (!vmPid(dir)) throw new Error(`${label}: QEMU exited while booting`);
    keys = await keyscan(st.netns, addr);
    if (keys.some((k) => k.type === 'ssh-ed25519')) break;
    if (Date.now() > deadline) throw new Error(`${label}: no SSH answer from ${addr} within ${fmtSecs(SSH_DEADLINE_MS)}`);
    await sleep(2000);
  }
  const fps = await fingerprints(keys.map((k) => k.line));
  // Cross-check with what the VM printed on its own console (the out-of-band channel).
  // Lines can be interleaved with systemd's status output, so only complete lines of the same key type count.
  const consoleFps = [...readFileSync(vmFiles(dir).console, 'utf8').matchAll(/hvlab-hostkey: \d+ (SHA256:[A-Za-z0-9+/=]+) \S+ \((\w+)\)/g)]
    .map((m) => ({ fingerprint: m[1] ?? '', type: (m[2] ?? '').toLowerCase() }));
  for (const f of fps) {
    const c = consoleFps.filter((x) => x.type === f.type);
    if (c.length > 0 && !c.some((x) => x.fingerprint === f.fingerprint)) {
      throw new Error(`${label}: ${f.type} host key ${f.fingerprint} from ssh-keyscan is not the one on the VM console (${c.map((x) => x.fingerprint).join(', ')})`);
    }
  }
  return { keys, fps };
}

type Scanned = { keys: ScannedKey[]; fps: Array<{ type: string; fingerprint: string; bits: number }> };

function buildInfo(st: LabState, key: string, perNode: Map<number | 'witness', Scanned>): LabInfo {
  const dir = labDir(st.name);
  const nodes: LabNode[] = [];
  for (let i = 1; i <= st.nodes; i++) {
    const nd = nodeDir(st.name, i);
    const f = vmFiles(nd);
    const fps = perNode.get(i)?.fps ?? [];
    nodes.push({
      name: nodeName(i),
      index: i,
      management: { nic: MGMT_NIC, address: mgmtAddr(st.index, i), prefix: 24, mac: macAddr(st.index, i, 'm') },
      replication: { nic: REPL_NIC, address: replAddr(st.index, i), prefix: 24, mac: macAddr(st.index, i, 'r') },
      sshPort: 22,
      user: 'root',
      key,
      hostKeyFingerprint: fps.find((x) => x.type === 'ed25519')?.fingerprint ?? '',
      hostKeys: fps,
      bmc: bmcInfo(dir, nd, bmcAddr(st.index, i)),
      dataDisk: `/dev/disk/by-id/virtio-${dataSerial(st.name, i)}`,
      dataDiskSerial: dataSerial(st.name, i),
      dataDiskBytes: DATA_DISK_BYTES,
      dir: nd,
      pidFile: f.pidfile,
      console: f.console,
    });
  }
  let witness: LabWitness | undefined;
  if (st.witness) {
    const wd = witnessDir(st.name);
    const f = vmFiles(wd);
    const fps = perNode.get('witness')?.fps ?? [];
    const address = witnessAddr(st.index);
    witness = {
      name: WITNESS_NAME,
      management: { nic: MGMT_NIC, address, prefix: 24, mac: macAddr(st.index, WITNESS_OCTET, 'm') },
      sshPort: 22,
      user: 'root',
      key,
      hostKeyFingerprint: fps.find((x) => x.type === 'ed25519')?.fingerprint ?? '',
      hostKeys: fps,
      dir: wd,
      pidFile: f.pidfile,
      console: f.console,
      qnetd: { address, port: QNETD_PORT },
    };
  }
  return {
    name: st.name,
    dir,
    netns: st.netns,
    hostAddress: hostAddr(st.index),
    hostPrefix: 24,
    hostReplicationAddress: `198.19.${st.index}.254`,
    image: st.image,
    imageHash: st.imageHash,
    memoryMb: st.memoryMb,
    user: 'root',
    key,
    knownHosts: join(dir, 'known_hosts'),
    createdAt: st.createdAt,
    nodes,
    bmcNetwork: { bridge: BMC_BRIDGE, subnet: bmcSubnet(st.index), hostAddress: bmcHostAddr(st.index), prefix: BMC_PREFIX, via: hostAddr(st.index) },
    ...(witness ? { witness } : {}),
  };
}

/** True if every VM of the lab runs and nodes.json exists. */
export function labHealthy(name: string): boolean {
  const st = readState(name);
  if (!st || st.phase !== 'ready' || !existsSync(nodesPath(labDir(name)))) return false;
  // A lab made before the lab had BMCs (no BMC network, no password) is recreated, not reused.
  if (!existsSync(bmcPasswordFile(labDir(name)))) return false;
  for (let i = 1; i <= st.nodes; i++) if (!vmPid(nodeDir(name, i))) return false;
  // A lab made before the data disks were qcow2 (data.img, raw) cannot be checkpointed: recreated.
  for (let i = 1; i <= st.nodes; i++) if (!existsSync(vmFiles(nodeDir(name, i)).data)) return false;
  if (st.witness && !vmPid(witnessDir(name))) return false;
  return true;
}

function bmcSpec(st: LabState, i: number) {
  return { labDir: labDir(st.name), nodeDir: nodeDir(st.name, i), netns: st.netns, name: nodeName(i), address: bmcAddr(st.index, i) };
}

/** Starts every node's BMC that does not run (ipmi_sim on the lab host). */
async function startBmcs(st: LabState): Promise<void> {
  for (let i = 1; i <= st.nodes; i++) {
    const wasUp = bmcPid(nodeDir(st.name, i));
    const pid = await startBmc(bmcSpec(st, i));
    if (!wasUp) log(`${nodeName(i)}: BMC ${bmcAddr(st.index, i)}:623 (ipmi_sim PID ${pid})`);
  }
}

export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const t0 = Date.now();
  const name = validateName(opts.name ?? DEFAULT_NAME);
  const nodes = opts.nodes ?? 2;
  if (![1, 2, 3].includes(nodes)) throw new Error('--nodes must be 1, 2 or 3');
  const kind: ImageKind = opts.image ?? 'base';
  const memoryMb = opts.memoryMb ?? DEFAULT_MEMORY_MB;
  const withWitness = opts.witness ?? false;
  await ensureHostTools();

  const existing = readState(name);
  if (existing) {
    if ((opts.reuse ?? true) && labHealthy(name) && existing.nodes === nodes && existing.image === kind && !!existing.witness === withWitness) {
      log(`lab ${name} is already up (${labDir(name)}); reusing it`);
      await startBmcs(existing);
      await startNtp(labDir(name), existing.netns, hostAddr(existing.index));
      return { lab: readLab(name), reused: true, timings: { imageMs: 0, imageBuilt: false, bootMs: 0, totalMs: Date.now() - t0 } };
    }
    log(`lab ${name} exists but is ${labHealthy(name) ? 'of another shape' : 'not healthy'}: taking it down first`);
    await down(name);
  } else if (await netnsExists(netnsName(name))) {
    await down(name);
  }

  const img = await ensureImage(kind);
  // The witness runs the prepared image (corosync-qnetd installed) whatever the nodes run.
  const witnessImg = withWitness ? (kind === 'prepared' ? img : await ensureImage('prepared')) : undefined;
  const { key } = await ensureLabKey();
  const st = await allocate(name, {
    name, nodes, image: kind, imageHash: img.hash, memoryMb, netns: netnsName(name),
    createdAt: new Date().toISOString(), phase: 'creating', witness: withWitness,
  });
  const dir = labDir(name);
  log(`lab ${name}: ${nodes} node(s)${withWitness ? ' + witness' : ''}, image ${kind}, namespace ${st.netns}, management 198.18.${st.index}.0/24, replication 198.19.${st.index}.0/24, BMCs ${bmcSubnet(st.index)}`);
  log(`lab directory: ${dir}`);
  // On failure the lab is left as it is for inspection; `down` removes it.
  await createNetwork(st.netns, st.index, nodes, { witness: withWitness });
  for (let i = 1; i <= nodes; i++) {
    const nd = nodeDir(name, i);
    mkdirSync(nd, { recursive: true });
    await createDisks(nd, img.disk, DATA_DISK_BYTES);
  }
  if (witnessImg) {
    mkdirSync(witnessDir(name), { recursive: true });
    await createDisks(witnessDir(name), witnessImg.disk, 0);
  }
  ensureBmcPassword(dir);
  // One lab boots at a time on this host (another run's or a developer's lab may be booting).
  const releaseBoot = await acquireHostLock('.boot.lock', `lab ${name}: waiting for another lab to finish booting`);
  try {
    return await bootLab(name, st, { nodes, memoryMb, img, witnessImg, key, t0 });
  } finally {
    releaseBoot();
  }
}

/** Starts the BMCs, the time source and the VMs of a lab whose disks and network exist, and waits until each answers SSH. */
async function bootLab(
  name: string,
  st: LabState,
  o: { nodes: number; memoryMb: number; img: Awaited<ReturnType<typeof ensureImage>>; witnessImg: Awaited<ReturnType<typeof ensureImage>> | undefined; key: string; t0: number },
): Promise<UpResult> {
  const { nodes, memoryMb, img, witnessImg, key, t0 } = o;
  const withWitness = witnessImg !== undefined;
  const dir = labDir(name);
  const tBoot = Date.now();
  writeState({ ...st, phase: 'booting' });
  // The BMCs first: a server's BMC runs before (and whatever) the server does. The time source too.
  await startBmcs(st);
  await startNtp(dir, st.netns, hostAddr(st.index));
  for (let i = 1; i <= nodes; i++) {
    const pid = await startVm({
      lab: name, index: st.index, node: i, netns: st.netns, dir: nodeDir(name, i),
      memoryMb, kernel: img.kernel, initrd: img.initrd,
    });
    log(`${nodeName(i)}: QEMU PID ${pid}`);
  }
  if (witnessImg) {
    const pid = await startVm({
      lab: name, index: st.index, node: 'witness', netns: st.netns, dir: witnessDir(name),
      memoryMb: WITNESS_MEMORY_MB, kernel: witnessImg.kernel, initrd: witnessImg.initrd,
    });
    log(`${WITNESS_NAME}: QEMU PID ${pid}`);
  }
  const vms: Array<number | 'witness'> = [...Array.from({ length: nodes }, (_, k) => k + 1), ...(withWitness ? ['witness' as const] : [])];
  const label = (i: number | 'witness') => (i === 'witness' ? WITNESS_NAME : nodeName(i));
  const vmDir = (i: number | 'witness') => (i === 'witness' ? witnessDir(name) : nodeDir(name, i));
  const deadline = Date.now() + SSH_DEADLINE_MS;
  const results = await Promise.allSettled(
    vms.map((i) => waitForNode(st, i, deadline).then((r) => {
      log(`${label(i)}: SSH up after ${fmtSecs(Date.now() - tBoot)}`);
      return r;
    })),
  );
  const failed = results.flatMap((r, k) => (r.status === 'rejected' ? [{ i: vms[k]!, err: r.reason as Error }] : []));
  if (failed.length > 0) {
    for (const f of failed) {
      process.stderr.write(`\n--- ${label(f.i)}: ${f.err.message}\n--- console tail (${vmFiles(vmDir(f.i)).console}):\n${consoleTail(vmFiles(vmDir(f.i)).console)}\n`);
    }
    throw new Error(`lab ${name}: ${failed.length} VM(s) did not come up; the lab is left as is for inspection: npm run lab -- down --name ${name}`);
  }
  const perNode = new Map<number | 'witness', Scanned>();
  const known: string[] = [];
  results.forEach((r, k) => {
    if (r.status !== 'fulfilled') return;
    const i = vms[k]!;
    perNode.set(i, r.value);
    for (const kl of r.value.keys) {
      const [addr, ...rest] = kl.line.split(' ');
      known.push(`${addr},${label(i)} ${rest.join(' ')}`);
    }
  });
  writeFileSync(join(dir, 'known_hosts'), known.join('\n') + '\n', { mode: 0o644 });
  const info = buildInfo(st, key, perNode);
  // A strict login (known_hosts + key) must work before the lab counts as up.
  for (const n of [...info.nodes, ...(info.witness ? [info.witness] : [])]) {
    const r = await run(sshArgv(info, n, ['true']), { allowFail: true, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${n.name}: strict SSH login failed: ${r.stderr.trim()}`);
  }
  if (info.witness) await startQnetd(info, info.witness);
  writeFileSync(nodesPath(dir), JSON.stringify(info, null, 2) + '\n');
  writeLabSite(info);
  writeState({ ...st, phase: 'ready' });
  const bootMs = Date.now() - tBoot;
  log(`lab ${name} up: boot to SSH ${fmtSecs(bootMs)}, total ${fmtSecs(Date.now() - t0)} (image ${img.built ? 'built' : 'cached'} ${fmtSecs(img.ms)})`);
  appendFileSync(join(dir, 'timings.log'), `${new Date().toISOString()} up nodes=${nodes} witness=${withWitness} image=${st.image} imageMs=${img.ms} built=${img.built} bootMs=${bootMs}\n`);
  return { lab: info, reused: false, timings: { imageMs: img.ms, imageBuilt: img.built, bootMs, totalMs: Date.now() - t0 } };
}

/** Enables and starts corosync-qnetd on the witness (disabled in the image) and waits until it listens. */
async function startQnetd(lab: LabInfo, w: LabWitness): Promise<void> {
  const t = Date.now();
  const r = await run(sshArgv(lab, w, ['systemctl enable --now corosync-qnetd.service']), { allowFail: true, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${w.name}: cannot start corosync-qnetd: ${(r.stderr || r.stdout).trim()}; see: npm run lab -- ssh ${w.name} --name ${lab.name} -- journalctl -u corosync-qnetd`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const l = await run(sshArgv(lab, w, [`ss -H -ltn 'sport = :${w.qnetd.port}'`]), { allowFail: true, timeoutMs: 30_000 });
    if (l.code === 0 && l.stdout.trim() !== '') break;
    if (Date.now() > deadline) throw new Error(`${w.name}: corosync-qnetd does not listen on TCP ${w.qnetd.port} after 60 s`);
    await sleep(1000);
  }
  log(`${w.name}: corosync-qnetd listening on ${w.qnetd.address}:${w.qnetd.port} (${fmtSecs(Date.now() - t)})`);
}

export interface DownResult {
  name: string;
  killed: number[];
  /** ipmi_sim PIDs stopped. */
  bmcsStopped: number[];
  removedNetns: boolean;
  removedDir: boolean;
}

/** Stops the lab's VMs (verified PIDs only), removes its namespace (bridges, taps) and directory. Idempotent. */
export async function down(name: string = DEFAULT_NAME): Promise<DownResult> {
  validateName(name);
  await ensureHostTools();
  const dir = labDir(name);
  const killed: number[] = [];
  const bmcsStopped: number[] = [];
  // BMCs first, so that none powers a VM on again while the lab goes down.
  if (existsSync(dir)) {
    for (const e of readdirSync(dir)) {
      if (!/^hv\d+$/.test(e)) continue;
      const pid = await stopBmc(join(dir, e));
      if (pid) bmcsStopped.push(pid);
    }
  }
  // An ipmi_sim whose pidfile got lost: found by its -c argument inside this lab dir.
  for (const pid of findLabBmcs(dir)) {
    await killAndWait(pid, 'SIGTERM', 5_000);
    bmcsStopped.push(pid);
  }
  const ntpStopped = await stopNtp(dir);
  if (existsSync(dir)) {
    for (const e of readdirSync(dir)) {
      if (!VM_DIR_RE.test(e)) continue;
      const pid = vmPid(join(dir, e));
      if (pid && (await stopVm(join(dir, e)))) killed.push(pid);
    }
  }
  // A QEMU whose pidfile got lost (a killed `up`, a removed lab dir): found by its -pidfile argument inside this lab dir.
  for (const pid of findLabQemus(dir)) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {}
    await killAndWait(pid, 'SIGTERM');
    killed.push(pid);
  }
  const ns = netnsName(name);
  const hadNs = await netnsExists(ns);
  await deleteNetwork(ns);
  const hadDir = existsSync(dir);
  rmSync(dir, { recursive: true, force: true });
  if (hadNs || hadDir) log(`lab ${name} down (stopped ${killed.length} VM(s), ${bmcsStopped.length} BMC(s)${ntpStopped.length ? ', the NTP server' : ''}${hadNs ? ', removed ' + ns : ''})`);
  return { name, killed, bmcsStopped, removedNetns: hadNs, removedDir: hadDir };
}

export interface LabStatus {
  name: string;
  dir: string;
  netns: string;
  netnsExists: boolean;
  phase: string;
  image?: string;
  hostAddress?: string;
  nodes: Array<{ name: string; address?: string; state: 'running' | 'paused' | 'stopped'; pid?: number; bmc?: { address: string; state: 'running' | 'stopped'; pid?: number } }>;
}

export async function status(): Promise<LabStatus[]> {
  const out: LabStatus[] = [];
  const seen = new Set<string>();
  const nsList = await listLabNetns();
  if (existsSync(LAB_ROOT)) {
    for (const name of readdirSync(LAB_ROOT).sort()) {
      const st = readState(name);
      if (!st) continue;
      seen.add(name);
      const nodes: LabStatus['nodes'] = [];
      for (let i = 1; i <= st.nodes; i++) {
        const nd = nodeDir(name, i);
        const bp = bmcPid(nd);
        nodes.push({
          name: nodeName(i), address: mgmtAddr(st.index, i), state: vmState(nd), pid: vmPid(nd),
          bmc: { address: bmcAddr(st.index, i), state: bp ? 'running' : 'stopped', pid: bp },
        });
      }
      if (st.witness) {
        const wd = witnessDir(name);
        nodes.push({ name: WITNESS_NAME, address: witnessAddr(st.index), state: vmState(wd), pid: vmPid(wd) });
      }
      out.push({
        name, dir: labDir(name), netns: st.netns, netnsExists: nsList.includes(st.netns), phase: st.phase,
        image: st.image, hostAddress: hostAddr(st.index), nodes,
      });
    }
  }
  for (const ns of nsList) {
    const name = ns.slice('hvlab-'.length);
    if (!seen.has(name)) out.push({ name, dir: labDir(name), netns: ns, netnsExists: true, phase: 'orphaned (run down)', nodes: [] });
  }
  return out;
}

// ---- fault knobs -------------------------------------------------------------------------------

function dirOf(name: string, node: string | number): string {
  const st = readState(validateName(name));
  if (!st) throw new Error(`lab "${name}" does not exist`);
  const m = /^(?:hv)?(\d)$/.exec(String(node));
  const i = m ? Number(m[1]) : NaN;
  if (!(i >= 1 && i <= st.nodes)) throw new Error(`no node "${node}" in lab ${name}`);
  return nodeDir(name, i);
}

/** Freezes the node's VM (SIGSTOP): it stops answering but keeps its state. */
export function pauseNode(name: string, node: string | number): number {
  return signalVm(dirOf(name, node), 'SIGSTOP');
}

/** Continues a paused VM (SIGCONT). */
export function resumeNode(name: string, node: string | number): number {
  return signalVm(dirOf(name, node), 'SIGCONT');
}

/** Crashes the node hard: kill -9 of its QEMU by pidfile (what `crash NODE` does). Its disks stay; its BMC or startNode power it on again. */
export async function crashNode(name: string, node: string | number): Promise<number> {
  const dir = dirOf(name, node);
  const pid = vmPid(dir);
  if (!pid || !(await stopVm(dir, 'SIGKILL'))) throw new Error(`node ${node} of lab ${name} is not running`);
  return pid;
}

/** Kills the node's BMC (its ipmi_sim, by pidfile); the VM keeps running. Fencing through it then fails. */
export async function bmcKill(name: string, node: string | number): Promise<number> {
  const dir = dirOf(name, node);
  const pid = await stopBmc(dir);
  if (!pid) throw new Error(`the BMC of node ${node} of lab ${name} is not running`);
  return pid;
}

/** Starts the node's BMC again (after bmcKill); returns its PID once it listens. */
export async function bmcStart(name: string, node: string | number): Promise<number> {
  const st = readState(validateName(name));
  if (!st) throw new Error(`lab "${name}" does not exist`);
  const dir = dirOf(name, node);
  const i = Number(/(\d+)$/.exec(dir)?.[1]);
  return startBmc(bmcSpec(st, i));
}

/** Pulls the plug: kills the node's QEMU (SIGKILL). Its disks stay; startNode boots it again. */
export async function poweroffNode(name: string, node: string | number): Promise<void> {
  const dir = dirOf(name, node);
  if (!(await stopVm(dir, 'SIGKILL'))) throw new Error(`node ${node} of lab ${name} is not running`);
}

/** Pulls (or plugs back) the cable of a node's NIC: the guest sees its carrier go away, as on a real server. */
export async function setNicLink(name: string, node: string | number, nic: 'management' | 'replication', up: boolean): Promise<void> {
  const dir = dirOf(name, node);
  await qmpCommand(vmFiles(dir).qmp, 'set_link', { name: nic === 'management' ? 'nm' : 'nr', up });
}

/** Boots a powered-off node again (same disks, same identity) and waits for SSH. */
export async function startNode(name: string, node: string | number): Promise<void> {
  const st = readState(validateName(name));
  if (!st) throw new Error(`lab "${name}" does not exist`);
  const dir = dirOf(name, node);
  const i = Number(/(\d)$/.exec(dir)?.[1]);
  const img = await ensureImage(st.image);
  rmSync(vmFiles(dir).pidfile, { force: true });
  await startVm({ lab: name, index: st.index, node: i, netns: st.netns, dir, memoryMb: st.memoryMb, kernel: img.kernel, initrd: img.initrd });
  const lab = readLab(name);
  const n = findNode(lab, i);
  const deadline = Date.now() + SSH_DEADLINE_MS;
  for (;;) {
    const r = await run(sshArgv(lab, n, ['true']), { allowFail: true, timeoutMs: 20_000 });
    if (r.code === 0) return;
    if (!vmPid(dir)) throw new Error(`${n.name}: QEMU exited while booting:\n${consoleTail(vmFiles(dir).console)}`);
    if (Date.now() > deadline) throw new Error(`${n.name}: no SSH after restart:\n${consoleTail(vmFiles(dir).console)}`);
    await sleep(2000);
  }
}

/** Puts an ext4 filesystem on the node's data disk (a "used" disk for the installer's safety checks). */
export async function dirtyDisk(name: string, node: string | number): Promise<void> {
  const lab = readLab(name);
  const n = findNode(lab, node);
  const r = await sshExec(name, n.name, `mkfs.ext4 -F -q -L hvdirty ${n.dataDisk} && blkid ${n.dataDisk}`);
  if (r.code !== 0) throw new Error(`dirty-disk on ${n.name} failed: ${r.stderr.trim() || r.stdout.trim()}`);
}
