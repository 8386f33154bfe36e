import {
  FactUnavailable,
  parseKeyValues,
  requireStdout,
  optionalStdout,
  findCommand,
  commandProblem,
  type FactDefinition,
} from '../fact.js';
import type {
  ClockFacts,
  CpuFacts,
  HostnameFacts,
  HostsEntry,
  HostsFacts,
  KernelFacts,
  MemoryFacts,
  OsFacts,
  SessionFacts,
  VirtualizationFacts,
} from '../types.js';

export const clockFact: FactDefinition<ClockFacts> = {
  name: 'clock',
  script: `hv_cmd date date +%s.%N`,
  parse(section) {
    const text = requireStdout(section, 'date').trim();
    // busybox date prints a literal %N: keep the seconds.
    const m = /^(\d+)(?:\.(\d+))?/.exec(text);
    if (!m) throw new FactUnavailable(`date: unexpected output ${JSON.stringify(text)}`);
    return { epochSeconds: Number(m[2] ? `${m[1]}.${m[2]}` : m[1]) };
  },
};

export const hostnameFact: FactDefinition<HostnameFacts> = {
  name: 'hostname',
  script: `hv_cmd uname uname -n
hv_cmdt fqdn 3 hostname -f`,
  parse(section) {
    const nodeName = requireStdout(section, 'uname').trim();
    if (!nodeName) throw new FactUnavailable('uname -n: empty output');
    const fqdnCmd = findCommand(section, 'fqdn');
    const fqdn = optionalStdout(section, 'fqdn')?.trim() || null;
    return { nodeName, fqdn, fqdnError: fqdn ? null : (commandProblem(fqdnCmd, 'hostname -f') ?? 'hostname -f: empty output') };
  },
};

export const hostsFact: FactDefinition<HostsFacts> = {
  name: 'hosts',
  script: `hv_cmd hosts sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /etc/hosts`,
  parse(section) {
    const entries: HostsEntry[] = [];
    for (const line of requireStdout(section, 'hosts').split('\n')) {
      const [address, ...names] = line.trim().split(/\s+/);
      if (address && names.length > 0) entries.push({ address, names });
    }
    return { entries, loopbackHostLine: entries.find((e) => e.address === '127.0.1.1') ?? null };
  },
};

