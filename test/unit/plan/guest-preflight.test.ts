/**
 * The guests' preflight: every finding at once, each at its answer-file key, before any change; and
 * the models it hands the plan when there is none.
 */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import type { ImageInfo } from '../../../installer/import/image-info.js';
import { guestPreflight, NEW_VG_RESERVE_MIB, type GuestNodeRead } from '../../../installer/plan/guest-preflight.js';
import { siteYaml } from './helpers.js';

const MiB = 1024 * 1024;

function answersWith(guests: string) {
  return parseAnswers(`${siteYaml()}  guests:\n${guests}`, 'site.yaml').answers;
}

const node = (name: string, extra: Partial<GuestNodeRead> = {}): GuestNodeRead => ({ name, vgFreeBytes: 1000 * MiB, diskBytes: 1024 * MiB, ...extra });
const images = (entries: Record<string, ImageInfo>) => new Map(Object.entries(entries));

describe('guestPreflight', () => {
  it('places and sizes the guests when nothing is wrong: an image disk takes the image size and keeps its format', () => {
    const answers = answersWith(`    - name: web\n      memory: 128MiB\n      disks:\n        - image: /i/web.qcow2\n        - size: 32MiB\n`);
    const { guests, issues } = guestPreflight(answers, '8.4', [node('hv1'), node('hv2')], images({ '/i/web.qcow2': { ok: true, format: 'qcow2', virtualSizeBytes: 20 * MiB + 1 } }));
    expect(issues).toEqual([]);
    expect(guests.map((g) => [g.name, g.holders, g.preferredNode, g.disks.map((d) => [d.resource, d.sizeMiB, d.imageFormat ?? '-'])])).toEqual([
      ['web', ['hv1', 'hv2'], 'hv1', [['web-disk0', 21, 'qcow2'], ['web-disk1', 32, '-']]],
    ]);
  });

  it('reports every finding at once: unreadable images, a foreign domain or DRBD resource of the same name, a guest too big', () => {
    const answers = answersWith(
      [
        `    - name: legacy\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n`,
        `    - name: old\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n`,
        `    - name: missing\n      memory: 128MiB\n      disks:\n        - image: /i/absent.qcow2\n`,
        `    - name: huge\n      memory: 128MiB\n      disks:\n        - size: 2GiB\n`,
      ].join(''),
    );
    const hv1 = node('hv1', { guests: parseGuestState('virsh yes\nlibvirt yes\ndomains legacy\n'), volumes: parseVolumeState(`res old-disk0.res\n${Buffer.from('resource old-disk0 {}').toString('base64')}\nend\n`) });
    const { guests, issues } = guestPreflight(answers, '8.4', [hv1, node('hv2')], images({ '/i/absent.qcow2': { ok: false, reason: "Could not open '/i/absent.qcow2': No such file or directory" } }));
    expect(guests).toEqual([]);
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['spec.guests.0.name', 'hv1 already has a libvirt domain named legacy that hvcluster did not make: name the guest otherwise, or rename that domain (virsh domrename legacy NEW-NAME)'],
      ['spec.guests.1.name', 'hv1 already has a DRBD resource old-disk0 (/etc/drbd.d/old-disk0.res) that hvcluster did not make for this guest: name the guest otherwise'],
      ['spec.guests.2.disks.0.image', "/i/absent.qcow2 cannot be imported: Could not open '/i/absent.qcow2': No such file or directory"],
      ['spec.guests.3', expect.stringMatching(/^guest huge needs 2050 MiB on every node .*hv1 932 MiB free/)],
    ]);
  });

  it("a guest's own domain and resource are no clash: its XML in the guests directory marks it as hvcluster's", () => {
    const answers = answersWith(`    - name: web\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n`);
    const ours = node('hv1', {
      guests: parseGuestState(`file web.xml\n${Buffer.from('<domain/>').toString('base64')}\nend\nvirsh yes\nlibvirt yes\ndomains web\n`),
      volumes: parseVolumeState(`lv web-disk0 present\nres web-disk0.res\n${Buffer.from('resource web-disk0 {}').toString('base64')}\nend\n`),
    });
    const { guests, issues } = guestPreflight(answers, '8.4', [ours, node('hv2')], images({}));
    expect(issues).toEqual([]);
    expect(guests[0]!.holders).toEqual(['hv1', 'hv2']);
  });

  it('a volume group made in this run: the data disk less a reserve is what there is', () => {
    const answers = answersWith(`    - name: web\n      memory: 128MiB\n      disks:\n        - size: 900MiB\n`);
    const fresh = (name: string) => node(name, { vgFreeBytes: null, diskBytes: (900 + NEW_VG_RESERVE_MIB) * MiB });
    expect(guestPreflight(answers, '8.4', [fresh('hv1'), fresh('hv2')], images({})).issues.map((i) => i.message)).toEqual([expect.stringMatching(/^guest web needs 902 MiB on every node/)]);
    const roomy = (name: string) => node(name, { vgFreeBytes: null, diskBytes: (902 + NEW_VG_RESERVE_MIB) * MiB });
    expect(guestPreflight(answers, '8.4', [roomy('hv1'), roomy('hv2')], images({})).issues).toEqual([]);
  });

  it("a guest to remove (state: absent) or under Pacemaker is no finding; an absent guest's image is not read", () => {
    const parsed = answersWith(`    - name: old\n      memory: 128MiB\n      state: absent\n      disks:\n        - image: /nowhere/old.qcow2\n    - name: web\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n`);
    // An HA cluster (its validation is another file's): a guest's ha defaults to true there.
    const answers = { ...parsed, spec: { ...parsed.spec, ha: { enabled: true } as unknown as NonNullable<typeof parsed.spec.ha> } };
    const result = guestPreflight(answers, '8.4', [node('hv1'), node('hv2')], images({}));
    expect(result.issues).toEqual([]);
    // ...and it is still planned (for its removal), its image disk of unknown size counting 0 MiB.
    expect(result.guests.map((g) => `${g.name} ${g.state} ${g.sizeMiB}`)).toEqual(['old absent 0', 'web present 32']);
  });

  it('refuses to remove a guest that runs, at its state: absent, saying to stop it first', () => {
    const answers = answersWith(`    - name: old\n      memory: 128MiB\n      state: absent\n      disks:\n        - size: 32MiB\n`);
    const runs = { ...node('hv2'), guests: parseGuestState('virsh yes\nlibvirt yes\ndomains old\ndomain old running no') };
    expect(guestPreflight(answers, '8.4', [node('hv1'), runs], images({})).issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['spec.guests.0.state', 'guest old is declared state: absent but runs on hv2: hvcluster does not remove a running guest; stop it first (hvcluster guest stop old -f site.yaml)'],
    ]);
  });
});
