/** Where `guest migrate` and `node drain` move guests, and what they refuse before any change. */
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseGuestState } from '../../../installer/engine/guest-state.js';
import { parseVolumeState } from '../../../installer/engine/volume-state.js';
import { resourceFile } from '../../../installer/engine/volumes.js';
import { downtimeOf } from '../../../installer/guests/live-migrate.js';
import { planDrain, planMove, planStart, planStop, type NodeRead } from '../../../installer/guests/moves.js';
import type { DrbdResourceModel } from '../../../installer/plan/model.js';
import { siteYaml } from '../plan/helpers.js';

const answers = parseAnswers(`${siteYaml()}  guests:\n    - name: web\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n    - name: db\n      memory: 128MiB\n      disks:\n        - size: 32MiB\n        - size: 32MiB\n`, 'site.yaml').answers;

const model = (name: string, minor: number): DrbdResourceModel => ({
  name,
  major: '8.4',
  minor,
  port: 7788 + minor,
  device: `/dev/drbd${minor}`,
  disk: `/dev/hvdata/${name}`,
  hosts: [
    { name: 'hv1', nodeId: 0, address: '198.19.1.1' },
    { name: 'hv2', nodeId: 1, address: '198.19.1.2' },
  ],
  allowTwoPrimaries: false,
});
const MODELS = [model('web-disk0', 1), model('db-disk0', 2), model('db-disk1', 3)];

function read(running: string[], options: { dstate?: string; role?: string; standby?: boolean; file?: (m: DrbdResourceModel) => string } = {}): NodeRead {
  const guests = parseGuestState(['virsh yes', `standby ${options.standby ? 'yes' : 'no'}`, 'libvirt yes', 'domains web db', ...['web', 'db'].map((g) => `domain ${g} ${running.includes(g) ? 'running' : 'shut-off'} no`)].join('\n'));
  const volumes = parseVolumeState(
    MODELS.flatMap((m) => [`lv ${m.name} present`, `state ${m.name} Connected ${options.dstate ?? 'UpToDate/UpToDate'} ${options.role ?? 'Secondary/Secondary'}`, `res ${m.name}.res`, Buffer.from(options.file?.(m) ?? resourceFile(m).content).toString('base64'), 'end']).join('\n'),
  );
  return { guests, volumes };
}

describe('planMove', () => {
  it('moves a guest from where it runs to its other holder, with its resources as their files say', () => {
    const reads = new Map([['hv1', read(['web'])], ['hv2', read(['db'])]]);
    const move = planMove(answers, reads, 'db');
    expect(move).toMatchObject({ guest: 'db', from: 'hv2', to: 'hv1', peer: 'hv1-repl', holders: ['hv1', 'hv2'] });
    expect(move.resources).toEqual([model('db-disk0', 2), model('db-disk1', 3)]);
  });

  it('refuses before any change: not declared, not running, already there, a disk not UpToDate, a resource file edited by hand', () => {
    const healthy = new Map([['hv1', read(['web'])], ['hv2', read([])]]);
    expect(() => planMove(answers, healthy, 'nosuch')).toThrow('guest nosuch is not declared in the answer file');
    expect(() => planMove(answers, healthy, 'db')).toThrow('guest db does not run anywhere');
    expect(() => planMove(answers, healthy, 'web', 'hv1')).toThrow('guest web already runs on hv1');
    const syncing = new Map([['hv1', read(['web'])], ['hv2', read([], { dstate: 'Inconsistent/UpToDate' })]]);
    expect(() => planMove(answers, syncing, 'web')).toThrow('web-disk0 is Connected and Inconsistent/UpToDate on hv2: a live migration needs both copies Connected and UpToDate');
    const edited = new Map([['hv1', read(['web'], { file: (m) => resourceFile(m).content.replace('allow-two-primaries no', 'allow-two-primaries yes') })], ['hv2', read([])]]);
    expect(() => planMove(answers, edited, 'web')).toThrow('/etc/drbd.d/web-disk0.res differs from what hvcluster writes for it');
    const twice = new Map([['hv1', read(['web'])], ['hv2', read(['web'])]]);
    expect(() => planMove(answers, twice, 'web')).toThrow('guest web runs on hv1 and hv2 at once');
  });
});

