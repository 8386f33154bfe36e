/** LVM volume group, and nothing stacked on DRBD devices or their backing volumes. */
import { gib, probe, reachable, result, why } from './common.js';
import { nodeSnapshots } from './backup.js';
import { parsePvs, parseStack, parseVgs } from '../parse.js';
import type { CheckResult, VerifyInput } from '../types.js';

/** device-mapper's name of the VG's LVs start with the VG name, '-' doubled, then '-'. */
export const dmPrefix = (vg: string) => `${vg.replace(/-/g, '--')}-`;

export function volumeGroupChecks(input: VerifyInput): CheckResult[] {
  const vg = input.answers.spec.storage.volumeGroup;
  return reachable(input).map((node) => {
    const cmd = probe(node, 'vgs');
    if (!cmd || cmd.exitCode !== 0) return result('LVM_VG', 'error', node.name, `could not list volume groups: ${why(cmd, 'vgs')}`, { subject: vg, fix: 'install lvm2 (`hvcluster apply`) and check `vgs` on the node' });
    let vgs;
    try {
      vgs = parseVgs(cmd.stdout);
    } catch (error) {
      return result('LVM_VG', 'error', node.name, `could not parse vgs: ${(error as Error).message}`, { subject: vg });
    }
    const found = vgs.find((v) => v.name === vg);
    if (!found) {
      return result('LVM_VG', 'error', node.name, `volume group ${vg} is missing${vgs.length ? ` (present: ${vgs.map((v) => v.name).join(', ')})` : ''}`, {
        subject: vg,
        fix: 'run `hvcluster apply` to create it on the data disk, or check that the data disk is present (`pvs`)',
      });
    }
    const data = { sizeBytes: found.sizeBytes, freeBytes: found.freeBytes, attr: found.attr };
    const pct = found.sizeBytes > 0 ? Math.round((found.freeBytes / found.sizeBytes) * 100) : 0;
    if (found.attr[3] === 'p') {
      return result('LVM_VG', 'error', node.name, `volume group ${vg} is partial (a physical volume is missing)`, { subject: vg, data, fix: 'check the data disk (`pvs`, kernel log); replace it and restore its volumes from the peer' });
    }
    return result('LVM_VG', 'pass', node.name, `${vg}: ${gib(found.freeBytes)} free of ${gib(found.sizeBytes)} (${pct} %)`, { subject: vg, data });
  });
}

export function holderChecks(input: VerifyInput): CheckResult[] {
  const vg = input.answers.spec.storage.volumeGroup;
  const prefix = dmPrefix(vg);
  return reachable(input).map((node) => {
    const cmd = probe(node, 'stack');
    if (!cmd || cmd.exitCode !== 0) return result('DRBD_HOLDERS', 'skipped', node.name, `could not read /sys/block: ${why(cmd, 'ls')}`);
    const stack = parseStack(cmd.stdout);
    const problems: string[] = [];
    const drbds = stack.filter((s) => s.device.startsWith('drbd'));
    for (const d of drbds) if (d.holders.length > 0) problems.push(`/dev/${d.device} is held by ${d.holders.join(', ')}`);
    const backing = stack.filter((s) => s.dmName?.startsWith(prefix) && s.dmUuid?.startsWith('LVM-'));
    // An LVM snapshot of a backing volume (drbd resolve keeps one) stacks the group's own devices on it: not a foreign holder.
    const ownDevices = new Set(backing.map((b) => b.device));
    // hvcluster's own snapshots (tagged) are SNAPSHOT_FILL's and SNAPSHOT_LEFTOVER's: not named here again.
    const read = nodeSnapshots(node);
    const tagged = new Set('state' in read ? read.state.tagged.map((t) => t.lv) : []);
    const lvOf = (dmName: string) => dmName.slice(prefix.length).replace(/--/g, '-');
    const snapshots = backing
      .filter((b) => b.dmUuid?.endsWith('-cow'))
      .map((b) => b.dmName!.replace(/-cow$/, ''))
      .filter((name) => !tagged.has(lvOf(name)));
    for (const b of backing) {
      const others = b.holders.filter((h) => !h.startsWith('drbd') && !ownDevices.has(h));
      if (others.length > 0) problems.push(`${b.dmName} (${b.device}) is held by ${others.join(', ')}`);
    }
    for (const m of stack.filter((s) => s.dmUuid?.startsWith('mpath-'))) {
      if (m.slaves.some((s) => s.startsWith('drbd') || backing.some((b) => b.device === s))) problems.push(`multipath map ${m.dmName} claims ${m.slaves.join(', ')}`);
    }
    const pvs = probe(node, 'pvs');
    if (pvs?.exitCode === 0) {
      try {
        for (const pv of parsePvs(pvs.stdout)) {
          if (/^\/dev\/drbd/.test(pv.pv) || pv.pv.startsWith(`/dev/mapper/${prefix}`) || pv.pv.startsWith(`/dev/${vg}/`)) {
            problems.push(`the host's LVM sees a physical volume on ${pv.pv}${pv.vg ? ` (VG ${pv.vg})` : ''}: guest data`);
          }
        }
      } catch {
        // pvs JSON unreadable: the sysfs view above still stands.
      }
    }
    const mp = probe(node, 'multipath');
    if (mp?.exitCode === 0 && /drbd/.test(mp.stdout)) problems.push('multipathd lists a DRBD device');
    if (problems.length > 0) {
      return result('DRBD_HOLDERS', 'error', node.name, problems.join('; '), {
        fix: 'the host must not open guest devices: keep global_filter = [ "r|^/dev/drbd|" ] and scan_lvs = 0 in /etc/lvm/lvmlocal.conf (`hvcluster apply`), deactivate the guest VG on the host (`vgchange -an VG`), blacklist drbd in multipath.conf',
      });
    }
    if (snapshots.length > 0) {
      return result('DRBD_HOLDERS', 'warning', node.name, `no foreign holder; LVM snapshot(s) of backing volumes: ${snapshots.join(', ')}`, {
        fix: `a snapshot grows as its volume changes and slows its writes: once its data is not needed, remove it: \`hvcluster snapshot list\` shows the guests' snapshots (\`hvcluster snapshot remove GUEST NAME\`), others \`lvremove ${vg}/NAME\` (\`lvs ${vg}\` lists them)`,
      });
    }
    return result('DRBD_HOLDERS', 'pass', node.name, `no holder on ${drbds.length} DRBD device(s) and ${backing.length} backing volume(s) of ${vg}`);
  });
}
