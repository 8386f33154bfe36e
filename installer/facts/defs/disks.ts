import {
  FactUnavailable,
  boolOrNull,
  commandProblem,
  findCommand,
  parseJson,
  parseNamedPairs,
  stringOrNull,
  toNumberOrNull,
  type FactDefinition,
} from '../fact.js';
import type { FactSection } from '../section.js';
import { PARTITION_TABLES, diskVerdict, type ZeroCheck } from '../disk-verdict.js';
import type { BlockChild, Disk, DiskSignature } from '../types.js';

export { diskVerdict, type VerdictInput } from '../disk-verdict.js';

const LSBLK_COLUMNS = 'NAME,KNAME,PATH,TYPE,SIZE,ROTA,RM,RO,MODEL,SERIAL,WWN,TRAN,FSTYPE,PTTYPE';
const MIB = 1048576;

/**
 * Block devices, read-only:
 * - lsblk's tree (MOUNTPOINTS needs util-linux 2.37; older ones get MOUNTPOINT),
 * - /dev/disk/by-id links,
 * - per candidate device (/sys/block minus ram, zram, optical, floppy, dm, drbd, md, nbd; size > 0):
 *   partitions and holders from sysfs; for those with neither, whether the first and last MiB read as
 *   zero (cmp against /dev/zero: 0 equal, 1 differ, 2 unreadable); and `wipefs --no-act --json`,
 *   which probes signatures itself (lsblk's FSTYPE comes from udev's database and is empty without udev).
 */
const DISKS_SH = `hv_blkcand() {
  case $1 in ram*|zram*|sr*|fd*|dm-*|drbd*|md*|nbd*) return 1 ;; esac
  hv_s=0
  { read -r hv_s < "/sys/block/$1/size"; } 2>/dev/null
  [ "\${hv_s:-0}" -gt 0 ] 2>/dev/null
}
hv_blkscan() {
  for hv_d in /sys/block/*; do
    hv_n=\${hv_d##*/}
    hv_blkcand "$hv_n" || continue
    hv_b=$((hv_s * 512))
    hv_h=
    for hv_x in "$hv_d"/holders/*; do [ -e "$hv_x" ] && hv_h="$hv_h\${hv_x##*/},"; done
    hv_parts=0
    for hv_x in "$hv_d/$hv_n"*; do [ -e "$hv_x/partition" ] && hv_parts=$((hv_parts + 1)); done
    hv_head=-; hv_tail=-
    if [ "$hv_parts" -eq 0 ] && [ -z "$hv_h" ] && [ "$hv_b" -ge ${2 * MIB} ]; then
      cmp -s -n ${MIB} "/dev/$hv_n" /dev/zero 2>/dev/null; hv_head=$?
      cmp -s -i "$((hv_b - ${MIB})):0" -n ${MIB} "/dev/$hv_n" /dev/zero 2>/dev/null; hv_tail=$?
    fi
    echo "$hv_n size=$hv_b parts=$hv_parts holders=$hv_h head=$hv_head tail=$hv_tail"
  done
}
hv_cmd lsblk lsblk -J -b -o ${LSBLK_COLUMNS},MOUNTPOINTS || hv_cmd lsblk-compat lsblk -J -b -o ${LSBLK_COLUMNS},MOUNTPOINT
hv_cmd by-id ls -l /dev/disk/by-id
hv_cmd scan hv_blkscan
for hv_d in /sys/block/*; do
  hv_n=\${hv_d##*/}
  hv_blkcand "$hv_n" || continue
  hv_cmd "wipefs:$hv_n" wipefs --no-act --json "/dev/$hv_n"
done`;

interface LsblkNode {
  name?: unknown;
  kname?: unknown;
  path?: unknown;
  type?: unknown;
  size?: unknown;
  rota?: unknown;
  rm?: unknown;
  ro?: unknown;
  model?: unknown;
  serial?: unknown;
  wwn?: unknown;
  tran?: unknown;
  fstype?: unknown;
  pttype?: unknown;
  mountpoints?: unknown;
  mountpoint?: unknown;
  children?: unknown;
}

interface ScanLine {
  sizeBytes: number;
  partitions: number;
  holders: string[];
  head: ZeroCheck;
  tail: ZeroCheck;
}

function mountpointsOf(node: LsblkNode): string[] {
  const list = Array.isArray(node.mountpoints) ? node.mountpoints : [node.mountpoint];
  return list.filter((m): m is string => typeof m === 'string' && m !== '');
}

function childrenOf(node: LsblkNode): LsblkNode[] {
  return Array.isArray(node.children) ? (node.children as LsblkNode[]) : [];
}

function toChild(node: LsblkNode): BlockChild {
  const name = stringOrNull(node.name) ?? '?';
  return {
    name,
    path: stringOrNull(node.path) ?? `/dev/${name}`,
    type: stringOrNull(node.type) ?? 'unknown',
    sizeBytes: toNumberOrNull(node.size) ?? 0,
    fstype: stringOrNull(node.fstype),
    mountpoints: mountpointsOf(node),
    children: childrenOf(node).map(toChild),
  };
}

function parseScan(text: string): Map<string, ScanLine> {
  const zero = (v: string | undefined): ZeroCheck => (v === '0' ? 'zero' : v === '1' ? 'nonzero' : v === '-' ? 'skipped' : 'unreadable');
  const map = new Map<string, ScanLine>();
  for (const [name, kv] of parseNamedPairs(text)) {
    map.set(name, {
      sizeBytes: Number(kv.get('size') ?? 0),
      partitions: Number(kv.get('parts') ?? 0),
      holders: (kv.get('holders') ?? '').split(',').filter(Boolean),
      head: zero(kv.get('head')),
      tail: zero(kv.get('tail')),
    });
  }
  return map;
}