describe('planDrain', () => {
  it("moves every guest running on the node, in the answer file's order; none when it is empty", () => {
    const reads = new Map([['hv1', read([])], ['hv2', read(['db', 'web'])]]);
    expect(planDrain(answers, reads, 'hv2').map((m) => `${m.guest} ${m.from}->${m.to}`)).toEqual(['web hv2->hv1', 'db hv2->hv1']);
    expect(planDrain(answers, reads, 'hv1')).toEqual([]);
    expect(() => planDrain(answers, reads, 'hv9')).toThrow('hv9 is not a node of the cluster (hv1, hv2)');
  });
});

describe('planStart and planStop', () => {
  it('starts a stopped guest on its preferred node (its first holder), or the next one when that is drained, or where --on says', () => {
    const stopped = new Map([['hv1', read([])], ['hv2', read([])]]);
    expect(planStart(answers, stopped, 'db')).toMatchObject({ guest: 'db', node: 'hv1', runningOn: null, resources: ['db-disk0', 'db-disk1'], holders: ['hv1', 'hv2'], ha: false });
    expect(planStart(answers, new Map([['hv1', read([], { standby: true })], ['hv2', read([])]]), 'db').node).toBe('hv2');
    expect(planStart(answers, stopped, 'db', 'hv2').node).toBe('hv2');
    // Already running: nothing to do (and --on elsewhere is a migration, not a start).
    const running = new Map([['hv1', read([])], ['hv2', read(['db'])]]);
    expect(planStart(answers, running, 'db')).toMatchObject({ node: 'hv2', runningOn: 'hv2' });
    expect(() => planStart(answers, running, 'db', 'hv1')).toThrow('guest db already runs on hv2');
  });

  it('refuses to start on stale data, next to a Primary elsewhere, off its holders, or with every holder drained', () => {
    expect(() => planStart(answers, new Map([['hv1', read([], { dstate: 'Inconsistent/UpToDate' })], ['hv2', read([])]]), 'web')).toThrow('web-disk0 is Inconsistent/UpToDate on hv1: guest web would start on data that is not current');
    expect(() => planStart(answers, new Map([['hv1', read([])], ['hv2', read([], { role: 'Primary/Secondary' })]]), 'web')).toThrow('web-disk0 is Primary on hv2: guest web cannot start on hv1 too');
    expect(() => planStart(answers, new Map([['hv1', read([])], ['hv2', read([])]]), 'web', 'hv3')).toThrow("hv3 does not hold guest web's disks (they are on hv1 and hv2)");
    expect(() => planStart(answers, new Map([['hv1', read([], { standby: true })], ['hv2', read([], { standby: true })]]), 'web')).toThrow('every node holding guest web is in standby (hv1, hv2)');
  });

  it('stops a guest where it runs; nowhere when it is stopped already', () => {
    expect(planStop(answers, new Map([['hv1', read([])], ['hv2', read(['web'])]]), 'web')).toMatchObject({ runningOn: 'hv2', resources: ['web-disk0'], ha: false });
    expect(planStop(answers, new Map([['hv1', read([])], ['hv2', read([])]]), 'web').runningOn).toBeNull();
    expect(() => planStop(answers, new Map([['hv1', read([])], ['hv2', read([])]]), 'nosuch')).toThrow('guest nosuch is not declared in the answer file');
  });
});

describe('downtimeOf', () => {
  it("reads QEMU's downtime from virsh domjobinfo --completed", () => {
    expect(downtimeOf('Job type:         Completed\nOperation:        Outgoing migration\nTime elapsed:     15321        ms\nTotal downtime:   393          ms\n')).toBe(393);
    expect(downtimeOf('Job type:         None\n')).toBeUndefined();
  });
});
