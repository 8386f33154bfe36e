/**
 * apply when things go wrong, on real lab VMs (prepared image: packages already installed):
 * preflight findings on several nodes at once, an unused LVM physical volume and a partitioned disk
 * on a data disk (refused in preflight, 0 bytes written), a DRBD module disabled in modprobe.d (refused by
 * preflight), a replication MTU the path cannot carry (stopped right after the network step), a
 * network change that cuts a server off (reverted by the server itself, by its timer or at boot when
 * it is power-cycled inside the window), and an installer killed
 * mid-run (the next run finishes the job).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILT, SHARED_LAB, useLab } from '../helpers/lab.js';
import { BIN, events, hvcluster } from '../helpers/hvcluster.js';
import { REPL_BRIDGE, netnsName } from '../lab/config.js';
import { dirtyDisk, poweroffNode, setNicLink, startNode } from '../lab/lab.js';
import { labSiteYaml, writeLabSite } from '../lab/site.js';
import { waitFor } from '../lab/util.js';

const MIN = 60_000;
const NAME = SHARED_LAB.name;
const lab = useLab(SHARED_LAB);

/** Everything apply may change on a node, read straight from the VM. */
async function nodeState(node: string): Promise<string> {
  const r = await lab.ssh(
    node,
    'md5sum /etc/network/interfaces /etc/hosts; ls /etc/drbd.d; vgs --noheadings -o vg_name 2>/dev/null; ls /root/.ssh 2>/dev/null; ' +
      'test -e /etc/sysctl.d/60-hvcluster.conf && echo sysctl; blkid -o value -s TYPE /dev/vdb; true',
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('apply when things go wrong', () => {
  it('reports every preflight finding of every node at once and changes nothing anywhere', { timeout: 10 * MIN }, async () => {
    const site = writeLabSite(lab.info);
    // hv1's replication cable is out; hv2's data disk holds a filesystem.
    await setNicLink(NAME, 'hv1', 'replication', false);
    await dirtyDisk(NAME, 'hv2');
    try {
      const before = await Promise.all(['hv1', 'hv2'].map(nodeState));
      const result = await hvcluster(NAME, ['apply', '-f', site, '--yes']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('nothing was changed on any server');
      expect(result.stderr).toMatch(/spec\.nodes\[0\]\.replication\.interface: ens4 on hv1 has no link/);
      expect(result.stderr).toMatch(new RegExp(`spec\\.nodes\\[1\\]\\.storage\\.disk: /dev/disk/by-id/virtio-hvdata-${NAME}-2 on hv2 is not blank: .*ext4`));
      expect(await Promise.all(['hv1', 'hv2'].map(nodeState))).toEqual(before);
      expect(before[1]).toContain('ext4'); // the filesystem on hv2's disk is still there, untouched
    } finally {
      await setNicLink(NAME, 'hv1', 'replication', true);
      // Blank again: no signature, and zeroes where the blank check reads (and everywhere else).
      const wiped = await lab.ssh('hv2', 'wipefs -q -a /dev/vdb && dd if=/dev/zero of=/dev/vdb bs=4M oflag=direct status=none; sync; true', { timeoutMs: 10 * MIN });
      expect(wiped.code, wiped.stderr).toBe(0);
    }
  });

  it('refuses an unused LVM physical volume on a data disk without wipe, writing 0 bytes to it, and a partitioned disk even with wipe: true', { timeout: 5 * MIN }, async () => {
    const site = writeLabSite(lab.info);
    const disk = `/dev/disk/by-id/virtio-hvdata-${NAME}-2`;
    // What a user would compare: the first and last MiB of hv2's data disk (read past the page cache),
    // and the kernel's count of sectors written to it (/sys/block/vdb/stat, field 7).
    const fingerprint = async () => {
      const r = await lab.ssh(
        'hv2',
        'sync; n=$(blockdev --getsize64 /dev/vdb); dd if=/dev/vdb bs=1M count=1 iflag=direct status=none | sha256sum; ' +
          'dd if=/dev/vdb bs=1M skip=$((n / 1048576 - 1)) count=1 iflag=direct status=none | sha256sum; awk \'{ print "written", $7 }\' /sys/block/vdb/stat',
      );
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    try {
      // An unused physical volume: what a volume group whose other disks are absent leaves on this one.
      const pv = await lab.ssh('hv2', 'pvcreate -q /dev/vdb && pvs --noheadings -o pv_name,vg_name /dev/vdb');
      expect(pv.code, pv.stderr).toBe(0);
      const before = await fingerprint();
      const state = await Promise.all(['hv1', 'hv2'].map(nodeState));
      const result = await hvcluster(NAME, ['apply', '-f', site, '--yes']);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('nothing was changed on any server');
      expect(result.stderr).toContain(
        `spec.nodes[1].storage.disk: ${disk} on hv2 is not blank: an LVM physical volume in no volume group (it may belong to a volume group whose other disks are absent); signature LVM2_member`,
      );
      expect(result.stderr).toContain('set wipe: true for this disk to have hvcluster erase it (everything on it is lost), or check with pvs and vgs that no volume group misses it and remove it yourself (pvremove /dev/vdb)');
      expect(result.stderr).not.toContain('spec.nodes[0].storage');
      // 0 bytes written: the same first and last MiB, the same count of sectors written.
      expect(await fingerprint()).toBe(before);
      expect(await Promise.all(['hv1', 'hv2'].map(nodeState))).toEqual(state);

      // A partitioned disk is refused in preflight even with wipe: true, before anything changes.
      // The image has no sfdisk or parted: an MBR by hand, one Linux partition of 2 MiB at sector 2048.
      const parted = await lab.ssh(
        'hv2',
        "wipefs -q -a /dev/vdb && printf '\\000\\000\\000\\000\\203\\000\\000\\000\\000\\010\\000\\000\\000\\020\\000\\000' | dd of=/dev/vdb bs=1 seek=446 conv=notrunc status=none && " +
          "printf '\\125\\252' | dd of=/dev/vdb bs=1 seek=510 conv=notrunc status=none && sync && blockdev --rereadpt /dev/vdb && udevadm settle && test -e /sys/class/block/vdb1",
      );
      expect(parted.code, parted.stderr).toBe(0);
      const wipeSite = `${lab.info.dir}/site-wipe.yaml`;
      const yaml = labSiteYaml(lab.info);
      writeFileSync(wipeSite, `${yaml.slice(0, yaml.lastIndexOf('wipe: false'))}wipe: true${yaml.slice(yaml.lastIndexOf('wipe: false') + 'wipe: false'.length)}`);
      const partedBefore = await fingerprint();
      const refused = await hvcluster(NAME, ['apply', '-f', wipeSite, '--yes']);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('nothing was changed on any server');
      expect(refused.stderr).toContain(`spec.nodes[1].storage.disk: ${disk} on hv2 is not blank: partition table dos; partitions: vdb1;`);
      expect(refused.stderr).toContain('partitions vdb1 may be in use, and hvcluster erases signatures, not those (even with wipe: true)');
      expect(await fingerprint()).toBe(partedBefore);
    } finally {
      // Blank again (as the next tests need it): no signature, no partition, zeroes where the check reads.
      const blank = await lab.ssh(
        'hv2',
        'wipefs -q -a /dev/vdb; n=$(blockdev --getsize64 /dev/vdb); dd if=/dev/zero of=/dev/vdb bs=1M count=2 oflag=direct status=none; ' +
          'dd if=/dev/zero of=/dev/vdb bs=1M seek=$((n / 1048576 - 2)) count=2 oflag=direct status=none; blockdev --rereadpt /dev/vdb; udevadm settle; ' +
          'test -z "$(wipefs -n /dev/vdb)" && ! test -e /sys/class/block/vdb1 && ! pvs /dev/vdb >/dev/null 2>&1',
      );
      expect(blank.code, blank.stderr).toBe(0);
    }
  });

  it('refuses in preflight a node whose DRBD module is disabled in modprobe.d, and changes nothing', { timeout: 5 * MIN }, async () => {
    const site = writeLabSite(lab.info);
    const rule = '/etc/modprobe.d/hvc-test-no-drbd.conf';
    // The prepared image boots with the module loaded (which preflight accepts): unload it, so that
    // hv2 is a server whose DRBD module cannot load.
    const disable = await lab.ssh('hv2', `rmmod drbd 2>/dev/null; printf 'install drbd /bin/false\\n' > ${rule}`);
    expect(disable.code, disable.stderr).toBe(0);
    try {
      // What apply would otherwise hit at its drbd-module step, after changing every node.
      const modprobe = await lab.ssh('hv2', 'modprobe drbd; echo "exit $?"; test -e /proc/drbd && echo loaded; true');
      expect(modprobe.stdout).toMatch(/exit [1-9]/);
      expect(modprobe.stdout).not.toContain('loaded');

      const before = await Promise.all(['hv1', 'hv2'].map(nodeState));
      const result = await hvcluster(NAME, ['apply', '-f', site, '--yes']);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('nothing was changed on any server');
      expect(result.stderr).toContain(
        `spec.nodes[1].name: the DRBD module cannot load on hv2: modprobe drbd runs "/bin/false" instead of loading it (${rule}:1: install drbd /bin/false); ` +
          `apply would stop at its drbd-module step after changing the network, volume group and DRBD configuration: remove that line from ${rule}, then run again`,
      );
      expect(result.stderr).not.toContain('spec.nodes[0].name'); // hv1 loads it fine
      expect(await Promise.all(['hv1', 'hv2'].map(nodeState))).toEqual(before);
    } finally {
      // As found: no rule, the module loaded.
      const restore = await lab.ssh('hv2', `rm -f ${rule} && modprobe drbd`);
      expect(restore.code, restore.stderr).toBe(0);
    }
  });

  it('stops right after the network step when the replication path cannot carry the MTU asked, with the figures', { timeout: 10 * MIN }, async () => {
    // The lab's replication bridge (host side, in the lab's namespace) carries 1500-byte frames;
    // the VMs' virtio NICs accept 9000, so the nodes take MTU 9000 and the bridge drops what exceeds 1500.
    const bridge = JSON.parse((await lab.exec(['ip', '-j', 'link', 'show', REPL_BRIDGE])).stdout) as { mtu: number }[];
    expect(bridge[0]!.mtu).toBe(1500);
    const nic = JSON.parse((await lab.ssh('hv1', 'ip -j -d link show ens4')).stdout) as { max_mtu: number }[];
    expect(nic[0]!.max_mtu).toBeGreaterThanOrEqual(9000);
    const [hv1, hv2] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const interfacesBefore = await Promise.all(['hv1', 'hv2'].map(async (n) => (await lab.ssh(n, 'md5sum /etc/network/interfaces')).stdout));
    const contentBefore = await Promise.all(['hv1', 'hv2'].map(async (n) => (await lab.ssh(n, 'cat /etc/network/interfaces')).stdout));

    const site = `${lab.info.dir}/site-jumbo.yaml`;
    writeFileSync(site, labSiteYaml(lab.info, { replicationMtu: 9000 }));
    const started = Date.now();
    const result = await hvcluster(NAME, ['apply', '-f', site, '--yes', '--json']);
    console.log(`apply with MTU 9000 on a 1500 path: exit ${result.code} after ${Math.round((Date.now() - started) / 1000)} s`);
    expect(result.code, result.stderr).toBe(1);
    for (const [from, to] of [
      [hv1, hv2],
      [hv2, hv1],
    ] as const) {
      expect(result.stderr).toContain(
        `${from.name}: step "replication-path": the replication path from ${from.name} (${from.replication.address}, ens4) to ${to.name} (${to.replication.address}) does not carry MTU 9000: ` +
          "a 9000-byte don't-fragment packet does not get through (ping -M do -s 8972: 3 packets transmitted, 0 received, 100% packet loss",
      );
    }
    expect(result.stderr).toContain('the largest that does is 1500 bytes (ping -M do -s 1472); DRBD would connect and then stall its sync');
    expect(result.stderr).toContain('set spec.network.replicationMtu to 1500 (or less), or enable MTU 9000 on every NIC and switch port between the nodes');
    // The run stopped right there: network changed, the path probe failed, no later step started.
    const run = events(result.stdout);
    const finished = run.filter((e) => e.type === 'step-finished').map((e) => `${e.server} ${e.step} ${e.status}`);
    expect(finished.filter((f) => / (network|replication-path) /.test(f)).sort()).toEqual([
      'hv1 network changed',
      'hv1 replication-path failed',
      'hv2 network changed',
      'hv2 replication-path failed',
    ]);
    expect(run.filter((e) => e.type === 'step-started' && ['storage', 'drbd-config', 'drbd-module'].includes(e.step as string))).toEqual([]);
    // On the nodes: the replication NIC at 9000 (the network step did its part); no volume group, no
    // DRBD configuration of hvcluster's, no resource (the steps after it did not run).
    for (const node of ['hv1', 'hv2']) {
      const r = await lab.ssh(node, "cat /sys/class/net/ens4/mtu; vgs --noheadings 2>/dev/null | wc -l; grep -c 'Managed by hvcluster' /etc/drbd.d/global_common.conf; ls /etc/drbd.d/*.res 2>/dev/null | wc -l");
      expect(r.stdout.trim().split('\n'), node).toEqual(['9000', '0', '0', '0']);
    }

    // Back to the state before: each node gets its previous file back and restarts its network
    // (detached: it moves the management address), and its replication NIC returns to 1500.
    for (const [i, node] of (['hv1', 'hv2'] as const).entries()) {
      const r = await lab.ssh(
        node,
        'cat > /root/interfaces.before && systemd-run --quiet --unit=hvc-test-restore sh -c "ifdown -a --exclude=lo --force; cp /root/interfaces.before /etc/network/interfaces; ifup -a --exclude=lo; ip link set ens4 mtu 1500"',
        { input: contentBefore[i] },
      );
      expect(r.code, `${node}: ${r.stderr}`).toBe(0);
    }
    for (const [i, node] of (['hv1', 'hv2'] as const).entries()) {
      await waitFor(
        `${node} back on its previous network`,
        async () => {
          const r = await lab.ssh(node, 'systemctl is-active hvc-test-restore.service; md5sum /etc/network/interfaces; cat /sys/class/net/ens4/mtu; ip -o link show br0 2>/dev/null | wc -l', { timeoutMs: 10_000 });
          const [active, md5, mtu, bridges] = r.stdout.trim().split('\n');
          return r.code === 0 && active !== 'active' && active !== 'activating' && `${md5}\n` === interfacesBefore[i] && mtu === '1500' && bridges === '0';
        },
        { timeoutMs: 2 * MIN, intervalMs: 2000 },
      );
    }
  });

  it('has a server restore its network by itself when the new configuration cuts it off: by its timer, or at boot when it restarts inside the window; and says so', { timeout: 15 * MIN }, async () => {
    // Each node's management address in the answer file is not the one the installer reaches it on:
    // once the bridge takes that address, the node is cut off from the installer. hv1 is left to its
    // revert timer; hv2 is power-cycled inside the window, long before its timer is due. One apply
    // for both cases.
    const [hv1, hv2] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const wrong = { hv1: hv1.management.address.replace(/\.\d+$/, '.77'), hv2: hv2.management.address.replace(/\.\d+$/, '.78') };
    let yaml = labSiteYaml(lab.info);
    for (const n of [hv1, hv2]) yaml = yaml.replace(`address: ${n.management.address}/${n.management.prefix}`, `address: ${wrong[n.name as 'hv1' | 'hv2']}/${n.management.prefix}`);
    const path = `${lab.info.dir}/site-cutoff.yaml`;
    writeFileSync(path, yaml);
    const interfacesBefore = await Promise.all(['hv1', 'hv2'].map(async (n) => (await lab.ssh(n, 'cat /etc/network/interfaces')).stdout));

    const started = Date.now();
    const applying = hvcluster(NAME, ['apply', '-f', path, '--yes', '--json'], {
      // Shorter than the defaults (150 s, 90 s) to keep the test short, long enough for an emulated VM
      // (hv2 answers on its new address about 25 s into apply, well before its timer is due).
      env: { HVCLUSTER_NET_REVERT_S: '75', HVCLUSTER_NET_RECONNECT_S: '45' },
    });
    // hv2's new configuration is in force once hv2 answers on its new address: pull its plug then,
    // and boot it again.
    let finished: Awaited<typeof applying> | undefined;
    void applying.then((r) => (finished = r));
    await waitFor(
      `hv2 answering on its new address ${wrong.hv2}`,
      async () => {
        if (finished) throw new Error(`apply ended (exit ${finished.code}) before hv2 took its new address:\n${finished.stderr.slice(-3000)}`);
        // sshd answers on every address: a TCP connection to port 22 (the host has no ping).
        return (await lab.exec(['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${wrong.hv2}/22`], { timeoutMs: 5000 })).code === 0;
      },
      { timeoutMs: 6 * MIN, intervalMs: 1000 },
    );
    const cutAt = Math.round((Date.now() - started) / 1000);
    await poweroffNode(NAME, 'hv2');
    await startNode(NAME, 'hv2');
    console.log(`hv2 on its new address ${cutAt} s into apply, power-cycled, reachable again on its old address ${Math.round((Date.now() - started) / 1000)} s into apply`);
    // Booted on its previous configuration: the old file, the old address, no bridge; the window was
    // closed by the boot unit (its marker says "boot"), nothing is left pending.
    const booted = await lab.ssh('hv2', 'cat /etc/network/interfaces; echo @@; ip -o -4 addr show dev ens3; ip -o link show br0 2>/dev/null | wc -l; cat /var/lib/hvcluster/net-window/reverted-*; ls /var/lib/hvcluster/net-window');
    expect(booted.code, booted.stderr).toBe(0);
    const [file, rest] = booted.stdout.split('@@\n') as [string, string];
    expect(file).toBe(interfacesBefore[1]);
    const [addr, bridges, marker, ...names] = rest.trim().split('\n');
    expect(addr).toContain(`inet ${hv2.management.address}/`);
    expect(bridges).toBe('0');
    expect(marker).toMatch(/^boot \d{4}-/);
    expect(names).not.toContain('pending');

    const result = await applying;
    console.log(`apply with both nodes cut off: exit ${result.code} after ${Math.round((Date.now() - started) / 1000)} s`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hv1: step "network": the new network configuration cut the server off; the server restored its previous network by itself');
    expect(result.stderr).toContain(
      'hv2: step "network": the server restarted inside the network window, before the new configuration was confirmed; it restored its previous network configuration at boot and is reachable on it again',
    );
    const network = events(result.stdout).filter((e) => e.type === 'step-finished' && e.step === 'network');
    expect(network.map((e) => [e.server, e.status])).toEqual([
      ['hv1', 'failed'],
      ['hv2', 'failed'],
    ]);
    // Both back on their old configuration and address, nothing pending; the run stopped after the network step.
    for (const [i, n] of [hv1, hv2].entries()) {
      const after = await lab.ssh(n.name, 'cat /etc/network/interfaces; ip -o -4 addr show dev ens3; test -e /var/lib/hvcluster/net-window/pending && echo PENDING; vgs --noheadings 2>/dev/null | wc -l');
      expect(after.code).toBe(0);
      expect(after.stdout).toContain(interfacesBefore[i]!.trim());
      expect(after.stdout).toContain(`inet ${n.management.address}/`);
      expect(after.stdout).not.toContain('PENDING');
      expect(after.stdout.trim().split('\n').pop(), n.name).toBe('0');
    }
  });

  it('finishes the job when run again after the installer was killed mid-run', { timeout: 20 * MIN }, async () => {
    const site = writeLabSite(lab.info);
    const stateDir = (await hvcluster(NAME, ['--version'])).stateDir;
    // Start apply and kill it (SIGKILL: no clean-up at all) as soon as it starts the node-keys step.
    const child = spawn('ip', ['netns', 'exec', netnsName(NAME), process.execPath, BIN, 'apply', '-f', site, '--yes', '--json'], {
      env: { ...process.env, XDG_STATE_HOME: stateDir, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killedAt = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error('apply never reached node-keys')), 15 * MIN);
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        if (/"type":"step-started","server":"hv\d","step":"node-keys"/.test(buffer)) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve('node-keys');
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`apply ended before it could be killed:\n${buffer.slice(-2000)}`));
      });
    });
    expect(killedAt).toBe('node-keys');
    await new Promise((resolve) => child.once('close', resolve));

    const again = await hvcluster(NAME, ['apply', '-f', site, '--yes'], { stateDir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/the previous apply \(run \S+\) did not finish; this run checks every step again and finishes the job/);
    for (const node of ['hv1', 'hv2']) {
      const r = await lab.ssh(node, 'drbdadm cstate hvc-probe; drbdadm dstate hvc-probe');
      expect(r.code, `${node}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim().split('\n'), `${node}: ${r.stderr}`).toEqual(['Connected', 'UpToDate/UpToDate']);
    }
    const third = await hvcluster(NAME, ['apply', '-f', site, '--yes', '--json'], { stateDir });
    expect(third.code, third.stderr).toBe(0);
    expect(events(third.stdout).filter((e) => e.type === 'change')).toEqual([]);
    expect(JSON.parse(readFileSync(`${stateDir}/hvcluster/lab-${NAME}/journal.json`, 'utf8')).ok).toBe(true);
    // The lab's site applied, nothing left to change: the later files of this run start from here.
    await lab.offer(BUILT);
  });
});