/** `ls -l /dev/disk/by-id` -> kernel name -> link names. */
export function parseByIdListing(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /\s(\S+) -> (\S+)$/.exec(line);
    if (!m) continue;
    const target = m[2]!.split('/').pop()!;
    const list = map.get(target) ?? [];
    list.push(`/dev/disk/by-id/${m[1]}`);
    map.set(target, list);
  }
  for (const list of map.values()) list.sort(byIdOrder);
  return map;
}

/** Names a person recognises first (ata-MODEL_SERIAL, nvme-MODEL_SERIAL, virtio-SERIAL), opaque ones last. */
function byIdOrder(a: string, b: string): number {
  const opaque = (p: string) => (/\/(wwn-|nvme-eui\.|nvme-nvme\.|scsi-[0-9])/.test(p) ? 1 : 0);
  return opaque(a) - opaque(b) || a.localeCompare(b);
}

function parseWipefs(section: FactSection, name: string): { signatures: DiskSignature[] | null; problem: string | null } {
  const cmd = findCommand(section, `wipefs:${name}`);
  const problem = commandProblem(cmd, `wipefs /dev/${name}`);
  if (problem || !cmd) {
    // "wipefs /dev/vda: exit 1: wipefs: error: /dev/vda: probing initialization failed: Operation not permitted"
    const short = cmd?.missing ? 'wipefs not installed' : `wipefs: ${problem?.split(': ').pop() ?? 'not run'}`;
    return { signatures: null, problem: short };
  }
  if (cmd.stdout.trim() === '') return { signatures: [], problem: null };
  let json: unknown;
  try {
    json = JSON.parse(cmd.stdout);
  } catch {
    return { signatures: null, problem: `wipefs /dev/${name}: unreadable JSON` };
  }
  const list = (json as { signatures?: unknown }).signatures;
  if (!Array.isArray(list)) return { signatures: [], problem: null };
  return {
    signatures: list.map((s: Record<string, unknown>) => ({
      type: stringOrNull(s.type) ?? 'unknown',
      offset: stringOrNull(s.offset) ?? '?',
      usage: stringOrNull(s.usage),
      uuid: stringOrNull(s.uuid),
      label: stringOrNull(s.label),
    })),
    problem: null,
  };
}

function zeroBool(z: ZeroCheck): boolean | null {
  return z === 'zero' ? true : z === 'nonzero' ? false : null;
}

export const disksFact: FactDefinition<Disk[]> = {
  name: 'disks',
  script: DISKS_SH,
  parse(section) {
    let lsblkCmd = findCommand(section, 'lsblk');
    if (commandProblem(lsblkCmd, 'lsblk') && findCommand(section, 'lsblk-compat')) lsblkCmd = findCommand(section, 'lsblk-compat');
    const problem = commandProblem(lsblkCmd, 'lsblk');
    if (problem || !lsblkCmd) throw new FactUnavailable(problem ?? 'lsblk: not run');
    const json = parseJson(lsblkCmd.stdout, 'lsblk') as { blockdevices?: unknown };
    if (!Array.isArray(json.blockdevices)) throw new FactUnavailable('lsblk: no blockdevices in its JSON');

    const byIdCmd = findCommand(section, 'by-id');
    const byId = byIdCmd && byIdCmd.exitCode === 0 ? parseByIdListing(byIdCmd.stdout) : new Map<string, string[]>();
    const scanCmd = findCommand(section, 'scan');
    const scan = scanCmd ? parseScan(scanCmd.stdout) : new Map<string, ScanLine>();

    const disks: Disk[] = [];
    for (const node of json.blockdevices as LsblkNode[]) {
      const type = stringOrNull(node.type) ?? 'unknown';
      const name = stringOrNull(node.kname) ?? stringOrNull(node.name);
      if (!name || (type !== 'disk' && type !== 'loop')) continue;
      if (/^(zram|ram)\d/.test(name)) continue;
      const sizeBytes = toNumberOrNull(node.size) ?? 0;
      if (sizeBytes === 0) continue;
      const s = scan.get(name);
      const children = childrenOf(node).map(toChild);
      const { signatures, problem: signatureProblem } = parseWipefs(section, name);
      const fstype = stringOrNull(node.fstype);
      const partitionTable = stringOrNull(node.pttype) ?? signatures?.find((sig) => PARTITION_TABLES.has(sig.type) && sig.type !== 'PMBR')?.type ?? null;
      const mountpoints = mountpointsOf(node);
      const holders = s?.holders ?? [];
      const readOnly = boolOrNull(node.ro) ?? false;
      const head: ZeroCheck = s?.head ?? 'unreadable';
      const tail: ZeroCheck = s?.tail ?? 'unreadable';
      disks.push({
        name,
        path: stringOrNull(node.path) ?? `/dev/${name}`,
        type,
        sizeBytes,
        rotational: boolOrNull(node.rota),
        removable: boolOrNull(node.rm) ?? false,
        readOnly,
        model: stringOrNull(node.model),
        serial: stringOrNull(node.serial),
        wwn: stringOrNull(node.wwn),
        transport: stringOrNull(node.tran),
        byIdPaths: byId.get(name) ?? [],
        partitionTable,
        fstype,
        signatures,
        mountpoints,
        children,
        holders,
        headZero: zeroBool(head),
        tailZero: zeroBool(tail),
        verdict: diskVerdict({
          sizeBytes,
          readOnly,
          partitionTable,
          fstype,
          signatures,
          signatureProblem,
          mountpoints,
          children,
          holders,
          head,
          tail,
        }),
      });
    }
    return disks;
  },
};
