// Simulated BMCs: one OpenIPMI `ipmi_sim` per node VM, run on the host side of the lab's namespace
// and listening on that node's address of the BMC network (UDP 623, IPMI 2.0 lanplus, cipher 3).
// Power control goes through lan.conf's `chassis_control` program, bmc-power.ts: off = kill -9 of
// the VM's QEMU by its pidfile, on = the lab's own start of that VM (vm.json), reset = QMP
// system_reset, status = whether that QEMU runs. Tracked by a pidfile and stopped by PID.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BMC_CIPHER, BMC_PORT, BMC_USER } from './config.js';
import { logTail, pidAlive, pidCmdline, processesIn, readPidFile, sleep, udpListening } from './util.js';
import { killAndWait } from './vm.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export const bmcFiles = (nodeDir: string) => {
  const dir = join(nodeDir, 'bmc');
  return {
    dir,
    lanConf: join(dir, 'lan.conf'),
    emu: join(dir, 'bmc.emu'),
    state: join(dir, 'state'),
    pidfile: join(dir, 'ipmi_sim.pid'),
    log: join(dir, 'ipmi_sim.log'),
    /** One line per power action (bmc-power.ts): time, action, result, milliseconds. */
    actions: join(dir, 'actions.log'),
  };
};

/** The lab's BMC password file (mode 0600): generated once per lab, never printed. */
export function bmcPasswordFile(labDir: string): string {
  return join(labDir, 'bmc-password');
}

/**
 * Creates the lab's BMC password (16 letters and digits: IPMI 1.5 allows 16 bytes) unless it
 * exists; env HVCLUSTER_LAB_BMC_PASSWORD sets it instead. Returns the file's path.
 */
