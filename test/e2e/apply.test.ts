/**
 * apply end to end on fresh lab VMs (real Debian 12, real DRBD 8.4 module, packages from the VMs'
 * offline cache): dry run changes nothing, apply builds the cluster, a second apply changes nothing.
 */
import { loadPlaybook } from '../../installer/engine/playbook.js';
import { STEP_KINDS } from '../../installer/engine/steps/index.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLab } from '../helpers/lab.js';
import { events, hvcluster } from '../helpers/hvcluster.js';
import { writeLabSite } from '../lab/site.js';
import { parseSshStats } from '../../installer/ssh/stats.js';

const MIN = 60_000;
const lab = useLab({ name: 'apply2', nodes: 2, image: 'base' });

/** The DRBD shared secret on a node (read straight from the VM), '' when there is none. */
async function drbdSecret(node: string): Promise<string> {
  const r = await lab.ssh(node, `sed -n 's/^[[:space:]]*shared-secret "\\(.*\\)";$/\\1/p' /etc/drbd.d/global_common.conf`);
  return r.stdout.trim();
}

/** Every run log of an hvcluster run. */
function runLogs(stateDir: string): string {
  const dir = join(stateDir, 'hvcluster', 'logs');
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

/** What apply may change on a node, read straight from the VM. */
async function nodeState(node: string) {
  const r = await lab.ssh(
    node,
    'echo "interfaces=$(md5sum < /etc/network/interfaces | cut -c1-8)"; echo "vg=$(vgs --noheadings -o vg_name 2>/dev/null | tr -d " ")"; ' +
      'echo "drbdutils=$(dpkg-query -W -f "\\${db:Status-Abbrev}" drbd-utils 2>/dev/null)"; echo "common=$(test -e /etc/drbd.d/global_common.conf && echo yes)"; ' +
      'echo "key=$(test -e /root/.ssh/hvcluster_migrate && echo yes)"; echo "hosts=$(md5sum < /etc/hosts | cut -c1-8)"',
  );
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('hvcluster inspect on fresh lab servers', () => {
  it('tells the truth about each server, and reports an unreachable one without hiding the others', { timeout: 5 * MIN }, async () => {
    const unreachable = lab.nodes[0]!.management.address.replace(/\.\d+$/, '.9');
    const base = ['inspect', '--connect-timeout', '5', '-i', lab.info.key, '--known-hosts', lab.info.knownHosts];
    const hosts = lab.nodes.flatMap((node) => ['--host', `root@${node.management.address}`]);
    const result = await hvcluster(lab.info.name, [...base, '--json', ...hosts, '--host', `root@${unreachable}`]);
    expect(result.code).toBe(4);
    const { servers } = JSON.parse(result.stdout) as { servers: { server: string; ok: boolean; facts: any; error: any }[] };
    expect(servers.map((s) => [s.server, s.ok])).toEqual([
      [`root@${lab.nodes[0]!.management.address}`, true],
      [`root@${lab.nodes[1]!.management.address}`, true],
      [`root@${unreachable}`, false],
    ]);
    expect(servers[2]!.error.kind).toBe('connection');
    expect(result.stderr).toContain(unreachable);
    for (const [i, node] of lab.nodes.entries()) {
      const facts = servers[i]!.facts;
      expect(facts.hostname.value.nodeName).toBe(node.name);
      expect(facts.os.value).toMatchObject({ id: 'debian', versionId: '12' });
      const data = facts.disks.value.find((d: any) => d.byIdPaths.includes(node.dataDisk));
      expect(data.verdict).toEqual({ blank: true, reasons: [] });
      const nics = facts.network.value.nics.filter((n: any) => n.kind === 'physical');
      expect(nics.map((n: any) => [n.name, n.carrier])).toEqual([
        ['ens3', true],
        ['ens4', true],
      ]);
      expect(facts.drbd.value.moduleVersion).toMatch(/^8\.4\.\d+$/);
      expect(facts.virtualization.value.kvmDevice).toBe(true);
      expect(facts.session.value.managementAddress).toBe(node.management.address);
    }

    // The readable inventory says the same.
    const text = await hvcluster(lab.info.name, [...base, '--host', `root@${lab.nodes[0]!.management.address}`]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Debian GNU/Linux 12 (bookworm)');
    expect(text.stdout).toMatch(/\/dev\/vdb\s+virtio-hvdata-apply2-1\s+1 GiB.*blank/);
  });
});

/** A run's changes per server, in the order made: `STEP: DESCRIPTION`. */
function changesByServer(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events(stdout).filter((e) => e.type === 'change')) (out[String(e.server)] ??= []).push(`${String(e.step)}: ${String(e.description)}`);
  return out;
}

describe('hvcluster apply on a fresh two-node lab', () => {
  let site = '';
  /** What the dry run on the fresh nodes said apply would do. */
  let planned: Record<string, string[]> = {};

  it('plans: per-server diffs against the files on the servers, the same twice', { timeout: 10 * MIN }, async () => {
    site = writeLabSite(lab.info);
    const first = await hvcluster(lab.info.name, ['plan', '-f', site]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('== hv1 ==');
    expect(first.stdout).toContain('== hv2 ==');
    expect(first.stdout).toMatch(/change {4}\/etc\/network\/interfaces/);
    expect(first.stdout).toContain('--- /etc/hosts (on hv2)');
    expect(first.stdout).toMatch(/^\+198\.19\.\d+\.1\thv1-repl$/m);
    expect(first.stdout).toMatch(/Plan for lab-apply2 \(DRBD 8\.4\): \d+ files to create, \d+ to change, 0 unchanged; \d+ packages to install across 2 servers\./);
    const second = await hvcluster(lab.info.name, ['plan', '-f', site]);
    expect(second.stdout).toBe(first.stdout);
    const json = await hvcluster(lab.info.name, ['plan', '-f', site, '--json']);
    const plan = JSON.parse(json.stdout) as { nodes: { name: string; files: { path: string; change: string }[]; packagesToInstall: string[] }[] };
    expect(plan.nodes.map((n) => n.name)).toEqual(['hv1', 'hv2']);
    expect(plan.nodes[0]!.packagesToInstall).toContain('drbd-utils');
  });

  it('lists every change in a dry run and makes none', { timeout: 10 * MIN }, async () => {
    const before = await Promise.all(['hv1', 'hv2'].map(nodeState));
    const dry = await hvcluster(lab.info.name, ['apply', '-f', site, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const changes = events(dry.stdout).filter((e) => e.type === 'change');
    expect(changes.every((e) => e.dryRun === true)).toBe(true);
    for (const node of ['hv1', 'hv2']) {
      const descriptions = changes.filter((e) => e.server === node).map((e) => String(e.description));
      expect(descriptions).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^install .*drbd-utils/),
          expect.stringMatching(/^reconfigure the network/),
          expect.stringMatching(/^create volume group hvdata on \/dev\/disk\/by-id\/virtio-hvdata-apply2-/),
        ]),
      );
    }
    expect(await Promise.all(['hv1', 'hv2'].map(nodeState))).toEqual(before);
    planned = changesByServer(dry.stdout);
  });

  it('builds the cluster: bridge, replication link, DRBD Connected/UpToDate, libvirt, node trust', { timeout: 30 * MIN }, async () => {
    const applied = await hvcluster(lab.info.name, ['apply', '-f', site, '--yes', '--json']);
    expect(applied.code, `${applied.stderr}\n${applied.stdout.slice(-3000)}`).toBe(0);
    const finished = events(applied.stdout).filter((e) => e.type === 'step-finished');
    expect(finished.filter((e) => e.status === 'failed')).toEqual([]);
    // The dry run on these very nodes listed exactly what apply did, server by server, in order.
    expect(Object.keys(planned).sort()).toEqual(['hv1', 'hv2']);
    expect(changesByServer(applied.stdout)).toEqual(planned);
    // The packages step reported apt's own progress as it went, on each node, up to its end.
    for (const node of ['hv1', 'hv2']) {
      const progress = events(applied.stdout).filter((e) => e.type === 'progress' && e.server === node && e.step === 'packages');
      expect(progress.length, node).toBeGreaterThan(10);
      expect(Math.max(...progress.map((e) => Number(e.percent)))).toBeGreaterThan(95);
      expect(progress.some((e) => /^Setting up |^Installed /.test(String(e.text)))).toBe(true);
    }

    for (const node of lab.nodes) {
      const peer = lab.nodes.find((n) => n.name !== node.name)!;
      const r = await lab.ssh(
        node.name,
        `ip -o -4 addr show dev br0; ip -o link show dev ${node.management.nic}; ip -o -4 addr show dev ${node.replication.nic}; ` +
          'drbdadm cstate hvc-probe; drbdadm dstate hvc-probe; drbdadm role hvc-probe; systemctl is-active libvirtd.socket; ' +
          `virsh -c qemu+ssh://${peer.name}-repl/system hostname`,
      );
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toContain(`inet ${node.management.address}/${node.management.prefix}`);
      expect(lines[1]).toContain('master br0');
      expect(lines[2]).toContain(`inet ${node.replication.address}/${node.replication.prefix}`);
      expect(lines.slice(3)).toEqual(['Connected', 'UpToDate/UpToDate', 'Secondary/Secondary', 'active', peer.name]);
    }

    // DRBD replication is authenticated: one shared secret, in root-only files, nowhere in what hvcluster printed or logged.
    const secrets = await Promise.all(lab.nodes.map((n) => drbdSecret(n.name)));
    expect(secrets[0]).toMatch(/^[0-9a-f]{48}$/);
    expect(secrets[1]).toBe(secrets[0]);
    for (const node of lab.nodes) {
      const r = await lab.ssh(
        node.name,
        "stat -c '%a %U' /etc/drbd.d/global_common.conf; grep -c '^[[:space:]]*cram-hmac-alg sha256;' /etc/drbd.d/global_common.conf; drbdsetup show hvc-probe | grep -E 'cram-hmac-alg|shared-secret' | tr -s '\t ' ' '",
      );
      // The running resource uses it (drbdsetup show: what the kernel has, not just the file).
      expect(r.stdout.trim().split('\n').map((l) => l.trim()), r.stderr).toEqual(['600 root', '1', 'cram-hmac-alg "sha256";', `shared-secret "${secrets[0]}";`]);
    }
    expect(applied.stdout).not.toContain(secrets[0]);
    expect(applied.stderr).not.toContain(secrets[0]);
    expect(runLogs(applied.stateDir)).not.toContain(secrets[0]);

    // Node trust is least privilege: each node's authorized_keys lets its peer in with the peer's
    // migration key only, only from the peer's addresses, restricted (the lab's own login key aside);
    // root reaches the peer with that key (the virsh call above), and gets no terminal.
    for (const node of lab.nodes) {
      const peer = lab.nodes.find((n) => n.name !== node.name)!;
      const pub = (await lab.ssh(peer.name, 'cut -d" " -f1,2 /root/.ssh/hvcluster_migrate.pub')).stdout.trim();
      const keys = await lab.ssh(node.name, "stat -c '%a' /root/.ssh/authorized_keys; grep -v 'hvcluster-lab$' /root/.ssh/authorized_keys");
      expect(keys.stdout.trim().split('\n'), keys.stderr).toEqual(['600', `from="${peer.management.address},${peer.replication.address}",restrict ${pub} hvcluster-migrate@${peer.name}`]);
      const tty = await lab.ssh(node.name, `ssh -G ${peer.name}-repl | grep -E '^(identityfile|identitiesonly) '; ssh -o BatchMode=yes -tt ${peer.name}-repl tty 2>&1; true`);
      const lines = tty.stdout.trim().split('\n').map((l) => l.trim());
      expect(lines.slice(0, 2), tty.stdout).toEqual(['identitiesonly yes', 'identityfile /root/.ssh/hvcluster_migrate']);
      // restrict: a terminal is refused (ssh -tt then gives up); commands run (virsh above).
      expect(lines.slice(2).join('\n'), tty.stdout).toMatch(/PTY allocation request failed/);
      expect(lines.slice(2).join('\n'), tty.stdout).not.toMatch(/\/dev\/pts/);
    }
  });

  it('changes nothing when applied a second time, with libvirtd stopped for idleness', { timeout: 10 * MIN }, async () => {
    // Debian's libvirtd exits after 120 s without clients (--timeout 120) and its socket starts it
    // again on demand: stop it the same way (the service, not its socket) rather than wait.
    for (const node of ['hv1', 'hv2']) {
      const stopped = await lab.ssh(
        node,
        'systemctl stop libvirtd.service; for u in libvirtd.service libvirtd.socket; do echo "$u $(systemctl is-enabled $u) $(systemctl is-active $u)"; done',
      );
      expect(stopped.stdout.trim().split('\n'), stopped.stderr).toEqual(['libvirtd.service enabled inactive', 'libvirtd.socket enabled active']);
    }

    const again = await hvcluster(lab.info.name, ['apply', '-f', site, '--yes', '--json'], { env: { HVCLUSTER_SSH_STATS: '1' } });
    expect(again.code, again.stderr).toBe(0);
    // One exec per server in all: the cluster lock, holding, reads everything every step plans on.
    expect(parseSshStats(again.stderr).map((s) => [s.server, s.execs])).toEqual([
      ['hv1', 1],
      ['hv2', 1],
    ]);
    const all = events(again.stdout);
    expect(all.filter((e) => e.type === 'change')).toEqual([]);
    const finished = all.filter((e) => e.type === 'step-finished');
    // The steps of a cluster without HA or guests (those marked `when: ha` or `when: guests` are not in its run).
    const steps = loadPlaybook('install', Object.keys(STEP_KINDS)).steps.filter((s) => s.when === undefined).length;
    expect(finished.length).toBe(2 * steps);
    expect(finished.filter((e) => e.status !== 'unchanged').map((e) => `${e.server} ${e.step} ${e.status}: ${e.changes}`)).toEqual([]);
    expect(again.stderr).toMatch(new RegExp(`^Done: 0 step\\(s\\) changed, ${2 * steps} unchanged, 0 failed`, 'm'));
    // The idle libvirtd was left to its socket, and the socket still starts it.
    const idle = await lab.ssh('hv1', 'systemctl is-active libvirtd.service; virsh -c qemu:///system list --name >/dev/null && systemctl is-active libvirtd.service');
    expect(idle.stdout.trim().split('\n'), idle.stderr).toEqual(['inactive', 'active']);

    // The run log names every command per server and holds no secret.
    const logs = join(again.stateDir, 'hvcluster', 'logs');
    const [log] = readdirSync(logs);
    const text = readFileSync(join(logs, log!), 'utf8');
    expect(text).toMatch(/\[hv1\] exec \(sudo\) \[inspect\]: sh -c/);
    // That one exec per server: the lock, then the read of the facts and of every step's state, named.
    expect(text).toMatch(/\[hv2\] exec \(sudo\) \[inspect\]: sh -c <cluster-lock\.sh> cluster-lock lab-apply2 .*, then sh -c <read: clock, .*packages.*files, netWindow, pathProbe, diskClaim.*>/);
    expect(text).not.toContain('PRIVATE KEY');
    // authorized_keys was read, its content not recorded (public keys of the node-keys step are).
    expect(text).not.toContain(',restrict ssh-ed25519');

    // The secret the nodes hold was kept, and appears nowhere: run log, JSON events, plan (text and JSON).
    const secret = await drbdSecret('hv1');
    expect(secret).toMatch(/^[0-9a-f]{48}$/);
    expect(text).not.toContain(secret);
    expect(again.stdout).not.toContain(secret);
    const plan = await hvcluster(lab.info.name, ['plan', '-f', site]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/Plan for lab-apply2 \(DRBD 8\.4\): 0 files to create, 0 to change, \d+ unchanged;/);
    const planJson = await hvcluster(lab.info.name, ['plan', '-f', site, '--json']);
    for (const out of [plan.stdout, plan.stderr, planJson.stdout]) expect(out).not.toContain(secret);
  });
});
