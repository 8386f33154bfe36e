import { findCommand, commandProblem, parseKeyValues, type FactDefinition } from '../fact.js';
import type { DrbdFacts, DrbdMinorFacts, DrbdResourceFacts } from '../types.js';

/**
 * Read-only on purpose: `drbdsetup events2` loads the module (modprobe) when it is not loaded, so it
 * runs only when /proc/drbd exists. `drbdadm --version` only runs modinfo.
 * `drbdsetup status --json` does not exist for 8.4: events2 and /proc/drbd are read instead.
 */
const DRBD_SH = `hv_cmd modinfo modinfo drbd
if [ -r /proc/drbd ]; then hv_cmd proc-drbd cat /proc/drbd; fi
hv_cmd drbdadm drbdadm --version
if [ -r /proc/drbd ]; then hv_cmdt events2 3 drbdsetup events2 --now; fi`;

/** `modinfo drbd` -> version and file. */
function parseModinfo(text: string): { version: string | null; file: string | null } {
  const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(text)?.[1] ?? null;
  return { version: field('version'), file: field('filename') };
}

/** /proc/drbd: `version: 8.4.11 (api:1/proto:86-101)` and 8.4's per-minor lines. */
export function parseProcDrbd(text: string): { version: string | null; minors: DrbdMinorFacts[] } {
  const version = /^version:\s*(\S+)/m.exec(text)?.[1] ?? null;
  const minors: DrbdMinorFacts[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+):\s+(.*)$/.exec(line);
    if (!m) continue;
    const get = (key: string) => new RegExp(`(?:^|\\s)${key}:(\\S+)`).exec(m[2]!)?.[1] ?? null;
    minors.push({ minor: Number(m[1]), connectionState: get('cs'), roles: get('ro'), diskStates: get('ds') });
  }
  return { version, minors };
}

/** `drbdsetup events2 --now`: `exists resource name:r0 role:Secondary ...` lines, `exists -` at the end. */
export function parseEvents2(text: string): DrbdResourceFacts[] {
  const resources = new Map<string, DrbdResourceFacts>();
  const get = (name: string) => {
    let r = resources.get(name);
    if (!r) {
      r = { name, role: null, volumes: [], connections: [] };
      resources.set(name, r);
    }
    return r;
  };
  for (const line of text.split('\n')) {
    const [event, object, ...pairs] = line.trim().split(/\s+/);
    if (event !== 'exists' && event !== 'create' && event !== 'change') continue;
    const kv = new Map(pairs.map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)] as const));
    const name = kv.get('name');
    if (!name) continue;
    const r = get(name);
    const peer = kv.get('conn-name') ?? kv.get('peer-node-id') ?? null;
    switch (object) {
      case 'resource':
        r.role = kv.get('role') ?? r.role;
        break;
      case 'device': {
        const volume = Number(kv.get('volume') ?? 0);
        const minor = kv.has('minor') ? Number(kv.get('minor')) : null;
        r.volumes.push({ volume, minor, diskState: kv.get('disk') ?? null });
        break;
      }
      case 'connection':
        r.connections.push({ peer, connectionState: kv.get('connection') ?? null, peerRole: kv.get('role') ?? null, peerDiskStates: [] });
        break;
      case 'peer-device': {
        const c = r.connections.find((x) => x.peer === peer);
        const disk = kv.get('peer-disk');
        if (c && disk) c.peerDiskStates.push(disk);
        break;
      }
      default:
        break;
    }
  }
  return [...resources.values()];
}

const realVersion = (v: string | null | undefined): string | null => (v && /^\d+\.\d+/.test(v) && !/^0(\.0)*$/.test(v) ? v : null);

export const drbdFact: FactDefinition<DrbdFacts> = {
  name: 'drbd',
  script: DRBD_SH,
  parse(section) {
    const modinfoCmd = findCommand(section, 'modinfo');
    const modinfoProblem = commandProblem(modinfoCmd, 'modinfo drbd');
    const mod = modinfoCmd && !modinfoProblem ? parseModinfo(modinfoCmd.stdout) : { version: null, file: null };
    const procCmd = findCommand(section, 'proc-drbd');
    const proc = procCmd?.exitCode === 0 ? parseProcDrbd(procCmd.stdout) : { version: null, minors: [] };
    const adm = findCommand(section, 'drbdadm');
    const kv = adm?.exitCode === 0 ? parseKeyValues(adm.stdout) : new Map<string, string>();
    const events = findCommand(section, 'events2');
    const resources = events?.exitCode === 0 ? parseEvents2(events.stdout) : [];
    const loadedVersion = realVersion(proc.version);
    const moduleVersion = realVersion(mod.version);
    const majorOf = (v: string | null) => (v?.startsWith('9.') ? 9 : v?.startsWith('8.') ? 8 : null);
    return {
      moduleVersion,
      moduleFile: mod.file,
      moduleError: moduleVersion ? null : (modinfoProblem ?? 'modinfo drbd: no version field'),
      loadedVersion,
      utilsVersion: realVersion(kv.get('DRBDADM_VERSION')),
      utilsKernelVersion: realVersion(kv.get('DRBD_KERNEL_VERSION')),
      major: majorOf(loadedVersion) ?? majorOf(moduleVersion),
      resources,
      minors: proc.minors,
    };
  },
};
