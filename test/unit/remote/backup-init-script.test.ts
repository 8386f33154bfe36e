/**
 * installer/remote/backup-init.sh and backup-state.sh with stand-ins for borg, systemctl and
 * findmnt on PATH: the repository made once (never over foreign files, never on a path that is not
 * there), borg given the passphrase only through BORG_PASSCOMMAND, a node's proof that it opens the
 * repository recorded so that backup-state.sh says "opened" until the repository or the passphrase
 * file changes, and the export's mount proven or its failure explained. And backup-state.sh --left
 * (no spec.backup): the backup units a node still has, the storage units found by what apply wrote.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBackupLeftovers, parseBackupState } from '../../../installer/backup/state.js';
import { borgInfo, borgInit } from '../../../installer/backup/borg-argv.js';
import { loadBackupSite, FULL_BACKUP, labFacts, loadSite } from '../plan/helpers.js';
import { planCluster } from '../../../installer/plan/index.js';
import { STATE_READS } from '../../../installer/engine/reads.js';
import { parseReads, readScript } from '../../../installer/engine/read-batch.js';
import { REMOTE_DIR } from '../../../installer/paths.js';

const PASSPHRASE = 'correct horse battery staple';

/** A node: the shared storage at DIR/storage (ROOT: DIR/storage/lab), borg's state under DIR, stand-ins on PATH. */
function node(options: { mountTypes?: string; units?: Record<string, [string, string]> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-backup-init-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  const root = join(storage, 'lab');
  const passfile = join(dir, 'passphrase');
  writeFileSync(passfile, PASSPHRASE, { mode: 0o600 });
  writeFileSync(join(dir, 'next-id'), 'a'.repeat(64));
  const units = options.units ?? {};
  const standins: Record<string, string> = {
    borg: `{ echo "argv $*"; env | grep '^BORG_' | sort; echo end; } >> "${dir}/borg.log"
case $1 in
  init)
    mkdir -p "$BORG_REPO"
    printf '[repository]\\nversion = 1\\nsegments_per_dir = 1000\\nid = %s\\n' "$(cat "${dir}/next-id")" > "$BORG_REPO/config"
    if [ -n "$BORG_PASSCOMMAND" ]; then $BORG_PASSCOMMAND > "${dir}/repo-passphrase"; fi ;;
  info)
    if [ -n "$BORG_PASSCOMMAND" ] && [ "$($BORG_PASSCOMMAND)" != "$(cat "${dir}/repo-passphrase")" ]; then
      echo 'passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via BORG_PASSPHRASE_FD is incorrect.' >&2; exit 2
    fi
    echo "Repository ID: $(sed -n 's/^id = //p' "$BORG_REPO/config")" ;;
esac`,
    systemctl: `case "$1 $2" in
${Object.entries(units)
  .map(([unit, [enabled, active]]) => `  "is-enabled ${unit}") echo ${enabled} ;;\n  "is-active ${unit}") echo ${active} ;;`)
  .join('\n')}
  "status "*) echo "x $5 - hvcluster: backup repository storage"; echo "   Active: failed (Result: exit-code)"; exit 3 ;;
  "is-active "*) echo inactive; exit 3 ;;
  *) exit 1 ;;
esac`,
    findmnt: `cat "${dir}/mount-types" 2>/dev/null`,
  };
  for (const [name, body] of Object.entries(standins)) {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  if (options.mountTypes) writeFileSync(join(dir, 'mount-types'), options.mountTypes.split(' ').join('\n') + '\n');
  const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir };
  const script = (name: string, args: string[]) => spawnSync('sh', [join(REMOTE_DIR, name), ...args], { encoding: 'utf8', env });
  const base = join(dir, 'base');
  const marker = join(base, 'hvcluster-opened');
  return {
    dir,
    storage,
    root,
    passfile,
    marker,
    init: (pass = passfile, encryption: 'repokey-blake2' | 'none' = 'repokey-blake2') => script('backup-init.sh', ['init', storage, root, pass, base, join(dir, 'cache'), '--', ...borgInit(encryption)]),
    open: (pass = passfile) => script('backup-init.sh', ['open', root, pass, base, join(dir, 'cache'), marker, '--', ...borgInfo()]),
    mount: () => script('backup-init.sh', ['mount', storage, 'x-storage.mount', '2']),
    left: (unitDir: string, ...unitNames: string[]) => script('backup-state.sh', ['--left', unitDir, ...unitNames]),
    state: (pass = passfile, ...unitNames: string[]) => {
      const r = script('backup-state.sh', [storage, root, pass, marker, ...unitNames]);
      expect(r.status, r.stderr).toBe(0);
      return { text: r.stdout, parsed: parseBackupState(r.stdout) };
    },
    borgLog: () => (existsSync(join(dir, 'borg.log')) ? readFileSync(join(dir, 'borg.log'), 'utf8') : ''),
  };
}

