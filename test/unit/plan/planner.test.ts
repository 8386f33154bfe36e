import { describe, expect, it } from 'vitest';
import { AnswerFileError, formatIssue } from '../../../installer/answers/issues.js';
import type { Answers } from '../../../installer/answers/schema.js';
import type { ServerFacts } from '../../../installer/facts/types.js';
import { comparePlan } from '../../../installer/plan/diff.js';
import { planCluster } from '../../../installer/plan/index.js';
import { labFacts, labFactsEdited, loadSite } from './helpers.js';

function plan(overrides: Parameters<typeof loadSite>[0] = {}, facts: ServerFacts[] = [labFacts(1), labFacts(2)], edit?: (answers: Answers) => void) {
  const loaded = loadSite(overrides);
  edit?.(loaded.answers);
  return planCluster(loaded.answers, facts, { file: 'site.yaml', locate: (issue) => ({ ...issue, location: loaded.locate(issue.path) }) });
}

function planErrors(overrides: Parameters<typeof loadSite>[0], facts?: ServerFacts[], edit?: (answers: Answers) => void): string[] {
  try {
    plan(overrides, facts, edit);
  } catch (error) {
    expect(error).toBeInstanceOf(AnswerFileError);
    return (error as AnswerFileError).issues.map(formatIssue);
  }
  throw new Error('the plan was accepted');
}