export const osFact: FactDefinition<OsFacts> = {
  name: 'os',
  script: `if [ -r /etc/os-release ]; then hv_cmd os-release cat /etc/os-release; else hv_cmd os-release cat /usr/lib/os-release; fi`,
  parse(section) {
    const kv = parseKeyValues(requireStdout(section, 'os-release'));
    const id = kv.get('ID');
    if (!id) throw new FactUnavailable('os-release: no ID field');
    return {
      id,
      versionId: kv.get('VERSION_ID') ?? null,
      prettyName: kv.get('PRETTY_NAME') ?? null,
      codename: kv.get('VERSION_CODENAME') ?? null,
      idLike: (kv.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    };
  },
};

export const kernelFact: FactDefinition<KernelFacts> = {
  name: 'kernel',
  script: `hv_cmd release uname -r
hv_cmd machine uname -m`,
  parse(section) {
    return { release: requireStdout(section, 'release').trim(), architecture: requireStdout(section, 'machine').trim() };
  },
};

/** One awk pass over /proc/cpuinfo: a summary instead of N copies of the same block. */
const CPUINFO_AWK = `BEGIN { FS = "[ \\t]*: ?" }
$1 == "processor" { threads++ }
$1 == "vendor_id" && vendor == "" { vendor = $2 }
$1 == "model name" && model == "" { model = $2 }
($1 == "flags" || $1 == "Features") && flags == "" { flags = $2 }
$1 == "physical id" { pid = $2; if (!(pid in sockets)) { sockets[pid] = 1; nsockets++ } }
$1 == "core id" { key = pid ":" $2; if (!(key in cores)) { cores[key] = 1; ncores++ } }
END { print "threads=" threads; print "vendor=" vendor; print "model=" model; print "sockets=" nsockets; print "cores=" ncores; print "flags=" flags }`;

export const cpuFact: FactDefinition<CpuFacts> = {
  name: 'cpu',
  script: `hv_cmd cpuinfo awk '${CPUINFO_AWK}' /proc/cpuinfo`,
  parse(section) {
    const fields = new Map<string, string>();
    for (const line of requireStdout(section, 'cpuinfo').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
    }
    const int = (key: string) => {
      const n = Number(fields.get(key));
      return Number.isInteger(n) && n > 0 ? n : null;
    };
    const threads = int('threads');
    if (threads === null) throw new FactUnavailable('/proc/cpuinfo: no processor entries');
    return {
      vendor: fields.get('vendor') || null,
      model: fields.get('model')?.replace(/\s+/g, ' ') || null,
      sockets: int('sockets'),
      cores: int('cores'),
      threads,
      flags: (fields.get('flags') ?? '').split(/\s+/).filter(Boolean),
    };
  },
};

export const memoryFact: FactDefinition<MemoryFacts> = {
  name: 'memory',
  script: `hv_cmd meminfo grep -E '^(MemTotal|MemAvailable|SwapTotal):' /proc/meminfo`,
  parse(section) {
    const kb = new Map<string, number>();
    for (const line of requireStdout(section, 'meminfo').split('\n')) {
      const m = /^(\w+):\s+(\d+)\s*kB/.exec(line);
      if (m) kb.set(m[1]!, Number(m[2]) * 1024);
    }
    const totalBytes = kb.get('MemTotal');
    if (totalBytes === undefined) throw new FactUnavailable('/proc/meminfo: no MemTotal');
    return { totalBytes, availableBytes: kb.get('MemAvailable') ?? null, swapTotalBytes: kb.get('SwapTotal') ?? null };
  },
};

export const virtualizationFact: FactDefinition<VirtualizationFacts> = {
  name: 'virtualization',
  script: `hv_kvmdev() { if [ -c /dev/kvm ]; then echo present; else echo absent; fi; }
hv_cmd cpu-flag grep -m1 -o -w -E 'vmx|svm' /proc/cpuinfo
hv_cmd kvm-device hv_kvmdev
hv_cmd kvm-modules grep -E '^kvm(_intel|_amd)? ' /proc/modules`,
  parse(section) {
    // grep exits 1 when nothing matches: that is an answer, not a failure.
    const flag = requireStdout(section, 'cpu-flag', { allowExit: [1] }).trim().split('\n')[0]!.trim();
    const device = requireStdout(section, 'kvm-device').trim();
    const modules = (optionalStdout(section, 'kvm-modules') ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean);
    return { cpuFlag: flag === 'vmx' || flag === 'svm' ? flag : null, kvmDevice: device === 'present', kvmModules: modules };
  },
};

/**
 * SSH_CONNECTION ("client port server port"). sudo resets the environment, so when the variable is
 * not ours, read it from the nearest ancestor process that has it (the user's shell or sudo itself,
 * whose /proc/PID/environ root can read). Works whatever the SSH layer's sudo wrapping looks like.
 */
const SESSION_SH = `hv_sshconn() {
  if [ -n "\${SSH_CONNECTION:-}" ]; then echo "env $SSH_CONNECTION"; return 0; fi
  hv_p=$$; hv_n=0
  while [ -n "$hv_p" ] && [ "$hv_p" -gt 1 ] && [ "$hv_n" -lt 32 ]; do
    hv_v=$(tr '\\000' '\\n' 2>/dev/null < /proc/$hv_p/environ | sed -n 's/^SSH_CONNECTION=//p')
    if [ -n "$hv_v" ]; then echo "ancestor $hv_v"; return 0; fi
    hv_p=$(sed -n 's/^PPid:[[:space:]]*//p' 2>/dev/null < /proc/$hv_p/status)
    hv_n=$((hv_n + 1))
  done
  echo "SSH_CONNECTION not found in the environment or any parent process" >&2
  return 1
}
hv_cmd ssh-connection hv_sshconn`;

export const sessionFact: FactDefinition<SessionFacts> = {
  name: 'session',
  script: SESSION_SH,
  parse(section) {
    const line = requireStdout(section, 'ssh-connection').trim().split('\n')[0] ?? '';
    const [source, client, , server, port] = line.split(/\s+/);
    if ((source !== 'env' && source !== 'ancestor') || !client || !server) {
      throw new FactUnavailable(`SSH_CONNECTION: unexpected value ${JSON.stringify(line)}`);
    }
    const portNumber = Number(port);
    return {
      managementAddress: server,
      managementPort: Number.isInteger(portNumber) ? portNumber : null,
      clientAddress: client,
      source,
    };
  },
};
