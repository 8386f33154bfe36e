import { findCommand, commandProblem, parseKeyValues, type FactDefinition } from '../fact.js';
import { parseEvents2, UNKNOWN_PEER, type Events2Resource } from '../parse/drbd-events2.js';
import { parseProcDrbd, type ProcDrbdMinor } from '../parse/proc-drbd.js';
import type { DrbdFacts, DrbdMinorFacts, DrbdModuleLoad, DrbdResourceFacts } from '../types.js';

/**
 * Read-only on purpose: `drbdsetup events2` loads the module (modprobe) when it is not loaded, so it
 * runs only when /proc/drbd exists. `drbdadm --version` only runs modinfo. `modprobe -n -v` (dry run)
 * says what `modprobe drbd` would do: insmod the file, or run an `install` command from modprobe.d
 * (`install drbd /bin/false` is the usual way to disable a module), or fail when the running kernel
 * has no such module.
 * `drbdsetup status --json` does not exist for 8.4: events2 and /proc/drbd are read instead.
 */
const DRBD_SH = `hv_drbd_rules() {
  for hv_f in /etc/modprobe.d/*.conf /run/modprobe.d/*.conf /usr/local/lib/modprobe.d/*.conf /lib/modprobe.d/*.conf /usr/lib/modprobe.d/*.conf; do
    [ -r "$hv_f" ] && grep -Hn -E '^[[:space:]]*(install|blacklist)[[:space:]]+drbd([[:space:]]|$)' "$hv_f"
  done
  return 0
}
hv_drbd_kernels() {
  for hv_f in /lib/modules/*/kernel/drivers/block/drbd/drbd.ko* /lib/modules/*/updates/dkms/drbd.ko* /lib/modules/*/updates/drbd.ko* /lib/modules/*/extra/drbd.ko*; do
    [ -e "$hv_f" ] && echo "$hv_f"
  done
  return 0
}
hv_cmd modinfo modinfo drbd
hv_cmd load-dry-run modprobe -n -v drbd
hv_cmd load-rules hv_drbd_rules
hv_cmd module-files hv_drbd_kernels
if [ -r /proc/drbd ]; then hv_cmd proc-drbd cat /proc/drbd; fi
hv_cmd drbdadm drbdadm --version
if [ -r /proc/drbd ]; then hv_cmdt events2 3 drbdsetup events2 --now; fi`;

/** `modinfo drbd` -> version and file. */
function parseModinfo(text: string): { version: string | null; file: string | null } {
  const field = (key: string) => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(text)?.[1] ?? null;
  return { version: field('version'), file: field('filename') };
}

/** A resource as the facts keep it, from the shared events2 parser. */
export function drbdResourceFacts(r: Events2Resource): DrbdResourceFacts {
  return {
    name: r.name,
    role: r.role,
    volumes: r.devices.map((d) => ({ volume: d.volume, minor: d.minor, diskState: d.disk })),
    connections: r.connections.map((c) => ({
      peer: c.peer === UNKNOWN_PEER ? null : c.peer,
      connectionState: c.connection,
      peerRole: c.role,
      peerDiskStates: c.peerDevices.map((p) => p.peerDisk).filter((d): d is string => d !== null),
    })),
  };
}

/** A minor of 8.4's /proc/drbd as the facts keep it, from the shared /proc/drbd parser. */
export function drbdMinorFacts(m: ProcDrbdMinor): DrbdMinorFacts {
  return { minor: m.minor, connectionState: m.cs, roles: m.ro, diskStates: m.ds };
}

/**
 * Whether `modprobe drbd` (the drbd-module step) can load the module, from `modprobe -n -v drbd`,
 * the modprobe.d rules naming drbd and /proc/drbd. Pure. An already loaded module is fine whatever
 * the rules say; null when modprobe could not tell (not installed, not run).
 */
export function parseModuleLoad(
  dryRun: { stdout: string; stderr: string; exitCode: number | null; missing: string | null } | undefined,
  rulesText: string,
  loaded: boolean,
): DrbdModuleLoad | null {
  const rules = rulesText
    .split('\n')
    .map((line) => /^(.+?):(\d+):\s*(.*?)\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ file: m[1]!, line: Number(m[2]), text: m[3]! }));
  if (loaded) return { state: 'loaded', detail: null, rules };
  if (!dryRun || dryRun.missing !== null || dryRun.exitCode === null) return null;
  const out = `${dryRun.stdout}\n${dryRun.stderr}`;
  if (dryRun.exitCode !== 0) {
    const first = out.split('\n').find((l) => l.trim() !== '')?.trim() ?? `exit ${dryRun.exitCode}`;
    return { state: /not found/i.test(out) ? 'missing' : 'error', detail: first, rules };
  }
  // `install CMD`: modprobe runs CMD instead of loading. A command that does not load it (false, true) disables it.
  const install = /^install\s+(.*)$/m.exec(dryRun.stdout);
  if (install) {
    const command = install[1]!.trim();
    const loads = /\b(modprobe|insmod)\b/.test(command);
    return { state: loads ? 'loadable' : 'disabled', detail: `install ${command}`, rules };
  }
  const insmod = /^insmod\s+(\S*drbd\.ko\S*)/m.exec(dryRun.stdout);
  return { state: 'loadable', detail: insmod ? `insmod ${insmod[1]}` : null, rules };
}

/** Kernel releases under /lib/modules that have a drbd.ko, from the module-files listing. Pure. */
export function kernelsWithDrbd(text: string): string[] {
  const kernels = text
    .split('\n')
    .map((l) => /^\/lib\/modules\/([^/]+)\//.exec(l.trim())?.[1])
    .filter((k): k is string => k !== undefined);
  return [...new Set(kernels)];
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
    const resources = events?.exitCode === 0 ? parseEvents2(events.stdout).map(drbdResourceFacts) : [];
    const loadedVersion = realVersion(proc.version);
    const moduleVersion = realVersion(mod.version);
    const majorOf = (v: string | null) => (v?.startsWith('9.') ? 9 : v?.startsWith('8.') ? 8 : null);
    const rules = findCommand(section, 'load-rules');
    const files = findCommand(section, 'module-files');
    return {
      moduleLoad: parseModuleLoad(findCommand(section, 'load-dry-run'), rules?.exitCode === 0 ? rules.stdout : '', loadedVersion !== null),
      kernelsWithModule: files?.exitCode === 0 ? kernelsWithDrbd(files.stdout) : null,
      moduleVersion,
      moduleFile: mod.file,
      moduleError: moduleVersion ? null : (modinfoProblem ?? 'modinfo drbd: no version field'),
      loadedVersion,
      utilsVersion: realVersion(kv.get('DRBDADM_VERSION')),
      utilsKernelVersion: realVersion(kv.get('DRBD_KERNEL_VERSION')),
      major: majorOf(loadedVersion) ?? majorOf(moduleVersion),
      resources,
      minors: proc.minors.map(drbdMinorFacts),
    };
  },
};