describe('backup-init.sh and backup-state.sh', () => {
  it('a node that never saw the repository: the storage there, nothing mounted, no repository, not opened', () => {
    const n = node();
    expect(n.state().text).toBe('path yes\nmount -\nrepository no\nopened no\n');
  });

  it('init makes the repository, its locks and status directories once; borg gets the passphrase only through BORG_PASSCOMMAND', () => {
    const n = node();
    const r = n.init();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`repository initialised ${n.root}/borg`);
    expect(existsSync(join(n.root, 'locks'))).toBe(true);
    expect(existsSync(join(n.root, 'status'))).toBe(true);
    const log = n.borgLog();
    expect(log).toContain('argv init -e repokey-blake2\n');
    expect(log).toContain(`BORG_REPO=${n.root}/borg\n`);
    expect(log).toContain(`BORG_PASSCOMMAND=cat ${n.passfile}\n`);
    expect(log).toContain(`BORG_BASE_DIR=${n.dir}/base\nBORG_CACHE_DIR=${n.dir}/cache\n`);
    expect(log).not.toContain(PASSPHRASE);
    expect(log).not.toMatch(/BORG_PASSPHRASE=/);
    // Again: left as it is, borg not run.
    const again = n.init();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(`repository present ${n.root}/borg`);
    expect(n.borgLog()).toBe(log);
    expect(n.state().parsed).toMatchObject({ path: 'yes', repository: 'yes', opened: false });
  });

  it('init refuses a path that is not there (never made on one node only) and a borg directory with other files in it', () => {
    const missing = node();
    const r = spawnSync('sh', [join(REMOTE_DIR, 'backup-init.sh'), 'init', join(missing.dir, 'nowhere'), join(missing.dir, 'nowhere/lab'), '-', 'b', 'c', '--', 'borg', 'init', '-e', 'none'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('does not exist on this node: mount the storage every node shares there');
    const foreign = node();
    mkdirSync(join(foreign.root, 'borg'), { recursive: true });
    writeFileSync(join(foreign.root, 'borg', 'notes.txt'), 'mine');
    const refused = foreign.init();
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('holds files but no borg repository');
    expect(foreign.borgLog()).toBe('');
  });

  it('open proves the node opens the repository and records it: opened until the passphrase file or the repository changes', () => {
    const n = node();
    n.init();
    const r = n.open();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`opened ${n.root}/borg`);
    expect(n.borgLog()).toContain('argv info --lock-wait 600\n');
    expect(readFileSync(n.marker, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect((spawnSync('stat', ['-c', '%a', n.marker], { encoding: 'utf8' }).stdout.trim())).toBe('600');
    expect(n.state().parsed).toMatchObject({ repository: 'yes', opened: true });
    // Another passphrase in the file: to be proven again (and borg refuses it: the repository keeps its own).
    writeFileSync(n.passfile, 'another passphrase');
    expect(n.state().parsed.opened).toBe(false);
    const wrong = n.open();
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('is incorrect');
    expect(wrong.stderr).toContain('borg key change-passphrase');
    expect(n.state().parsed.opened).toBe(false);
    // The same passphrase again: opened as before. A repository made anew (another id): not opened.
    writeFileSync(n.passfile, PASSPHRASE);
    expect(n.state().parsed.opened).toBe(true);
    writeFileSync(join(n.root, 'borg', 'config'), readFileSync(join(n.root, 'borg', 'config'), 'utf8').replace(/^id = .*$/m, `id = ${'b'.repeat(64)}`));
    expect(n.state().parsed.opened).toBe(false);
  });

  it('open refuses a node where the first node\'s repository is not to be seen: not the same shared storage', () => {
    const n = node();
    const r = n.open();
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`is ${n.storage} the same shared storage on every node?`);
    expect(n.borgLog()).toBe('');
  });

  it('an unencrypted repository: borg told to trust it, no passphrase command', () => {
    const n = node();
    expect(n.init('-', 'none').status).toBe(0);
    const r = n.open('-');
    expect(r.status, r.stderr).toBe(0);
    const log = n.borgLog();
    expect(log).toContain('argv init -e none\n');
    expect(log).toContain('BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes\n');
    expect(log).not.toContain('BORG_PASSCOMMAND');
    expect(n.state('-').parsed.opened).toBe(true);
  });

  it('mount: an NFS filesystem over the automount is proven; the automount alone is a failure that shows what systemd says', () => {
    const mounted = node({ mountTypes: 'autofs nfs4' });
    const ok = mounted.mount();
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(`mounted ${mounted.storage} nfs4`);
    const dead = node({ mountTypes: 'autofs' });
    const failed = dead.mount();
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`no NFS filesystem is mounted at ${dead.storage} after 2 s (mounted there: autofs)`);
    expect(failed.stderr).toContain('Active: failed');
  });

  it('state reports the units as systemd says, and the filesystems mounted at the path', () => {
    const n = node({ mountTypes: 'autofs nfs4', units: { 'x.automount': ['enabled', 'active'], 'hvcluster-backup.timer': ['disabled', 'inactive'] } });
    const { text, parsed } = n.state(n.passfile, 'x.automount', 'hvcluster-backup.timer', 'nothing.timer');
    expect(text.split('\n').slice(0, 4)).toEqual(['unit x.automount enabled active', 'unit hvcluster-backup.timer disabled inactive', 'unit nothing.timer - inactive', 'path yes']);
    expect(parsed.mountTypes).toEqual(['autofs', 'nfs4']);
    expect(parsed.units.get('nothing.timer')).toEqual({ enabled: '-', active: 'inactive' });
  });

  it('--left reports the timer and service, and the storage units apply wrote (found by their header), not a mount unit of the customer\'s', () => {
    const n = node({ units: { 'hvcluster-backup.timer': ['enabled', 'active'], 'var-lib-hvcluster-backup.automount': ['enabled', 'active'], 'var-lib-hvcluster-backup.mount': ['static', 'active'] } });
    const units = join(n.dir, 'units');
    mkdirSync(units);
    // The units as apply writes them (the lab's answers with an NFS repository).
    const { answers } = loadBackupSite(FULL_BACKUP);
    const plan = planCluster(answers, [labFacts(1), labFacts(2)], { drbdSecret: 'a'.repeat(48), backupPassphrase: PASSPHRASE });
    const written = plan.nodes[0]!.files.filter((f) => /\.(auto)?mount$/.test(f.path));
    expect(written.map((f) => f.path.split('/').pop())).toEqual(['var-lib-hvcluster-backup.mount', 'var-lib-hvcluster-backup.automount']);
    for (const f of written) writeFileSync(join(units, f.path.split('/').pop()!), f.content);
    writeFileSync(join(units, 'srv-data.mount'), '[Unit]\nDescription=the customer\'s data\n\n[Mount]\nWhat=nas:/data\nWhere=/srv/data\n');
    const r = n.left(units, 'hvcluster-backup.timer', 'hvcluster-backup.service');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'unit hvcluster-backup.timer enabled active',
      'unit hvcluster-backup.service - inactive',
      'unit var-lib-hvcluster-backup.mount static active',
      'written var-lib-hvcluster-backup.mount',
      'unit var-lib-hvcluster-backup.automount enabled active',
      'written var-lib-hvcluster-backup.automount',
      'end',
      '',
    ]);
    expect(parseBackupLeftovers(r.stdout).mountUnits).toEqual(['var-lib-hvcluster-backup.mount', 'var-lib-hvcluster-backup.automount']);
    // Nothing of backups: the two units unknown, nothing written; an empty or missing unit directory is no error.
    const none = n.left(join(n.dir, 'no-such-dir'), 'hvcluster-backup.timer', 'hvcluster-backup.service');
    expect(none.stdout).toBe('unit hvcluster-backup.timer enabled active\nunit hvcluster-backup.service - inactive\nend\n');
    // Output cut off before its end is an error, not "nothing left".
    expect(() => parseBackupLeftovers('unit hvcluster-backup.timer - inactive\n')).toThrow('cut off');
  });

  it('--left runs as a function of the batched read when the answers have no spec.backup', () => {
    const { answers } = loadSite();
    const def = STATE_READS.backup({ answers, node: 'hv1' });
    expect(def.script).toContain('hv_cmd backup hv_backup --left /etc/systemd/system hvcluster-backup.timer hvcluster-backup.service');
    const out = spawnSync('sh', ['-c', readScript([def])], { encoding: 'utf8' });
    const read = parseReads(out.stdout, [def]).backup as { ok: boolean; value: { declared: false; left: ReturnType<typeof parseBackupLeftovers> } };
    expect(read.ok).toBe(true);
    expect(read.value.declared).toBe(false);
    expect([...read.value.left.units.keys()].slice(0, 2)).toEqual(['hvcluster-backup.timer', 'hvcluster-backup.service']);
  });

  it('state runs as a function of the batched read, with the answers\' paths and units', () => {
    const { answers } = loadBackupSite(FULL_BACKUP);
    const def = STATE_READS.backup({ answers, node: 'hv1' });
    expect(def.script).toContain("hv_cmd backup hv_backup /var/lib/hvcluster/backup /var/lib/hvcluster/backup/lab /etc/hvcluster/backup/passphrase /var/lib/hvcluster/borg/hvcluster-opened var-lib-hvcluster-backup.automount hvcluster-backup.timer");
    const out = spawnSync('sh', ['-c', readScript([def])], { encoding: 'utf8' });
    const read = parseReads(out.stdout, [def]).backup as { ok: boolean; value: { declared: true; state: ReturnType<typeof parseBackupState> } };
    expect(read.ok).toBe(true);
    expect(read.value.declared).toBe(true);
    expect([...read.value.state.units.keys()]).toEqual(['var-lib-hvcluster-backup.automount', 'hvcluster-backup.timer']);
    expect(read.value.state.opened).toBe(false);
  });
});
