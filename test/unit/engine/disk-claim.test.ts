/**
 * The one disk verdict (facts/disk-verdict.ts) and what installer/remote/disk-claim.sh prints, as
 * the storage step reads it (test/fixtures/engine/disk-claim/*.out).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLAIM_EXIT, claimAction, describeChange, parseClaimOutput } from '../../../installer/engine/steps/storage.js';
import { commandLine, scriptText } from '../../../installer/engine/change.js';
import { inputOf, kindOf, performOn } from './harness.js';
import { claimInputFromFacts, claimVerdict, type ClaimInput } from '../../../installer/facts/disk-verdict.js';
import { factValue } from '../../../installer/facts/types.js';
import { labFacts, labFactsEdited } from '../plan/helpers.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/engine/disk-claim/${name}.out`, import.meta.url), 'utf8');
const read = (name: string) => parseClaimOutput(fixture(name));
const verdict = (input: ClaimInput, wipe = false) => claimVerdict(input, { volumeGroup: 'hvdata', wipe });

describe('disk-claim.sh output', () => {
  it('reads a blank disk: no signature, nothing on it, zero at both ends', () => {
    const out = read('blank');
    expect(out.input).toMatchObject({ device: '/dev/vdb', sizeBytes: 1073741824, readOnly: false, signatures: [], children: [], holders: [], mountpoints: [], pv: null, head: 'zero', tail: 'zero' });
    expect(out.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(out).toMatchObject({ changed: false, refused: null, claimed: false });
  });

  it('reads partitions, holders and where each is mounted (a path with a space too)', () => {
    const { input } = read('partitioned');
    expect(input.signatures?.map((s) => `${s.type}@${s.offset}`)).toEqual(['gpt@0x200', 'gpt@0x1d1c1115e00', 'PMBR@0x1fe']);
    expect(input.children.map((c) => [c.name, c.type, c.mountpoints])).toEqual([
      ['sdb1', 'part', ['/mnt/old backups']],
      ['sdb2', 'part', []],
      ['md127', 'md', []],
    ]);
    expect(input.holders).toEqual(['md127']);
    expect(input.mountpoints).toEqual([]);
  });

  it('reads what LVM says: not a physical volume, one in no group, one of a group', () => {
    expect(read('blank').input.pv).toBeNull();
    expect(read('orphan-pv').input.pv).toEqual({ volumeGroup: null });
    expect(read('ours').input.pv).toEqual({ volumeGroup: 'hvdata' });
  });

  it('reads a wipefs that failed as "signatures unknown", never as "no signatures"', () => {
    const { input } = read('wipefs-error');
    expect(input.signatures).toBeNull();
    expect(input.signatureProblem).toContain('Device or resource busy');
  });

  it('reads the outcome of a claim', () => {
    expect(read('claimed').claimed).toBe(true);
    expect(read('changed')).toMatchObject({ changed: true, claimed: false });
  });

  it('runs the script from stdin with its arguments quoted, the fingerprint only for a write', () => {
    const probe = claimAction("/dev/disk/by-id/ata-X Y's", 'hvdata', 'probe');
    expect(commandLine(probe)).toBe(`sh -s -- '/dev/disk/by-id/ata-X Y'\\''s' hvdata probe`);
    expect(scriptText(probe.script)).toContain('vgcreate -qq');
    expect(scriptText(probe.script)).not.toMatch(/pvcreate|vgcreate[^\n]*(-y|--yes)/);
    expect(commandLine(claimAction('/dev/vdb', 'hvdata', 'create', 'abc'))).toBe('sh -s -- /dev/vdb hvdata create abc');
    expect(CLAIM_EXIT.refused).toBe(4);
  });
});

describe('the disk verdict', () => {
  it('creates the volume group on a blank disk, wipe or not', () => {
    expect(verdict(read('blank').input)).toEqual({ kind: 'create' });
    expect(verdict(read('blank').input, true)).toEqual({ kind: 'create' });
  });

  it('refuses an unused physical volume without wipe, naming both ways on; erases it with wipe: true', () => {
    const v = verdict(read('orphan-pv').input);
    expect(v).toMatchObject({ kind: 'refused', mounted: false });
    if (v.kind !== 'refused') throw new Error('not refused');
    expect(v.reasons).toEqual([
      'an LVM physical volume in no volume group (it may belong to a volume group whose other disks are absent)',
      'signature LVM2_member',
      'first MiB not zero',
    ]);
    expect(v.hint).toBe(
      'choose a blank disk, or set wipe: true for this disk to have hvcluster erase it (everything on it is lost), or check with pvs and vgs that no volume group misses it and remove it yourself (pvremove /dev/vdb)',
    );
    expect(verdict(read('orphan-pv').input, true)).toEqual({ kind: 'wipe', erase: v.reasons });
  });

  it('finds its own volume group (nothing to write), even with one of its volumes mounted; another group is refused even with wipe', () => {
    expect(verdict(read('ours').input)).toEqual({ kind: 'ours' });
    const other = claimVerdict(read('ours').input, { volumeGroup: 'cluster2', wipe: true });
    expect(other).toMatchObject({ kind: 'refused' });
  });

  it('refuses partitions and holders even with wipe: true, and a mounted disk first of all', () => {
    for (const wipe of [false, true]) {
      const v = verdict(read('partitioned').input, wipe);
      expect(v).toMatchObject({ kind: 'refused', mounted: true });
      if (v.kind === 'refused') expect(v.hint).toBe('it is mounted at /mnt/old backups; hvcluster never erases a mounted disk, even with wipe: true: choose another disk');
    }
    const unmounted = read('partitioned').input;
    unmounted.children = unmounted.children.map((c) => ({ ...c, mountpoints: [] }));
    const v = verdict(unmounted, true);
    expect(v).toMatchObject({ kind: 'refused', mounted: false });
    if (v.kind === 'refused') expect(v.hint).toContain('partitions sdb1, sdb2, md md127 may be in use, and hvcluster erases signatures, not those (even with wipe: true)');
  });

  it('refuses a disk whose signatures could not be read, even with wipe: true', () => {
    const v = verdict(read('wipefs-error').input, true);
    expect(v).toMatchObject({ kind: 'refused' });
    if (v.kind === 'refused') expect(v.reasons).toContain('signatures not checked (wipefs: wipefs: error: /dev/sdc: probing initialization failed: Device or resource busy)');
  });

  it('is the same from the gathered facts (preflight) as from the script (the storage step)', () => {
    const blankFacts = labFacts(2);
    const vdb = factValue(blankFacts.disks)!.find((d) => d.name === 'vdb')!;
    expect(verdict(claimInputFromFacts(vdb, factValue(blankFacts.lvm)))).toEqual(verdict(read('blank').input));

    const orphan = labFactsEdited(
      2,
      [/$/, `\n@@hvc-fact lvm@@\n@@hvc-cmd pvs@@\n{"report":[{"pv":[{"pv_name":"/dev/vdb","vg_name":"","pv_size":"1073741824B","pv_free":"1073741824B"}]}]}\n@@hvc-rc pvs 0@@\n\n@@hvc-end lvm 0@@\n`],
      [/(@@hvc-cmd wipefs:vdb@@\n\{\n {3}"signatures": \[\n)\n/, '$1      {"device": "vdb", "offset": "0x218", "type": "LVM2_member", "uuid": null, "label": null}\n'],
      ['vdb size=1073741824 parts=0 holders= head=0 tail=0', 'vdb size=1073741824 parts=0 holders= head=1 tail=0'],
    );
    const disk = factValue(orphan.disks)!.find((d) => d.name === 'vdb')!;
    expect(verdict(claimInputFromFacts(disk, factValue(orphan.lvm)))).toEqual(verdict(read('orphan-pv').input));
  });

  it('says what changed between the check and the write', () => {
    expect(describeChange(read('blank'), read('changed'), { volumeGroup: 'hvdata', wipe: false })).toBe('it now has filesystem ext4; first MiB not zero');
  });
});

describe('the storage step', () => {
  const DISK = '/dev/disk/by-id/virtio-hvdata-demo-2';
  /** hv2 of the lab plan, whose disk-claim.sh probe printed one fixture, and whose write prints another. */
  async function storage(probe: string, write: { exitCode: number; stdout: string }, options: { wipe?: boolean; dryRun?: boolean } = {}) {
    const input = inputOf('volume-group', [{ name: 'hv2', reads: { diskClaim: fixture(probe) } }], { ...(options.dryRun ? { dryRun: true } : {}) });
    if (options.wipe) input.self.node.volumeGroup.wipe = true;
    const kind = kindOf('volume-group');
    const plan = kind.plan(input);
    const run = await performOn(kind, plan, input, () => write);
    await run.done;
    const commands = run.fakes.get('hv2')!.commands;
    return { plan, commands, changes: run.guard.changes, data: kind.outputs!(input, plan) };
  }
  const claimed = { exitCode: 0, stdout: fixture('claimed') };

  it('creates the volume group on a blank disk with the fingerprint it read, and marks it fresh', async () => {
    const n = await storage('blank', claimed);
    expect(n.commands).toEqual([`sh -s -- ${DISK} hvdata create ${read('blank').fingerprint!}`]);
    expect(n.changes.map((c) => c.description)).toEqual([`create volume group hvdata on ${DISK} (blank: no signature, partition or holder, first and last MiB zero)`]);
    expect(n.data).toEqual({ 'fresh-volume-group': true });
  });

  it('refuses an unused physical volume without wipe: no write is even attempted', async () => {
    await expect(storage('orphan-pv', claimed)).rejects.toThrow(
      `hv2: step "volume-group": ${DISK} (/dev/vdb) on hv2 is not blank: an LVM physical volume in no volume group (it may belong to a volume group whose other disks are absent); signature LVM2_member; first MiB not zero; ` +
        'choose a blank disk, or set wipe: true for this disk to have hvcluster erase it (everything on it is lost), or check with pvs and vgs that no volume group misses it and remove it yourself (pvremove /dev/vdb); nothing was written to it',
    );
  });

  it('erases it with wipe: true, and then the volume is not "fresh": its initial sync is never skipped', async () => {
    const n = await storage('orphan-pv', claimed, { wipe: true });
    expect(n.commands).toEqual([`sh -s -- ${DISK} hvdata wipe ${read('orphan-pv').fingerprint!}`]);
    expect(n.changes[0]!.description).toMatch(/^erase \/dev\/disk\/by-id\/virtio-hvdata-demo-2 \(an LVM physical volume in no volume group .*\), as wipe: true allows, and create volume group hvdata on it$/);
    expect(n.data).toEqual({ 'fresh-volume-group': false });
  });

  it('stops, nothing written, when the disk changed between the check and the write', async () => {
    await expect(storage('blank', { exitCode: CLAIM_EXIT.refused, stdout: fixture('changed') })).rejects.toThrow(
      `${DISK} (/dev/vdb) changed between the check and the write; nothing was written to it: it now has filesystem ext4; first MiB not zero`,
    );
  });

  it('writes nothing on its own volume group, and only lists the claim in a dry run', async () => {
    const ours = await storage('ours', claimed);
    expect(ours.commands).toEqual([]);
    expect(ours.changes).toEqual([]);
    const dry = await storage('blank', claimed, { dryRun: true });
    expect(dry.commands).toEqual([]);
    expect(dry.changes).toHaveLength(1);
  });
});
