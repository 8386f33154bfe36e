/** libvirt, /dev/kvm, CPU compatibility, node-to-node migration connectivity, N+1 memory. */
import { gib, pairs, probe, reachable, result, why } from './common.js';
import { parseGuests, parseResourceConfigs, splitConfigFiles, type GuestInfo } from '../parse.js';
import type { CheckResult, ReachableNode, VerifyInput } from '../types.js';

export function libvirtChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  for (const node of reachable(input)) {
    const lv = node.facts.libvirt;
    const list = probe(node, 'list');
    const state = lv.ok ? `libvirtd.service ${lv.value.libvirtdState ?? 'unknown'}, libvirtd.socket ${lv.value.libvirtdSocketState ?? 'unknown'}` : `unknown (${lv.ok ? '' : lv.reason})`;
    const active = lv.ok && (lv.value.libvirtdState === 'active' || lv.value.libvirtdSocketState === 'active');
    if (!active || !list || list.exitCode !== 0) {
      out.push(
        result('LIBVIRTD', 'error', node.name, `${state}${list && list.exitCode !== 0 ? `; ${why(list, 'virsh list')}` : ''}`, {
          fix: 'run `systemctl enable --now libvirtd` (or `hvcluster apply`) and check `journalctl -u libvirtd`',
        }),
      );
    } else {
      const guests = list.stdout.split('\n').filter((l) => l.trim() !== '').length;
      out.push(result('LIBVIRTD', 'pass', node.name, `${state}; virsh answers (${guests} guest(s) defined)`, { data: { defined: guests } }));
    }

    const v = node.facts.virtualization;
    if (!v.ok) out.push(result('KVM_DEVICE', 'warning', node.name, `could not check /dev/kvm: ${v.reason}`));
    else if (!v.value.kvmDevice) {
      out.push(
        result('KVM_DEVICE', 'warning', node.name, `/dev/kvm is missing${v.value.cpuFlag ? '' : ' and the CPU shows no vmx/svm flag'}: guests would run emulated (TCG), many times slower`, {
          fix: 'enable VT-x/AMD-V in the firmware and load kvm_intel or kvm_amd',
          data: { cpuFlag: v.value.cpuFlag, modules: v.value.kvmModules },
        }),
      );
    } else out.push(result('KVM_DEVICE', 'pass', node.name, `/dev/kvm present (${v.value.kvmModules.join(', ') || 'kvm'})`));
  }
  return out;
}

/** Flags that say nothing about what a guest can use (they differ between identical hosts). */
const IRRELEVANT_FLAGS = new Set(['hypervisor', 'constant_tsc', 'nonstop_tsc', 'tsc_known_freq', 'rep_good', 'nopl', 'xtopology', 'cpuid', 'tsc_reliable', 'arch_perfmon', 'pti', 'ibrs', 'ibpb', 'stibp', 'ssbd', 'md_clear', 'flush_l1d', 'arch_capabilities', 'vmx', 'svm', 'tpr_shadow', 'vnmi', 'flexpriority', 'ept', 'vpid', 'ept_ad']);

export function cpuChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  for (const [a, b] of pairs(reachable(input))) {
    const servers = [a.name, b.name];
    const ca = a.facts.cpu;
    const cb = b.facts.cpu;
    if (!ca.ok || !cb.ok) {
      out.push(result('CPU_COMPAT', 'skipped', a.name, 'a CPU description could not be read', { servers, subject: b.name }));
      continue;
    }
    const x = ca.value;
    const y = cb.value;
    if (x.vendor !== y.vendor) {
      out.push(
        result('CPU_COMPAT', 'error', a.name, `CPU vendors differ: ${a.name} ${x.vendor}, ${b.name} ${y.vendor}: live migration between them fails`, {
          servers,
          subject: b.name,
          fix: 'pair nodes with CPUs of the same vendor; guests can only move between them by shutdown and cold start',
        }),
      );
      continue;
    }
    const fa = new Set(x.flags.filter((f) => !IRRELEVANT_FLAGS.has(f)));
    const fb = new Set(y.flags.filter((f) => !IRRELEVANT_FLAGS.has(f)));
    const onlyA = [...fa].filter((f) => !fb.has(f));
    const onlyB = [...fb].filter((f) => !fa.has(f));
    if (onlyA.length === 0 && onlyB.length === 0) {
      out.push(result('CPU_COMPAT', 'pass', a.name, `same CPU on ${a.name} and ${b.name}: ${x.model ?? x.vendor}${x.model !== y.model ? ` / ${y.model}` : ''}, same flags`, { servers, subject: b.name }));
    } else {
      const show = (l: string[]) => (l.length > 8 ? `${l.slice(0, 8).join(' ')} (+${l.length - 8})` : l.join(' ') || 'none');
      out.push(
        result('CPU_COMPAT', 'warning', a.name, `${x.model} / ${y.model}: flags only on ${a.name}: ${show(onlyA)}; only on ${b.name}: ${show(onlyB)}`, {
          servers,
          subject: b.name,
          fix: 'give guests a CPU model both nodes offer (`virsh hypervisor-cpu-baseline`), never host-passthrough',
          data: { onlyOn: { [a.name]: onlyA, [b.name]: onlyB } },
        }),
      );
    }
  }
  return out;
}

