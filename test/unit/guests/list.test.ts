/** `guest list` from what the nodes read: where each guest runs, its disks on each replica, problems, undeclared domains. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import { formatGuestList, guestList } from '../../../installer/guests/list.js';
import { siteYaml } from '../plan/helpers.js';

const answers = parseAnswers(`${siteYaml()}  guests:\n    - name: web\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n    - name: db\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n`, 'site.yaml').answers;

const guests = (domains: Record<string, string>, extra: string[] = []) =>
  parseGuestState(['virsh yes', 'libvirt yes', `domains ${[...Object.keys(domains), ...extra].join(' ')}`, ...Object.entries(domains).map(([n, s]) => `domain ${n} ${s} no`)].join('\n'));
const volumes = (states: Record<string, string>) => parseVolumeState(Object.entries(states).flatMap(([res, st]) => [`lv ${res} present`, `state ${res} ${st}`]).join('\n'));

describe('guestList', () => {
  it('a healthy cluster: each guest where it runs, defined on both, its disk Primary there and UpToDate on both', () => {
    const list = guestList(answers, [
      { node: 'hv1', guests: guests({ web: 'running', db: 'shut-off' }, ['legacy', 'hvc-migtest']), volumes: volumes({ 'web-disk0': 'Connected UpToDate/UpToDate Primary/Secondary', 'db-disk0': 'Connected UpToDate/UpToDate Secondary/Primary' }) },
      { node: 'hv2', guests: guests({ web: 'shut-off', db: 'running' }), volumes: volumes({ 'web-disk0': 'Connected UpToDate/UpToDate Secondary/Primary', 'db-disk0': 'Connected UpToDate/UpToDate Primary/Secondary' }) },
    ]);
    expect(list.guests.map((g) => [g.name, g.state, g.runningOn, g.definedOn, g.ha, g.problems])).toEqual([
      ['web', 'running', 'hv1', ['hv1', 'hv2'], false, []],
      ['db', 'running', 'hv2', ['hv1', 'hv2'], false, []],
    ]);
    expect(list.guests[0]!.disks).toEqual([
      { resource: 'web-disk0', replicas: [{ node: 'hv1', role: 'Primary', disk: 'UpToDate', connection: 'Connected' }, { node: 'hv2', role: 'Secondary', disk: 'UpToDate', connection: 'Connected' }] },
    ]);
    expect(list.undeclared).toEqual({ hv1: ['legacy'] });
    const text = formatGuestList(list);
    expect(text).toMatch(/^GUEST\s+STATE\s+ON\s+MANAGED BY\s+DISKS/);
    expect(text).toMatch(/^web\s+running\s+hv1\s+hvcluster\s+web-disk0 hv1:Primary\/UpToDate hv2:Secondary\/UpToDate$/m);
    expect(text).toContain('hv1 also has domains the answer file does not declare: legacy');
  });

  it('problems: a guest running on both nodes, a disk out of sync, a node not read; a guest not created yet', () => {
    const list = guestList(answers, [
      { node: 'hv1', guests: guests({ web: 'running' }), volumes: volumes({ 'web-disk0': 'StandAlone UpToDate/DUnknown Primary/Unknown' }) },
      { node: 'hv2', guests: guests({ web: 'running' }), volumes: volumes({ 'web-disk0': 'StandAlone UpToDate/DUnknown Primary/Unknown' }) },
    ]);
    expect(list.guests[0]!.problems).toEqual(['runs on hv1 and hv2 at once', 'web-disk0 on hv1 is StandAlone', 'web-disk0 on hv2 is StandAlone']);
    expect(list.guests[1]).toMatchObject({ name: 'db', state: 'undefined', runningOn: null, definedOn: [] });
    const unread = guestList(answers, [{ node: 'hv1', guests: guests({ web: 'shut-off' }), volumes: volumes({}) }, { node: 'hv2', error: 'connection refused' }]);
    expect(unread.guests[0]).toMatchObject({ state: 'unknown', problems: ['hv2 could not be read'] });
  });
});
