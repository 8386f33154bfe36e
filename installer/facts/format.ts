import type { Disk, Fact, Nic, ServerFacts } from './types.js';

/** 1536 -> "1.5 KiB"; binary units, as lsblk and the installer's answers use. */
/** A duration as h:mm:ss (0:01:05), the way /proc/drbd prints a resync's time to go. */
export function clockDuration(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const text = i === 0 || value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
  return `${text} ${units[i]}`;
}

/** Aligned columns, two spaces apart, the last column unpadded. */
export function table(header: string[], rows: string[][], indent = '  '): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd())
    .join('\n');
}

function show<T>(fact: Fact<T>, render: (v: T) => string): string {
  return fact.ok ? render(fact.value) : `unavailable (${fact.reason})`;
}

const yn = (v: boolean | null, yes = 'yes', no = 'no', unknown = '?') => (v === null ? unknown : v ? yes : no);

function diskRow(d: Disk): string[] {
  const byId = d.byIdPaths[0]?.replace('/dev/disk/by-id/', '') ?? '-';
  const more = d.byIdPaths.length > 1 ? ` (+${d.byIdPaths.length - 1})` : '';
  return [
    d.path,
    byId + more,
    humanBytes(d.sizeBytes),
    yn(d.rotational),
    d.model ?? '-',
    d.verdict.blank ? 'blank' : `in use: ${d.verdict.reasons.join(', ')}`,
  ];
}

function nicRow(n: Nic): string[] {
  const master = n.master ? `${n.master}${n.masterKind ? ` (${n.masterKind})` : ''}` : '-';
  const kind = n.vlan ? `vlan ${n.vlan.id}${n.vlan.parent ? ` on ${n.vlan.parent}` : ''}` : n.kind === 'virtual' && n.linkKind ? n.linkKind : n.kind;
  return [
    n.name,
    kind,
    n.state,
    yn(n.carrier),
    n.speedMbps === null ? '?' : n.speedMbps >= 1000 && n.speedMbps % 1000 === 0 ? `${n.speedMbps / 1000}G` : `${n.speedMbps}M`,
    String(n.mtu),
    n.mac ?? '-',
    master,
    n.addresses.filter((a) => a.scope !== 'link').map((a) => a.cidr).join(' ') || '-',
  ];
}

