// Where the lab keeps things and how names map to namespaces, subnets and files.
import { join } from 'node:path';

export const CACHE_DIR = process.env.HVCLUSTER_LAB_CACHE || '/var/cache/hvcluster-lab';
export const LAB_ROOT = process.env.HVCLUSTER_LAB_DIR || '/var/lib/hvcluster-lab';

export const DEFAULT_NAME = 'lab';
export const DEFAULT_MEMORY_MB = 1536;
export const DATA_DISK_BYTES = 1024 * 1024 * 1024;
/** Boot-to-SSH deadline; env HVCLUSTER_LAB_SSH_DEADLINE (seconds) raises it on a crowded machine. */
export const SSH_DEADLINE_MS = (Number(process.env.HVCLUSTER_LAB_SSH_DEADLINE) || 240) * 1000;

/** Guest NIC names: virtio-net at PCI slot 3 and 4 give ens3 and ens4. */
export const MGMT_NIC = 'ens3';
export const REPL_NIC = 'ens4';
/** Bridges inside the lab's namespace (names are per-namespace, so they never collide). */
export const MGMT_BRIDGE = 'br-mgmt';
export const REPL_BRIDGE = 'br-repl';
/** Host address suffix on the management bridge (198.18.N.254). */
export const HOST_OCTET = 254;

/** Labs are numbered 1..MAX_LABS (the BMC networks below fit that many). */
export const MAX_LABS = 160;

/**
 * BMC network: each lab's simulated BMCs (ipmi_sim on the host side of the namespace) sit on their
 * own bridge with a /29 cut from 198.19.251.0-198.19.255.255, above every lab's 198.19.N.0/24
 * (N <= MAX_LABS). BMC of node I = first address + I, the host (the route's target) = last usable.
 * The nodes reach it through the host's management address (a route the guest adds itself).
 */
export const BMC_BRIDGE = 'br-bmc';
export const BMC_PREFIX = 29;
export const BMC_PORT = 623;
/** ipmi_sim has no cipher suite 17 (what ipmitool tries first): 3 = RAKP-HMAC-SHA1, AES-CBC-128. */
export const BMC_CIPHER = 3;
export const BMC_USER = process.env.HVCLUSTER_LAB_BMC_USER || 'hvadmin';

function bmcBase(index: number): [number, number] {
  if (!(index >= 1 && index <= MAX_LABS)) throw new Error(`lab index ${index} has no BMC network (1..${MAX_LABS})`);
  const k = index - 1;
  return [251 + Math.floor(k / 32), (k % 32) * 8];
}
/** "198.19.251.0/29" for lab 1. */
export function bmcSubnet(index: number): string {
  const [c, d] = bmcBase(index);
  return `198.19.${c}.${d}/${BMC_PREFIX}`;
}
export function bmcAddr(index: number, i: number): string {
  const [c, d] = bmcBase(index);
  return `198.19.${c}.${d + i}`;
}
export function bmcHostAddr(index: number): string {
  const [c, d] = bmcBase(index);
  return `198.19.${c}.${d + 6}`;
}

/** The witness VM (corosync-qnetd for two-node clusters): management NIC only, on 198.18.N.WITNESS_OCTET. */
export const WITNESS_NAME = 'witness';
export const WITNESS_OCTET = 10;
export const WITNESS_MEMORY_MB = 512;
export const QNETD_PORT = 5403;

export type ImageKind = 'base' | 'prepared';

/** Written in a lab's directory when e2e tests booted it to share between files (test/helpers/lab.ts); the run's global teardown takes such labs down. */
export const SHARED_MARKER = 'shared-by-tests';
/**
 * What a test run writes in the marker of a shared lab it uses: its run id (test/setup/labs.ts).
 * The run's teardown takes down only the labs holding its own id: a unit-only run that ends while
 * another run's e2e file uses a lab leaves that lab alone.
 */
export function sharedMark(run = process.env.HVCLUSTER_TEST_RUN): string {
  return `run ${run ?? 'none'}`;
}

/** Lab names end up in netns names, disk serials (20 bytes max) and paths. */
export const NAME_RE = /^[a-z][a-z0-9-]{0,10}$/;

export function validateName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new Error(`invalid lab name "${name}": use 1-11 characters a-z, 0-9, "-", starting with a letter`);
  }
  return name;
}

export function labDir(name: string): string {
  return join(LAB_ROOT, name);
}
export function netnsName(name: string): string {
  return `hvlab-${name}`;
}
export function nodeName(i: number): string {
  return `hv${i}`;
}
export function mgmtAddr(index: number, i: number): string {
  return `198.18.${index}.${i}`;
}
export function replAddr(index: number, i: number): string {
  return `198.19.${index}.${i}`;
}
export function hostAddr(index: number): string {
  return `198.18.${index}.${HOST_OCTET}`;
}
export function dataSerial(name: string, i: number): string {
  return `hvdata-${name}-${i}`;
}
/** i = node number, or 'w' for the witness. */
export function tapName(i: number | 'w', nic: 'm' | 'r'): string {
  return `tap${i}${nic}`;
}
export function witnessAddr(index: number): string {
  return `198.18.${index}.${WITNESS_OCTET}`;
}
/** Locally administered, unique per lab index, node and NIC. */
export function macAddr(index: number, i: number, nic: 'm' | 'r'): string {
  // The witness uses i = WITNESS_OCTET.
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `52:54:00:${h(index)}:${h(i)}:${nic === 'm' ? '01' : '02'}`;
}
