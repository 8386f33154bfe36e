/**
 * Lab checkpoints without VMs: a VM whose QEMU is gone starts paused from the snapshot (-loadvm TAG -S),
 * the data disk is a qcow2 with the serial the installer sees, a restore refuses a tag some VM lacks,
 * snapshot tags are read from qemu-img, and the guest clock script takes the host's time only once the
 * SSH session is up.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLOCK_SCRIPT, commonTags, restorePlan, snapshotTags, type CheckpointVm } from '../lab/checkpoint.js';
import { dataSerial } from '../lab/config.js';
import { createDisks, qemuArgv, validateTag, vmFiles, type VmSpec } from '../lab/vm.js';

const spec: VmSpec = { lab: 'x', index: 4, netns: 'hvlab-x', dir: '/l/x/hv1', memoryMb: 1536, kernel: '/k', initrd: '/i', node: 1 };

describe('lab checkpoint QEMU command lines', () => {
  it('starts a VM from a checkpoint paused (-loadvm TAG -S) and a normal start without either', () => {
    const from = qemuArgv(spec, { loadvm: 'ha-applied' });
    const i = from.indexOf('-loadvm');
    expect(i).toBeGreaterThan(0);
    expect(from[i + 1]).toBe('ha-applied');
    expect(from).toContain('-S');
    const plain = qemuArgv(spec);
    expect(plain).not.toContain('-loadvm');
    expect(plain).not.toContain('-S');
    // the same machine otherwise
    expect(from.filter((a) => a !== '-loadvm' && a !== 'ha-applied' && a !== '-S')).toEqual(plain);
  });

  it('gives a node a qcow2 data disk with the serial /dev/disk/by-id/virtio-hvdata-LAB-N comes from', () => {
    const argv = qemuArgv(spec);
    expect(argv).toContain(`file=${vmFiles('/l/x/hv1').data},if=none,id=data,format=qcow2`);
    expect(vmFiles('/l/x/hv1').data).toBe('/l/x/hv1/data.qcow2');
    expect(argv).toContain(`virtio-blk-pci,drive=data,serial=${dataSerial('x', 1)},addr=6`);
    expect(dataSerial('x', 1)).toBe('hvdata-x-1');
  });

  it('refuses checkpoint tags that are not plain words', () => {
    for (const ok of ['ha-applied', 'e2e', 'a.b_c-1']) expect(validateTag(ok)).toBe(ok);
    for (const bad of ['', '-S', 'a b', '../x', 'a,b', 'x'.repeat(65)]) expect(() => validateTag(bad), bad).toThrow(/checkpoint tag/);
    expect(() => qemuArgv(spec, { loadvm: 'a b' })).toThrow(/checkpoint tag/);
  });

  const hasQemuImg = spawnSync('qemu-img', ['--version']).status === 0;
  it.skipIf(!hasQemuImg)('creates a blank 1 GiB qcow2 data disk (reads zeroes: nothing allocated)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvlab-ckpt-'));
    try {
      const base = join(dir, 'base.qcow2');
      expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']).status).toBe(0);
      await createDisks(dir, base, 1024 * 1024 * 1024);
      const info = JSON.parse(spawnSync('qemu-img', ['info', '--output=json', vmFiles(dir).data], { encoding: 'utf8' }).stdout) as { format: string; 'virtual-size': number };
      expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 1024 * 1024 * 1024 });
      const map = JSON.parse(spawnSync('qemu-img', ['map', '--output=json', vmFiles(dir).data], { encoding: 'utf8' }).stdout) as Array<{ data: boolean; zero: boolean }>;
      expect(map.every((m) => !m.data && m.zero)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lab checkpoint restore plan', () => {
  const vm = (name: string, state: CheckpointVm['state'], tags: string[]): CheckpointVm => ({ name, dir: `/l/${name}`, state, tags });

  it('loads the checkpoint into running and paused QEMUs and starts the ones that are gone from it', () => {
    const plan = restorePlan([vm('hv1', 'running', ['t']), vm('hv2', 'stopped', ['t', 'u']), vm('witness', 'paused', ['t'])], 't', 'lab');
    expect(plan.map((p) => [p.vm.name, p.action])).toEqual([['hv1', 'load'], ['hv2', 'start'], ['witness', 'load']]);
  });

  it('refuses, naming the VMs, when some VM lacks the tag, and lists the tags there are', () => {
    expect(() => restorePlan([vm('hv1', 'running', ['t']), vm('hv2', 'running', ['u'])], 't', 'lab')).toThrow(
      /checkpoint t of lab lab is missing on hv2; checkpoints: t, u \(npm run lab -- checkpoint list --name lab\)/,
    );
    expect(() => restorePlan([vm('hv1', 'running', [])], 't', 'lab')).toThrow(/missing on hv1; checkpoints: none/);
    expect(() => restorePlan([], 't', 'lab')).toThrow(/no VMs/);
  });

  it('reads snapshot tags from qemu-img info and keeps only those on every disk of a VM', () => {
    expect(snapshotTags(JSON.stringify({ format: 'qcow2', snapshots: [{ id: '1', name: 'a' }, { id: '2', name: 'b' }] }))).toEqual(['a', 'b']);
    expect(snapshotTags(JSON.stringify({ format: 'qcow2' }))).toEqual([]);
    expect(commonTags([['a', 'b'], ['b']])).toEqual(['b']);
    expect(commonTags([])).toEqual([]);
  });
});

describe('lab checkpoint guest clock', () => {
  it('says ready, then sets the clock to the epoch it reads (UTC, fractions kept) and prints the new time', () => {
    // `date` stubbed: records its arguments and answers a fixed time.
    const r = spawnSync('sh', ['-c', `date() { echo "date $*" >&2; [ "$1" = "-u" ] || echo 1733445833.500000000; }; ${CLOCK_SCRIPT}`], { input: '1733445833.123\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ready\n1733445833.500000000\n');
    expect(r.stderr).toContain('date -u -s @1733445833.123');
    expect(spawnSync('dash', ['-n', '-c', CLOCK_SCRIPT]).status).toBe(0);
  });

  it('does not set the clock when no time arrives', () => {
    const r = spawnSync('sh', ['-c', `date() { echo "date $*" >&2; return 1; }; ${CLOCK_SCRIPT}`], { input: '', encoding: 'utf8' });
    expect(r.stdout).toBe('ready\n');
    expect(r.stderr).toBe('');
    expect(r.status).not.toBe(0);
  });
});