/** The inventory `hvcluster inspect` prints for one server: plain text, aligned, no colour. */
export function formatFactsText(facts: ServerFacts, label?: string): string {
  const name = label ?? (facts.hostname.ok ? facts.hostname.value.nodeName : '(unknown host)');
  const lines: string[] = [];
  const fqdn = facts.hostname.ok ? (facts.hostname.value.fqdn ?? `unresolved: ${facts.hostname.value.fqdnError}`) : null;
  lines.push(fqdn && fqdn !== name ? `${name}  (${fqdn})` : name);

  const header: [string, string][] = [
    ['Node name', show(facts.hostname, (h) => h.nodeName)],
    ['OS', show(facts.os, (o) => o.prettyName ?? `${o.id} ${o.versionId ?? ''}`.trim())],
    ['Kernel', show(facts.kernel, (k) => `${k.release} (${k.architecture})`)],
    [
      'CPU',
      show(facts.cpu, (c) => {
        const counts = [c.sockets && `${c.sockets} socket${c.sockets > 1 ? 's' : ''}`, c.cores && `${c.cores} cores`, `${c.threads} threads`];
        return `${c.model ?? 'unknown model'}${c.vendor ? ` [${c.vendor}]` : ''}, ${counts.filter(Boolean).join(', ')}`;
      }),
    ],
    [
      'Memory',
      show(facts.memory, (m) => `${humanBytes(m.totalBytes)} total${m.availableBytes !== null ? `, ${humanBytes(m.availableBytes)} available` : ''}`),
    ],
    [
      'Virtualization',
      show(facts.virtualization, (v) => {
        const flag = v.cpuFlag ?? 'no vmx/svm flag';
        const dev = v.kvmDevice ? '/dev/kvm present' : '/dev/kvm absent';
        return `${flag}, ${dev}${v.kvmModules.length ? ` (${v.kvmModules.join(', ')})` : ''}`;
      }),
    ],
    ['Management', show(facts.session, (s) => `${s.managementAddress} (SSH session from ${s.clientAddress})`)],
    [
      'Clock',
      show(facts.clock, (c) => {
        const iso = new Date(c.epochSeconds * 1000).toISOString();
        const skew = facts.timing?.estimatedSkewSeconds;
        return skew === undefined || skew === null ? iso : `${iso} (${skew >= 0 ? '+' : ''}${skew.toFixed(2)} s from here)`;
      }),
    ],
    ['127.0.1.1 line', show(facts.hosts, (h) => (h.loopbackHostLine ? `${h.loopbackHostLine.address} ${h.loopbackHostLine.names.join(' ')}` : 'none'))],
  ];
  const width = Math.max(...header.map(([k]) => k.length));
  for (const [k, v] of header) lines.push(`  ${`${k}:`.padEnd(width + 1)} ${v}`);

  lines.push('', 'Disks');
  if (!facts.disks.ok) lines.push(`  unavailable (${facts.disks.reason})`);
  else if (facts.disks.value.length === 0) lines.push('  none found');
  else lines.push(table(['PATH', 'BY-ID', 'SIZE', 'ROTATIONAL', 'MODEL', 'VERDICT'], facts.disks.value.map(diskRow)));

  lines.push('', 'NICs');
  if (!facts.network.ok) lines.push(`  unavailable (${facts.network.reason})`);
  else {
    const nics = facts.network.value.nics.filter((n) => n.kind !== 'loopback');
    lines.push(table(['NAME', 'KIND', 'STATE', 'CARRIER', 'SPEED', 'MTU', 'MAC', 'MASTER', 'ADDRESSES'], nics.map(nicRow)));
    const routes = facts.network.value.defaultRoutes;
    lines.push(
      `  Default route: ${routes.length ? routes.map((r) => `${r.gateway ?? 'direct'} via ${r.dev ?? '?'}`).join(', ') : 'none'}`,
    );
  }

  lines.push('', 'DRBD');
  lines.push(
    `  ${show(facts.drbd, (d) => {
      const parts = [
        `module ${d.moduleVersion ?? `not found (${d.moduleError ?? 'unknown'})`}`,
        `loaded ${d.loadedVersion ?? (d.moduleLoad && d.moduleLoad.state !== 'loadable' && d.moduleLoad.state !== 'loaded' ? `no, cannot load (${d.moduleLoad.state}: ${d.moduleLoad.detail ?? 'modprobe -n -v drbd'})` : 'no')}`,
        `drbd-utils ${d.utilsVersion ?? 'not installed'}`,
      ];
      const res = d.resources.length
        ? d.resources.map((r) => `${r.name} ${r.role ?? '?'} ${r.volumes.map((v) => v.diskState ?? '?').join('/')}`).join(', ')
        : d.minors.length
          ? d.minors.map((m) => `minor ${m.minor} ${m.connectionState ?? '?'} ${m.roles ?? '?'} ${m.diskStates ?? '?'}`).join(', ')
          : 'none';
      return `${parts.join(', ')}\n  Resources: ${res}`;
    })}`,
  );

  lines.push('', 'Time sync');
  lines.push(
    `  ${show(facts.timeSync, (t) => {
      const parts = [
        `synchronized ${yn(t.synchronized, 'yes', 'NO', 'unknown')}`,
        `NTP ${yn(t.ntpEnabled, 'enabled', 'disabled', 'unknown')}`,
        t.services.length ? `service ${t.activeService ?? 'none active'}` : null,
        t.timezone ? `timezone ${t.timezone}` : null,
        t.chrony
          ? `chrony: ${t.chrony.referenceId ?? '?'}, stratum ${t.chrony.stratum ?? '?'}, offset ${t.chrony.offsetSeconds ?? '?'} s, ${t.chrony.leapStatus ?? '?'}`
          : null,
      ];
      return parts.filter(Boolean).join(', ');
    })}`,
  );

  lines.push('', 'Libvirt');
  lines.push(`  ${show(facts.libvirt, (l) => `virsh ${l.virshVersion ?? 'not installed'}, libvirtd ${l.libvirtdState ?? 'unknown'} (socket ${l.libvirtdSocketState ?? 'unknown'})`)}`);

  lines.push('', 'Packages');
  if (!facts.packages.ok) lines.push(`  unavailable (${facts.packages.reason})`);
  else {
    const installed = facts.packages.value.filter((p) => p.installed);
    const missing = facts.packages.value.filter((p) => !p.installed);
    if (installed.length) lines.push(table(['PACKAGE', 'VERSION'], installed.map((p) => [p.name, p.version ?? '?'])));
    lines.push(`  Not installed: ${missing.map((p) => p.name).join(', ') || 'none'}`);
  }

  const unavailable = (Object.entries(facts) as [string, unknown][]).filter(
    ([, v]) => typeof v === 'object' && v !== null && 'ok' in v && (v as { ok: boolean }).ok === false,
  );
  if (unavailable.length) {
    lines.push('', 'Not available');
    for (const [k, v] of unavailable) lines.push(`  ${k}: ${(v as { reason: string }).reason}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The raw section texts, for `inspect --verbose` and bug reports. */
export function formatRawSections(facts: ServerFacts): string {
  return Object.entries(facts.raw)
    .map(([name, text]) => `== ${name} ==\n${text.replace(/\n+$/, '')}\n`)
    .join('\n');
}