describe('planning a two-node cluster from the lab servers facts', () => {
  it('plans DRBD 8.4 (the module the servers carry), the packages they lack and the mirrored size', () => {
    const result = plan();
    expect(result.drbdMajor).toBe('8.4');
    expect(result.usableDiskBytes).toBe(1024 ** 3);
    expect(result.drbdPairs).toEqual([['hv1', 'hv2']]);
    const hv1 = result.nodes[0]!;
    expect(hv1.packagesToInstall).toEqual(expect.arrayContaining(['drbd-utils', 'qemu-system-x86', 'libvirt-daemon-system', 'chrony']));
    expect(hv1.packagesToInstall).not.toContain('lvm2'); // installed on the lab image
    expect(hv1.volumeGroup).toEqual({ name: 'hvdata', disk: '/dev/disk/by-id/virtio-hvdata-demo-1', wipe: false });
  });

  it('renders each node its own files: hosts on both networks, the bridge, migration over replication', () => {
    const [hv1, hv2] = plan().nodes;
    const file = (node: typeof hv1, path: string) => node!.files.find((f) => f.path === path)!.content;
    for (const node of [hv1, hv2]) {
      const hosts = file(node, '/etc/hosts');
      expect(hosts).toMatch(/^198\.18\.1\.1\s+hv1$/m);
      expect(hosts).toMatch(/^198\.18\.1\.2\s+hv2$/m);
      expect(hosts).toMatch(/^198\.19\.1\.2\s+hv2-repl$/m);
      expect(hosts).not.toMatch(/^127\.0\.1\.1/m);
    }
    expect(file(hv1, '/etc/network/interfaces')).toMatch(/iface br0 inet static\s+address 198\.18\.1\.1\/24/);
    expect(file(hv2, '/etc/network/interfaces')).toMatch(/iface br0 inet static\s+address 198\.18\.1\.2\/24/);
    expect(file(hv1, '/etc/network/interfaces')).toContain('bridge_hw 52:54:00:01:01:01'); // ens3's own MAC, from the facts
    expect(file(hv2, '/etc/libvirt/qemu.conf')).toContain('migration_host = "198.19.1.2"');
    expect(file(hv1, '/etc/chrony/chrony.conf')).toContain('server 198.18.1.254 iburst');
    expect(hv1!.files.map((f) => f.path)).not.toContain('/etc/netplan/60-hvcluster.yaml');
  });

  it('refuses a node name that is not the server\'s uname -n, pointing at the key', () => {
    const errors = planErrors({ name2: 'pve2' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^site\.yaml:11:13 spec\.nodes\[1\]\.name: the server at 198\.18\.1\.2 calls itself hv2 \(uname -n\), not pve2/);
  });

  it('names the NICs a server has when the answer file names one it lacks', () => {
    const errors = planErrors({ repl2: 'eno2' });
    expect(errors).toEqual([
      expect.stringMatching(/^site\.yaml:13:33 spec\.nodes\[1\]\.replication\.interface: no network interface eno2 on hv2; hv2 has: ens3, ens4$/),
    ]);
  });

  it('refuses a disk that does not exist, listing the disks there are', () => {
    const errors = planErrors({ disk2: '/dev/disk/by-id/virtio-nothing' });
    expect(errors[0]).toContain('spec.nodes[1].storage.disk: no disk /dev/disk/by-id/virtio-nothing on hv2; it has: /dev/vda, /dev/disk/by-id/virtio-hvdata-demo-2');
  });

  it('refuses a disk that is not blank unless wipe: true, and then warns that it will be erased', () => {
    const errors = planErrors({ disk2: '/dev/vda' });
    expect(errors.join('\n')).toMatch(/storage\.disk: \/dev\/vda on hv2 is not blank: .*mounted at \//);
    // A mounted disk is refused even with wipe: true.
    expect(planErrors({ disk2: '/dev/vda', wipe2: true }).join('\n')).toContain('is mounted at /; hvcluster never erases a mounted disk');
  });

  it('names the management NIC a server lacks', () => {
    expect(planErrors({ mgmt2: 'eno1' })).toEqual([
      'site.yaml:12:32 spec.nodes[1].management.interface: no network interface eno1 on hv2; hv2 has: ens3, ens4',
    ]);
  });

  it('refuses replication on the management NIC, even in answers that did not go through the loader', () => {
    // The loader refuses it before any server is read (broken/replication-on-management-nic.yaml); answers built in code are checked here.
    const errors = planErrors({}, undefined, (answers) => {
      answers.spec.nodes[1]!.replication.interface = 'ens3';
    });
    expect(errors).toEqual([
      'site.yaml:13:33 spec.nodes[1].replication.interface: ens3 is also the management interface; replication needs a NIC of its own',
    ]);
  });

  it('refuses a replication NIC that is a bridge port', () => {
    // hv2's ens4 as `ip -d -j link` shows a port of br9 (as veth0 of br0 in host-debian12-netns-bridge.txt).
    const hv2 = labFactsEdited(2, [
      '"ifname":"ens4","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"fq_codel",',
      '"ifname":"ens4","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"fq_codel","master":"br9","linkinfo":{"info_slave_kind":"bridge"},',
    ]);
    expect(planErrors({}, [labFacts(1), hv2])).toEqual([
      'site.yaml:13:33 spec.nodes[1].replication.interface: ens4 on hv2 is enslaved to bridge br9; give replication a NIC that nothing else uses',
    ]);
  });

  it('refuses a data disk that is an LVM physical volume unless wipe: true, and then warns that it will be erased', () => {
    // hv2's data disk after `pvcreate`: lsblk and wipefs both see LVM2_member.
    const hv2 = labFactsEdited(
      2,
      ['"fstype": null', '"fstype": "LVM2_member"'],
      [
        /(@@hvc-cmd wipefs:vdb@@\n\{\n {3}"signatures": \[\n)\n/,
        '$1      {\n         "device": "vdb",\n         "offset": "0x218",\n         "type": "LVM2_member",\n         "uuid": "Xq3v2c-9pLk-Wd0e-Hn4R-a1Zb-8TfQ-Ue7mKc",\n         "label": null\n      }\n',
      ],
    );
    expect(planErrors({}, [labFacts(1), hv2])).toEqual([
      'site.yaml:14:24 spec.nodes[1].storage.disk: /dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank: signature LVM2_member; choose a blank disk, or set wipe: true for this disk to have hvcluster erase it (everything on it is lost), or check with pvs and vgs that no volume group misses it and remove it yourself (pvremove /dev/vdb)',
    ]);
    const result = plan({ wipe2: true }, [labFacts(1), hv2]);
    expect(result.warnings.map(formatIssue)).toEqual([
      'site.yaml:14:68 spec.nodes[1].storage.wipe: warning: /dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank (signature LVM2_member) and WILL BE ERASED because wipe: true',
    ]);
    expect(result.nodes[1]!.volumeGroup).toEqual({ name: 'hvdata', disk: '/dev/disk/by-id/virtio-hvdata-demo-2', wipe: true });
  });

  it('refuses a node without a DRBD kernel module', () => {
    const hv2 = labFactsEdited(2, [
      /@@hvc-cmd modinfo@@\n[\s\S]*?@@hvc-rc modinfo 0@@/,
      '@@hvc-cmd modinfo@@\n\n@@hvc-err@@ modinfo: ERROR: Module drbd not found.\n@@hvc-rc modinfo 1@@',
    ]);
    expect(planErrors({}, [labFacts(1), hv2])).toEqual([
      "site.yaml:11:13 spec.nodes[1].name: no DRBD kernel module for the running kernel 6.1.0-50-amd64 on hv2 (modinfo drbd found none: modinfo drbd: exit 1: modinfo: ERROR: Module drbd not found.); install a kernel that ships it (Debian's linux-image-amd64 does) or the DRBD 9 module for this kernel",
    ]);
  });

  it('refuses nodes with different DRBD major versions', () => {
    const hv2 = labFacts(2);
    if (!hv2.drbd.ok) throw new Error('fixture without DRBD facts');
    hv2.drbd.value.major = 9;
    hv2.drbd.value.loadedVersion = '9.2.12';
    const errors = planErrors({}, [labFacts(1), hv2]);
    expect(errors.join('\n')).toContain('the nodes have different DRBD major versions (hv1: 8.4.11, hv2: 9.2.12)');
  });
});

describe('comparing the plan with the servers', () => {
  it('creates missing files, leaves identical ones, and diffs changed ones', () => {
    const result = plan();
    const hv1 = result.nodes[0]!;
    const hosts = hv1.files.find((f) => f.path === '/etc/hosts')!;
    const sysctl = hv1.files.find((f) => f.path === '/etc/sysctl.d/60-hvcluster.conf')!;
    const current = new Map<string, string | null>([
      ['/etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\thv1\n'],
      [sysctl.path, sysctl.content],
    ]);
    const comparison = comparePlan(result, [current, new Map()]);
    const files = comparison.nodes[0]!.files;
    expect(files.find((f) => f.path === '/etc/hosts')!.change).toBe('change');
    expect(files.find((f) => f.path === '/etc/hosts')!.diff).toContain('-127.0.1.1\thv1');
    expect(files.find((f) => f.path === '/etc/hosts')!.diff).toContain(`--- /etc/hosts (on hv1)`);
    expect(files.find((f) => f.path === sysctl.path)!.change).toBe('unchanged');
    expect(files.find((f) => f.path === sysctl.path)!.diff).toBe('');
    expect(files.find((f) => f.path === '/etc/drbd.d/global_common.conf')!.change).toBe('create');
    expect(comparison.summary.unchanged).toBe(1);
    expect(comparison.summary.change).toBe(1);
    expect(comparison.summary.create).toBe(hv1.files.length * 2 - 2);
    expect(hosts.content).toContain('hv2-repl');
  });

  it('merges only its block into qemu.conf, so a second comparison finds it unchanged', () => {
    const result = plan();
    const qemu = result.nodes[0]!.files.find((f) => f.path === '/etc/libvirt/qemu.conf')!;
    const original = '# stock comments\n#migration_host = "host.example.com"\nmigration_address = "0.0.0.0"\nuser = "libvirt-qemu"\n';
    const first = comparePlan(result, [new Map([[qemu.path, original]]), new Map()]).nodes[0]!.files.find((f) => f.path === qemu.path)!;
    expect(first.change).toBe('change');
    expect(first.desired).toContain('user = "libvirt-qemu"');
    expect(first.desired).toContain('# disabled by hvcluster (set in the managed block below): migration_address = "0.0.0.0"');
    expect(first.desired).toContain('#migration_host = "host.example.com"'); // a comment stays a comment
    const second = comparePlan(result, [new Map([[qemu.path, first.desired]]), new Map()]).nodes[0]!.files.find((f) => f.path === qemu.path)!;
    expect(second.change).toBe('unchanged');
  });
});

describe('a data disk that already carries the cluster volume group', () => {
  it('is accepted (a second apply), while a physical volume of another group is refused', () => {
    const pvOf = (vg: string) =>
      labFactsEdited(2, [/$/, `\n@@hvc-fact lvm@@\n@@hvc-cmd pvs@@\n{"report":[{"pv":[{"pv_name":"/dev/vdb","vg_name":"${vg}","pv_size":"1069547520B","pv_free":"1052770304B"}]}]}\n@@hvc-rc pvs 0@@\n\n@@hvc-end lvm 0@@\n`], ['"fstype": null', '"fstype": "LVM2_member"']);
    const ours = pvOf('hvdata');
    expect(ours.lvm.ok && ours.lvm.value.physicalVolumes).toEqual([{ device: '/dev/vdb', volumeGroup: 'hvdata', sizeBytes: 1069547520, freeBytes: 1052770304 }]);
    expect(() => plan({}, [labFacts(1), ours])).not.toThrow();
    expect(planErrors({}, [labFacts(1), pvOf('backup')]).join('\n')).toContain('/dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank');
    // Even with wipe: true: hvcluster does not remove another volume group.
    expect(planErrors({ wipe2: true }, [labFacts(1), pvOf('backup')])).toEqual([
      'site.yaml:14:24 spec.nodes[1].storage.disk: /dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank: an LVM physical volume of volume group backup; signature LVM2_member; ' +
        'wipe: true does not remove another volume group: choose another disk, or, if backup is no longer needed, remove it (vgremove backup, then pvremove /dev/vdb) and run again',
    ]);
  });

  it('refuses an unused physical volume (in no volume group) without wipe: true: it may be the orphan of a group whose other disks are absent', () => {
    const orphan = labFactsEdited(
      2,
      [/$/, `\n@@hvc-fact lvm@@\n@@hvc-cmd pvs@@\n{"report":[{"pv":[{"pv_name":"/dev/vdb","vg_name":"","pv_size":"1073741824B","pv_free":"1073741824B"}]}]}\n@@hvc-rc pvs 0@@\n\n@@hvc-end lvm 0@@\n`],
      ['"fstype": null', '"fstype": "LVM2_member"'],
    );
    expect(planErrors({}, [labFacts(1), orphan])).toEqual([
      'site.yaml:14:24 spec.nodes[1].storage.disk: /dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank: ' +
        'an LVM physical volume in no volume group (it may belong to a volume group whose other disks are absent); signature LVM2_member; ' +
        'choose a blank disk, or set wipe: true for this disk to have hvcluster erase it (everything on it is lost), or check with pvs and vgs that no volume group misses it and remove it yourself (pvremove /dev/vdb)',
    ]);
    // With wipe: true it is erased, and the plan says so.
    expect(plan({ wipe2: true }, [labFacts(1), orphan]).warnings.map(formatIssue)).toEqual([
      'site.yaml:14:68 spec.nodes[1].storage.wipe: warning: /dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank (an LVM physical volume in no volume group (it may belong to a volume group whose other disks are absent); signature LVM2_member) and WILL BE ERASED because wipe: true',
    ]);
  });

  it('refuses a partitioned disk in preflight even with wipe: true (before any package or the network is changed)', () => {
    const partitioned = labFactsEdited(
      2,
      [
        '"serial": "hvdata-demo-2",\n         "wwn": null,\n         "tran": null,\n         "fstype": null,\n         "pttype": null,\n         "mountpoints": [\n             null\n         ]\n      }',
        '"serial": "hvdata-demo-2",\n         "wwn": null,\n         "tran": null,\n         "fstype": null,\n         "pttype": "gpt",\n         "mountpoints": [\n             null\n         ],\n' +
          '         "children": [{"name": "vdb1", "kname": "vdb1", "path": "/dev/vdb1", "type": "part", "size": 1071644672, "fstype": null, "mountpoints": [null]}]\n      }',
      ],
      ['vdb size=1073741824 parts=0 holders= head=0 tail=0', 'vdb size=1073741824 parts=1 holders= head=- tail=-'],
    );
    for (const wipe2 of [false, true]) {
      expect(planErrors({ wipe2 }, [labFacts(1), partitioned]), `wipe: ${wipe2}`).toEqual([
        'site.yaml:14:24 spec.nodes[1].storage.disk: /dev/disk/by-id/virtio-hvdata-demo-2 on hv2 is not blank: partition table gpt; partitions: vdb1; ' +
          'partitions vdb1 may be in use, and hvcluster erases signatures, not those (even with wipe: true): choose another disk, or remove them yourself (e.g. wipefs -a on each partition, then delete them) and set wipe: true',
      ]);
    }
  });
});
