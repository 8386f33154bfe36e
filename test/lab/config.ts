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

export type ImageKind = 'base' | 'prepared';

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
export function tapName(i: number, nic: 'm' | 'r'): string {
  return `tap${i}${nic}`;
}
/** Locally administered, unique per lab index, node and NIC. */
export function macAddr(index: number, i: number, nic: 'm' | 'r'): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `52:54:00:${h(index)}:${h(i)}:${nic === 'm' ? '01' : '02'}`;
}