export function migrationConnectChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  for (const node of reachable(input)) {
    for (const peer of input.answers.spec.nodes.filter((n) => n.name !== node.name)) {
      const servers = [node.name, peer.name];
      const uri = `qemu+ssh://${peer.name}-repl/system`;
      const cmd = probe(node, `virsh:${peer.name}`);
      const answer = cmd?.stdout.trim().split('\n')[0]?.trim() ?? '';
      if (cmd && cmd.exitCode === 0 && (answer === peer.name || answer.startsWith(`${peer.name}.`))) {
        out.push(result('MIGRATION_CONNECT', 'pass', node.name, `virsh -c ${uri} hostname answers ${answer}`, { servers, subject: peer.name }));
      } else {
        const detail = cmd && cmd.exitCode === 0 ? `answers ${answer || 'nothing'}, expected ${peer.name}` : why(cmd, 'virsh');
        out.push(
          result('MIGRATION_CONNECT', 'error', node.name, `virsh -c ${uri} hostname: ${detail}`, {
            servers,
            subject: peer.name,
            fix: `run \`hvcluster apply\` (node trust: root's key in ${peer.name}'s authorized_keys, its host key in known_hosts), check that ${peer.name}-repl resolves and ${peer.name}'s libvirtd runs`,
          }),
        );
      }
    }
  }
  return out;
}

export const HEADROOM_WARNING = 0.9;

/** N+1: for each node, can the others take its running guests (each to the other holder of its disk's DRBD resource)? */
export function memoryChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  const nodes = reachable(input);
  const guestsOf = new Map<string, GuestInfo[]>(nodes.map((n) => [n.name, parseGuests(probe(n, 'doms')?.stdout ?? '').filter((g) => g.state === null || /running|paused|blocked/.test(g.state))]));
  const available = new Map<string, number>(nodes.filter((n) => n.facts.memory.ok && n.facts.memory.value.availableBytes !== null).map((n) => [n.name, (n.facts.memory as { ok: true; value: { availableBytes: number } }).value.availableBytes]));
  for (const failing of nodes) {
    const guests = guestsOf.get(failing.name) ?? [];
    const survivors = nodes.filter((n) => n.name !== failing.name && available.has(n.name));
    const unknown = input.nodes.filter((n) => !n.reachable && n.name !== failing.name).map((n) => n.name);
    if (guests.length === 0) {
      out.push(result('MEMORY_HEADROOM', 'pass', failing.name, `no running guest to restart elsewhere if ${failing.name} fails`));
      continue;
    }
    if (survivors.length === 0) {
      out.push(result('MEMORY_HEADROOM', 'skipped', failing.name, `${guests.length} running guest(s), but no other node's memory could be read${unknown.length ? ` (${unknown.join(', ')} unreachable)` : ''}`));
      continue;
    }
    const need = new Map<string, number>();
    const placed: string[] = [];
    const configs = parseResourceConfigs(splitConfigFiles(probe(failing, 'conf')?.stdout ?? ''));
    for (const g of guests) {
      const holders = new Set(
        configs
          .filter((c) => g.disks.some((d) => (c.minor !== null && d === `/dev/drbd${c.minor}`) || d.includes(`/by-res/${c.name}`)))
          .flatMap((c) => c.hosts.map((h) => h.name)),
      );
      const candidates = survivors.filter((s) => holders.size === 0 || holders.has(s.name));
      const pool = candidates.length > 0 ? candidates : survivors;
      const target = pool.reduce((best, s) => (available.get(s.name)! - (need.get(s.name) ?? 0) > available.get(best.name)! - (need.get(best.name) ?? 0) ? s : best));
      need.set(target.name, (need.get(target.name) ?? 0) + (g.memoryBytes ?? 0));
      placed.push(`${g.name} (${gib(g.memoryBytes ?? 0)}) -> ${target.name}`);
    }
    let status: 'pass' | 'warning' | 'error' = 'pass';
    const parts: string[] = [];
    for (const [target, bytes] of need) {
      const avail = available.get(target)!;
      if (bytes > avail) status = 'error';
      else if (bytes > avail * HEADROOM_WARNING && status === 'pass') status = 'warning';
      parts.push(`${target} needs ${gib(bytes)} of ${gib(avail)} available`);
    }
    out.push(
      result('MEMORY_HEADROOM', status, failing.name, `if ${failing.name} fails: ${placed.join(', ')}; ${parts.join('; ')}`, {
        servers: [failing.name, ...need.keys()],
        fix: 'add memory, shrink guests, or run fewer guests: the survivors could not restart all of them',
        data: { needBytes: Object.fromEntries(need), availableBytes: Object.fromEntries([...need.keys()].map((k) => [k, available.get(k)])) },
      }),
    );
  }
  return out;
}

export type { ReachableNode };