export function ensureBmcPassword(labDir: string): string {
  const file = bmcPasswordFile(labDir);
  if (!existsSync(file)) {
    const fromEnv = process.env.HVCLUSTER_LAB_BMC_PASSWORD;
    if (fromEnv !== undefined && !/^[A-Za-z0-9._-]{1,16}$/.test(fromEnv)) {
      throw new Error('HVCLUSTER_LAB_BMC_PASSWORD must be 1-16 characters of A-Z a-z 0-9 . _ -');
    }
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
    const generated = [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
    writeFileSync(file, `${fromEnv ?? generated}\n`, { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return file;
}

export function readBmcPassword(labDir: string): string {
  return readFileSync(bmcPasswordFile(labDir), 'utf8').trim();
}

/** Paths end up in a shell command line (ipmi_sim runs chassis_control through popen): keep them plain. */
function shellSafe(path: string): string {
  if (!/^[A-Za-z0-9_./:+-]+$/.test(path)) throw new Error(`path not usable in the BMC's chassis_control command: ${path}`);
  return path;
}

/** The chassis_control program for a node directory: node + tsx running bmc-power.ts. */
export function powerCommand(nodeDir: string): string {
  const tsx = import.meta.resolve('tsx');
  return [process.execPath, '--import', tsx, join(HERE, 'bmc-power.ts'), nodeDir].map(shellSafe).join(' ');
}

export interface LanConfOptions {
  /** BMC name (the node's name). */
  name: string;
  address: string;
  port?: number;
  user: string;
  password: string;
  /** chassis_control program (see powerCommand). */
  chassisControl: string;
}

/** ipmi_sim's lan.conf: one LAN channel on ADDRESS:PORT, admin user, power through chassis_control. */
export function lanConfText(o: LanConfOptions): string {
  for (const [what, v] of [['name', o.name], ['user', o.user], ['password', o.password]] as const) {
    if (!/^[A-Za-z0-9._-]{1,16}$/.test(v)) throw new Error(`BMC ${what} must be 1-16 characters of A-Z a-z 0-9 . _ -`);
  }
  if (o.chassisControl.includes('"')) throw new Error('chassis_control must not contain a double quote');
  return `# ipmi_sim configuration written by the hvcluster lab (mode 0600: it holds the BMC password)
name "${o.name}"
set_working_mc 0x20
  startlan 1
    addr ${o.address} ${o.port ?? BMC_PORT}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid ${guidFor(o.name, o.address)}
  endlan
  chassis_control "${o.chassisControl}"
  # user 1 is IPMI's anonymous user: disabled
  user 1 false "" "" user 10 none md2 md5 straight
  user 2 true "${o.user}" "${o.password}" admin 10 none md2 md5 straight
`;
}

/** A stable 16-byte GUID (hex) per BMC. */
function guidFor(name: string, address: string): string {
  return Buffer.from(`${name}@${address}`.padEnd(16, '.').slice(0, 16)).toString('hex');
}

/** The emulated BMC itself (Debian ships no example): one MC at 0x20, enabled. */
export const EMU_TEXT = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
`;

/** True if PID is an ipmi_sim started with this node's lan.conf. */
export function isOurBmc(pid: number, nodeDir: string): boolean {
  const argv = pidCmdline(pid);
  const c = argv.indexOf('-c');
  return (argv[0] ?? '').endsWith('ipmi_sim') && c >= 0 && argv[c + 1] === bmcFiles(nodeDir).lanConf;
}

/** The node's running ipmi_sim PID, verified, or undefined. */
export function bmcPid(nodeDir: string): number | undefined {
  const pid = readPidFile(bmcFiles(nodeDir).pidfile);
  if (pid && pidAlive(pid) && isOurBmc(pid, nodeDir)) return pid;
  return undefined;
}

/** ipmi_sim processes whose lan.conf lies in this lab directory (covers a pidfile lost to a killed `up`). */
export function findLabBmcs(labDir: string): number[] {
  return processesIn(labDir, 'ipmi_sim', '-c');
}

export interface BmcSpec {
  labDir: string;
  nodeDir: string;
  netns: string;
  name: string;
  address: string;
}

/** Writes the node's BMC configuration (lan.conf 0600, the .emu) from the lab's user and password. */
export function writeBmcConfig(s: BmcSpec): void {
  const f = bmcFiles(s.nodeDir);
  mkdirSync(f.state, { recursive: true, mode: 0o700 });
  chmodSync(f.dir, 0o700);
  writeFileSync(f.lanConf, lanConfText({
    name: s.name, address: s.address, user: BMC_USER, password: readBmcPassword(s.labDir), chassisControl: powerCommand(s.nodeDir),
  }), { mode: 0o600 });
  chmodSync(f.lanConf, 0o600);
  writeFileSync(f.emu, EMU_TEXT);
}

/** Starts the node's ipmi_sim (detached, in the lab's namespace) unless it runs; returns its PID once it listens. */
export async function startBmc(s: BmcSpec, timeoutMs = 15_000): Promise<number> {
  const running = bmcPid(s.nodeDir);
  if (running) return running;
  const f = bmcFiles(s.nodeDir);
  if (!existsSync(f.lanConf)) writeBmcConfig(s);
  const out = openSync(f.log, 'a');
  let pid: number | undefined;
  try {
    // `ip netns exec` execs ipmi_sim in place: the child's PID is ipmi_sim's.
    const child = spawn('ip', ['netns', 'exec', s.netns, 'ipmi_sim', '-c', f.lanConf, '-f', f.emu, '-s', f.state, '-n'], {
      detached: true, stdio: ['ignore', out, out], cwd: f.dir,
    });
    pid = child.pid;
    child.on('error', () => {});
    child.unref();
  } finally {
    closeSync(out);
  }
  if (!pid) throw new Error(`${s.name}: cannot start ipmi_sim (see ${f.log})`);
  writeFileSync(f.pidfile, `${pid}\n`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) throw new Error(`${s.name}: ipmi_sim exited at start: ${logTail(f.log)}`);
    if (isOurBmc(pid, s.nodeDir) && (await udpListening(s.netns, s.address, BMC_PORT))) return pid;
    if (Date.now() > deadline) throw new Error(`${s.name}: ipmi_sim does not listen on ${s.address}:${BMC_PORT}/udp after ${timeoutMs / 1000} s: ${logTail(f.log)}`);
    await sleep(100);
  }
}

/** Stops the node's ipmi_sim if it runs (verified PID); the VM is left as it is. */
export async function stopBmc(nodeDir: string): Promise<number | undefined> {
  const pid = bmcPid(nodeDir);
  if (!pid) return undefined;
  await killAndWait(pid, 'SIGTERM', 5_000);
  rmSync(bmcFiles(nodeDir).pidfile, { force: true });
  return pid;
}

/** What a fence agent needs to reach a node's BMC (the password by file, never the value). */
export interface LabBmc {
  type: 'ipmi';
  address: string;
  port: number;
  user: string;
  /** File holding the password (mode 0600 on the lab host). */
  passwordFile: string;
  cipher: number;
  lanplus: true;
  pidFile: string;
  actionsLog: string;
}

export function bmcInfo(labDir: string, nodeDir: string, address: string): LabBmc {
  const f = bmcFiles(nodeDir);
  return {
    type: 'ipmi', address, port: BMC_PORT, user: BMC_USER, passwordFile: bmcPasswordFile(labDir), cipher: BMC_CIPHER, lanplus: true,
    pidFile: f.pidfile, actionsLog: f.actions,
  };
}
