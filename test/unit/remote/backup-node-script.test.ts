/**
 * installer/remote/backup-node.sh with stand-ins for borg, LVM, DRBD, virsh and systemd on PATH:
 * a guest's set (each disk streamed in exactly its DRBD size into its own archive, the .meta archive
 * last with each disk's sha256, the temporary snapshots removed; borg run with the fixed 4 MiB chunker,
 * no files cache, the set's instant, retention by the meta archives), refused on a node that is not the
 * guest's Primary, a short read never becoming an archive.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnswersSchema } from '../../../installer/answers/schema.js';
import { backupConfModel } from '../../../installer/backup/conf.js';
import { guestDeclaration, parseBackupMeta } from '../../../installer/backup/meta.js';
import { guestModels } from '../../../installer/plan/guest-model.js';
import { TemplateEnvironment } from '../../../installer/render/environment.js';
import { REMOTE_DIR } from '../../../installer/paths.js';

const MIB = 2 ** 20;

/** A node with two disks of db (files standing in for the snapshots' devices) and a stand-in borg keeping archives as files. */
function node(role: string, confOf?: (dir: string, repo: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-backup-sh-'));
  const bin = join(dir, 'bin');
  const repo = join(dir, 'repo');
  mkdirSync(bin);
  mkdirSync(repo);
  const disks = [randomBytes(MIB), randomBytes(2 * MIB)];
  disks.forEach((d, i) => writeFileSync(join(dir, `db-disk${i}.dev`), Buffer.concat([d, Buffer.alloc(4096, 7)])));
  const standins: Record<string, string> = {
    borg: `echo "$*" >> "${dir}/borg-calls"
case $1 in
  create)
    while [ "$1" != "--content-from-command" ]; do shift; done
    name=\${2#::}; shift 3
    "$@" > "${repo}/$name" || { rm -f "${repo}/$name"; exit 2; }
    printf '{\\n  "archive": {\\n    "stats": {\\n      "original_size": %s,\\n      "deduplicated_size": 10\\n    }\\n  }\\n}\\n' "$(wc -c < "${repo}/$name")" ;;
  list) ls "${repo}" | grep -E "^$(echo "$4" | sed 's/\\./\\\\./g; s/\\*/.*/g')$" ;;
  delete) rm -f "${repo}/\${4#::}" ;;
  *) exit 0 ;;
esac`,
    lvs: `case "$*" in *lv_size*) case $7 in */db-disk0) echo ${MIB + 4096} ;; *) echo ${2 * MIB + 4096} ;; esac ;; *lv_path*) echo "  ${dir}/\${4#*/}" | sed 's/\\.bk\\.[^ ]*$/.dev/' ;; *lv_tags*) ;; *) exit 5 ;; esac`,
    lvcreate: 'exit 0',
    lvremove: `echo "$*" >> "${dir}/removed"`,
    lvchange: 'exit 0',
    drbdadm: `case $1 in role) echo "${role}" ;; sh-dev) echo /dev/drbd$(echo "$2" | tr -dc 0-9) ;; esac`,
    lsblk: `case $3 in /dev/drbd0) echo ${MIB} ;; *) echo ${2 * MIB} ;; esac`,
    virsh: 'case $1 in domstate) echo running ;; domfsfreeze) echo "error: Guest agent is not responding: QEMU guest agent is not connected" >&2; exit 1 ;; esac',
    'systemd-run': 'exit 0',
    systemctl: 'exit 0',
  };
  for (const [name, body] of Object.entries(standins)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  mkdirSync(join(dir, 'root'));
  const conf = join(dir, 'backup.conf');
  mkdirSync(join(dir, 'guests'));
  writeFileSync(join(dir, 'guests', 'db.xml'), `<domain type='kvm'>\n  <name>db</name>\n  <description>"quoted" \\ and tabbed\t</description>\n</domain>\n`);
  const declaration = { vcpus: 1, memoryMiB: 128, machine: 'pc-q35-7.2', boot: ['hd'], disks: [{ sizeMiB: 1 }, { sizeMiB: 2 }], nics: [{ bridge: 'br0', mac: '52:54:00:aa:bb:cc' }] };
  if (confOf) writeFileSync(conf, confOf(dir, repo));
  else writeFileSync(conf, ['cluster lab', 'vg hvdata', 'hvcluster-version 0.1.0', `guests-dir ${dir}/guests`, `declaration db ${JSON.stringify(declaration)}`, `repo ${repo}`, `root ${join(dir, 'root')}`, 'compression lz4', 'freeze-timeout 2', 'snapshot-size full', 'keep-daily 7', 'keep-weekly 4', 'keep-monthly 6', `borg-base ${dir}/base`, `borg-cache ${dir}/cache`, 'guest db db-disk0 db-disk1', ''].join('\n'));
  const run = (...args: string[]) => spawnSync('sh', [join(REMOTE_DIR, 'backup-node.sh'), ...args], { encoding: 'utf8', maxBuffer: 64 * MIB, env: { PATH: `${bin}:/usr/bin:/bin`, TMPDIR: dir } });
  return { dir, repo, conf, disks, run };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('backup-node.sh', () => {
  it("backs up a guest it is Primary for: each disk's DRBD data size into its archive, then the meta with their sha256; snapshots removed", () => {
    const n = node('Primary/Secondary');
    const r = n.run('guest', n.conf, 'db', '20261208t101500z');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('@borg') || l.startsWith('@done'))).toEqual(['@borg db.20261208t101500z.disk0', '@borg db.20261208t101500z.disk1', '@borg db.20261208t101500z.meta', '@done db.20261208t101500z']);
    // Exactly the DRBD data (not the rest of the LV: DRBD's metadata lives there).
    n.disks.forEach((d, i) => expect(sha(readFileSync(join(n.repo, `db.20261208t101500z.disk${i}`)))).toBe(sha(d)));
    // The meta archive is what restore reads: installer/backup/meta.ts's own parser accepts it.
    const meta = parseBackupMeta(readFileSync(join(n.repo, 'db.20261208t101500z.meta'), 'utf8'), 'db.20261208t101500z.meta');
    expect(meta).toMatchObject({ cluster: 'lab', guest: 'db', takenAt: '2026-12-08T10:15:00Z', consistency: 'crash', versions: { hvcluster: '0.1.0' } });
    expect(meta.freeze).toEqual({ result: 'none', reason: 'Guest agent is not responding: QEMU guest agent is not connected' });
    expect(meta.disks).toEqual(n.disks.map((d, i) => ({ index: i, resource: `db-disk${i}`, archive: `db.20261208t101500z.disk${i}`, bytes: d.length, lvBytes: d.length + 4096, sha256: sha(d) })));
    expect(meta.domainXml).toBe(readFileSync(join(n.dir, 'guests', 'db.xml'), 'utf8'));
    expect(meta.declaration.disks).toEqual([{ sizeMiB: 1 }, { sizeMiB: 2 }]);
    expect(readFileSync(join(n.dir, 'removed'), 'utf8').trim().split('\n')).toEqual(['-qy hvdata/db-disk0.bk.20261208t101500z', '-qy hvdata/db-disk1.bk.20261208t101500z']);
    // The guest's status: its last set, what it read (the disks' DRBD data) and stored (borg's figures, the meta's too).
    expect(JSON.parse(readFileSync(join(n.dir, 'root', 'status', 'db.json'), 'utf8'))).toMatchObject({ guest: 'db', set: 'db.20261208t101500z', readBytes: 3 * MIB, storedBytes: 30 });
    // borg as the script runs it: each disk cut by the fixed 4 MiB chunker without the files cache (one item,
    // always read in full), the set's instant as every archive's time, the meta last; retention by the meta archives, the latest set kept.
    expect(readFileSync(join(n.dir, 'borg-calls'), 'utf8').split('\n').filter((l) => /^(create|prune) /.test(l))).toEqual([
      ...[0, 1].map((i) =>
        expect.stringMatching(
          new RegExp(`^create --json --lock-wait 3600 --files-cache disabled --chunker-params fixed,4194304 --compression lz4 --timestamp 2026-12-08T10:15:00 --stdin-name db-disk${i}\\.raw --content-from-command ::db\\.20261208t101500z\\.disk${i} -- sh \\S+/backup-node\\.sh stream `),
        ),
      ),
      expect.stringMatching(/^create --json --lock-wait 3600 --timestamp 2026-12-08T10:15:00 --stdin-name meta\.json --content-from-command ::db\.20261208t101500z\.meta -- cat \S+\/meta\.json$/),
      'prune --lock-wait 3600 --glob-archives db.*.meta --keep-last 1 --keep-daily 7 --keep-weekly 4 --keep-monthly 6',
    ]);
  });

  it('reads the backup.conf apply writes: its guest, disks and declaration end up in the set and its meta', () => {
    // db as the answer file declares it, in a cluster named `root` whose repository path is the test's directory.
    const answersOf = (dir: string) =>
      AnswersSchema.parse({
        apiVersion: 'hvcluster/v1',
        kind: 'Cluster',
        metadata: { name: 'root' },
        spec: {
          nodes: [1, 2].map((i) => ({ name: `hv${i}`, management: { interface: 'eno1', address: `198.18.1.${10 + i}/24` }, replication: { interface: 'eno2', address: `198.19.1.${10 + i}/24` }, storage: { disk: `/dev/disk/by-id/virtio-hv${i}` } })),
          guests: [{ name: 'db', memory: '128MiB', disks: [{ size: '16MiB' }, { size: '16MiB' }] }],
          backup: { repository: { path: dir }, encryption: 'none', freezeTimeout: 2 },
        },
      });
    let declared: ReturnType<typeof guestDeclaration> | undefined;
    const n = node('Primary/Secondary', (dir) => {
      const answers = answersOf(dir);
      const guests = guestModels({ answers, major: '8.4', freeMiB: { hv1: 1000, hv2: 1000 }, existingHolders: {}, imageSizeMiB: {} });
      declared = guestDeclaration(guests[0]!);
      const model = backupConfModel({ answers, guests, node: 'hv1', version: '0.1.0', guestsDir: join(dir, 'guests') });
      // borg's own directories on the node are fixed paths: here, the test's.
      return new TemplateEnvironment().render('backup.conf.hbs', { ...model, borgBase: join(dir, 'base'), borgCache: join(dir, 'cache') });
    });
    const r = n.run('guest', n.conf, 'db', '20261208t101500z');
    expect(r.status, r.stderr).toBe(0);
    const meta = parseBackupMeta(readFileSync(join(n.repo, 'db.20261208t101500z.meta'), 'utf8'), 'db.20261208t101500z.meta');
    expect(meta).toMatchObject({ cluster: 'root', guest: 'db', versions: { hvcluster: '0.1.0' } });
    expect(meta.declaration).toEqual(declared);
    expect(meta.disks.map((d) => d.resource)).toEqual(['db-disk0', 'db-disk1']);
    n.disks.forEach((d, i) => expect(sha(readFileSync(join(n.repo, `db.20261208t101500z.disk${i}`)))).toBe(sha(d)));
  });

  it('refuses (75) a guest this node is not Primary for, and one in a migration window; stores nothing', () => {
    for (const role of ['Secondary/Primary', 'Primary/Primary']) {
      const n = node(role);
      const r = n.run('guest', n.conf, 'db', '20261208t101500z');
      expect(r.status, role).toBe(75);
      expect(readFileSync(join(n.dir, 'removed'), { flag: 'a+' }).length, role).toBe(0);
      expect(existsSync(join(n.repo, 'db.20261208t101500z.meta')), role).toBe(false);
    }
  });

  it("key-export: borg's export of the repository's key on stdout (--paper: the paper form); refused (3) for an unencrypted repository", () => {
    const plain = node('Primary/Secondary');
    const refused = plain.run('key-export', plain.conf);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('not encrypted');
    const n = node('Primary/Secondary');
    writeFileSync(n.conf, `${readFileSync(n.conf, 'utf8')}passphrase-file ${n.dir}/passphrase\n`);
    for (const [args, call] of [[[], 'key export :: -'], [['--paper'], 'key export --paper :: -']] as const) {
      const r = n.run('key-export', n.conf, ...args);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(n.dir, 'borg-calls'), 'utf8').trim().split('\n').pop()).toBe(call);
    }
  });

  it('stream: a short read fails (borg then stores no archive), a full one gives the sha256', () => {
    const n = node('Primary/Secondary');
    const dev = join(n.dir, 'db-disk0.dev');
    const ok = spawnSync('sh', ['-c', `sh ${join(REMOTE_DIR, 'backup-node.sh')} stream ${dev} ${MIB} ${n.dir}/s | sha256sum`], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.split(' ')[0]).toBe(sha(n.disks[0]!));
    expect(readFileSync(join(n.dir, 's'), 'utf8').trim()).toBe(sha(n.disks[0]!));
    const short = n.run('stream', dev, String(8 * MIB), join(n.dir, 't'));
    expect(short.status).toBe(1);
    expect(short.stderr).toContain(`instead of ${8 * MIB}`);
  });
});
